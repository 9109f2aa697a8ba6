"""The artist steers a running search: an inbox of actions the driver applies between rounds.

A :class:`Steering` is a thread-safe inbox for ONE search. Anyone (the ComfyUI route, the CLI's
``--steer FILE`` tail or ``--interactive`` prompt, an API caller) ``submit()``s :class:`SteerAction`
values; the driver (``mils.lockstep.run_searches``, item field ``steering``) ``take()``s everything
queued after each round and applies it to the search (``mils.steer_apply``). Actions:

* ``pin`` TEXT: the candidate always stays among the K kept and shown to the LLM (``unpin`` undoes it);
* ``ban`` TEXT: dropped from the board, never kept or accepted again; the LLM prompt lists it to avoid;
* ``edit`` TEXT -> NEW_TEXT: the candidate's text replaced by the artist's; the new text is scored;
* ``add`` TEXT: the artist's own candidate, scored;
* ``stop``: end now with the best so far, ``stopped="artist"``;
* ``rank`` ORDER: the artist's order of some candidates (best first) outranks the scorer's among them;
  a "pick" is a rank of one (``parse_action`` accepts ``{"action": "pick", "text": ...}`` for it).

``parse_action(obj, who=...)`` validates a JSON object ``{"action", "text", "new_text", "order"}``
and raises ``mils.errors.InputError`` naming the field at fault. Every action the driver applies or
rejects lands in ``events()`` as ``{"round", "who", "action", "text", "new_text", "order", "status":
"applied" | "rejected", "reason"}``, in ``SearchResult.steering`` and in the checkpoint. A rejected
action never stops the search. After the run ``close()`` makes ``submit()`` raise
:class:`SteeringClosed` (a route answers 409).

The driver also ``publish()``es the search's top K after every round and every applied batch
(``leaderboard()`` reads it: the candidates an action can name) and calls ``on_applied(leaderboard,
events)`` (a constructor argument) after it applied a batch, so a UI can refresh at once.

Judge mode (``judge_timeout_s`` on the item): after each round the driver calls
``wait_for_pick(timeout, cancelled)``, which returns as soon as a ``rank`` or ``stop`` is queued
(True), or when the timeout passes or ``cancelled()`` says so (False: the scorer's ranking stands).
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

from .errors import InputError, MilsError

__all__ = ["ACTIONS", "MAX_ORDER", "MAX_TEXT", "SteerAction", "Steering", "SteeringClosed", "parse_action"]

ACTIONS = ("pin", "unpin", "ban", "edit", "add", "stop", "rank")
MAX_TEXT = 2000     # characters; longer is an InputError
MAX_ORDER = 200     # candidates in one rank
_NEEDS_TEXT = ("pin", "unpin", "ban", "edit", "add")
_JUDGE_WAKES = ("rank", "stop")


@dataclass(frozen=True)
class SteerAction:
    kind: str                      # one of ACTIONS
    text: str = ""                 # pin/unpin/ban/edit: the candidate's current text; add: the artist's text
    new_text: str = ""             # edit: the replacement text
    order: tuple[str, ...] = ()    # rank: candidate texts, best first (a "pick" is a rank of one)
    who: str = "artist"            # "editor", "cli", "file", "api", "judge" ...

    def event(self, round_: int, status: str, reason: str = "") -> dict[str, Any]:
        """The history entry for this action (see the module doc)."""
        return {"round": int(round_), "who": self.who, "action": self.kind, "text": self.text,
                "new_text": self.new_text, "order": list(self.order), "status": status, "reason": reason}


class SteeringClosed(MilsError):
    """An action for a search that has ended (``submit()`` after ``close()``)."""


def _text(obj: Mapping, field: str, *, required: bool) -> str:
    value = obj.get(field, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InputError(field, "a string", type(value).__name__)
    value = value.strip()
    if required and not value:
        raise InputError(field, f"a non-empty text for action {obj.get('action')!r}", "an empty text")
    if len(value) > MAX_TEXT:
        raise InputError(field, f"at most {MAX_TEXT} characters", f"{len(value)} characters")
    return value


def parse_action(obj: Mapping, *, who: str = "api") -> SteerAction:
    """A validated :class:`SteerAction` from a JSON object; InputError naming the field when it is not one."""
    if not isinstance(obj, Mapping):
        raise InputError("action", "a JSON object such as {\"action\": \"pin\", \"text\": ...}",
                         type(obj).__name__)
    kind = obj.get("action")
    if kind == "pick":  # a pick is a rank of one
        text = _text(obj, "text", required=True)
        return SteerAction("rank", order=(text,), who=who)
    if not isinstance(kind, str) or kind not in ACTIONS:
        raise InputError("action", f"one of {', '.join(ACTIONS)} (or pick)", repr(kind)[:80])
    text = _text(obj, "text", required=kind in _NEEDS_TEXT)
    new_text = _text(obj, "new_text", required=kind == "edit")
    order: tuple[str, ...] = ()
    if kind == "rank":
        raw = obj.get("order")
        if not isinstance(raw, (list, tuple)) or not raw:
            raise InputError("order", "a non-empty list of candidate texts, best first",
                             "nothing" if raw is None else type(raw).__name__)
        if len(raw) > MAX_ORDER:
            raise InputError("order", f"at most {MAX_ORDER} texts", f"{len(raw)}")
        items = []
        for i, t in enumerate(raw):
            if not isinstance(t, str) or not t.strip():
                raise InputError(f"order[{i}]", "a non-empty text", repr(t)[:80])
            if len(t) > MAX_TEXT:
                raise InputError(f"order[{i}]", f"at most {MAX_TEXT} characters", f"{len(t)} characters")
            items.append(t.strip())
        if len(set(items)) != len(items):
            raise InputError("order", "each candidate once", "a text repeated")
        order = tuple(items)
    return SteerAction(kind, text=text, new_text=new_text, order=order, who=str(who))


class Steering:
    """Thread-safe inbox for ONE search; the driver drains it between rounds."""

    def __init__(self, on_applied: Callable[[list, list[dict[str, Any]]], None] | None = None) -> None:
        """``on_applied(leaderboard, events)``: called by the driver after it applied queued actions, with the
        new top K (``Scored`` copies) and the events of those actions (e.g. to refresh a UI at once)."""
        self._cond = threading.Condition()
        self._queue: list[SteerAction] = []
        self._events: list[dict[str, Any]] = []
        self._board: list = []
        self._closed = False
        self._awaiting_pick = False
        self.on_applied = on_applied

    def submit(self, action: SteerAction) -> None:
        """Queue ``action`` for the next round; SteeringClosed once the search has ended."""
        if not isinstance(action, SteerAction):
            raise InputError("action", "a SteerAction (see parse_action)", type(action).__name__)
        with self._cond:
            if self._closed:
                raise SteeringClosed("this search has ended; it takes no more steering actions")
            self._queue.append(action)
            self._cond.notify_all()

    def take(self) -> list[SteerAction]:
        """Everything queued, in order (the driver's side)."""
        with self._cond:
            out, self._queue = self._queue, []
            return out

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed

    def wait_for_pick(self, timeout_s: float, cancelled: Callable[[], bool], poll_s: float = 0.1) -> bool:
        """Judge mode: block until a rank or stop is queued (True), or the timeout passes / ``cancelled()`` is
        true / the inbox is closed (False)."""
        deadline = time.monotonic() + max(0.0, float(timeout_s))
        with self.awaiting_pick_scope(), self._cond:
            while True:
                if self.has_pick():   # the condition's lock is reentrant
                    return True
                if self._closed or cancelled():
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(poll_s, left))

    def has_pick(self) -> bool:
        """Whether a rank or stop is queued now (what ends a judge wait)."""
        with self._cond:
            return any(a.kind in _JUDGE_WAKES for a in self._queue)

    @property
    def awaiting_pick(self) -> bool:
        """Whether the search is waiting for the artist's pick now (judge mode)."""
        return self._awaiting_pick

    @contextmanager
    def awaiting_pick_scope(self):
        """Marks a judge wait (for whoever serves it: this class, or a host that awaits it elsewhere)."""
        self._awaiting_pick = True
        try:
            yield
        finally:
            self._awaiting_pick = False

    def record(self, event: dict[str, Any]) -> None:
        """Add an applied/rejected event (the driver's side)."""
        with self._cond:
            self._events.append(dict(event))

    def restore_events(self, events: list[dict[str, Any]]) -> None:
        """The events of the runs a resumed search comes from (they go first)."""
        with self._cond:
            self._events[:0] = [dict(e) for e in events]

    def publish(self, leaderboard: list) -> None:
        """The search's current top K (the driver's side, after every round and every applied batch)."""
        with self._cond:
            self._board = [replace(s) for s in leaderboard]

    def leaderboard(self) -> list:
        """The last published top K (``mils.search_types.Scored`` copies, best first): what actions can name."""
        with self._cond:
            return [replace(s) for s in self._board]

    def events(self) -> list[dict[str, Any]]:
        """What happened: the applied and rejected actions, in order."""
        with self._cond:
            return [dict(e) for e in self._events]
