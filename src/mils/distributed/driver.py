"""The driver: units of work onto actors, one at a time per actor, resubmission of lost units, one progress
bar, outcomes.

Lost workers: an actor whose process dies (killed, out of memory, its node lost) is restarted by Ray
(``max_restarts``; the restart loads the models again), and the unit it was running goes back to the
front of the queue, for the next free worker other than the lost one (the lost one only when no other
is at work). The unit's searches resume from the round states they saved, so only the rounds in flight
are redone. A unit lost ``MAX_ATTEMPTS`` times fails (its inputs named in the summary); an actor lost
more than ``MAX_RESTARTS`` times gets no more work. An exception raised inside a unit (not a death)
fails that unit's inputs with its message.
"""
from __future__ import annotations

import logging
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..errors import MilsError
from .cluster import require_ray, worker_resources
from .worker import Outcome, Worker

log = logging.getLogger(__name__)

MAX_RESTARTS = 3
MAX_ATTEMPTS = 4


@dataclass
class RunStats:
    outcomes: list[Outcome] = field(default_factory=list)
    wall_s: float = 0.0
    workers: int = 0
    lost: int = 0               # units resubmitted after their worker was lost

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def compute_s(self) -> float:
        return sum(o.seconds for o in self.outcomes)


def units_of(items: Sequence[Any], size: int = 1) -> list[list[Any]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def _bar(total: int, label: str, quiet: bool):
    if quiet:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit="input", file=sys.stderr)


@dataclass
class _Unit:
    items: list
    attempts: int = 0
    lost_on: Any = None         # the actor it was lost on: given to another one when there is one


def run_units(units: Sequence[list[Any]], make_runner: Callable[[], Callable[[Sequence[Any], bool], list[Outcome]]],
              on_outcome: Callable[[Outcome], None], *, workers: int, fresh: bool = False, label: str = "inputs",
              quiet: bool = False) -> RunStats:
    """Run every unit on ``workers`` actors; ``on_outcome`` (on the driver) gets each input's outcome as it lands.

    ``fresh`` is passed to a unit's first attempt only: a resubmitted unit resumes what it saved.
    """
    ray = require_ray()
    from ray.exceptions import RayActorError, RayTaskError

    started = time.perf_counter()
    queue = deque(_Unit(list(u)) for u in units)
    actor_cls = ray.remote(Worker).options(max_restarts=MAX_RESTARTS, max_task_retries=0,
                                           **worker_resources(workers))
    actors = [actor_cls.remote(make_runner) for _ in range(max(1, min(workers, len(queue))))]
    stats = RunStats(workers=len(actors))
    losses = {id(a): 0 for a in actors}
    idle = list(actors)
    pending: dict[Any, tuple[Any, _Unit]] = {}

    def take(actor) -> _Unit | None:
        others_busy = any(a is not actor for a, _ in pending.values())
        for i, unit in enumerate(queue):
            if unit.lost_on is not actor or not others_busy:
                del queue[i]
                return unit
        return None

    def dispatch() -> None:
        for actor in list(idle):
            unit = take(actor)
            if unit is not None:
                idle.remove(actor)
                pending[actor.run.remote(unit.items, fresh and unit.attempts == 0)] = (actor, unit)

    def land(outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            stats.outcomes.append(outcome)
            on_outcome(outcome)
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f"{len(stats.failed)} failed", refresh=False)

    bar = _bar(sum(len(u) for u in units), label, quiet)
    try:
        dispatch()
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            actor, unit = pending.pop(ref)
            try:
                land(ray.get(ref))
            except RayActorError as exc:
                losses[id(actor)] += 1
                unit.attempts, unit.lost_on = unit.attempts + 1, actor
                if unit.attempts < MAX_ATTEMPTS:
                    stats.lost += 1
                    log.warning("a worker was lost on %d input(s); resubmitting them, they resume from their "
                                "last saved round (%s)", len(unit.items), type(exc).__name__)
                    queue.appendleft(unit)
                else:
                    land([Outcome(item, error=f"worker lost {unit.attempts} times ({type(exc).__name__})")
                          for item in unit.items])
                if losses[id(actor)] > MAX_RESTARTS:
                    dispatch()
                    continue  # restarted too often: no more work for it
            except RayTaskError as exc:
                cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else exc
                log.warning("a unit of %d input(s) failed on its worker: %s", len(unit.items), cause)
                why = str(cause) if isinstance(cause, MilsError) else f"{type(cause).__name__}: {cause}"
                land([Outcome(item, error=why) for item in unit.items])
            idle.append(actor)
            dispatch()
        while queue:  # every worker was lost for good
            land([Outcome(item, error="no worker left") for item in queue.popleft().items])
    finally:
        if bar is not None:
            bar.close()
        for actor in actors:
            ray.kill(actor, no_restart=True)
    stats.wall_s = time.perf_counter() - started
    return stats
