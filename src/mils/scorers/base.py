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

    Optional members (declared with their defaults on :class:`ScorerBase`; a scorer may subclass it or
    define them itself; the driver reads them through :func:`optional`, never by probing):

    * ``encodes`` / ``renders``: counters of the model work done so far (texts or images embedded,
      images rendered); reported in the step records and results.
    * ``text_cache``: the text-embedding cache the scorer reads (shared by every scorer on one encoder),
      so a lockstep batch embeds the new texts of all its searches in one batched encode; None: none.
    * ``score_pool(texts)``: ``score`` for a whole starting pool (may use an on-disk pool cache).
    * ``images(texts)``: the renders of ``texts`` (scorers that render).
    * ``text_caches``: several such caches (a weighted mix reads each part's); lockstep batches each.
    * ``score_scale``: (lo, hi), the range a weighted mix maps to 0..1 (mils.scorers.mix); None: 0..1.

    A loaded model that is not bound through one target embedding declares ``caption_scorer`` /
    ``prompt_image_scorer`` (mils.scorers.binding).
    """

    key: str
    direction: Direction

    def score(self, texts: Sequence[str]) -> list[float]:
        """One float per text; larger is better when direction is "maximize"."""
        ...

    def format_score(self, score: float) -> str:
        """The score as the LLM sees it: on a scale where small differences are visible (see ``shown``)."""
        ...


class ScorerBase:
    """The defaults of Scorer's optional members."""

    encodes: int = 0
    renders: int = 0
    text_cache = None

    def score_pool(self, texts: Sequence[str]) -> list[float]:
        return self.score(texts)  # type: ignore[attr-defined]

    images = None   # scorers that render define images(texts) -> (B, H, W, 3)
    text_caches: tuple = ()
    score_scale: tuple[float, float] | None = None


def optional(scorer: object, name: str):
    """The scorer's optional member ``name``, or its declared default (:class:`ScorerBase`)."""
    if name not in _OPTIONAL:
        raise AttributeError(f"{name} is not an optional member of Scorer (one of {', '.join(_OPTIONAL)})")
    value = getattr(scorer, name, _OPTIONAL[name])
    if name == "score_pool" and value is _OPTIONAL[name]:
        return scorer.score  # type: ignore[attr-defined]
    return value


_OPTIONAL = {"encodes": 0, "renders": 0, "text_cache": None, "score_pool": ScorerBase.score_pool, "images": None,
             "text_caches": (), "score_scale": None}


def text_caches_of(scorer: object) -> tuple:
    """Every text-embedding cache ``scorer`` reads: its ``text_caches``, else its ``text_cache``, else none."""
    several = tuple(optional(scorer, "text_caches") or ())
    if several:
        return several
    one = optional(scorer, "text_cache")
    return () if one is None else (one,)


def sort_key(direction: Direction):
    """Key for ``sorted`` that puts the best score first."""
    return (lambda s: -s) if direction == "maximize" else (lambda s: s)
