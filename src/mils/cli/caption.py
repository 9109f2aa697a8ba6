"""`mils caption`: caption an image, a video or a sound, or every such file in a folder."""
from __future__ import annotations

import json
import logging
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

from ..batch import UNFINISHED, ItemResult, finished
from ..cache import atomic_write_text
from ..errors import InputError, MilsError
from ..jobs import Job, run_job, run_jobs, search_config
from ..media import CAPTION_TASKS, Media, load_media, media_kind
from ..tasks import get_task
from .dataset import (
    CliDataset,
    add_batch_arg,
    add_dataset_args,
    check_batch,
    check_dataset_args,
    pending,
    run_dataset,
    run_options,
)
from .models import load_encoder, load_generator
from .options import add_model_args, add_search_args, overrides
from .output import BatchProgress, exit_code, run_resumable, summary
from .steer import add_steer_args, check_steer_args, cli_steering

RESULT_SUFFIX = ".mils.json"
STATE_SUFFIX = ".mils.state.json"

log = logging.getLogger(__name__)


def add_parser(sub) -> None:
    p = sub.add_parser("caption", help="caption an image, video or audio file, or every such file in a folder")
    p.add_argument("input", type=Path, nargs="?", help="a media file, or a folder (batch mode)")
    p.add_argument("--manifest", type=Path, metavar="FILE",
                   help="batch mode over the files a manifest lists instead of a folder: JSONL lines "
                        '{"input": "path"} or plain lines of paths, relative to the manifest\'s folder')
    p.add_argument("--out", type=Path, help="batch mode: folder for the result files (default: the input folder, "
                                            "or the manifest's)")
    p.add_argument("--frames", type=int, default=8, help="video: frames sampled uniformly (default 8)")
    add_batch_arg(p, "batch mode: inputs")
    add_model_args(p)
    add_search_args(p)
    add_steer_args(p)
    add_dataset_args(p)


def caption_job(args, generator, encoder, media: Media) -> Job:
    """The caption job the command's options describe."""
    return Job(media.task_name, generator, encoder, media=media, pool=args.pool, preset=args.preset,
               overrides=overrides(args), seed=args.seed, num_frames=args.frames)


def result_path(out_dir: Path, media: Path) -> Path:
    return out_dir / (media.name + RESULT_SUFFIX)


def caption_options(args) -> dict:
    return run_options(args, {"frames": args.frames})


def caption_payload(args, path: Path, media: Media, generator, encoder, res) -> dict:
    """An input's result file."""
    return {"input": str(path), "kind": media.kind, "task": media.task_name, "llm": generator.key,
            "scorer": encoder.key, "preset": args.preset, "seed": args.seed, "options": caption_options(args),
            **res.to_dict()}


def _dataset(args) -> tuple[list[Path], Path | None, bool]:
    """(inputs, result folder or None, batch?) from the input (a file or folder) or --manifest."""
    from ..distributed.manifest import folder_inputs, manifest_inputs

    if args.manifest is not None:
        if args.input is not None:
            raise InputError("--manifest", "either a manifest or an input folder/file, not both", str(args.input))
        return manifest_inputs(args.manifest), args.out or args.manifest.parent, True
    if args.input is None:
        raise InputError("input", "a media file or folder, or --manifest FILE")
    if args.input.is_dir():
        return folder_inputs(args.input), args.out or args.input, True
    if args.input.is_file():
        return [args.input], args.out, False
    raise InputError("input", "an existing media file or folder", str(args.input))


def state_path(out_dir: Path, media: Path) -> Path:
    """Where an input's search state is saved after every round (a rerun resumes there)."""
    return out_dir / (media.name + STATE_SUFFIX)


def run(args) -> int:
    check_dataset_args(args)
    size = check_batch(args, "input")
    inputs, out_dir, batch = _dataset(args)
    check_steer_args(args, single=not batch, what="one media file (not a folder or --manifest)")
    if batch:
        return run_batch(args, inputs, out_dir, size)
    if args.ray is not None:
        raise InputError("--ray", "a folder or --manifest to spread over workers", str(args.input))
    todo = pending(inputs, partial(result_path, out_dir), caption_options(args), fresh=args.fresh, out_dir=out_dir)
    loaded, failed = [], []
    for path in todo:
        try:
            loaded.append((path, load_media(path, args.frames)))
        except MilsError as exc:
            if not batch:
                raise
            failed.append(path)  # one bad file must not stop a batch
            print(f"mils: {path.name}: {exc}", file=sys.stderr)
    results, single = {}, None
    for task_name in dict.fromkeys(m.task_name for _, m in loaded):
        search_config(get_task(task_name), args.preset, seed=args.seed, **overrides(args))  # bad options: once
        generator, encoder = load_generator(args, task_name), load_encoder(args, task_name)
        group = [(p, m) for p, m in loaded if m.task_name == task_name]
        for i in range(0, len(group), size):
            chunk = group[i:i + size]
            for (path, media), out in zip(chunk, _run_chunk(args, chunk, generator, encoder, out_dir)):
                if isinstance(out, Exception):
                    if not batch:
                        raise out
                    failed.append(path)
                    print(f"mils: {path.name}: {out}", file=sys.stderr)
                    continue
                results[path] = _keep(args, path, media, generator, encoder, out.result, out_dir, failed, batch)
                if not batch:
                    single = out.result
    if args.json:
        out = list(results.values())
        print(json.dumps(out[0] if len(out) == 1 and not batch else out, indent=1))
    if not batch and single is not None:  # one file: the best so far is shown even after an outage
        return exit_code(single, inputs[0].name, result_path(out_dir, inputs[0]) if out_dir else None)
    if failed:
        print(f"mils: {len(failed)} of {len(todo)} input(s) failed: {', '.join(p.name for p in failed)}",
              file=sys.stderr)
        return 1
    return 0


