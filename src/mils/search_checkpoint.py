"""Resumable searches: a search's state saved atomically after every step, and resumed from it.

``attach_checkpoint(search, path, fresh=False)`` (what ``run_search(..., checkpoint=path)`` and
``SearchItem(checkpoint=path)`` use) resumes ``search`` from the state at ``path`` when that state
was written for the same arguments, else begins it; from then on the state is rewritten after every
finished step (temp file + os.replace: readers see the old state or the whole new one).

The state (JSON, ``STATE_VERSION``) holds the scored candidates, the normalised texts seen (dedup),
the step records, patience and counters, and a fingerprint of the arguments: the generator key, the
scorer key and direction, the task and its template, the start texts, the intent, and the config
(all of it but ``time_budget_s``, which is per run). Step seeds derive from (config.seed, step), so
a resumed search with a deterministic backend ends where an uninterrupted one would.

A missing file starts fresh silently; a corrupt one, or one from other arguments, is logged as a
warning and ignored (and overwritten), never an error. ``fresh=True`` ignores any saved state. A
state whose search finished (``steps`` or ``patience``) resumes as finished: no LLM call at all; one
that stopped on ``time``, ``cancelled`` or ``error`` goes on from its last finished step.

``search`` arguments are ``mils.search.Search`` objects (not imported here: search imports this module).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .cache import atomic_write_text
from .search_types import Scored, StepRecord

log = logging.getLogger(__name__)

__all__ = ["STATE_VERSION", "attach_checkpoint", "fingerprint", "load_state", "search_state", "restore_search"]

STATE_VERSION = 2
_FINISHED = ("steps", "patience")


def fingerprint(search) -> str:
    """What a saved state must match to be resumed: everything that shapes the search's results."""
    cfg = asdict(search.config)
    cfg.pop("time_budget_s", None)
    parts = {"generator": search.generator_key, "scorer": search.scorer.key, "direction": search.scorer.direction,
             "task": search.task.name, "template": search.task.template, "start": search.start,
             "intent": search.intent, "config": cfg, "replies": search.replies}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def search_state(search) -> dict[str, Any]:
    """The search's state after its last finished step, as JSON-able data."""
    return {
        "version": STATE_VERSION,
        "fingerprint": fingerprint(search),
        "step": search.step,
        "stopped": search.stopped if search.stopped in _FINISHED else None,
        "board": [[s.text, s.score, s.step, s.shown] for s in search.board.items],
        "seen": sorted(search.board.seen),
        "history": [asdict(h) for h in search.history],
        "stale": search.stale,
        "best_so_far": search.best_so_far,
        "productive_steps": search.productive_steps,
        "last_reply": search.last_reply,
        "llm_calls": search.llm_calls,
        "seconds_llm": search.secs_llm,
        "seconds_scoring": search.secs_score,
        "seconds_total": search.seconds_so_far(),
        "encodes": search.encodes_so_far(),
        "renders": search.renders_so_far(),
    }


def restore_search(search, state: dict[str, Any]) -> None:
    """Put ``state`` (from :func:`search_state`, fingerprint already checked) into a new ``search``.

    Raises KeyError / TypeError / ValueError on a malformed state, leaving ``search`` untouched.
    """
    board = [Scored(str(t), float(s), int(k), str(shown)) for t, s, k, shown in state["board"]]
    history = [StepRecord(**{**h, "leaderboard": [Scored(**s) for s in h["leaderboard"]]}) for h in state["history"]]
    step = int(state["step"])
    if not board or not history or step != history[-1].step:
        raise ValueError("no scored candidates, or step records that do not end at the saved step")
    values = dict(
        step=step, stale=int(state["stale"]), best_so_far=float(state["best_so_far"]),
        productive_steps=int(state["productive_steps"]), last_reply=str(state["last_reply"]),
        llm_calls=int(state["llm_calls"]), secs_llm=float(state["seconds_llm"]),
        secs_score=float(state["seconds_scoring"]), seconds_before=float(state["seconds_total"]),
        encodes_before=int(state["encodes"]), renders_before=int(state["renders"]), resumed_from=step,
        stopped=state["stopped"] if state["stopped"] in _FINISHED else None)
    seen = {str(t) for t in state["seen"]}
    search.board.items, search.board.seen, search.history = board, seen, history
    for name, value in values.items():
        setattr(search, name, value)


def load_state(path: str | os.PathLike, expected_fingerprint: str) -> dict[str, Any] | None:
    """The saved state at ``path`` if it is readable and for these arguments; None (with a warning) if not."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise ValueError(f"not a version {STATE_VERSION} search state")
    except (OSError, ValueError, UnicodeDecodeError) as e:
        log.warning("ignoring the search state %s: it is corrupt or unreadable (%s); starting fresh", path, e)
        return None
    if state.get("fingerprint") != expected_fingerprint:
        log.warning("ignoring the search state %s: it was written for other arguments (model, scorer, task, "
                    "start, intent or config); starting fresh", path)
        return None
    return state


def attach_checkpoint(search, path: str | os.PathLike, *, fresh: bool = False) -> None:
    """Resume ``search`` from ``path`` (or begin it), then save its state there after every step."""
    path = Path(path)
    state = None if fresh else load_state(path, fingerprint(search))
    resumed = False
    if state is not None:
        try:
            restore_search(search, state)
            resumed = True
            log.info("resuming the search saved at %s after step %d", path, search.step)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            log.warning("ignoring the search state %s: it is corrupt (%s: %s); starting fresh", path,
                        type(e).__name__, e)
    previous = search.on_step

    def save(s) -> None:
        if previous is not None:
            previous(s)
        atomic_write_text(path, json.dumps(search_state(s), ensure_ascii=False))

    search.on_step = save
    if not resumed:
        search.begin()
    if not resumed or search.done:
        save(search)
