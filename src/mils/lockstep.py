"""Many searches of one task stepping together: one batched LLM call and one batched encode per step.

``run_searches(generator, task, items, config, ...)`` runs every :class:`SearchItem` (its own
scorer / target, start texts, intent, optional config and checkpoint) through the same
:class:`mils.search.Search` state object that ``run_search`` uses, so each result equals the result
of running that search alone with the same seed where the backends are deterministic. Per step:

* the prompts of all running searches (each with its P replies) go to the LLM as one batch
  (``generator.generate_batch`` where the backend has it: one padded batch for transformers,
  requests in flight together for HTTP; a loop otherwise);
* the new candidates of all searches whose scorers share a text-embedding cache (same encoder)
  are embedded in one batched encode, then each search scores its own from that cache;
* the new candidates of all searches whose scorers render with one renderer and seed (prompt
  enhancement of many prompts on one pipeline) are rendered together in batched renderer calls,
  ``batch_size`` at a time (``mils.scorers.render.render_together``); the starting texts of the
  searches that begin (no saved state to resume) are rendered together the same way;
* each search keeps its own leaderboard, dedup, patience, budget and stop reason; one that stops
  leaves the batch and the others go on.

A failing input fails alone: an item whose start cannot be scored gets the exception in its slot;
an LLM or scorer failure mid-search gives that search a result with ``stopped="error"`` and
``error`` set (its best so far kept); the others continue. A cancel stops them all with
``stopped="cancelled"``. With a shared encoder, ``encodes`` counts the shared encoder's work.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .cancel import cancel_scope
from .errors import InputError
from .generators.base import Generator, generate_many
from .scorers.base import Scorer
from .scorers.render import render_together
from .search import CancelFn, Search, SearchConfig, SearchResult, StepRecord, start_search
from .tasks import Task

log = logging.getLogger(__name__)

__all__ = ["SearchItem", "run_searches"]

BatchProgressFn = Callable[[int, StepRecord, int], None]  # (item index, record, total steps)


@dataclass
class SearchItem:
    """One search of a lockstep batch."""

    scorer: Scorer
    start: Sequence[str]
    intent: str = ""
    config: SearchConfig | None = None                # None: the batch's config
    checkpoint: str | os.PathLike | None = None       # resumable state file (see mils.search_checkpoint)


def run_searches(generator: Generator, task: Task, items: Sequence[SearchItem], config: SearchConfig, *,
                 use_pool_cache: bool = True, progress: BatchProgressFn | None = None,
                 should_cancel: CancelFn | None = None, fresh: bool = False) -> list[SearchResult | Exception]:
    """Run ``items`` in lockstep; one SearchResult (or the exception that stopped it early) per item, in order."""
    items = list(items)
    if not items:
        raise InputError("items", "at least one search in the batch", "an empty batch")
    config.validate()
    with cancel_scope(should_cancel):
        made = [_new(generator, task, item, config, i, use_pool_cache, progress, should_cancel)
                for i, item in enumerate(items)]
        _render_starts([s for s, item in zip(made, items) if isinstance(s, Search)
                        and (fresh or item.checkpoint is None or not Path(item.checkpoint).exists())])
        slots: list[Search | Exception] = [s if isinstance(s, Exception) else _begin(s, item, i, fresh)
                                           for i, (s, item) in enumerate(zip(made, items))]
        running = [s for s in slots if isinstance(s, Search)]
        while running:
            asks = [(s, s.request()) for s in running]
            running = [s for s, req in asks if req is not None]
            asks = [(s, req) for s, req in asks if req is not None]
            if not asks:
                break
            t0 = time.perf_counter()
            try:
                answers = generate_many(generator, [r.prompt for _, r in asks], [r.params for _, r in asks])
            except Exception as e:  # the whole batch failed: every search in it meets the error
                answers = [e] * len(asks)
            seconds = time.perf_counter() - t0
            to_score: list[tuple[Search, list[str]]] = []
            for (search, _), answer in zip(asks, answers):
                if isinstance(answer, Exception):
                    # an interrupt raised inside the LLM call is a cancel, not a failure
                    search.stop_cancelled() if search.cancel() else search.fail(answer)
                    continue
                texts = search.accept_replies(answer, seconds)
                if texts:
                    to_score.append((search, texts))
            _score_all(to_score)
            running = [s for s in running if not s.done]
        return [slot if isinstance(slot, Exception) else _finish(slot) for slot in slots]


def _new(generator, task, item: SearchItem, config: SearchConfig, index: int, use_pool_cache: bool,
         progress: BatchProgressFn | None, should_cancel) -> Search | Exception:
    cfg = item.config or config
    on_progress = None if progress is None else (lambda rec, total, i=index: progress(i, rec, total))
    try:
        return Search(item.scorer, task, item.start, cfg, generator_key=generator.key,
                      parallel=cfg.replies_per_step(generator), intent=item.intent, use_pool_cache=use_pool_cache,
                      progress=on_progress, should_cancel=should_cancel)
    except Exception as e:  # a failing input fails alone
        log.warning("search %d of the batch failed to start: %s", index, e)
        return e


def _begin(search: Search, item: SearchItem, index: int, fresh: bool) -> Search | Exception:
    try:
        start_search(search, item.checkpoint, fresh=fresh)
        return search
    except Exception as e:  # a failing input fails alone
        log.warning("search %d of the batch failed to start: %s", index, e)
        return e


def _render_starts(beginning: list[Search]) -> None:
    """The starting texts of the searches about to begin, rendered together where they share a renderer."""
    try:
        render_together([(s.scorer, s.unique_start()) for s in beginning])
    except Exception as e:  # each search meets the failure again when it scores its start
        log.warning("batched render of the starting texts failed, rendering one search at a time: %s", e)


def _finish(search: Search) -> SearchResult | Exception:
    try:
        return search.finish()
    except Exception as e:
        return e


def _text_caches(scorer: object) -> list[object]:
    """The text-embedding caches a scorer reads (an EmbeddingScorer's, or its members')."""
    cache = getattr(scorer, "text_cache", None)
    if cache is not None and hasattr(cache, "get"):
        return [cache]
    found = []
    for member in getattr(scorer, "members", ()) or ():
        found += _text_caches(member[1] if isinstance(member, tuple) else member)
    return found


def _score_all(to_score: list[tuple[Search, list[str]]]) -> None:
    """One batched encode per shared text cache and batched renders per shared renderer, then each search
    scores its own texts (cache hits)."""
    t0 = time.perf_counter()
    by_cache: dict[int, tuple[object, list[str]]] = {}
    for search, texts in to_score:
        for cache in _text_caches(search.scorer):
            by_cache.setdefault(id(cache), (cache, []))[1].extend(texts)
    for cache, texts in by_cache.values():
        try:
            cache.get(list(dict.fromkeys(texts)))
        except Exception as e:  # each search meets the failure again in its own score() below
            log.warning("batched encode failed, scoring one search at a time: %s", e)
    try:
        render_together([(search.scorer, texts) for search, texts in to_score])
    except Exception as e:  # each search meets the failure again in its own score() below
        log.warning("batched render failed, rendering one search at a time: %s", e)
    shared = (time.perf_counter() - t0) / max(1, len(to_score))
    for search, texts in to_score:
        t1 = time.perf_counter()
        try:
            scores = search.scorer.score(texts)
            search.accept_scores(scores, shared + time.perf_counter() - t1)
        except Exception as e:
            search.fail(e)
