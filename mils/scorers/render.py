"""Scoring texts through a renderer: text -> image -> image embedding vs a target.

Text-to-image prompt enhancement scores each rewrite by rendering it (one fixed seed for every
candidate, as in the paper) and comparing the picture with the ORIGINAL prompt's text embedding.
Renders are cached per (renderer, text, seed) so a repeated candidate is never rendered twice.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Protocol, Sequence, runtime_checkable

import torch

from ..errors import InputError
from .base import Direction
from .embedding import _target_digest


@runtime_checkable
class Renderer(Protocol):
    """Turns texts into images: (B, H, W, 3) float 0..1, one per text, deterministic under ``seed``."""

    key: str

    def render(self, texts: Sequence[str], seed: int) -> torch.Tensor: ...


class RenderCache:
    """Images per (renderer key, text, seed); LRU-bounded by count (previews are small)."""

    def __init__(self, max_entries: int = 512):
        self.max_entries = max_entries
        self._images: OrderedDict[tuple[str, str, int], torch.Tensor] = OrderedDict()
        self.hits = 0

    def get(self, key: tuple[str, str, int]) -> torch.Tensor | None:
        img = self._images.get(key)
        if img is not None:
            self._images.move_to_end(key)
            self.hits += 1
        return img

    def put(self, key: tuple[str, str, int], image: torch.Tensor) -> None:
        self._images[key] = image
        self._images.move_to_end(key)
        while len(self._images) > self.max_entries:
            self._images.popitem(last=False)


class RenderScorer:
    """score(text) = cosine(image encoder(render(text)), target); maximised.

    ``batch_size`` candidates are rendered per renderer call (the renderer may split further when
    memory is short).
    """

    direction: Direction = "maximize"

    def __init__(self, renderer: Renderer, encoder, target: torch.Tensor, *, seed: int = 2024,
                 batch_size: int = 4, cache: RenderCache | None = None):
        if "image" not in getattr(encoder, "modalities", frozenset()):
            raise InputError("scorer", f"an image-text scorer to rate renders; {encoder.key} does not embed images")
        if batch_size < 1:
            raise InputError("batch_size", "at least 1", repr(batch_size))
        target = torch.as_tensor(target).float().flatten()
        self.renderer, self.encoder = renderer, encoder
        self.target = target / target.norm().clamp_min(1e-8)
        self.seed, self.batch_size = seed, batch_size
        self.cache = cache if cache is not None else RenderCache()
        self.key = f"render({renderer.key},seed={seed})|{encoder.key}|{_target_digest(self.target)}"
        self.renders = 0
        self.encodes = 0

    def images(self, texts: Sequence[str]) -> torch.Tensor:
        """The renders of ``texts`` (rendering only the ones not in the cache)."""
        missing = [t for t in dict.fromkeys(texts) if self.cache.get((self.renderer.key, t, self.seed)) is None]
        for i in range(0, len(missing), self.batch_size):
            chunk = missing[i:i + self.batch_size]
            imgs = self.renderer.render(chunk, self.seed)
            if imgs.ndim != 4 or imgs.shape[0] != len(chunk):
                raise RuntimeError(f"renderer {self.renderer.key} returned {tuple(imgs.shape)} for {len(chunk)} texts")
            self.renders += len(chunk)
            for t, im in zip(chunk, imgs):
                self.cache.put((self.renderer.key, t, self.seed), im.detach().cpu())
        return torch.stack([self.cache.get((self.renderer.key, t, self.seed)) for t in texts])

    def score(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        imgs = self.images(texts)
        emb = self.encoder.encode_image(imgs)
        self.encodes += len(texts)
        return (emb.float() @ self.target).tolist()

    def format_score(self, score: float) -> str:
        return f"{100.0 * score:.2f}"
