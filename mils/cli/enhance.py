"""`mils enhance`: rewrite a text-to-image prompt, rendering every rewrite with a diffusers pipeline."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from functools import partial
from pathlib import Path

import torch

from ..cache import atomic_write_bytes, atomic_write_text
from ..errors import InputError, MilsError
from ..images import contact_sheet, png_bytes
from ..jobs import Job, run_job
from .caption import is_finished
from .dataset import add_dataset_args, check_dataset_args, check_writable, pending, run_on_ray, run_options
from .models import load_encoder, load_generator
from .options import add_model_args, add_render_args, add_search_args, check_render_args, overrides
from .output import Progress, slug, summary

ENHANCE_FILES = {"best_prompt": "best_prompt.txt", "before": "before.png", "after": "after.png",
                 "contact_sheet": "contact_sheet.png", "result": "result.json"}

log = logging.getLogger(__name__)


def add_parser(sub) -> None:
    p = sub.add_parser("enhance", help="rewrite a text-to-image prompt: render each rewrite with a diffusers "
                                        "pipeline and score the picture against the original prompt")
    p.add_argument("prompt", nargs="?", help="the text-to-image prompt to improve")
    p.add_argument("--prompts", type=Path, metavar="FILE",
                   help="improve every prompt of a file instead: one per line, or JSONL lines with a \"prompt\"; "
                        "each prompt's files go to <out>/<number>-<prompt slug>/")
    add_render_args(p, pipeline_required=True)
    p.add_argument("--out", type=Path, help="output folder (default ./mils-enhance-<prompt slug>, with --prompts "
                                            "./mils-enhance-<file name>)")
    add_model_args(p)
    add_search_args(p)
    add_dataset_args(p)


def check_args(args) -> str:
    prompt = (args.prompt or "").strip()
    if not prompt:
        raise InputError("prompt", "a non-empty text-to-image prompt", repr(args.prompt))
    if args.pool:
        raise InputError("--pool", "no pool: enhance starts from the prompt itself", repr(args.pool))
    check_render_args(args)
    return prompt


def run(args) -> int:
    if args.prompts is not None or args.ray is not None:
        return run_prompts(args)
    prompt = check_args(args)
    payload, text = enhance(args, prompt)
    print(json.dumps(payload, indent=1) if args.json else text)
    return 0


def enhance(args, prompt: str, *, generator=None, extra: dict | None = None) -> tuple[dict, str]:
    """The `mils enhance` search, renders and output folder for a checked ``prompt``.

    ``generator``: an LLM already loaded (else --llm etc.); ``extra``: more keys for result.json.
    Returns result.json's payload and the human summary.
    """
    out_dir = args.out or Path.cwd() / f"mils-enhance-{slug(prompt)}"
    payload, blobs, text = enhance_outputs(args, prompt, out_dir, generator=generator, extra=extra)
    write_enhance(out_dir, payload, blobs)
    return payload, text


def enhance_outputs(args, prompt: str, out_dir: Path, *, generator=None,
                    extra: dict | None = None) -> tuple[dict, dict[str, bytes], str]:
    """The search and renders of ``enhance``, in memory: (result.json's payload, the other files, the summary)."""
    from ..renderers import DiffusersRenderer, load_diffusers_pipeline

    (pw, ph), (fw, fh) = args.preview_size, args.final_size
    pipe = load_diffusers_pipeline(args.pipeline, args.device, args.dtype)
    look = dict(guidance_scale=args.guidance, negative_prompt=args.negative, batch_size=args.render_batch)
    preview = DiffusersRenderer(pipe, width=pw, height=ph, steps=args.preview_steps, **look)
    final = DiffusersRenderer(pipe, width=fw, height=fh, steps=args.final_steps, **look)
    encoder = load_encoder(args, "t2i_enhance")
    job = Job("t2i_enhance", generator or load_generator(args, "t2i_enhance"), encoder, renderer=preview,
              prompt=prompt, preset=args.preset, overrides=overrides(args), seed=args.seed,
              render_seed=args.render_seed, render_batch=args.render_batch)
    with Progress("enhance", args.quiet) as bar:
        done = run_job(job, progress=bar)
    res, cfg, scorer = done.result, done.prepared.config, done.scorer
    best = res.best_text

    # everything is made in memory first; the files are written (each atomically) only at the end
    sheet = contact_sheet(done.images([rec.leaderboard[0].text for rec in res.history]),
                          [["start" if rec.step == 0 else f"step {rec.step}", f"{rec.best_score:.4f}"]
                           for rec in res.history])
    finals = final.render(list(dict.fromkeys([prompt, best])), args.render_seed)
    before, after = finals[0], finals[-1]
    final_scores = (encoder.encode_image(torch.stack([before, after])).float() @ scorer.target).tolist()
    payload = {
        "prompt": prompt, "best_prompt": best, "out_dir": str(out_dir), "task": job.task,
        "pipeline": str(args.pipeline), "renderer": preview.key, "final_renderer": final.key,
        "llm": job.generator.key, "scorer": encoder.key, "preset": args.preset, "seed": args.seed,
        "settings": {"preview_size": [pw, ph], "preview_steps": args.preview_steps, "final_size": [fw, fh],
                     "final_steps": args.final_steps, "guidance": args.guidance, "negative": args.negative,
                     "render_seed": args.render_seed, "render_batch": args.render_batch, "keep": cfg.keep,
                     "new_per_step": cfg.new_per_step, "steps": cfg.steps, "patience": cfg.patience},
        "final_scores": {"before": final_scores[0], "after": final_scores[1]},
        "files": dict(ENHANCE_FILES),
        **(extra or {}),
        **res.to_dict(),
    }
    blobs = {"before": png_bytes(before), "after": png_bytes(after), "contact_sheet": png_bytes(sheet),
             "best_prompt": (best + "\n").encode("utf-8")}
    text = "\n".join([
        summary("enhance", res),
        f"  {res.renders} preview renders at {pw}x{ph}; final {fw}x{fh}, {args.final_steps} steps: "
        f"original {final_scores[0]:.4f} -> best {final_scores[1]:.4f}",
        f"  saved in {out_dir}: " + ", ".join(ENHANCE_FILES.values())])
    return payload, blobs, text


def write_enhance(out_dir: Path, payload: dict, blobs: dict[str, bytes]) -> None:
    for name, data in blobs.items():
        atomic_write_bytes(out_dir / ENHANCE_FILES[name], data)
    atomic_write_text(out_dir / ENHANCE_FILES["result"], json.dumps(payload, indent=1))  # last: marks it done


# --- many prompts: --prompts FILE, locally one after another or with --ray on workers -----------------

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

    def __call__(self, item: tuple[int, str]) -> tuple[dict, dict[str, bytes]]:
        number, prompt = item
        self.generator = self.generator or load_generator(self.args, "t2i_enhance")
        payload, blobs, _ = enhance_outputs(self.args, prompt, prompt_dir(self.out_dir, number, prompt),
                                            generator=self.generator,
                                            extra={"number": number, "options": enhance_options(self.args)})
        return payload, blobs


def _check_prompts_args(args) -> tuple[list[tuple[int, str]], Path]:
    from ..distributed.manifest import read_prompts

    check_dataset_args(args)
    if args.prompts is None:
        raise InputError("--ray", "--prompts FILE: the prompts to spread over workers")
    if args.prompt is not None:
        raise InputError("--prompts", "either a prompt or --prompts FILE, not both", repr(args.prompt))
    if args.pool:
        raise InputError("--pool", "no pool: enhance starts from the prompt itself", repr(args.pool))
    check_render_args(args)
    items = list(enumerate(read_prompts(args.prompts), 1))
    return items, args.out or Path.cwd() / f"mils-enhance-{args.prompts.stem}"


def run_prompts(args) -> int:
    """`mils enhance --prompts FILE [--ray]`: each prompt's files in its own subfolder; finished ones skipped."""
    items, out_dir = _check_prompts_args(args)
    check_writable(out_dir)
    result_of = lambda item: prompt_dir(out_dir, *item) / ENHANCE_FILES["result"]  # noqa: E731
    todo = pending(items, result_of, enhance_options(args), fresh=args.fresh, out_dir=out_dir)
    runner = EnhanceRunner(args, out_dir)

    def write(item, result) -> None:
        if not args.fresh and is_finished(result_of(item)):  # finished meanwhile (another run): never rewritten
            log.warning("%s was finished by another run; kept", result_of(item).parent)
            return
        write_enhance(prompt_dir(out_dir, *item), *result)

    if args.ray is not None:
        quiet = argparse.Namespace(**{**vars(args), "quiet": True})  # one bar, the driver's, over the prompts
        done, failed = run_on_ray(args, todo, partial(EnhanceRunner, quiet, out_dir), write,
                                  name_of=lambda item: prompt_dir(out_dir, *item).name)
    else:
        done, failed = [], []
        for item in todo:
            try:
                result = runner(item)
            except MilsError as exc:  # one bad prompt must not stop the others
                failed.append((item, str(exc)))
                print(f"mils: {prompt_dir(out_dir, *item).name}: {exc}", file=sys.stderr)
                continue
            write(item, result)
            done.append((item, result))
    if args.json:
        print(json.dumps([payload for _, (payload, _) in done], indent=1))
    for item, (payload, _) in [] if args.json else done:
        print(f"{prompt_dir(out_dir, *item).name}: {payload['best_prompt']}\n  score {payload['best_score']:.4f}")
    if failed:
        names = ", ".join(prompt_dir(out_dir, *item).name for item, _ in failed)
        print(f"mils: {len(failed)} of {len(todo)} prompt(s) failed: {names}", file=sys.stderr)
        return 1
    return 0
