"""`mils enhance`: rewrite a text-to-image prompt, rendering every rewrite with a diffusers pipeline."""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError
from .dataset import add_batch_arg, add_dataset_args
from .enhance_outputs import ENHANCE_FILES, enhance_job, enhance_outputs, load_models, write_enhance
from .enhance_prompts import run_prompts
from .models import load_generator
from .options import add_model_args, add_render_args, add_search_args, add_vlm_args, check_render_args
from .output import Progress, exit_code, outputs_or_best, run_resumable, slug
from .steer import add_steer_args, check_steer_args, cli_steering

__all__ = ["ENHANCE_FILES", "add_parser", "enhance", "run"]


def add_parser(sub) -> None:
    p = sub.add_parser("enhance", help="rewrite a text-to-image prompt: render each rewrite with a diffusers "
                                        "pipeline and score the picture against the original prompt")
    p.add_argument("prompt", nargs="?", help="the text-to-image prompt to improve")
    p.add_argument("--prompts", type=Path, metavar="FILE",
                   help="improve every prompt of a file instead: one per line, or JSONL lines with a \"prompt\"; "
                        "each prompt's files go to <out>/<number>-<prompt slug>/")
    add_batch_arg(p, "--prompts: prompts", " and batched renders")
    add_render_args(p, pipeline_required=True)
    p.add_argument("--out", type=Path, help="output folder (default ./mils-enhance-<prompt slug>, with --prompts "
                                            "./mils-enhance-<file name>)")
    add_model_args(p)
    add_vlm_args(p)
    add_search_args(p)
    add_steer_args(p)
    add_dataset_args(p)


def check_args(args) -> str:
    prompt = (args.prompt or "").strip()
    if not prompt:
        raise InputError("prompt", "a non-empty text-to-image prompt", repr(args.prompt))
    if args.pool:
        raise InputError("--pool", "no pool: enhance starts from the prompt itself", repr(args.pool))
    if getattr(args, "batch", None) is not None:
        raise InputError("--batch", "--prompts FILE as well (it batches the prompts of a file)", repr(args.batch))
    check_render_args(args)
    return prompt


def run(args) -> int:
    check_steer_args(args, single=args.prompts is None and args.ray is None, what="one PROMPT (not --prompts or --ray)")
    if args.prompts is not None or args.ray is not None:
        return run_prompts(args)
    prompt = check_args(args)
    payload, text = enhance(args, prompt)
    print(json.dumps(payload, indent=1) if args.json else text)
    return exit_code(payload, "enhance", Path(payload["out_dir"]))


def enhance(args, prompt: str, *, generator=None, extra: dict | None = None) -> tuple[dict, str]:
    """The `mils enhance` search, renders and output folder for a checked ``prompt``.

    ``generator``: an LLM already loaded (else --llm etc.); ``extra``: more keys for result.json.
    Returns result.json's payload and the human summary. After an LLM or scorer failure (or Ctrl-C) the payload
    is the best so far, ``"stopped": "error"`` (``"cancelled"``); the same command again resumes it.
    """
    out_dir = args.out or Path.cwd() / f"mils-enhance-{slug(prompt)}"
    models = load_models(args)
    job = enhance_job(args, prompt, generator or load_generator(args, "t2i_enhance"), models)
    job, steering = cli_steering(args, job)
    with Progress("enhance", args.quiet or getattr(args, "interactive", False)) as bar:
        done = run_resumable(job, progress=steering.progress(bar) if steering else bar,
                             fresh=getattr(args, "fresh", False))
    fallback = {"prompt": prompt, "best_prompt": done.result.best_text, "out_dir": str(out_dir), "task": job.task,
                "llm": job.generator.key, "scorer": models.encoder.key, **(extra or {})}
    payload, blobs, text = outputs_or_best(lambda: enhance_outputs(args, done, out_dir, models, extra=extra),
                                           done.result, fallback)
    write_enhance(out_dir, payload, blobs)
    return payload, text
