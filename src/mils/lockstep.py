"""The search driver: many searches of one task stepping together (one search is a batch of one).

``run_searches(generator, task, items, config, ...)`` runs every :class:`SearchItem` (its own
scorer / target, start texts, intent, optional config, checkpoint and identity) through the
:class:`mils.search_state.Search` state object; ``mils.search.run_search`` is the one-item case, so
one search and many follow the same rules. Each result equals the result of running that search
alone with the same seed where the backends are deterministic. Per step:

* the prompts of all running searches (each with its P replies) go to the LLM as one batch
  (``mils.generators.base.generate_many``: one padded batch, requests in flight together, or a loop);
* the new candidates of all searches whose scorers share a text-embedding cache (same encoder)
  are embedded in one batched encode, then each search scores its own from that cache;
* the new candidates of all searches whose scorers render with one renderer and seed are rendered
  together (``mils.scorers.render.render_together``); so are the starting texts of the searches that
  begin (no saved state to resume);
* each search keeps its own leaderboard, dedup, patience, budget and stop reason; one that stops
  leaves the batch and the others go on.

The rules (the same for one search and many):

* **Cancel** (see ``mils.cancel.CancelCheck.is_cancel``: Ctrl-C, ``Cancelled`` from a backend, the
  caller's interrupt exception, or ``should_cancel()`` true) at any moment, inside the LLM, an
  encode, a render or a progress callback, stops every running search with ``stopped="cancelled"``
  and its best so far. A search cancelled before its starting texts were scored has no best: its
  slot holds ``mils.errors.Cancelled``.
* **Failure**: an exception from the LLM or the scorer (the whole batch's LLM call, or one search's
  reply or scores) stops the searches it hit with ``stopped="error"`` and ``error`` set, best so far
  kept; the others go on. Errors outside the MilsError family are logged with their traceback.
* An item whose start cannot be scored, or that cannot be built, gets the exception in its slot.

**Steering** (mils.steering; an item's ``steering`` inbox): after each round (the start's scoring
included) the driver takes what the artist queued and applies it (mils.steer_apply): every action
becomes an applied or rejected event in ``SearchResult.steering``; edits and adds are scored at once
by the search's scorer (the failure and cancel rules above hold); the state is saved again. With
``judge_timeout_s`` set, the driver first waits for each such search's ``wait_for_pick`` (all of
them against one clock, each with its own timeout; cancel ends the wait at once; on timeout the
scorer's ranking stands). Without steering nothing of this runs. At the end the inboxes are closed.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .cancel import CancelCheck, as_cancel_check, cancel_scope
from .errors import Cancelled, InputError, MilsError
from .generators.base import Generator, generate_many
from .scorers.base import Scorer, text_caches_of
from .scorers.render import render_together
from .search_state import CancelFn, Search, start_search
from .search_types import SearchConfig, SearchResult, StepRecord
from .steer_apply import apply_action
from .steering import Steering
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
    identity: dict[str, str] | None = None            # what the saved state must match (None: the search's own)
    steering: Steering | None = None                  # the artist's inbox (mils.steering); None: no steering
    judge_timeout_s: float | None = None              # judge mode: wait this long for a pick after each round


class _CancelAll(Exception):
    """Internal: a cancel was seen; every running search stops."""


def run_searches(generator: Generator, task: Task, items: Sequence[SearchItem], config: SearchConfig, *,
                 use_pool_cache: bool = True, progress: BatchProgressFn | None = None,
                 should_cancel: CancelFn | CancelCheck | None = None,
                 fresh: bool = False) -> list[SearchResult | Exception]:
    """Run ``items`` in lockstep; one SearchResult (or the exception that stopped it early) per item, in order."""
    items = list(items)
    if not items:
        raise InputError("items", "at least one search in the batch", "an empty batch")
    config.validate()
    for i, item in enumerate(items):
        _check_steering(item, i)
    inboxes = [id(item.steering) for item in items if item.steering is not None]
    if len(set(inboxes)) != len(inboxes):
        raise InputError("items", "a steering inbox of its own for each search (one Steering steers one search)")
    check = as_cancel_check(should_cancel)
    with cancel_scope(check):
        slots: list[Search | Exception] = [_new(generator, task, item, config, i, use_pool_cache, progress)
                                           for i, item in enumerate(items)]
        try:
            _render_starts(check, [s for s, item in zip(slots, items) if isinstance(s, Search)
                                   and (fresh or item.checkpoint is None or not Path(item.checkpoint).exists())])
            for i, item in enumerate(items):
                if isinstance(slots[i], Search):
                    slots[i] = _begin(check, slots[i], item, i, fresh)
            running = [s for s in slots if isinstance(s, Search)]
            running = _steer(check, running)
            while running:
                running = _steer(check, _step(check, generator, running))
        except (_CancelAll, KeyboardInterrupt):  # Ctrl-C between model calls is a cancel too
            check.cancelled = True
            for i, slot in enumerate(slots):
                if isinstance(slot, Search):
                    if slot.history:
                        slot.stop_cancelled()
                    else:  # cancelled before its start was scored: there is no best to return
                        slots[i] = Cancelled("cancelled before the starting texts were scored")
        finally:
            for item in items:
                if item.steering is not None:
                    item.steering.close()
        return [slot if isinstance(slot, Exception) else _finish(slot) for slot in slots]


def _new(generator, task, item: SearchItem, config: SearchConfig, index: int, use_pool_cache: bool,
         progress: BatchProgressFn | None) -> Search | Exception:
    cfg = item.config or config
    on_progress = None if progress is None else (lambda rec, total, i=index: progress(i, rec, total))
    try:
        return Search(item.scorer, task, item.start, cfg, generator_key=generator.key,
                      parallel=cfg.replies_per_step(generator), intent=item.intent, use_pool_cache=use_pool_cache,
                      progress=on_progress, steering=item.steering, judge_timeout_s=item.judge_timeout_s)
    except Exception as e:  # a failing input fails alone
        _log_failure(f"search {index} of the batch failed to start", e)
        return e


def _log_failure(what: str, e: BaseException) -> None:
    """A failure the run survives: a warning; with its traceback when it is not one of the engine's own errors."""
    log.warning("%s: %s: %s", what, type(e).__name__, e, exc_info=None if isinstance(e, MilsError) else e)


