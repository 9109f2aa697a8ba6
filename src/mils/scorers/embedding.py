"""Scorers that compare text embeddings with a target embedding in an encoder's joint space."""
from __future__ import annotations

import weakref
from typing import Sequence

import torch

from ..cache import PoolEmbeddingStore, TextEmbeddingCache
from ..errors import InputError
from ..keys import tensor_digest
from .base import Direction, Encoder

_TEXT_CACHES: "weakref.WeakKeyDictionary[object, TextEmbeddingCache]" = weakref.WeakKeyDictionary()


def text_cache_for(encoder: Encoder, *, batch_size: int = 64) -> TextEmbeddingCache:
    """One text-embedding cache per loaded encoder, shared by every scorer built on it."""
    cache = _TEXT_CACHES.get(encoder)
    if cache is None:
        cache = TextEmbeddingCache(encoder.encode_text, batch_size=batch_size)
        _TEXT_CACHES[encoder] = cache
    return cache


class EmbeddingScorer:
    """score(text) = cosine(text embedding, target embedding); maximised.

    Shown to the LLM as 100 x cosine with two decimals: raw cosines of SigLIP-like models differ
    in the third decimal, which the paper's 3-decimal display flattens.
    """

    direction: Direction = "maximize"
    score_scale = (0.0, 0.5)   # for weighted mixes (mils.scorers.mix): a cosine of 0.5 is about the best match

    def __init__(self, encoder: Encoder, target: torch.Tensor, *, pool_store: PoolEmbeddingStore | None = None,
                 label: str = "target"):
        target = torch.as_tensor(target).float().cpu().flatten()
        if target.numel() == 0 or not torch.isfinite(target).all():
            raise InputError(label, "a finite, non-empty embedding", f"shape {tuple(target.shape)}")
        norm = target.norm()
        if norm < 1e-8:
            raise InputError(label, "a non-zero embedding (terms that cancel out leave nothing to invert)")
        self.encoder = encoder
        self.target = target / norm
        self.key = f"{encoder.key}|{label}:{tensor_digest(self.target)}"
        self.text_cache = text_cache_for(encoder)
        self.pool_store = pool_store if pool_store is not None else PoolEmbeddingStore()

    def _check_dim(self, emb: torch.Tensor) -> None:
        if emb.shape[-1] != self.target.shape[0]:
            raise InputError("target", f"an embedding of size {emb.shape[-1]} from {self.encoder.key}",
                             f"size {self.target.shape[0]}")

    def score(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        emb = self.text_cache.get(list(texts))
        self._check_dim(emb)
        return (emb @ self.target).tolist()

    def score_pool(self, texts: Sequence[str]) -> list[float]:
        """Score a large fixed pool through the on-disk cache (second image: no pool encoding)."""
        if not texts:
            return []
        emb = self.pool_store.get_or_compute(self.encoder.key, texts, self.encoder.encode_text)
        self._check_dim(emb)
        return (emb @ self.target).tolist()

    @property
    def encodes(self) -> int:
        return self.text_cache.encoded

    def format_score(self, score: float) -> str:
        return f"{100.0 * score:.2f}"

