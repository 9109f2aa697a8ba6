"""The Ray actor: builds its runner (which loads the models) once, then runs units of work.

A unit is a list of inputs so that running a unit's jobs together (lockstep batches) stays a change
inside the runner. The runner is any picklable zero-argument factory (Ray ships it by reference to
its module, e.g. ``mils.cli.caption.CaptionRunner``) returning a callable ``runner(item) -> result``.

Workers return their results to the driver, which alone writes the result files: a retried unit
(a lost worker) can never race a half-dead first attempt on the same file, the driver is the one
place that checks "never rewrite a finished result", and only the inputs (not --out) need to be
readable on every node.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..errors import MilsError

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    item: Any
    result: Any = None          # what the runner returned; None when it failed
    error: str | None = None    # why it failed, for the final summary
    seconds: float = 0.0        # compute time of this input on its worker

    @property
    def ok(self) -> bool:
        return self.error is None


def run_unit(runner: Callable[[Any], Any], items: Sequence[Any]) -> list[Outcome]:
    """Each item's outcome; an input that fails fails alone."""
    outcomes = []
    for item in items:
        start = time.perf_counter()
        try:
            outcomes.append(Outcome(item, runner(item), seconds=time.perf_counter() - start))
        except MilsError as exc:
            outcomes.append(Outcome(item, error=str(exc), seconds=time.perf_counter() - start))
        except Exception as exc:  # a bug or a model failure on one input must not take the others down
            log.exception("input %r failed", item)
            outcomes.append(Outcome(item, error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - start))
    return outcomes


class Worker:
    """Decorated with ``ray.remote`` by the driver (so this module imports without Ray)."""

    def __init__(self, make_runner: Callable[[], Callable[[Any], Any]]):
        self.runner = make_runner()

    def run(self, items: Sequence[Any]) -> list[Outcome]:
        return run_unit(self.runner, items)

    def ready(self) -> bool:
        return True
