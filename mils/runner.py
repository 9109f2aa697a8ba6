"""One call per job: pick the task's pool and budget, build the target, run the search.

The CLI and the ComfyUI nodes both go through here, so they behave the same.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Sequence

import torch

from . import targets
from .errors import InputError
from .pools import load_pool
from .scorers.embedding import EmbeddingScorer
from .search import CancelFn, ProgressFn, SearchConfig, SearchResult, run_search
from .tasks import Task, get_task

log = logging.getLogger(__name__)


@dataclass
class Media:
    """What to caption: ``kind`` is "image", "video" or "audio"."""

    kind: str
    images: torch.Tensor | None = None        # (B, H, W, 3): one image, or the frames of a video
    waveform: torch.Tensor | None = None      # (B, C, T)
    sample_rate: int | None = None

    @property
    def task_name(self) -> str:
        return {"image": "image_caption", "video": "video_caption", "audio": "audio_caption"}[self.kind]


def search_config(task: Task, preset: str = "balanced", *, seed: int = 0, **overrides) -> SearchConfig:
    """The task's budget preset, with any non-None override (keep, new_per_step, steps, patience, ...)."""
    b = task.budget(preset)
    cfg = SearchConfig(keep=b.keep, new_per_step=b.new_per_step, steps=b.steps, patience=b.patience,
                       max_new_tokens=b.max_new_tokens, seed=seed)
    return replace(cfg, **{k: v for k, v in overrides.items() if v is not None}).validate()


def starting_pool(task: Task, preset: str, pool: str | Sequence[str] | None, keep: int) -> list[str]:
    """The task's pool (or the user's pool name/file/list), subsampled per the preset, checked against K."""
    limit = task.budget(preset).pool_limit
    if pool is None:
        if task.pool is None:
            raise InputError("pool", f"a starting text for task {task.name}")
        texts = load_pool(task.pool, limit=limit)
    elif isinstance(pool, str):
        texts = load_pool(pool, limit=limit)
    else:
        texts = [t.strip() for t in pool if t and t.strip()]
        if not texts:
            raise InputError("pool", "at least one non-empty description")
    if keep > len(texts):
        raise InputError("keep", f"K no larger than the pool ({len(texts)} descriptions); lower K or use a larger pool",
                         repr(keep))
    return texts


def media_target(encoder, media: Media, *, num_frames: int = 8) -> torch.Tensor:
    if media.kind == "image":
        return targets.image_target(encoder, media.images)
    if media.kind == "video":
        return targets.video_target(encoder, media.images, num_frames=num_frames)
    if media.kind == "audio":
        return targets.audio_target(encoder, media.waveform, media.sample_rate)
    raise InputError("media", "image, video or audio", repr(media.kind))


def caption(generator, encoder, media: Media, *, preset: str = "balanced", pool=None, seed: int = 0,
            num_frames: int = 8, progress: ProgressFn | None = None, should_cancel: CancelFn | None = None,
            **overrides) -> SearchResult:
    """Caption an image, a video (frames) or a sound with MILS."""
    task = get_task(media.task_name)
    cfg = search_config(task, preset, seed=seed, **overrides)
    start = starting_pool(task, preset, pool, cfg.keep)
    scorer = EmbeddingScorer(encoder, media_target(encoder, media, num_frames=num_frames), label=media.kind)
    return run_search(generator, scorer, task, start, cfg, progress=progress, should_cancel=should_cancel)


def invert(generator, encoder, target: torch.Tensor, *, preset: str = "balanced", pool=None, seed: int = 0,
           progress: ProgressFn | None = None, should_cancel: CancelFn | None = None, **overrides) -> SearchResult:
    """Find text whose embedding is closest to ``target`` (e.g. the result of embedding arithmetic)."""
    task = get_task("invert")
    cfg = search_config(task, preset, seed=seed, **overrides)
    start = starting_pool(task, preset, pool, cfg.keep)
    scorer = EmbeddingScorer(encoder, target, label="target")
    return run_search(generator, scorer, task, start, cfg, progress=progress, should_cancel=should_cancel)
