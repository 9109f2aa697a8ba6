"""The driver: units of work onto actors, one at a time per actor, retries, one progress bar, outcomes.

Lost workers: an actor that dies is restarted by Ray (``max_restarts``; the restart loads the models
again) and its unfinished call is retried (``max_task_retries``). When that is exhausted the unit's
inputs fail (named in the summary) and the dead actor gets no more work.
"""
from __future__ import annotations

import logging
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .cluster import require_ray, worker_resources
from .worker import Outcome, Worker

log = logging.getLogger(__name__)

MAX_RESTARTS = 3
MAX_TASK_RETRIES = 3


@dataclass
class RunStats:
    outcomes: list[Outcome] = field(default_factory=list)
    wall_s: float = 0.0
    workers: int = 0

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


def run_units(units: Sequence[list[Any]], make_runner: Callable[[], Callable[[Any], Any]],
              on_outcome: Callable[[Outcome], None], *, workers: int, label: str = "inputs",
              quiet: bool = False) -> RunStats:
    """Run every unit on ``workers`` actors; ``on_outcome`` (on the driver) gets each input's outcome as it lands."""
    ray = require_ray()
    from ray.exceptions import RayActorError, RayTaskError

    started = time.perf_counter()
    queue = deque(units)
    actor_cls = ray.remote(Worker).options(max_restarts=MAX_RESTARTS, max_task_retries=MAX_TASK_RETRIES,
                                           **worker_resources(workers))
    actors = [actor_cls.remote(make_runner) for _ in range(max(1, min(workers, len(queue))))]
    stats = RunStats(workers=len(actors))
    pending: dict[Any, tuple[Any, list[Any]]] = {}

    def submit(actor) -> None:
        if queue:
            unit = queue.popleft()
            pending[actor.run.remote(unit)] = (actor, unit)

    def land(outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            stats.outcomes.append(outcome)
            on_outcome(outcome)
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f"{len(stats.failed)} failed", refresh=False)

    bar = _bar(sum(len(u) for u in units), label, quiet)
    try:
        for actor in actors:
            submit(actor)
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            actor, unit = pending.pop(ref)
            try:
                land(ray.get(ref))
            except (RayActorError, RayTaskError) as exc:
                log.warning("a worker was lost for good on %d input(s): %s", len(unit), exc)
                land([Outcome(item, error=f"worker lost ({type(exc).__name__})") for item in unit])
                continue  # a dead actor gets no more work
            submit(actor)
        while queue:  # every worker was lost for good
            land([Outcome(item, error="no worker left") for item in queue.popleft()])
    finally:
        if bar is not None:
            bar.close()
        for actor in actors:
            ray.kill(actor, no_restart=True)
    stats.wall_s = time.perf_counter() - started
    return stats