def _cancelled_by(check: CancelCheck, e: BaseException) -> None:
    """Raise _CancelAll if ``e`` is a cancel; re-raise what is neither a cancel nor an Exception (SystemExit)."""
    if check.is_cancel(e):
        raise _CancelAll() from e
    if not isinstance(e, Exception):
        raise e


def _begin(check: CancelCheck, search: Search, item: SearchItem, index: int, fresh: bool) -> Search | Exception:
    if check():
        raise _CancelAll()
    try:
        start_search(search, item.checkpoint, fresh=fresh, identity=item.identity)
        if search.steering is not None and search.steer_events:  # resumed: the inbox shows the earlier events
            search.steering.restore_events(search.steer_events)
        return search
    except BaseException as e:  # a failing input fails alone
        _cancelled_by(check, e)
        _log_failure(f"search {index} of the batch failed to start", e)
        return e


def _render_starts(check: CancelCheck, beginning: list[Search]) -> None:
    """The starting texts of the searches about to begin, rendered together where they share a renderer."""
    try:
        render_together([(s.scorer, s.unique_start()) for s in beginning])
    except BaseException as e:  # each search meets the failure again when it scores its start
        _cancelled_by(check, e)
        _log_failure("batched render of the starting texts failed, rendering one search at a time", e)


def _step(check: CancelCheck, generator: Generator, running: list[Search]) -> list[Search]:
    """One round: every running search's LLM request in one batch, then the new texts scored. Returns those
    still running."""
    if check():
        raise _CancelAll()
    asks = [(s, req) for s in running if (req := s.request()) is not None]
    if not asks:
        return []
    t0 = time.perf_counter()
    try:
        answers = generate_many(generator, [r.prompt for _, r in asks], [r.params for _, r in asks])
    except BaseException as e:  # the whole batch failed: every search in it meets the error
        _cancelled_by(check, e)
        _log_failure(f"the LLM ({generator.key}) failed", e)
        answers = [e] * len(asks)
    seconds = time.perf_counter() - t0
    for answer in answers:
        if isinstance(answer, BaseException):
            _cancelled_by(check, answer)
    if check():
        raise _CancelAll()
    to_score: list[tuple[Search, list[str]]] = []
    for (search, _), answer in zip(asks, answers):
        if isinstance(answer, BaseException):
            search.fail(answer)
        elif texts := search.accept_replies(answer, seconds):
            to_score.append((search, texts))
    _score_all(check, to_score)
    return [s for s, _ in asks if not s.done]


