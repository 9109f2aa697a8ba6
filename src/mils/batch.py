"""Dataset runs: many inputs (a folder of media, a manifest, a prompts file), each with its own result file,
run in lockstep batches of jobs on this machine or on Ray workers, resumable round by round.

A kind of run (captions, prompt enhancement) is a :class:`Dataset`: where each item's files go, how an item
becomes a :class:`mils.jobs.Job`, and how a finished (or stopped) job becomes its files. This module holds
what is common to all of them:

* the resume policy (:func:`plan`): an item whose result is finished with this run's options is done and
  skipped; one with a kept partial result or a saved round state resumes; the others start. A finished
  result recorded with other options is an InputError listing what differs (two settings in one folder
  would go unnoticed); ``fresh`` recomputes everything.
* the unit of work (:func:`run_unit`): items run as lockstep batches (``mils.jobs.run_jobs``), each search
  saving its state beside the results after every round (``Dataset.state_path``). An LLM outage stops
  that item with ``stopped="error"`` and its best so far; the others go on. This is what a Ray worker runs.
* the orchestration (:func:`run`): units of ``batch`` items one after another here, or spread over Ray
  workers (``mils.distributed``). Results are written by this process only (never over a result that
  another run finished meanwhile), the round states by whoever runs the search: with Ray, ``out_dir``
  is a folder every worker can write (one machine, or a shared file system). A worker that is lost
  mid-batch has its unit resubmitted, preferably to another worker, which resumes each search at its
  last saved round.
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Hashable, Sequence

from .cache import atomic_write_text
from .distributed.worker import Outcome
from .errors import InputError, MilsError
from .identity import identity_difference
from .jobs import Job, JobResult, run_jobs

log = logging.getLogger(__name__)

__all__ = ["BatchOptions", "BatchReport", "Dataset", "ItemResult", "Plan", "UNFINISHED", "check_writable",
           "finished", "options_difference", "options_identity", "plan", "run", "run_unit"]

UNFINISHED = ("error", "cancelled")   # a result kept after an outage or interrupt: the rerun resumes it


@dataclass(frozen=True)
class BatchOptions:
    """How a dataset run runs (what its results depend on is the dataset's ``options()``)."""

    out_dir: Path
    batch: int = 4                  # items per lockstep batch
    fresh: bool = False             # recompute every item, finished or not; ignore saved round states
    ray: str | None = None          # None: this process; "" a local Ray; "auto"; a cluster's HOST:PORT
    workers: int | None = None      # Ray workers (default: the cluster's GPUs, else its CPUs)
    quiet: bool = False             # no progress bars

    def validate(self) -> "BatchOptions":
        if self.batch < 1:
            raise InputError("batch", "at least 1 item per lockstep batch", repr(self.batch))
        if self.workers is not None and self.ray is None:
            raise InputError("workers", "a Ray run as well (they are Ray workers)", repr(self.workers))
        if self.workers is not None and self.workers < 1:
            raise InputError("workers", "at least 1", repr(self.workers))
        return self


@dataclass
class ItemResult:
    """What an item's job made: its result file's JSON, other files beside it, a human summary."""

    payload: dict
    files: dict[str, bytes] = field(default_factory=dict)
    summary: str = ""


class Dataset(ABC):
    """One kind of dataset run. Shipped to Ray workers by pickling: keep loaded models out of the pickle."""

    noun = "input"

    @abstractmethod
    def result_path(self, item) -> Path:
        """The file whose finished payload marks ``item`` done."""

    @abstractmethod
    def state_path(self, item) -> Path:
        """Where ``item``'s search state is saved after every round."""

    @abstractmethod
    def name(self, item) -> str:
        """How messages name ``item``."""

    @abstractmethod
    def options(self) -> dict:
        """What the results depend on, recorded in each payload as ``options``."""

    def load(self, item) -> Any:
        """``item``'s own data (its media file); a MilsError here fails that item alone."""
        return item

    @abstractmethod
    def job(self, item, loaded) -> Job:
        """``item``'s job (loading the models once); a failure here stops the unit: every item would fail."""

    @abstractmethod
    def result(self, item, done: JobResult) -> ItemResult:
        """``item``'s files from its finished or stopped job."""

    def write(self, item, result: ItemResult) -> None:
        """Write ``item``'s files, the result file last (atomically: it marks the item done)."""
        atomic_write_text(self.result_path(item), json.dumps(result.payload, indent=1))

    def progress(self, label: str):
        """A context manager giving the lockstep progress callback of a batch (or None): none by default."""
        return contextlib.nullcontext(None)


def finished(payload) -> bool:
    """A result payload that is done: it holds a best text and did not stop on an error or an interrupt."""
    return isinstance(payload, dict) and bool(payload.get("best_text")) and payload.get("stopped") not in UNFINISHED


def read_result(path: Path) -> dict | None:
    """A result file's payload; None when it is missing or does not parse (a crash mid-write leaves none)."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def is_finished(path: Path) -> bool:
    """A result file counts only when it parses, holds a best text and did not stop on an error or interrupt."""
    return finished(read_result(path))


def recorded_options(payload: dict) -> dict:
    """The options a result was made with (results from before they were recorded: their preset and seed)."""
    return payload.get("options") or {k: payload.get(k) for k in ("preset", "seed")}


def options_identity(options: dict) -> dict[str, str]:
    """A dataset run's options as an identity (mils.identity): each value a string. The driver compares these
    before any model is loaded; each search's round state is keyed by its job's identity (mils.identity)."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in options.items()}


def options_difference(saved: dict, current: dict) -> str:
    """What differs between the options a result was made with and this run's ("" when none); only the options
    the result recorded count (an option added later does not make old results foreign)."""
    saved, current = options_identity(saved), options_identity(current)
    return identity_difference(saved, {k: current.get(k, "-") for k in saved})


@dataclass
class Plan:
    """Which items a run skips (finished with its options), resumes (a partial result or a round state kept)
    and starts; ``todo`` is the last two in the items' order."""

    done: list = field(default_factory=list)
    partial: list = field(default_factory=list)
    pending: list = field(default_factory=list)
    todo: list = field(default_factory=list)


def plan(dataset: Dataset, items: Sequence[Hashable], *, fresh: bool = False) -> Plan:
    """The resume policy (see the module doc); an InputError when finished results have other options."""
    out = Plan()
    if fresh:
        out.pending, out.todo = list(items), list(items)
        return out
    options, mismatched = dataset.options(), []
    for item in items:
        path = dataset.result_path(item)
        payload = read_result(path)
        if finished(payload):
            diff = options_difference(recorded_options(payload), options)
            if diff:
                mismatched.append(f"{path.name}: {diff}")
            out.done.append(item)
            continue
        resumable = payload is not None or dataset.state_path(item).exists()
        (out.partial if resumable else out.pending).append(item)
        out.todo.append(item)
    if mismatched:
        shown = "; ".join(mismatched[:5]) + (f"; and {len(mismatched) - 5} more" if len(mismatched) > 5 else "")
        where = dataset.result_path(items[0]).parent if items else ""
        raise InputError("--out", "finished results made with this run's options (use another --out, or --fresh "
                                  "to recompute them)", f"{len(mismatched)} with other options in {where}: {shown}")
    return out


def check_writable(out_dir: Path) -> None:
    """The output folder exists (made if needed) and takes files: checked before any work starts."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out_dir, prefix=".mils-write-check.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError("--out", "a folder this user can write", f"{out_dir} ({exc})") from None


def run_unit(dataset: Dataset, items: Sequence[Any], *, fresh: bool = False,
             show_progress: bool = True) -> list[Outcome]:
    """Run ``items`` as lockstep batches (one per task and LLM), each search resuming from its saved round
    state (unless ``fresh``) and saving it after every round. One outcome per item, in order: the result
    (also a partial one, with ``error`` saying why it stopped), or why the item failed."""
    started = time.perf_counter()
    outcomes: dict[int, Outcome] = {}
    groups: dict[tuple, list[tuple[int, Job]]] = {}
    for i, item in enumerate(items):
        try:
            loaded = dataset.load(item)
        except MilsError as exc:
            outcomes[i] = Outcome(item, error=str(exc))
            continue
        job = replace(dataset.job(item, loaded), checkpoint=dataset.state_path(item), fresh=fresh)
        groups.setdefault((job.task, id(job.generator)), []).append((i, job))
    for members in groups.values():
        label = dataset.name(items[members[0][0]]) if len(members) == 1 else f"{len(members)} {dataset.noun}s"
        with dataset.progress(label) if show_progress else contextlib.nullcontext(None) as bar:
            outs = run_jobs([job for _, job in members], progress=bar)
        for (i, _), out in zip(members, outs):
            outcomes[i] = _outcome(dataset, items[i], out)
    share = (time.perf_counter() - started) / max(1, len(items))
    return [replace(outcomes[i], seconds=share) for i in range(len(items))]


def _outcome(dataset: Dataset, item, out: JobResult | Exception) -> Outcome:
    if isinstance(out, Exception):
        return Outcome(item, error=str(out))
    try:
        result = dataset.result(item, out)
    except (MilsError, OSError) as exc:
        return Outcome(item, error=str(exc))
    res = out.result
    if res.stopped in UNFINISHED:
        why = res.error or "interrupted"
        return Outcome(item, result, error=f"stopped at round {len(res.history) - 1} ({why}); the best so far is "
                                           "kept, rerun to resume")
    return Outcome(item, result)


class UnitRunner:
    """What a Ray worker runs: ``runner(items, fresh)`` -> the items' outcomes (see :func:`run_unit`)."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __call__(self, items: Sequence[Any], fresh: bool) -> list[Outcome]:
        return run_unit(self.dataset, items, fresh=fresh, show_progress=False)


@dataclass
class BatchReport:
    plan: Plan
    done: list[tuple[Any, ItemResult]] = field(default_factory=list)        # finished, written
    failed: list[tuple[Any, str, ItemResult | None]] = field(default_factory=list)  # why; a kept partial result
    workers: int = 0
    wall_s: float = 0.0


def run(dataset: Dataset, items: Sequence[Hashable], opts: BatchOptions, *,
        on_plan: Callable[[Plan], None] | None = None,
        on_outcome: Callable[[Outcome], None] | None = None) -> BatchReport:
    """Run the items still to do (see :func:`plan`) and write their results; ``on_plan`` sees the plan before
    any work, ``on_outcome`` each item's outcome as it lands.

    Items must be hashable (paths, (number, prompt) pairs): outcomes come back from workers as copies.
    """
    opts.validate()
    check_writable(opts.out_dir)
    report = BatchReport(plan(dataset, items, fresh=opts.fresh))
    if on_plan is not None:
        on_plan(report.plan)
    todo = report.plan.todo
    if not todo:
        return report
    index = {item: i for i, item in enumerate(todo)}
    done: dict[int, tuple] = {}
    failed: dict[int, tuple] = {}

    def land(outcome: Outcome) -> None:
        i = index[outcome.item]
        if outcome.result is not None:
            try:
                _write(dataset, todo[i], outcome.result, opts.fresh)
            except OSError as exc:
                outcome.error, outcome.result = f"could not write its result: {exc}", None
        if outcome.ok:
            done[i] = (todo[i], outcome.result)
        else:
            failed[i] = (todo[i], outcome.error, outcome.result)
        if on_outcome is not None:
            on_outcome(outcome)

    started = time.perf_counter()
    if opts.ray is None:
        report.workers = 1
        for unit in _units(todo, opts.batch):
            for outcome in run_unit(dataset, unit, fresh=opts.fresh, show_progress=not opts.quiet):
                land(outcome)
    else:
        report.workers = _run_on_ray(dataset, todo, opts, land)
    report.wall_s = time.perf_counter() - started
    report.done = [done[i] for i in sorted(done)]
    report.failed = [failed[i] for i in sorted(failed)]
    log.info("%d %s(s) on %d worker(s) in %.1f s", len(todo), dataset.noun, report.workers, report.wall_s)
    return report


def _units(items: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def _write(dataset: Dataset, item, result: ItemResult, fresh: bool) -> None:
    target = dataset.result_path(item)
    if not fresh and is_finished(target):  # finished meanwhile by another run: never rewritten
        log.warning("%s was finished by another run; kept", target)
        return
    dataset.write(item, result)
    if finished(result.payload):
        dataset.state_path(item).unlink(missing_ok=True)


def _run_on_ray(dataset: Dataset, todo: list, opts: BatchOptions, land: Callable[[Outcome], None]) -> int:
    from .distributed import cluster
    from .distributed.driver import run_units

    connection = cluster.connect(opts.ray)
    try:
        workers = opts.workers or cluster.cluster_workers()[0]
        size = max(1, min(opts.batch, math.ceil(len(todo) / workers)))  # every worker gets a batch
        stats = run_units(_units(todo, size), partial(UnitRunner, dataset), land, workers=workers, fresh=opts.fresh,
                          label=f"{dataset.noun}s", quiet=opts.quiet)
    finally:
        connection.close()
    return stats.workers
