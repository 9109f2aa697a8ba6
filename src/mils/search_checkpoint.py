"""Resumable searches: a search's state saved atomically after every step, and resumed from it.

``attach_checkpoint(search, path, fresh=False, identity=None)`` (what ``run_search(..., checkpoint=path)``
and ``SearchItem(checkpoint=path)`` use) resumes ``search`` from the state at ``path`` when that state
was written for the same identity (mils.identity: a job's, else the search's own), else begins it; from then on the state is rewritten after every
finished step (temp file + os.replace: readers see the old state or the whole new one).

The state (JSON, ``STATE_VERSION``) holds the scored candidates, the normalised texts seen (dedup),
the step records, patience and counters, the artist's steering (pins, bans, ranking and the
events: a resumed run keeps them), and the identity it was made for (readable fields: task,
models, inputs, budget, seed; ``time_budget_s`` is per run and not part of it). Step seeds derive from (config.seed, step), so
a resumed search with a deterministic backend ends where an uninterrupted one would.

A missing file starts fresh silently; a corrupt one, or one from other arguments, is logged as a
warning (naming the fields that differ) and ignored (and overwritten), never an error. ``fresh=True`` ignores any saved state. A
state whose search finished (``steps``, ``patience`` or ``artist``: the artist stopped it) resumes as finished: no LLM call at all; one
that stopped on ``time``, ``cancelled`` or ``error`` goes on from its last finished step.

``search`` arguments are ``mils.search.Search`` objects (not imported here: search imports this module).
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .cache import atomic_write_text
from .identity import identity_difference, identity_digest, search_identity
from .search_types import Scored, StepRecord
from .steer_apply import mark_pinned

log = logging.getLogger(__name__)

__all__ = ["STATE_VERSION", "attach_checkpoint", "load_state", "search_state", "restore_search"]

STATE_VERSION = 3
_FINISHED = ("steps", "patience", "artist")


def search_state(search, identity: dict[str, str]) -> dict[str, Any]:
    """The search's state after its last finished step, as JSON-able data."""
    return {
        "version": STATE_VERSION,
        "identity": dict(identity),
        "digest": identity_digest(identity),
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
        "steering": {"pinned": list(search.board.pinned), "banned": list(search.board.banned),
                     "ranked": list(search.board.ranked), "events": [dict(e) for e in search.steer_events]},
    }


def restore_search(search, state: dict[str, Any]) -> None:
    """Put ``state`` (from :func:`search_state`, identity already checked) into a new ``search``.

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
    steer = state.get("steering") or {}  # states from before steering have none
    lists = {name: [str(t) for t in steer.get(name, [])] for name in ("pinned", "banned", "ranked")}
    events = [dict(e) for e in steer.get("events", [])]
    search.board.items, search.board.seen, search.history = board, seen, history
    for name, value in lists.items():
        setattr(search.board, name, value)
    search.board.reorder()
    mark_pinned(search.board)
    search.steer_events = events
    for name, value in values.items():
        setattr(search, name, value)


def load_state(path: str | os.PathLike, identity: dict[str, str]) -> dict[str, Any] | None:
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
    if state.get("digest") != identity_digest(identity):
        saved = state.get("identity") if isinstance(state.get("identity"), dict) else {}
        log.warning("ignoring the search state %s: it was written for other arguments (%s); starting fresh", path,
                    identity_difference(saved, identity) or "unknown")
        return None
    return state


def attach_checkpoint(search, path: str | os.PathLike, *, fresh: bool = False,
                      identity: dict[str, str] | None = None) -> None:
    """Resume ``search`` from ``path`` (or begin it), then save its state there after every step.

    ``identity``: what the state must have been made for (a job's, mils.identity.job_identity); None: the
    search's own (search_identity)."""
    path = Path(path)
    # P replies per step can follow the device (the generator's default): it shapes the results too
    identity = {**identity, "replies": str(search.replies)} if identity is not None else search_identity(search)
    state = None if fresh else load_state(path, identity)
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
        atomic_write_text(path, json.dumps(search_state(s, identity), ensure_ascii=False))

    search.on_step = save
    if not resumed:
        search.begin()
    if not resumed or search.done:
        save(search)
    if resumed and not search.done:
        search.report_current()
