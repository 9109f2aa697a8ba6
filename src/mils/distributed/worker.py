"""The Ray actor: builds its runner (which loads the models) once, then runs units of work.

A unit is a list of inputs that the runner runs together (``mils.batch.run_unit``: lockstep batches,
each search saving its state after every round beside the results). The runner is any picklable
zero-argument factory (Ray ships it by reference to its module) returning a callable
``runner(items, fresh) -> list[Outcome]``; ``fresh`` is False when the unit is resubmitted after a lost
worker, so that the searches resume from their saved rounds.

Workers return their results to the driver, which alone writes the result files: a resubmitted unit
can never race a half-dead first attempt on a result file, and the driver is the one place that checks
"never rewrite a finished result". The round states are written by the worker running the search.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Sequence

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    item: Any
    result: Any = None          # what the run made: also a partial result (``error`` then says why it stopped)
    error: str | None = None    # why it failed or stopped early, for the final summary
    seconds: float = 0.0        # compute time of this input on its worker

    @property
    def ok(self) -> bool:
        return self.error is None


class Worker:
    """Decorated with ``ray.remote`` by the driver (so this module imports without Ray)."""

    def __init__(self, make_runner: Callable[[], Callable[[Sequence[Any], bool], list[Outcome]]]):
        self.runner = make_runner()

    def run(self, items: Sequence[Any], fresh: bool = False) -> list[Outcome]:
        return self.runner(list(items), fresh)

    def ready(self) -> bool:
        return True
