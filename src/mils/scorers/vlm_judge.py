"""The VLM judge as a scorer model: a backend (local or server), the question, and concept feedback.

``VLMJudge`` is what ``load_scorer_model("vlm:...")`` returns and what the MILS Scorer Loader hands
on. It embeds nothing (no text or image embeddings: captioning and inversion need CLIP/SigLIP); it
rates renders. Prompt enhancement asks it for ``prompt_image_scorer(prompt, generator=...)``, an image scorer
(mils.scorers.render.ImageScorer) that rates each render against the ORIGINAL prompt:
- without concepts: P(yes) to the question about the whole prompt, shown as ``0.620``;
- with concepts (``parse`` or ``llm``, see mils.scorers.concepts): the mean P(yes) over the prompt's
  concepts, shown with the ones the render lacks: ``0.620 (missing: a red cube; left of)``.
Maximised; 0..1.
"""
from __future__ import annotations

from typing import Sequence

import torch

from ..errors import InputError
from ..keys import digest
from .base import Direction, Score
from .concepts import check_mode, concept_display, split_concepts
from .vlm import DEFAULT_QUESTION, ask, check_question

_NOT_AN_ENCODER = ("an embedding scorer (CLIP/SigLIP, CLAP): a VLM judge rates renders of prompt enhancement "
                   "and judges `mils eval enhance`; it embeds no text or media")


def _digest(text: str) -> str:
    return digest(text.encode("utf-8"), 10)


def fmt(p: float) -> str:
    return f"{p:.3f}"


class VLMJudge:
    """``backend``: anything with ``key`` and ``yes_probs(images, questions)`` (TransformersVLM, ServerVLM)."""

    modalities = frozenset()
    direction: Direction = "maximize"

    def __init__(self, backend, *, question: str = DEFAULT_QUESTION, concepts: str = "off"):
        self.backend = backend
        self.question = check_question(question)
        self.concepts = check_mode(concepts)
        self.key = (backend.key + (f"|q={_digest(self.question)}" if self.question != DEFAULT_QUESTION else "")
                    + (f"|concepts={self.concepts}" if self.concepts != "off" else ""))

    @property
    def model(self):
        """The torch module (None for a server), for ComfyUI's model management."""
        return getattr(self.backend, "model", None)

    def __repr__(self) -> str:
        return f"VLMJudge({self.key!r})"

    def with_options(self, *, question: str | None = None, concepts: str | None = None) -> "VLMJudge":
        """The same loaded model with another question or concept mode (None: keep)."""
        return VLMJudge(self.backend, question=self.question if question is None else question,
                        concepts=self.concepts if concepts is None else concepts)

    def yes_probs(self, images: torch.Tensor, texts: Sequence[str]) -> list[float]:
        """P(yes) that images[i] shows texts[i], asked with the question template."""
        return self.backend.yes_probs(images, [ask(self.question, t) for t in texts])

    def prompt_image_scorer(self, prompt: str, *, generator=None, seed: int = 0):
        """The image scorer of prompt enhancement for ``prompt`` (concepts split here, once)."""
        if self.concepts == "off":
            return PromptJudge(self, prompt)
        return ConceptJudge(self, split_concepts(prompt, self.concepts, generator, seed=seed))

    def format_score(self, score: float) -> str:
        return fmt(score)

    def encode_text(self, texts):
        raise InputError("scorer", _NOT_AN_ENCODER, self.key)

    def encode_image(self, images):
        raise InputError("scorer", _NOT_AN_ENCODER, self.key)


class PromptJudge:
    """image score = P(yes) that the image shows the prompt."""

    direction: Direction = "maximize"

    def __init__(self, judge: VLMJudge, prompt: str):
        self.judge, self.prompt = judge, prompt
        self.key = f"{judge.key}|{_digest(prompt)}"

    def image_scores(self, images: torch.Tensor) -> list[float]:
        return self.judge.yes_probs(images, [self.prompt] * images.shape[0])

    def format_score(self, score: float) -> str:
        return fmt(score)


class ConceptJudge:
    """image score = mean P(yes) over the concepts; its display names the missing ones."""

    direction: Direction = "maximize"

    def __init__(self, judge: VLMJudge, concepts: Sequence[str]):
        if not concepts:
            raise InputError("concepts", "at least one concept of the prompt")
        self.judge, self.concepts = judge, list(concepts)
        self.key = f"{judge.key}|concepts:{_digest(chr(10).join(self.concepts))}"

    def image_scores(self, images: torch.Tensor) -> list[float]:
        m = len(self.concepts)
        probs = self.judge.yes_probs(images.repeat_interleave(m, dim=0), self.concepts * images.shape[0])
        out = []
        for i in range(images.shape[0]):
            row = probs[i * m:(i + 1) * m]
            mean = sum(row) / m
            out.append(Score(mean, concept_display(mean, self.concepts, row)))
        return out

    def format_score(self, score: float) -> str:
        return fmt(score)


SERVER_KEY_ENV = "MILS_VLM_API_KEY"


def load_vlm_judge(source: str, *, device: str = "auto", dtype: str = "auto", question: str = DEFAULT_QUESTION,
                   concepts: str = "off") -> VLMJudge:
    """``source``: a VLM folder or hub id (loaded through the model cache), or an OpenAI-compatible server
    ``http(s)://host:port/v1[#model]`` (its API key, if it needs one, in $MILS_VLM_API_KEY)."""
    import os

    source = str(source or "").strip()
    if source.startswith(("http://", "https://")):
        from .vlm_server import ServerVLM

        url, _, model = source.partition("#")
        backend = ServerVLM(url, model or None, api_key_env=SERVER_KEY_ENV if os.environ.get(SERVER_KEY_ENV) else None)
    else:
        from .vlm import load_vlm

        backend = load_vlm(source, device=device, dtype=dtype)
    return VLMJudge(backend, question=question, concepts=concepts)
