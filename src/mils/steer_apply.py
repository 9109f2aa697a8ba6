"""Steering actions applied to a search's board (the driver's one place for it; see mils.steering).

``apply_action(search, action, round_, score)`` applies one :class:`mils.steering.SteerAction` to a
``mils.search_state.Search`` (duck-typed: this module does not import it) and returns its event dict
(``status`` "applied" or "rejected" with the reason). ``score(texts)`` scores the texts of an edit
or an add with the search's scorer (the driver's, so its cancel and failure rules hold); what it
raises propagates. The board keeps three lists the ordering functions below read:

* ``pinned``: normalised texts that always stay among the K kept (``keep_pinned``);
* ``banned``: texts (as given) that are dropped and listed to the LLM to avoid; their normalised
  texts stay in the seen set, so the LLM's proposals of them are dropped as repeats;
* ``ranked``: normalised texts in the artist's order, best first (``artist_order``): the ranked
  candidates lead the board in that order (a pick, a rank of one, becomes the best); the scorer
  orders the rest. A newer rank goes before the earlier ones (the newest judgement wins).
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

from .parsing import normalize
from .search_types import Scored
from .steering import MAX_TEXT, SteerAction

__all__ = ["apply_action", "artist_order", "keep_pinned", "mark_pinned"]


def artist_order(items: list[Scored], ranked: Sequence[str]) -> list[Scored]:
    """``items`` (in the scorer's order) with the artist-ranked ones first, in the artist's order."""
    if not ranked:
        return items
    rank = {k: i for i, k in enumerate(ranked)}
    block = sorted((s for s in items if normalize(s.text) in rank), key=lambda s: rank[normalize(s.text)])
    return block + [s for s in items if normalize(s.text) not in rank]


def keep_pinned(items: list[Scored], k: int, pinned: set[str]) -> list[Scored]:
    """The K kept: every pinned candidate, then the best others, in the board's order."""
    if not pinned:
        return items[:k]
    pins = sum(1 for s in items if normalize(s.text) in pinned)
    room = max(0, k - pins)
    out = []
    for s in items:
        if normalize(s.text) in pinned:
            out.append(s)
        elif room:
            out.append(s)
            room -= 1
    return out[:k]


def mark_pinned(board) -> None:
    pinned = set(board.pinned)
    for s in board.items:
        s.pinned = normalize(s.text) in pinned


def _find(board, text: str) -> Scored | None:
    key = normalize(text)
    return next((s for s in board.items if normalize(s.text) == key), None)


def _bad_text(text: str, field: str) -> str:
    if not text.strip():
        return f"{field}: an empty text"
    if len(text) > MAX_TEXT:
        return f"{field}: {len(text)} characters, at most {MAX_TEXT}"
    return ""


def apply_action(search, action: SteerAction, round_: int, score: Callable[[list[str]], Sequence[float]]) -> dict:
    """Apply ``action`` to ``search`` after round ``round_``; its event (see the module doc)."""
    handler = _HANDLERS.get(action.kind)
    if handler is None:
        return action.event(round_, "rejected", f"action: unknown action {action.kind!r}")
    reason = handler(search, action, score)
    if reason.startswith("ok"):
        return action.event(round_, "applied", reason[3:])
    return action.event(round_, "rejected", reason)


def _unknown(text: str) -> str:
    return f"text: no candidate {text[:80]!r} (it was banned, edited, or never scored)"


def _pin(search, a: SteerAction, _score) -> str:
    board = search.board
    hit = _find(board, a.text)
    if hit is None:
        return _unknown(a.text)
    key = normalize(hit.text)
    if key in board.pinned:
        return "ok already pinned"
    k = search.config.keep
    if len(board.pinned) >= k:
        return f"text: {k} candidates are pinned already, the most K={k} allows; unpin one first"
    board.pinned.append(key)
    mark_pinned(board)
    return "ok"


def _unpin(search, a: SteerAction, _score) -> str:
    board = search.board
    key = normalize(a.text)
    if key not in board.pinned:
        return f"text: {a.text[:80]!r} is not pinned"
    board.pinned.remove(key)
    mark_pinned(board)
    return "ok"


def _ban(search, a: SteerAction, _score) -> str:
    board = search.board
    hit = _find(board, a.text)
    if hit is None:
        return _unknown(a.text)
    if len(board.items) <= 1:
        return "text: the only candidate cannot be banned (the search needs one); add or edit one first"
    key = normalize(hit.text)
    board.items.remove(hit)
    board.banned.append(hit.text)
    board.seen.add(key)
    if key in board.pinned:
        board.pinned.remove(key)
    if key in board.ranked:
        board.ranked.remove(key)
    return "ok"


def _scored(search, text: str, score) -> Scored | str:
    """``text`` scored by the search's scorer, or why it cannot be a candidate."""
    key = normalize(text)
    if any(normalize(b) == key for b in search.board.banned):
        return f"text: {text[:80]!r} is banned"
    if key in search.board.seen:
        return f"text: {text[:80]!r} was already tried (a duplicate)"
    [value] = score([text])
    value = float(value)
    search.board.seen.add(key)
    if not math.isfinite(value):
        return f"text: the scorer gave {text[:80]!r} no finite score"
    from .scorers.base import shown
    return Scored(text, value, search.step, shown(search.scorer, value))


def _edit(search, a: SteerAction, score) -> str:
    bad = _bad_text(a.text, "text") or _bad_text(a.new_text, "new_text")
    if bad:
        return bad
    board = search.board
    hit = _find(board, a.text)
    if hit is None:
        return _unknown(a.text)
    new = _scored(search, a.new_text.strip(), score)
    if isinstance(new, str):
        return new.replace("text:", "new_text:", 1)
    old, key = normalize(hit.text), normalize(new.text)
    board.items.remove(hit)
    board.pinned = [key if p == old else p for p in board.pinned]
    board.ranked = [key if r == old else r for r in board.ranked]
    board.add([new])
    mark_pinned(board)
    return f"ok scored {new.shown or new.score}"


def _add(search, a: SteerAction, score) -> str:
    bad = _bad_text(a.text, "text")
    if bad:
        return bad
    new = _scored(search, a.text.strip(), score)
    if isinstance(new, str):
        return new
    search.board.add([new])
    return f"ok scored {new.shown or new.score}"


def _rank(search, a: SteerAction, _score) -> str:
    if not a.order:
        return "order: no candidates given"
    board = search.board
    keys = []
    for i, text in enumerate(a.order):
        hit = _find(board, text)
        if hit is None:
            return f"order[{i}]: " + _unknown(text)[6:]
        keys.append(normalize(hit.text))
    if len(set(keys)) != len(keys):
        return "order: a candidate appears twice"
    # the newest judgement first, then the artist's earlier order of the others
    board.ranked = keys + [r for r in board.ranked if r not in keys]
    board.reorder()
    return "ok"


def _stop(search, a: SteerAction, _score) -> str:
    search.stop_by_artist()
    return "ok"


_HANDLERS = {"pin": _pin, "unpin": _unpin, "ban": _ban, "edit": _edit, "add": _add, "rank": _rank, "stop": _stop}
