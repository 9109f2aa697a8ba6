"""Dataset runs shared by `mils caption` and `mils enhance --prompts`: the --batch (lockstep) and
--ray / --workers / --fresh options, which inputs are still to do (finished results with other
settings are refused), and the Ray run with its summary. Ray itself is only touched through
mils.distributed.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import InputError
from .options import OVERRIDES

log = logging.getLogger(__name__)


def add_dataset_args(p) -> None:
    g = p.add_argument_group("many inputs (a folder, --manifest, --prompts) on a Ray cluster")
    g.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run the inputs on Ray workers: no value = Ray on this machine, `auto` = the cluster "
                        "`ray start` runs here, else that cluster's address (HOST:6379). Needs the ray extra: "
                        'pip install "mils-nodes[ray]". Put it after the input, or write --ray=ADDRESS')
    g.add_argument("--workers", type=int, help="--ray: how many workers (default: the cluster's GPUs, else its CPUs)")
    g.add_argument("--fresh", action="store_true",
                   help="recompute every input, finished or not (default: skip the finished ones, and refuse "
                        "results written with other settings)")


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


UNFINISHED = ("error", "cancelled")   # a result kept after an outage or interrupt: the rerun resumes it


def finished(payload) -> bool:
    """A result payload that is done: it holds a best text and did not stop on an error or an interrupt."""
    return isinstance(payload, dict) and bool(payload.get("best_text")) and payload.get("stopped") not in UNFINISHED


def _recorded(path: Path) -> dict | None:
    """A finished result's recorded options (results from before they were recorded: preset and seed); None if
    the file is not a finished result (missing, partial, no best text)."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not finished(payload):
        return None
    return payload.get("options") or {k: payload.get(k) for k in ("preset", "seed")}


def pending(items: Sequence[Any], result_of: Callable[[Any], Path], options: dict, *, fresh: bool,
            out_dir: Path | None) -> list[Any]:
    """The items still to run: without a finished result, or all with ``fresh``. Finished results recorded with
    other options are an InputError listing them (mixing two settings in one --out would go unnoticed)."""
    if fresh or out_dir is None:
        return list(items)
    todo, mismatched = [], []
    for item in items:
        path = result_of(item)
        old = _recorded(path)
        if old is None:
            todo.append(item)
            continue
        diff = [f"{k} {old[k]!r} (now {options.get(k)!r})" for k in old if old[k] != options.get(k)]
        if diff:
            mismatched.append(f"{path.name}: {', '.join(diff)}")
    if mismatched:
        shown = "; ".join(mismatched[:5]) + (f"; and {len(mismatched) - 5} more" if len(mismatched) > 5 else "")
        raise InputError("--out", "finished results made with this run's options (use another --out, or --fresh "
                                  "to recompute them)", f"{len(mismatched)} with other options in {out_dir}: {shown}")
    if len(todo) < len(items):
        print(f"skipping {len(items) - len(todo)} finished input(s) in {out_dir}", file=sys.stderr)
    return todo


def check_writable(out_dir: Path) -> None:
    """--out exists (made if needed) and takes files: checked before any worker starts."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out_dir, prefix=".mils-write-check.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError("--out", "a folder this user can write", f"{out_dir} ({exc})") from None


def run_on_ray(args, items: Sequence[Any], make_runner: Callable[[], Callable[[Any], Any]],
               write: Callable[[Any, Any], None], name_of: Callable[[Any], str]) -> tuple[list, list]:
    """Run ``items`` on Ray workers; ``write(item, result)`` on the driver as each lands.

    Returns (the finished (item, result) pairs, the failed (item, error) pairs), in the items' order.
    """
    from ..distributed import cluster
    from ..distributed.driver import run_units, units_of

    check_dataset_args(args)
    connection = cluster.connect(args.ray)
    try:
        workers = args.workers or cluster.cluster_workers()[0]
        done: dict[int, Any] = {}
        failed: dict[int, str] = {}
        index = {item: i for i, item in enumerate(items)}  # items are hashable: paths, (number, prompt) pairs

        def on_outcome(outcome) -> None:
            i = index[outcome.item]
            if outcome.ok:
                try:
                    write(items[i], outcome.result)
                    done[i] = outcome.result
                    return
                except OSError as exc:
                    outcome.error = f"could not write its result: {exc}"
            failed[i] = outcome.error
            print(f"mils: {name_of(items[i])}: {outcome.error}", file=sys.stderr)

        stats = run_units(units_of(list(items)), make_runner, on_outcome, workers=workers, quiet=args.quiet)
        log.info("%d input(s) on %d worker(s) in %.1f s (%.1f s of compute)", len(items), stats.workers,
                 stats.wall_s, stats.compute_s)
    finally:
        connection.close()
    return ([(items[i], done[i]) for i in sorted(done)], [(items[i], failed[i]) for i in sorted(failed)])
