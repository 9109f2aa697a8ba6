"""`mils enhance`: rewrite a text-to-image prompt, rendering every rewrite with a diffusers pipeline."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ..cache import atomic_write_bytes, atomic_write_text
from ..errors import InputError
from ..images import contact_sheet, png_bytes
from ..jobs import Job, run_job
from .models import load_encoder, load_generator
from .options import add_model_args, add_render_args, add_search_args, check_render_args, overrides
from .output import Progress, slug, summary

ENHANCE_FILES = {"best_prompt": "best_prompt.txt", "before": "before.png", "after": "after.png",
                 "contact_sheet": "contact_sheet.png", "result": "result.json"}


def add_parser(sub) -> None:
    p = sub.add_parser("enhance", help="rewrite a text-to-image prompt: render each rewrite with a diffusers "
                                        "pipeline and score the picture against the original prompt")
    p.add_argument("prompt", help="the text-to-image prompt to improve")
    add_render_args(p, pipeline_required=True)
    p.add_argument("--out", type=Path, help="output folder (default ./mils-enhance-<prompt slug>)")
    add_model_args(p)
    add_search_args(p)


def check_args(args) -> str:
    prompt = (args.prompt or "").strip()
    if not prompt:
        raise InputError("prompt", "a non-empty text-to-image prompt", repr(args.prompt))
    if args.pool:
        raise InputError("--pool", "no pool: enhance starts from the prompt itself", repr(args.pool))
    check_render_args(args)
    return prompt


def run(args) -> int:
    prompt = check_args(args)
    payload, text = enhance(args, prompt)
    print(json.dumps(payload, indent=1) if args.json else text)
    return 0


def enhance(args, prompt: str, *, generator=None, extra: dict | None = None) -> tuple[dict, str]:
    """The `mils enhance` search, renders and output folder for a checked ``prompt``.

    ``generator``: an LLM already loaded (else --llm etc.); ``extra``: more keys for result.json.
    Returns result.json's payload and the human summary.
    """
    from ..renderers import DiffusersRenderer, load_diffusers_pipeline

    out_dir = args.out or Path.cwd() / f"mils-enhance-{slug(prompt)}"
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
    for name, data in blobs.items():
        atomic_write_bytes(out_dir / ENHANCE_FILES[name], data)
    atomic_write_text(out_dir / ENHANCE_FILES["result"], json.dumps(payload, indent=1))  # last: marks it done

    text = "\n".join([
        summary("enhance", res),
        f"  {res.renders} preview renders at {pw}x{ph}; final {fw}x{fh}, {args.final_steps} steps: "
        f"original {final_scores[0]:.4f} -> best {final_scores[1]:.4f}",
        f"  saved in {out_dir}: " + ", ".join(ENHANCE_FILES.values())])
    return payload, text
