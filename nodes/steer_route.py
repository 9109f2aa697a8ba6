"""Steering a running MILS Loop from outside: the registry of live searches and the route's logic.

While a Loop runs, each of its searches has a ``mils.steering.Steering`` registered here under
(prompt id, node id); the Loop removes them when it ends. ``POST /mils/steer`` (registered on
ComfyUI's server through ``bridge.add_json_route``) hands an action to one of them:

    {"prompt_id": "...", "node_id": "12", "action": "pin", "text": "...", "index": 0}

``index`` picks the search of an IMAGE batch (0 = the first). ``handle_steer`` is plain Python (no
ComfyUI): bad input answers 400 with a message naming the field, a run that ended answers 409.

``GET /mils/steer`` (optionally ``?prompt_id=...&node_id=...``) lists the runs that can be steered now,
each search with its current top K, whether it waits for the artist's pick, and its last actions: what a
headless user (``comfy run``, a script) needs to pick without the editor (``handle_runs``).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Mapping, Sequence

from mils.errors import InputError
from mils.steering import Steering, SteeringClosed, parse_action
from . import bridge

ROUTE = "/mils/steer"
WHO = ("editor", "api", "judge")
_ENDED_KEPT = 256   # how many ended runs still answer 409 (older ones are unknown: 400)

Key = tuple[str, str]


class SteeringRegistry:
    """The steerable searches of the runs in progress, keyed by (prompt id, node id); thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._live: dict[Key, list[Steering]] = {}
        self._ended: OrderedDict[Key, None] = OrderedDict()

    @staticmethod
    def key(prompt_id, node_id) -> Key:
        return str(prompt_id), str(node_id)

    def register(self, prompt_id, node_id, steerings: Sequence[Steering]) -> None:
        key = self.key(prompt_id, node_id)
        with self._lock:
            self._live[key] = list(steerings)
            self._ended.pop(key, None)

    def unregister(self, prompt_id, node_id) -> None:
        """The run ended: its searches are closed and later actions answer 409."""
        key = self.key(prompt_id, node_id)
        with self._lock:
            for steering in self._live.pop(key, []):
                steering.close()
            self._ended[key] = None
            while len(self._ended) > _ENDED_KEPT:
                self._ended.popitem(last=False)

    def live(self) -> dict[Key, list[Steering]]:
        """The runs in progress: (prompt id, node id) -> their searches."""
        with self._lock:
            return {key: list(searches) for key, searches in self._live.items()}

    def lookup(self, prompt_id, node_id) -> list[Steering] | None:
        """The run's searches; [] for a run that ended; None for one never seen."""
        key = self.key(prompt_id, node_id)
        with self._lock:
            if key in self._live:
                return list(self._live[key])
            return [] if key in self._ended else None


REGISTRY = SteeringRegistry()


def _error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": message}


def _id_field(body: Mapping, name: str) -> str | None:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        return None
    return str(value).strip()


def handle_steer(body: Any, registry: SteeringRegistry = REGISTRY) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON reply) for one steering request; never raises on bad input."""
    if not isinstance(body, Mapping):
        return _error(400, "body: expected a JSON object {prompt_id, node_id, action, ...}")
    prompt_id, node_id = _id_field(body, "prompt_id"), _id_field(body, "node_id")
    if prompt_id is None:
        return _error(400, "prompt_id: expected the id of a running prompt (a non-empty string)")
    if node_id is None:
        return _error(400, "node_id: expected the id of a running MILS Loop node")
    index = body.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        return _error(400, f"index: expected the search's place in the batch (an integer from 0), got {index!r}")
    who = body.get("who", "api")
    if who not in WHO:
        return _error(400, f"who: expected one of {', '.join(WHO)}, got {who!r}")
    searches = registry.lookup(prompt_id, node_id)
    if searches is None:
        return _error(400, f"prompt_id/node_id: no running MILS Loop {node_id!r} in prompt {prompt_id!r}")
    if not searches:
        return _error(409, f"the run of MILS Loop {node_id!r} in prompt {prompt_id!r} has ended; nothing to steer")
    if index >= len(searches):
        return _error(400, f"index: expected 0 to {len(searches) - 1} (this run has {len(searches)} searches), "
                           f"got {index}")
    try:
        action = parse_action(body, who=who)
    except InputError as exc:
        return _error(400, str(exc))
    try:
        searches[index].submit(action)
    except SteeringClosed:
        return _error(409, f"the run of MILS Loop {node_id!r} in prompt {prompt_id!r} has ended; nothing to steer")
    return 200, {"ok": True, "action": action.kind, "index": index,
                 "note": "queued: it takes effect at the next round"}


def handle_runs(query: Any, registry: SteeringRegistry = REGISTRY) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON reply) for GET: the live runs (those of ``prompt_id`` / ``node_id`` when given)."""
    query = query if isinstance(query, Mapping) else {}
    wanted = {name: str(query[name]) for name in ("prompt_id", "node_id") if query.get(name) not in (None, "")}
    runs = []
    for (prompt_id, node_id), searches in registry.live().items():
        if wanted.get("prompt_id", prompt_id) != prompt_id or wanted.get("node_id", node_id) != node_id:
            continue
        runs.append({"prompt_id": prompt_id, "node_id": node_id, "searches": [
            {"index": k, "awaiting_pick": s.awaiting_pick, "steering": s.events()[-5:],
             "leaderboard": [{"text": c.text, "score": c.score, "shown": c.shown, "pinned": bool(c.pinned)}
                             for c in s.leaderboard()]}
            for k, s in enumerate(searches)]})
    return 200, {"runs": runs}


def install() -> bool:
    """Registers the routes on ComfyUI's server (a no-op outside ComfyUI)."""
    return bridge.add_json_route("POST", ROUTE, handle_steer) and bridge.add_json_route("GET", ROUTE, handle_runs)