def _check_steering(item: SearchItem, index: int) -> None:
    if item.steering is not None and not isinstance(item.steering, Steering):
        raise InputError(f"items[{index}].steering", "a mils.steering.Steering inbox or None",
                         type(item.steering).__name__)
    t = item.judge_timeout_s
    if t is not None and (item.steering is None or isinstance(t, bool) or not isinstance(t, (int, float))
                          or not t > 0):
        raise InputError(f"items[{index}].judge_timeout_s",
                         "None (no judge mode) or a positive number of seconds, with a steering inbox", repr(t))


def _steer(check: CancelCheck, running: list[Search]) -> list[Search]:
    """Between rounds: judge-mode waits, then each steered search's queued actions applied. Returns those
    still running."""
    steered = [s for s in running if s.steering is not None and s.between_steps]
    if not steered:
        return running
    for search in steered:
        search.steering.publish(search.board.top(search.config.keep))
    t0 = time.monotonic()
    for search in steered:
        if search.judge_timeout_s is not None:
            search.steering.wait_for_pick(max(0.0, search.judge_timeout_s - (time.monotonic() - t0)), check)
    if check():
        raise _CancelAll()
    for search in steered:
        _apply_steering(check, search)
    return [s for s in running if not s.done]


def _apply_steering(check: CancelCheck, search: Search) -> None:
    actions = search.steering.take()
    if not actions:
        return

    def score(texts: list[str]):
        t1 = time.perf_counter()
        try:
            return search.scorer.score(texts)
        finally:
            search.secs_score += time.perf_counter() - t1

    first = len(search.steer_events)
    for action in actions:
        if search.done:
            event = action.event(search.step, "rejected", f"the search has stopped ({search.stopped})")
        else:
            try:
                event = apply_action(search, action, search.step, score)
            except BaseException as e:  # the scorer failed on an edit or add
                _cancelled_by(check, e)
                event = action.event(search.step, "rejected", f"the scorer failed: {type(e).__name__}: {e}")
                search.fail(e)
        search.steer_events.append(event)
        search.steering.record(event)
        if event["status"] == "rejected":
            log.warning("steering %s rejected after round %d: %s", action.kind, search.step, event["reason"])
    top = search.board.top(search.config.keep)
    search.steering.publish(top)
    try:
        if search.on_step is not None and search.stopped in (None, "artist"):
            search.on_step(search)      # the checkpoint keeps the steering
        if search.steering.on_applied is not None:
            search.steering.on_applied(search.steering.leaderboard(), [dict(e) for e in search.steer_events[first:]])
    except BaseException as e:
        _cancelled_by(check, e)
        search.fail(e)


def _text_caches(to_score: list[tuple[Search, list[str]]]) -> list[tuple[object, list[str]]]:
    """The shared text-embedding caches of the scorers (Scorer.text_cache / text_caches) with the texts each
    should embed."""
    by_cache: dict[int, tuple[object, list[str]]] = {}
    for search, texts in to_score:
        for cache in text_caches_of(search.scorer):
            by_cache.setdefault(id(cache), (cache, []))[1].extend(texts)
    return list(by_cache.values())


def _score_all(check: CancelCheck, to_score: list[tuple[Search, list[str]]]) -> None:
    """One batched encode per shared text cache and batched renders per shared renderer, then each search
    scores its own texts (cache hits)."""
    t0 = time.perf_counter()
    for cache, texts in _text_caches(to_score):
        try:
            cache.get(list(dict.fromkeys(texts)))
        except BaseException as e:  # each search meets the failure again in its own score() below
            _cancelled_by(check, e)
            _log_failure("batched encode failed, scoring one search at a time", e)
    try:
        render_together([(search.scorer, texts) for search, texts in to_score])
    except BaseException as e:  # each search meets the failure again in its own score() below
        _cancelled_by(check, e)
        _log_failure("batched render failed, rendering one search at a time", e)
    shared = (time.perf_counter() - t0) / max(1, len(to_score))
    for search, texts in to_score:
        t1 = time.perf_counter()
        try:
            scores = search.scorer.score(texts)
        except BaseException as e:
            _cancelled_by(check, e)
            search.fail(e)
            continue
        try:
            search.accept_scores(scores, shared + time.perf_counter() - t1)
        except BaseException as e:  # a progress or checkpoint callback, or scores of the wrong length
            _cancelled_by(check, e)
            search.fail(e)
        if check():
            raise _CancelAll()


def _finish(search: Search) -> SearchResult | Exception:
    try:
        return search.finish()
    except Exception as e:
        return e
