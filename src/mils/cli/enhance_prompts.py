"""`mils enhance --prompts FILE`: every prompt of a file, each in its own folder <out>/<number>-<slug>/.

Locally the prompts run in lockstep batches of --batch (mils.jobs.run_jobs: one batched LLM call per
round for the batch, the new candidates of all its searches rendered together on the one pipeline);
with --ray on workers, one prompt per call. Each prompt's search state is saved in its folder after
every round (``STATE_FILE``): a prompt that fails (LLM outage, interrupt) keeps its best so far
there and in result.json, and a rerun resumes it at its last finished round. A failing prompt fails
alone and is named in the summary; finished prompts are skipped, and never rewritten.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from functools import partial
from pathlib import Path

from ..errors import InputError, MilsError
from ..jobs import run_jobs
from .caption import is_finished
from .dataset import (
    UNFINISHED,
    check_batch,
    check_dataset_args,
    check_writable,
    finished,
    pending,
    run_on_ray,
    run_options,
)
from .enhance_outputs import ENHANCE_FILES, enhance_job, enhance_one, enhance_outputs, load_models, write_enhance
from .models import load_generator
from .options import check_render_args
from .output import BatchProgress, slug

STATE_FILE = "mils.state.json"

log = logging.getLogger(__name__)

Item = tuple[int, str]   # (number in the file, from 1; the prompt)


def prompt_dir(out_dir: Path, number: int, prompt: str) -> Path:
    return out_dir / f"{number:04d}-{slug(prompt)}"


def enhance_options(args) -> dict:
    render = ("pipeline", "preview_steps", "final_steps", "guidance", "negative", "render_seed", "render_batch")
    return run_options(args, {"preview_size": list(args.preview_size), "final_size": list(args.final_size),
                              **{k: getattr(args, k) for k in render}})


class EnhanceRunner:
    """One worker's `mils enhance`: the LLM loaded once (pipeline and scorer through the model cache);
    a (number, prompt) in, (result.json's payload, the other files) out."""

    def __init__(self, args, out_dir: Path):
        self.args, self.out_dir, self.generator = args, out_dir, None

    def __call__(self, item: Item) -> tuple[dict, dict[str, bytes]]:
        number, prompt = item
        self.generator = self.generator or load_generator(self.args, "t2i_enhance")
        payload, blobs, _ = enhance_one(self.args, prompt, prompt_dir(self.out_dir, number, prompt),
                                        generator=self.generator,
                                        extra={"number": number, "options": enhance_options(self.args)})
        return payload, blobs


def _check_prompts_args(args) -> tuple[list[Item], Path, int]:
    from ..distributed.manifest import read_prompts

    check_dataset_args(args)
    if args.prompts is None:
        raise InputError("--ray", "--prompts FILE: the prompts to spread over workers")
    if args.prompt is not None:
        raise InputError("--prompts", "either a prompt or --prompts FILE, not both", repr(args.prompt))
    if args.pool:
        raise InputError("--pool", "no pool: enhance starts from the prompt itself", repr(args.pool))
    size = check_batch(args, "prompt")
    check_render_args(args)
    items = list(enumerate(read_prompts(args.prompts), 1))
    return items, args.out or Path.cwd() / f"mils-enhance-{args.prompts.stem}", size


def run_prompts(args) -> int:
    """`mils enhance --prompts FILE [--ray]`: each prompt's files in its own subfolder; finished ones skipped."""
    items, out_dir, size = _check_prompts_args(args)
    check_writable(out_dir)
    result_of = lambda item: prompt_dir(out_dir, *item) / ENHANCE_FILES["result"]  # noqa: E731
    todo = pending(items, result_of, enhance_options(args), fresh=args.fresh, out_dir=out_dir)

    def write(item: Item, result) -> None:
        if not args.fresh and is_finished(result_of(item)):  # finished meanwhile (another run): never rewritten
            log.warning("%s was finished by another run; kept", result_of(item).parent)
            return
        write_enhance(prompt_dir(out_dir, *item), *result)

    if args.ray is not None:
        quiet = argparse.Namespace(**{**vars(args), "quiet": True})  # one bar, the driver's, over the prompts
        done, failed = run_on_ray(args, todo, partial(EnhanceRunner, quiet, out_dir), write,
                                  name_of=lambda item: prompt_dir(out_dir, *item).name)
    else:
        done, failed = run_local(args, todo, out_dir, size, write)
    if args.json:
        print(json.dumps([payload for _, (payload, _) in done], indent=1))
    for item, (payload, _) in [] if args.json else done:
        print(f"{prompt_dir(out_dir, *item).name}: {payload['best_prompt']}\n  score {payload['best_score']:.4f}")
    if failed:
        names = ", ".join(prompt_dir(out_dir, *item).name for item, _ in failed)
        print(f"mils: {len(failed)} of {len(todo)} prompt(s) failed: {names}", file=sys.stderr)
        return 1
    return 0


def run_local(args, todo: list[Item], out_dir: Path, size: int, write) -> tuple[list, list]:
    """The prompts in lockstep batches of ``size`` on this machine; ``write(item, files)`` as each batch ends.

    Returns (the finished (item, (payload, files)) pairs, the failed (item, why) pairs), in the file's order.
    """
    done: list = []
    failed: list = []
    if not todo:
        return done, failed
    # no pipeline, scorer or LLM: every prompt would fail the same way, so that stops the run
    models, generator = load_models(args), load_generator(args, "t2i_enhance")
    for i in range(0, len(todo), size):
        chunk = todo[i:i + size]
        jobs = [enhance_job(args, prompt, generator, models, checkpoint=prompt_dir(out_dir, n, prompt) / STATE_FILE)
                for n, prompt in chunk]
        with BatchProgress(prompt_dir(out_dir, *chunk[0]).name if len(chunk) == 1 else f"{len(chunk)} prompts",
                           args.quiet) as bar:
            outs = run_jobs(jobs, progress=bar.item)
        for item, out in zip(chunk, outs):
            why = _keep(args, item, out, out_dir, models, write, done)
            if why is not None:
                failed.append((item, why))
    return done, failed


def _keep(args, item: Item, out, out_dir: Path, models, write, done: list) -> str | None:
    """Write a prompt's files (also a partial result: the best so far, marked with why it stopped); why it
    failed, or None."""
    folder = prompt_dir(out_dir, *item)
    if isinstance(out, Exception):
        print(f"mils: {folder.name}: {out}", file=sys.stderr)
        return str(out)
    try:
        files = enhance_outputs(args, out, folder, models, extra={"number": item[0],
                                                                   "options": enhance_options(args)})[:2]
        write(item, files)
    except (MilsError, OSError) as exc:
        print(f"mils: {folder.name}: {exc}", file=sys.stderr)
        return str(exc)
    res = out.result
    if res.stopped in UNFINISHED:
        why = res.error or "interrupted"
        print(f"mils: {folder.name}: stopped at round {len(res.history) - 1} ({why}); the best so far is kept, "
              "rerun to resume", file=sys.stderr)
        return why
    if finished(files[0]):
        (folder / STATE_FILE).unlink(missing_ok=True)
    done.append((item, files))
    return None