def _run_chunk(args, chunk, generator, encoder, out_dir):
    """One lockstep batch of caption jobs, each resuming from its saved state unless --fresh."""
    jobs = [replace(caption_job(args, generator, encoder, media), fresh=args.fresh,
                    checkpoint=state_path(out_dir, path) if out_dir is not None else None) for path, media in chunk]
    label = chunk[0][0].name if len(chunk) == 1 else f"{len(chunk)} inputs"
    with BatchProgress(label, args.quiet or getattr(args, "interactive", False)) as bar:
        if len(jobs) == 1:
            job, steering = cli_steering(args, jobs[0])
            progress = steering.progress(bar) if steering else bar
            if out_dir is None:  # one file, no --out: its state in the user's cache folder
                return [run_resumable(job, progress=progress, fresh=args.fresh)]
            return [run_job(job, progress=progress, on_error="return")]
        return run_jobs(jobs, progress=bar.item)


def _keep(args, path, media, generator, encoder, res, out_dir, failed, batch) -> dict:
    """Write an input's result (also a partial one: the best so far, marked with why it stopped)."""
    payload = caption_payload(args, path, media, generator, encoder, res)
    if out_dir is not None:
        atomic_write_text(result_path(out_dir, path), json.dumps(payload, indent=1))
        if finished(payload):
            state_path(out_dir, path).unlink(missing_ok=True)
    if res.stopped in UNFINISHED:
        why = res.error or "interrupted"
        if not batch:  # shown as a finished one is; run() says why it stopped
            if not args.json:
                print(summary(path.name, res))
            return payload
        failed.append(path)
        print(f"mils: {path.name}: stopped at round {len(res.history) - 1} ({why}); the best so far is kept, "
              "rerun to resume", file=sys.stderr)
    elif not args.json:
        print(summary(path.name, res))
    return payload


class CaptionDataset(CliDataset):
    """`mils caption FOLDER|--manifest`: an input's result <out>/<name>.mils.json, its round state beside it.
    The LLM and scorer are loaded once per task, where the inputs run (here, or on each Ray worker)."""

    def __init__(self, args, out_dir: Path):
        self.args, self.out_dir, self.quiet = args, out_dir, args.quiet
        self.models: dict[str, tuple] = {}

    def __getstate__(self):
        return {**self.__dict__, "models": {}}   # the workers load their own

    def result_path(self, item: Path) -> Path:
        return result_path(self.out_dir, item)

    def state_path(self, item: Path) -> Path:
        return state_path(self.out_dir, item)

    def name(self, item: Path) -> str:
        return item.name

    def options(self) -> dict:
        return caption_options(self.args)

    def load(self, item: Path) -> Media:
        return load_media(item, self.args.frames)

    def job(self, item: Path, loaded: Media):
        task = loaded.task_name
        if task not in self.models:
            self.models[task] = (load_generator(self.args, task), load_encoder(self.args, task))
        return caption_job(self.args, *self.models[task], loaded)

    def result(self, item: Path, done) -> ItemResult:
        job = done.job
        payload = caption_payload(self.args, item, job.media, job.generator, job.scorer_model, done.result)
        return ItemResult(payload, summary=summary(item.name, done.result))


def run_batch(args, inputs: list[Path], out_dir: Path, size: int) -> int:
    """`mils caption FOLDER|--manifest [--ray]`: the inputs in lockstep batches, here or on Ray workers."""
    for kind in dict.fromkeys(_kind(p) for p in inputs):  # bad search options: one error before any work
        if kind is not None:
            search_config(get_task(CAPTION_TASKS[kind]), args.preset, seed=args.seed, **overrides(args))
    return run_dataset(args, CaptionDataset(args, out_dir), inputs, out_dir, size, "input")


def _kind(path: Path) -> str | None:
    try:
        return media_kind(path)
    except MilsError:
        return None  # reported as that input's failure
