"""Tasks: the prompt wording (our own), the starting pool, and budget presets per task.

Template fields: {descriptions} (the top K as "score: text" lines, best first), {n} (how many new
candidates to write), {better} ("higher" or "lower"), {max_words}, and {intent} (the user's prompt
for text-to-image enhancement).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from .errors import InputError


@dataclass(frozen=True)
class Budget:
    """K shown / kept, N asked per step, T steps, P patience (0 = off), optional pool subsample."""

    keep: int
    new_per_step: int
    steps: int
    patience: int = 0
    pool_limit: int | None = None
    max_new_tokens: int = 1024


_CAPTION_RULES = (
    "Keep what the best ones have in common, be specific about {details}, "
    "and feel free to add new elements, merge details from different lines, reword, drop parts or simplify. "
    "Bold guesses are welcome. Write one {kind} per line, numbered (\"1. ...\"), each at most {max_words} words. "
    "Reply with the numbered list only."
)


def _caption_template(medium: str, kind: str = "description",
                      details: str = "objects, colours, setting and style") -> str:
    return (
        f"Your job is to write a short {kind} of {medium} that you cannot perceive directly.\n"
        f"Below are {kind}s that were already tried, each after its score. The score measures how well a "
        f"{kind} matches the {medium.split()[-1]}; {{better}} is better.\n\n"
        "{descriptions}\n\n"
        f"Write {{n}} new {kind}s that you expect to score better than all of these and that capture the whole "
        f"{medium.split()[-1]}. " + _CAPTION_RULES.replace("{kind}", kind).replace("{details}", details)
    )


IMAGE_CAPTION = _caption_template("an image")
VIDEO_CAPTION = _caption_template("a video clip", details="who or what is in it, what happens, the setting and style")
AUDIO_CAPTION = _caption_template("an audio recording", kind="sound description",
                                  details="the sources of the sounds, what they do, and the place")

T2I_ENHANCE = (
    "Your job is to rewrite a prompt for an image generator so that the pictures it makes match the "
    "user's intent as well as possible.\n"
    "The user's prompt is: {intent}\n"
    "Below are rewrites that were already rendered, each after the score its picture got ({better} is better):\n\n"
    "{descriptions}\n\n"
    "Write {n} new rewrites that you expect to score better. Stay faithful to every element of the user's "
    "prompt; make it concrete: subject, composition, lighting, colours, medium and style. Vary your guesses, "
    "combine strong phrasings from the lines above, drop parts that do not help. One rewrite per line, "
    "numbered (\"1. ...\"), each under {max_words} words. Reply with the numbered list only."
)

STYLE_TRANSFER = (
    "Your job is to write editing instructions for an image editor that make a photo take on the look of a "
    "reference style image while keeping the photo's content.\n"
    "Below are instructions that were already tried, each after its scores (style distance, content "
    "distance; {better} is better for both):\n\n"
    "{descriptions}\n\n"
    "Write {n} new instructions that you expect to score better. Name concrete styles, media, textures, "
    "palettes and lighting; combine and vary what works above. One instruction per line, numbered "
    "(\"1. ...\"), each under {max_words} words. Reply with the numbered list only."
)

INVERT = (
    "Your job is to find a short text that matches a hidden target as closely as possible.\n"
    "Below are texts that were already tried, each after its score ({better} is better):\n\n"
    "{descriptions}\n\n"
    "Write {n} new short texts that you expect to score better: keep what the best have in common, try new "
    "elements, merge and reword. One text per line, numbered (\"1. ...\"), each at most {max_words} words. "
    "Reply with the numbered list only."
)


MAX_AVOID = 30   # banned texts listed in one prompt
AVOID = ("\n\nThe user rejected the lines below. Do not write them again, nor anything close to them in "
         "wording or idea:\n")


@dataclass(frozen=True)
class Task:
    name: str
    template: str
    pool: str | None          # name of the starting pool, None when the start is the user's text
    max_words: int
    presets: dict[str, Budget] = field(default_factory=dict)
    renders: bool = False     # candidates become images before scoring
    description: str = ""

    def budget(self, preset: str) -> Budget:
        try:
            return self.presets[preset]
        except KeyError:
            raise InputError("preset", f"one of {', '.join(self.presets)}", repr(preset)) from None

    def build_prompt(self, lines: list[str], n: int, *, better: str = "higher", intent: str = "",
                     avoid: Sequence[str] = ()) -> str:
        """The LLM's prompt; ``avoid``: texts the user banned, listed after the instructions."""
        prompt = self.template.format(descriptions="\n".join(lines), n=n, better=better,
                                      max_words=self.max_words, intent=intent)
        if avoid:  # the latest bans only: the prompt must fit the LLM's context (all stay out by dedup)
            prompt += AVOID + "\n".join(f"- {t}" for t in list(avoid)[-MAX_AVOID:])
        return prompt


def _captioning_presets(paper: Budget) -> dict[str, Budget]:
    return {
        "preview": Budget(keep=10, new_per_step=10, steps=3, patience=0, pool_limit=2000, max_new_tokens=300),
        "balanced": Budget(keep=30, new_per_step=30, steps=8, patience=3, max_new_tokens=800),
        "paper": paper,
    }


TASKS: dict[str, Task] = {
    "image_caption": Task(
        "image_caption", IMAGE_CAPTION, pool="image", max_words=12,
        presets=_captioning_presets(Budget(keep=50, new_per_step=50, steps=10, max_new_tokens=3000)),
        description="Describe an image (paper: SigLIP scorer, 10 steps, K=N=50)."),
    "video_caption": Task(
        "video_caption", VIDEO_CAPTION, pool="video", max_words=25,
        presets=_captioning_presets(Budget(keep=50, new_per_step=50, steps=10, max_new_tokens=3000)),
        description="Describe a video from its frames (frame embeddings pooled)."),
    "audio_caption": Task(
        "audio_caption", AUDIO_CAPTION, pool="audio", max_words=20,
        presets=_captioning_presets(Budget(keep=10, new_per_step=50, steps=19, max_new_tokens=3000)),
        description="Describe a sound (paper: K=10, N=50, 19 steps)."),
    "t2i_enhance": Task(
        "t2i_enhance", T2I_ENHANCE, pool=None, max_words=77, renders=True,
        presets={
            "preview": Budget(keep=4, new_per_step=6, steps=2, max_new_tokens=600),
            "balanced": Budget(keep=8, new_per_step=12, steps=6, patience=3, max_new_tokens=1500),
            "paper": Budget(keep=20, new_per_step=50, steps=19, max_new_tokens=3000),
        },
        description="Rewrite a text-to-image prompt; each rewrite is rendered and scored against the original."),
    "style_transfer": Task(
        "style_transfer", STYLE_TRANSFER, pool="edit", max_words=50, renders=True,
        presets={
            "preview": Budget(keep=6, new_per_step=8, steps=2, pool_limit=16, max_new_tokens=600),
            "balanced": Budget(keep=20, new_per_step=30, steps=6, patience=3, pool_limit=120, max_new_tokens=2000),
            "paper": Budget(keep=100, new_per_step=60, steps=20, max_new_tokens=3000),
        },
        description="Search edit instructions whose edited image matches a style image (Gram) and keeps the content."),
    "invert": Task(
        "invert", INVERT, pool="image", max_words=15,
        presets=_captioning_presets(Budget(keep=50, new_per_step=50, steps=10, max_new_tokens=3000)),
        description="Turn any target embedding (e.g. embedding arithmetic) into text."),
}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise InputError("task", f"one of {', '.join(TASKS)}", repr(name)) from None
