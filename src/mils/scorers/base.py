"""Scorer protocols.

Two levels:
- an ``Encoder`` is a loaded multimodal model that embeds text and one or more media kinds into
  one joint space (open_clip, transformers CLIP/SigLIP, PickScore, CLAP);
- a ``Scorer`` is bound to one target and rates candidate texts; it knows its direction.
"""
from __future__ import annotations

from typing import Literal, Protocol, Sequence, runtime_checkable

import torch

Direction = Literal["maximize", "minimize"]


class Score(float):
    """A score that carries what the LLM is shown for it, e.g. the "style, content" terms of a Gram score.

    It is a float everywhere (ranking, JSON, arithmetic); ``shown`` is its display. Scorers whose
    display is a function of the number alone return plain floats and implement ``format_score``.
    """

    shown: str

    def __new__(cls, value: float, shown: str):
        obj = super().__new__(cls, value)
        obj.shown = shown
        return obj


def shown(scorer: "Scorer", score: float) -> str:
    """How ``score`` is shown to the LLM: its own display if it carries one, else the scorer's format."""
    return score.shown if isinstance(score, Score) else scorer.format_score(score)


@runtime_checkable
class Encoder(Protocol):
    """A joint-embedding model. Every ``encode_*`` returns L2-normalised float32 rows on the CPU.

    ``key`` identifies the weights and preprocessing (it keys the embedding caches).
    ``modalities`` names the media besides text it embeds: a subset of {"image", "audio"}.
    """

    key: str
    modalities: frozenset[str]

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor: ...


class ImageEncoder(Encoder, Protocol):
    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """images: (B, H, W, 3) float in 0..1 (ComfyUI's IMAGE layout)."""
        ...


class AudioEncoder(Encoder, Protocol):
    def encode_audio(self, waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """waveform: (B, C, T) float (ComfyUI's AUDIO layout)."""
        ...


@runtime_checkable
class Scorer(Protocol):
    """Rates candidate texts against a fixed target.

    Optional: ``score_pool(texts)`` (a large fixed pool through a disk cache), ``text_cache`` (batched by
    lockstep), ``members`` ((weight, scorer) pairs whose caches lockstep batches), ``score_scale`` ((lo, hi):
    the range a weighted mix maps to 0..1, see mils.scorers.mix). A loaded model that is not bound through
    one target embedding declares ``caption_scorer`` / ``prompt_image_scorer`` (mils.scorers.binding).
    """

    key: str
    direction: Direction

    def score(self, texts: Sequence[str]) -> list[float]:
        """One float per text; larger is better when direction is "maximize"."""
        ...

    def format_score(self, score: float) -> str:
        """The score as the LLM sees it: on a scale where small differences are visible (see ``shown``)."""
        ...


def sort_key(direction: Direction):
    """Key for ``sorted`` that puts the best score first."""
    return (lambda s: -s) if direction == "maximize" else (lambda s: s)
