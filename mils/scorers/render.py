"""Scoring texts through a renderer: text -> image -> an image score.

Text-to-image prompt enhancement scores each rewrite by rendering it (one fixed seed for every
candidate, as in the paper) and comparing the picture with the ORIGINAL prompt's text embedding.
Style transfer renders each edit instruction (applied to the content image) and rates the picture
with the Gram-matrix style scorer (``mils.scorers.gram``).

One implementation serves both: ``RenderedTextScorer`` renders and caches, and hands the images to
an ``ImageScorer`` (images -> one float each). ``RenderScorer`` is that with the cosine to an
embedding target. Renders are cached per (renderer, text, seed) so a repeated candidate is never
rendered twice.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Protocol, Sequence, runtime_checkable

import torch

from ..errors import InputError
from ..keys import tensor_digest
from ..renderers.base import Renderer, fit_text
from .base import Direction, Score, shown


@runtime_checkable
class ImageScorer(Protocol):
    """Rates images (B, H, W, 3) float 0..1 against a fixed target; knows its direction."""

    key: str
    direction: Direction

    def image_scores(self, images: torch.Tensor) -> list[float]:
        """One float per image."""
        ...

    def format_score(self, score: float) -> str: ...


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


class CosineImageScorer:
    """image score = cosine(image encoder(image), target embedding); maximised; shown as 100 x cosine."""

    direction: Direction = "maximize"

    def __init__(self, encoder, target: torch.Tensor):
        if "image" not in getattr(encoder, "modalities", frozenset()):
            raise InputError("scorer", f"an image-text scorer to rate renders; {encoder.key} does not embed images")
        target = torch.as_tensor(target).float().flatten()
        self.encoder = encoder
        self.target = target / target.norm().clamp_min(1e-8)
        self.key = f"{encoder.key}|{tensor_digest(self.target)}"

    def image_scores(self, images: torch.Tensor) -> list[float]:
        return (self.encoder.encode_image(images).float() @ self.target).tolist()

    def format_score(self, score: float) -> str:
        return f"{100.0 * score:.2f}"


class RenderedTextScorer:
    """score(text) = image_scorer(render(text)); the direction and display are the image scorer's.

    ``batch_size`` candidates are rendered per renderer call (the renderer may split further when
    memory is short). ``renders`` counts renderer work, ``encodes`` the images handed to the scorer.
    """

    def __init__(self, renderer: Renderer, image_scorer: ImageScorer, *, seed: int = 2024, batch_size: int = 4,
                 cache: RenderCache | None = None):
        if batch_size < 1:
            raise InputError("batch_size", "at least 1", repr(batch_size))
        self.renderer, self.image_scorer = renderer, image_scorer
        self.direction: Direction = image_scorer.direction
        self.seed, self.batch_size = seed, batch_size
        self.cache = cache if cache is not None else RenderCache()
        self.key = f"render({renderer.key},seed={seed})|{image_scorer.key}"
        self.renders = 0
        self.encodes = 0

    def images(self, texts: Sequence[str]) -> torch.Tensor:
        """The renders of ``texts`` as the renderer's text encoder reads them (over its token budget: trimmed),
        rendering only the ones not in the cache."""
        return self._render([fit_text(self.renderer, t) for t in texts])

    def _render(self, texts: list[str]) -> torch.Tensor:
        unique = list(dict.fromkeys(texts))
        found = {t: im for t in unique if (im := self.cache.get((self.renderer.key, t, self.seed))) is not None}
        missing = [t for t in unique if t not in found]
        for i in range(0, len(missing), self.batch_size):
            chunk = missing[i:i + self.batch_size]
            imgs = self.renderer.render(chunk, self.seed)
            if imgs.ndim != 4 or imgs.shape[0] != len(chunk):
                raise RuntimeError(f"renderer {self.renderer.key} returned {tuple(imgs.shape)} for {len(chunk)} texts")
            self.renders += len(chunk)
            for t, im in zip(chunk, imgs):
                found[t] = im.detach().cpu()
                self.cache.put((self.renderer.key, t, self.seed), found[t])
        return torch.stack([found[t] for t in texts])

    def score(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        read = [fit_text(self.renderer, t) for t in texts]
        scores = self.image_scorer.image_scores(self._render(read))
        self.encodes += len(texts)
        budget = getattr(self.renderer, "token_budget", None)
        return [Score(v, f"{shown(self.image_scorer, v)}, trimmed to {budget} tokens") if r != t else v
                for t, r, v in zip(texts, read, scores)]

    def format_score(self, score: float) -> str:
        return self.image_scorer.format_score(score)


class RenderScorer(RenderedTextScorer):
    """score(text) = cosine(image encoder(render(text)), target); maximised."""

    def __init__(self, renderer: Renderer, encoder, target: torch.Tensor, *, seed: int = 2024,
                 batch_size: int = 4, cache: RenderCache | None = None):
        cosine = CosineImageScorer(encoder, target)
        super().__init__(renderer, cosine, seed=seed, batch_size=batch_size, cache=cache)
        self.encoder, self.target = encoder, cosine.target
