"""Merging captions of several inputs into one image prompt: the text route of cross-modal arithmetic.

METHOD.md §2.6: the paper's combination prompt is not public; the wording here is our own.
"""
from __future__ import annotations

from .errors import GeneratorError
from .generators.base import GenerationParams, Generator
from .parsing import parse_candidates

MERGE_PROMPT = (
    "Your job is to write one prompt for an image generator that combines several inputs into a single picture.\n"
    "Each input was described in words:\n\n"
    "{descriptions}\n\n"
    "Write 1 new image-generation prompt that merges all of these into one coherent scene: keep the main subject "
    "of every input; a sound becomes what makes it, or the place, weather and mood it suggests. Describe one "
    "setting, the composition, lighting and style, in at most {max_words} words. Reply with the prompt only, "
    "as \"1. ...\"."
)
KIND_LABELS = {"image": "Image", "video": "Video clip", "audio": "Sound"}
MERGE_TRIES = 3


def merge_prompt(captions: list[tuple[str, str]], max_words: int) -> str:
    """The LLM instruction for (kind, caption) pairs."""
    lines = [f"- {KIND_LABELS.get(kind, kind)}: {text}" for kind, text in captions]
    return MERGE_PROMPT.format(descriptions="\n".join(lines), max_words=max_words)


def merge_captions(generator: Generator, captions: list[tuple[str, str]], *, seed: int = 0,
                   temperature: float | None = None, max_new_tokens: int | None = None,
                   max_words: int = 77) -> tuple[str, str, str]:
    """Ask the LLM once (more only when a reply holds no usable prompt) to merge the captions.

    Returns (merged prompt, the instruction sent, the reply it came from).
    """
    prompt = merge_prompt(captions, max_words)
    reply = ""
    for attempt in range(MERGE_TRIES):
        params = GenerationParams(temperature=0.5 if temperature is None else temperature,
                                  max_new_tokens=max_new_tokens or 400, seed=seed + attempt).validate()
        for reply in generator.generate(prompt, params):
            cands = parse_candidates(reply, max_words=max_words * 2)
            if cands:
                return cands[0], prompt, reply
    snippet = reply.strip().replace("\n", " ")[:200]
    raise GeneratorError(f"the LLM ({generator.key}) wrote no usable merged prompt in {MERGE_TRIES} tries. "
                         f"Use an instruction-tuned model or raise --max-new-tokens. Last reply: {snippet!r}")
