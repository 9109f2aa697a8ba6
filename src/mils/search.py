"""The MILS search: an LLM proposes, a scorer rates, the best K go back to the LLM with their scores.

METHOD.md §1: the starting candidates are scored once; each step shows the top K (best first) as
"score: text" lines, asks for N new candidates, parses them, drops anything seen before (the whole
history, not only the K shown), scores the rest and merges. The best so far is never lost.

A step's N candidates come from P = ``SearchConfig.parallel`` sampled replies (default: the
generator's ``default_parallel``), each asked for ceil(N/P), generated as one batch.

API:

* ``run_search(generator, scorer, task, start, config, *, intent="", use_pool_cache=True,
  progress=None, should_cancel=None, checkpoint=None, fresh=False, identity=None, on_error="raise",
  steering=None, judge_timeout_s=None)``:
  one search, the one-item case of the lockstep driver (``mils.lockstep.run_searches``: the same stop
  reasons and the same cancel and error rules, see its module doc). ``checkpoint``: a path; the state
  is written there atomically after every step and a rerun with the same identity resumes at the last
  finished step (see mils.search_checkpoint). ``fresh=True`` ignores a saved state. When the LLM or
  the scorer fails the search stops with ``stopped="error"`` and ``error`` set; ``on_error="raise"``
  (default) raises that error with the partial result as ``err.result``, ``on_error="return"``
  returns it. ``steering`` (a mils.steering.Steering inbox) lets the artist pin, ban, edit, add, rank
  and stop between rounds; ``judge_timeout_s`` turns on judge mode (see mils.lockstep). A cancel returns the best so far with ``stopped="cancelled"`` (before the start was
  scored: raises ``mils.errors.Cancelled``).
* ``Search`` (mils.search_state): the same search as a state object the driver steps.
"""
from __future__ import annotations

import os
from typing import Literal, Sequence

from .cancel import CancelCheck
from .errors import InputError
from .generators.base import Generator
from .lockstep import SearchItem, run_searches
from .scorers.base import Scorer
from .search_state import CancelFn, LLMRequest, ProgressFn, Search, start_search
from .search_types import Scored, SearchConfig, SearchResult, StepRecord
from .steering import Steering
from .tasks import Task

__all__ = ["CancelFn", "LLMRequest", "ProgressFn", "Scored", "Search", "SearchConfig", "SearchResult", "StepRecord",
           "run_search", "start_search"]


def run_search(generator: Generator, scorer: Scorer, task: Task, start: Sequence[str], config: SearchConfig, *,
               intent: str = "", use_pool_cache: bool = True, progress: ProgressFn | None = None,
               should_cancel: CancelFn | CancelCheck | None = None, checkpoint: str | os.PathLike | None = None,
               fresh: bool = False, identity: dict[str, str] | None = None,
               on_error: Literal["raise", "return"] = "raise", steering: Steering | None = None,
               judge_timeout_s: float | None = None) -> SearchResult:
    """Run the MILS search from ``start`` (a pool, or the user's text) and return the best and its history.

    ``should_cancel`` is polled between steps and, through mils.cancel, inside long model calls. See the
    module doc for ``checkpoint``, ``fresh``, ``identity`` and ``on_error``.
    """
    if on_error not in ("raise", "return"):
        raise InputError("on_error", "'raise' or 'return'", repr(on_error))
    item = SearchItem(scorer, start, intent=intent, config=config, checkpoint=checkpoint, identity=identity,
                      steering=steering, judge_timeout_s=judge_timeout_s)
    [out] = run_searches(generator, task, [item], config, use_pool_cache=use_pool_cache, fresh=fresh,
                         progress=None if progress is None else (lambda _i, rec, total: progress(rec, total)),
                         should_cancel=should_cancel)
    if isinstance(out, Exception):
        raise out
    if out.stopped == "error" and on_error == "raise":
        err = out.failure
        err.result = out  # type: ignore[attr-defined]
        raise err
    return out
