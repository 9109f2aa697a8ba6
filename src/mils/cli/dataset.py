"""The dataset options shared by `mils caption FOLDER|--manifest` and `mils enhance --prompts`: --batch,
--ray / --workers / --fresh, translated into ``mils.batch.BatchOptions``; the run itself (resume policy,
lockstep batches with per-round checkpoints, Ray) is ``mils.batch``. This module only turns the options
into its parameters and its report into what the command prints and returns.
"""
from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import Hashable, Sequence

from .. import batch
from ..batch import BatchOptions, Dataset, finished
from ..errors import InputError
from .options import OVERRIDES
from .output import BatchProgress

log = logging.getLogger(__name__)


def add_dataset_args(p) -> None:
    g = p.add_argument_group("many inputs (a folder, --manifest, --prompts) on a Ray cluster")
    g.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run the inputs on Ray workers: no value = Ray on this machine, `auto` = the cluster "
                        "`ray start` runs here, else that cluster's address (HOST:6379). Needs the ray extra: "
                        'pip install "mils-nodes[ray]". --out must be a folder every worker can write (the '
                        "searches save their rounds there). Put it after the input, or write --ray=ADDRESS")
    g.add_argument("--workers", type=int, help="--ray: how many workers (default: the cluster's GPUs, else its CPUs)")
    g.add_argument("--fresh", action="store_true",
                   help="recompute every input, finished or not (default: skip the finished ones, resume the "
                        "partial ones at their last round, and refuse results written with other settings)")


def add_batch_arg(p, what: str, extra: str = "") -> None:
    """--batch N: how many of the ``what`` (inputs, prompts) step together in one lockstep batch."""
    p.add_argument("--batch", type=int, metavar="N",
                   help=f"{what} whose searches step together, one batched LLM call per round{extra} "
                        "(default 4 on a CPU, 8 with a GPU; 1 = one at a time)")


def check_batch(args, what: str) -> int:
    """The lockstep batch size: --batch (at least 1), else ``default_batch()``."""
    if args.batch is not None and args.batch < 1:
        raise InputError("--batch", f"at least 1 {what} per lockstep batch", repr(args.batch))
    return args.batch or default_batch()


def default_batch() -> int:
    """Searches per lockstep batch when --batch is not given: more where the LLM runs on a GPU."""
    import torch

    return 8 if torch.cuda.is_available() else 4


def check_dataset_args(args) -> None:
    if args.workers is not None and args.ray is None:
        raise InputError("--workers", "--ray as well (they are Ray workers)", repr(args.workers))
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers", "at least 1", repr(args.workers))


def run_options(args, extra: dict | None = None) -> dict:
    """The options a result depends on, recorded in it; a finished result with other options is refused."""
    llm = f"{args.llm_url} {args.llm_model}" if args.llm_url else args.llm
    return {"llm": llm, "scorer": getattr(args, "scorer", None), "preset": args.preset, "seed": args.seed,
            "pool": args.pool, **{k: getattr(args, k) for k in OVERRIDES}, **(extra or {})}


def batch_options(args, out_dir: Path, size: int) -> BatchOptions:
    check_dataset_args(args)
    return BatchOptions(out_dir=out_dir, batch=size, fresh=args.fresh, ray=args.ray, workers=args.workers,
                        quiet=args.quiet)


def pending(items: Sequence[Hashable], result_of, options: dict, *, fresh: bool, out_dir: Path | None) -> list:
    """A single input's run with --out: the items without a finished result (a dataset run uses mils.batch.plan)."""
    if fresh or out_dir is None:
        return list(items)
    todo = []
    for item in items:
        payload = batch.read_result(result_of(item))
        if not finished(payload):
            todo.append(item)
            continue
        diff = batch.options_difference(batch.recorded_options(payload), options)
        if diff:
            raise InputError("--out", "finished results made with this run's options (use another --out, or "
                                      "--fresh to recompute them)", f"{result_of(item).name}: {diff}")
    if len(todo) < len(items):
        print(f"skipping {len(items) - len(todo)} finished input(s) in {out_dir}", file=sys.stderr)
    return todo


class CliDataset(Dataset):
    """A dataset of a subcommand: the lockstep progress bar unless --quiet."""

    quiet = False

    def progress(self, label: str):
        return _bar(label, self.quiet)


@contextlib.contextmanager
def _bar(label: str, quiet: bool):
    with BatchProgress(label, quiet) as bar:
        yield bar.item


def run_dataset(args, dataset: Dataset, items: Sequence[Hashable], out_dir: Path, size: int, what: str) -> int:
    """Run ``items`` (mils.batch.run) and print the results: 0 when every one finished, 1 when some failed."""
    opts = batch_options(args, out_dir, size)

    def show(outcome) -> None:
        if not outcome.ok:
            print(f"mils: {dataset.name(outcome.item)}: {outcome.error}", file=sys.stderr)

    def announce(plan) -> None:
        if plan.done:
            print(f"skipping {len(plan.done)} finished {what}(s) in {out_dir}", file=sys.stderr)
        if plan.partial:
            print(f"resuming {len(plan.partial)} unfinished {what}(s) at their last saved round", file=sys.stderr)

    report = batch.run(dataset, items, opts, on_plan=announce, on_outcome=show)
    order = {item: i for i, item in enumerate(report.plan.todo)}
    kept = sorted([*report.done, *[(item, res) for item, _, res in report.failed if res is not None]],
                  key=lambda pair: order[pair[0]])
    if args.json:
        print(json.dumps([res.payload for _, res in kept], indent=1))
    else:
        for _, res in report.done:
            print(res.summary)
    if report.failed:
        names = ", ".join(dataset.name(item) for item, _, _ in report.failed)
        print(f"mils: {len(report.failed)} of {len(report.plan.todo)} {what}(s) failed: {names}", file=sys.stderr)
        return 1
    return 0
