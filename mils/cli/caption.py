"""`mils caption`: caption an image, a video or a sound, or every such file in a folder."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..cache import atomic_write_text
from ..errors import InputError, MilsError
from ..jobs import Job, run_job
from ..media import AUDIO_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES, Media, load_media
from .models import load_encoder, load_generator
from .options import add_model_args, add_search_args, overrides
from .output import Progress, summary

RESULT_SUFFIX = ".mils.json"


def add_parser(sub) -> None:
    p = sub.add_parser("caption", help="caption an image, video or audio file, or every such file in a folder")
    p.add_argument("input", type=Path, help="a media file, or a folder (batch mode)")
    p.add_argument("--out", type=Path, help="batch mode: folder for the result files (default: the input folder)")
    p.add_argument("--frames", type=int, default=8, help="video: frames sampled uniformly (default 8)")
    add_model_args(p)
    add_search_args(p)


def caption_job(args, generator, encoder, media: Media) -> Job:
    """The caption job the command's options describe."""
    return Job(media.task_name, generator, encoder, media=media, pool=args.pool, preset=args.preset,
               overrides=overrides(args), seed=args.seed, num_frames=args.frames)


def result_path(out_dir: Path, media: Path) -> Path:
    return out_dir / (media.name + RESULT_SUFFIX)


def is_finished(path: Path) -> bool:
    """A result file counts only when it parses and holds a best text (partial writes never do)."""
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("best_text"))
    except (OSError, ValueError, AttributeError):
        return False


def _inputs(folder: Path) -> list[Path]:
    suffixes = IMAGE_SUFFIXES | VIDEO_SUFFIXES | AUDIO_SUFFIXES
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def run(args) -> int:
    if args.input.is_dir():
        inputs = _inputs(args.input)
        if not inputs:
            raise InputError("input", "a folder with image, video or audio files", str(args.input))
        out_dir = args.out or args.input
    elif args.input.is_file():
        inputs, out_dir = [args.input], args.out
    else:
        raise InputError("input", "an existing media file or folder", str(args.input))

    todo = [p for p in inputs if out_dir is None or not is_finished(result_path(out_dir, p))]
    if len(todo) < len(inputs):
        print(f"skipping {len(inputs) - len(todo)} finished input(s) in {out_dir}", file=sys.stderr)
    models: dict[str, tuple] = {}
    results = {}
    failed = []
    for path in todo:
        try:
            media = load_media(path, args.frames)
        except MilsError as exc:
            if not args.input.is_dir():
                raise
            failed.append(path)  # one bad file must not stop a batch
            print(f"mils: {path.name}: {exc}", file=sys.stderr)
            continue
        task_name = media.task_name
        if task_name not in models:
            models[task_name] = (load_generator(args, task_name), load_encoder(args, task_name))
        generator, encoder = models[task_name]
        with Progress(path.name, args.quiet) as bar:
            res = run_job(caption_job(args, generator, encoder, media), progress=bar).result
        payload = {"input": str(path), "kind": media.kind, "task": task_name, "llm": generator.key,
                   "scorer": encoder.key, "preset": args.preset, "seed": args.seed, **res.to_dict()}
        results[path] = payload
        if out_dir is not None:
            atomic_write_text(result_path(out_dir, path), json.dumps(payload, indent=1))
        if not args.json:
            print(summary(path.name, res))
    if args.json:
        out = list(results.values())
        print(json.dumps(out[0] if len(out) == 1 and not args.input.is_dir() else out, indent=1))
    if failed:
        print(f"mils: {len(failed)} of {len(todo)} input(s) failed: {', '.join(p.name for p in failed)}",
              file=sys.stderr)
        return 1
    return 0
