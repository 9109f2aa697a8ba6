"""Scoring texts through a renderer: text -> image -> an image score.

Text-to-image prompt enhancement scores each rewrite by rendering it (one fixed seed for every
candidate, as in the paper) and comparing the picture with the ORIGINAL prompt's text embedding.
Style transfer renders each edit instruction (applied to the content image) and rates the picture
with the Gram-matrix style scorer (``mils.scorers.gram``).

One implementation serves both: ``RenderedTextScorer`` renders and caches, and hands the images to
an ``ImageScorer`` (images -> one float each). ``RenderScorer`` is that with the cosine to an
embedding target. Renders are cached per (renderer, text, seed) so a repeated candidate is never
rendered twice. ``render_together`` renders what several such scorers on one renderer still miss
in shared batched calls (many searches stepping together, mils.lockstep).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Protocol, Sequence, runtime_checkable

import torch

from ..errors import InputError
from ..keys import tensor_digest
from ..renderers.base import Renderer, fit_text, token_budget
from .base import Direction, Score, ScorerBase, optional, shown


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

    def __contains__(self, key: tuple[str, str, int]) -> bool:  # no hit counted, no LRU move
        return key in self._images

    def put(self, key: tuple[str, str, int], image: torch.Tensor) -> None:
        self._images[key] = image
        self._images.move_to_end(key)
        while len(self._images) > self.max_entries:
            self._images.popitem(last=False)


class CosineImageScorer:
    """image score = cosine(image encoder(image), target embedding); maximised; shown as 100 x cosine."""

    direction: Direction = "maximize"
    score_scale = (0.0, 0.5)   # for weighted mixes (mils.scorers.mix): a cosine of 0.5 is about the best match

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


class RenderedTextScorer(ScorerBase):
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

    def cache_key(self, text: str) -> tuple[str, str, int]:
        """The render cache's key of a text as the renderer reads it."""
        return (self.renderer.key, text, self.seed)

    def missing(self, texts: Sequence[str]) -> list[str]:
        """The texts as the renderer reads them, once each, whose render is not cached yet."""
        read = dict.fromkeys(fit_text(self.renderer, t) for t in texts)
        return [t for t in read if self.cache_key(t) not in self.cache]

    def _render(self, texts: list[str]) -> torch.Tensor:
        unique = list(dict.fromkeys(texts))
        found = {t: im for t in unique if (im := self.cache.get(self.cache_key(t))) is not None}
        missing = [t for t in unique if t not in found]
        for t, im in zip(missing, _render_batched(self.renderer, missing, self.seed, self.batch_size)):
            found[t] = im
            self.cache.put(self.cache_key(t), im)
        self.renders += len(missing)
        return torch.stack([found[t] for t in texts])

    def score(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        read = [fit_text(self.renderer, t) for t in texts]
        scores = self.image_scorer.image_scores(self._render(read))
        self.encodes += len(texts)
        budget = token_budget(self.renderer)
        return [Score(v, f"{shown(self.image_scorer, v)}, trimmed to {budget} tokens") if r != t else v
                for t, r, v in zip(texts, read, scores)]

    def format_score(self, score: float) -> str:
        return self.image_scorer.format_score(score)

    @property
    def score_scale(self):
        return optional(self.image_scorer, "score_scale")


class RenderScorer(RenderedTextScorer):
    """score(text) = cosine(image encoder(render(text)), target); maximised."""

    def __init__(self, renderer: Renderer, encoder, target: torch.Tensor, *, seed: int = 2024,
                 batch_size: int = 4, cache: RenderCache | None = None):
        cosine = CosineImageScorer(encoder, target)
        super().__init__(renderer, cosine, seed=seed, batch_size=batch_size, cache=cache)
        self.encoder, self.target = encoder, cosine.target


def _render_batched(renderer: Renderer, texts: Sequence[str], seed: int, batch_size: int) -> list[torch.Tensor]:
    """One CPU image per text, ``batch_size`` texts per renderer call (the renderer may split further)."""
    out: list[torch.Tensor] = []
    for i in range(0, len(texts), batch_size):
        chunk = list(texts[i:i + batch_size])
        imgs = renderer.render(chunk, seed)
        if imgs.ndim != 4 or imgs.shape[0] != len(chunk):
            raise RuntimeError(f"renderer {renderer.key} returned {tuple(imgs.shape)} for {len(chunk)} texts")
        out.extend(im.detach().cpu() for im in imgs)
    return out


def render_together(requests: Sequence[tuple[object, Sequence[str]]]) -> int:
    """Render, in shared batched calls, what several scorers are about to score and have not rendered yet.

    ``requests``: (scorer, texts) pairs, e.g. the new candidates of many searches in one lockstep step.
    The RenderedTextScorers among them whose renderer key and seed agree (the same picture for the same
    text) form a group; its missing texts, once each, go through the first scorer's renderer
    ``batch_size`` at a time (a diffusers renderer splits further after running out of memory). Every
    image lands in the cache of each scorer of the group that lacked it and counts among that scorer's
    ``renders`` (what it would have rendered alone), so its ``score`` then only reads the cache. Other
    scorers, and groups of one, are left to their own ``score``. Returns the texts rendered.
    """
    groups: dict[tuple[str, int], list[tuple[RenderedTextScorer, list[str]]]] = {}
    for scorer, texts in requests:
        if isinstance(scorer, RenderedTextScorer) and texts:
            groups.setdefault((scorer.renderer.key, scorer.seed), []).append((scorer, scorer.missing(texts)))
    rendered = 0
    for group in groups.values():
        if len(group) < 2:
            continue
        wanted = list(dict.fromkeys(t for _, missing in group for t in missing))
        if not wanted:
            continue
        lead = group[0][0]
        images = dict(zip(wanted, _render_batched(lead.renderer, wanted, lead.seed, lead.batch_size)))
        rendered += len(wanted)
        for scorer, missing in group:
            for t in missing:
                scorer.cache.put(scorer.cache_key(t), images[t])
            scorer.renders += len(missing)
    return rendered
