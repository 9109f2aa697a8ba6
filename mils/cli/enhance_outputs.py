"""What one `mils enhance` search makes: its renderers and job, then result.json, the best prompt, the
before/after renders and the contact sheet of each round's best, in memory until ``write_enhance``."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..cache import atomic_write_bytes, atomic_write_text
from ..images import contact_sheet, png_bytes
from ..jobs import Job, JobResult, run_job
from .models import load_encoder, load_generator
from .options import overrides
from .output import Progress, summary

ENHANCE_FILES = {"best_prompt": "best_prompt.txt", "before": "before.png", "after": "after.png",
                 "contact_sheet": "contact_sheet.png", "result": "result.json"}


@dataclass
class EnhanceModels:
    """The renderers (search previews, before/after finals) on one pipeline, and the image-text scorer."""

    preview: Any
    final: Any
    encoder: Any


def load_models(args) -> EnhanceModels:
    """The pipeline (through the model cache), its two renderers and the scorer the options name."""
    from ..renderers import DiffusersRenderer, load_diffusers_pipeline

    (pw, ph), (fw, fh) = args.preview_size, args.final_size
    pipe = load_diffusers_pipeline(args.pipeline, args.device, args.dtype)
    look = dict(guidance_scale=args.guidance, negative_prompt=args.negative, batch_size=args.render_batch)
    return EnhanceModels(DiffusersRenderer(pipe, width=pw, height=ph, steps=args.preview_steps, **look),
                         DiffusersRenderer(pipe, width=fw, height=fh, steps=args.final_steps, **look),
                         load_encoder(args, "t2i_enhance"))


def enhance_job(args, prompt: str, generator, models: EnhanceModels, *,
                checkpoint: str | os.PathLike | None = None) -> Job:
    """The t2i_enhance job the command's options describe for ``prompt``."""
    return Job("t2i_enhance", generator, models.encoder, renderer=models.preview, prompt=prompt, preset=args.preset,
               overrides=overrides(args), seed=args.seed, render_seed=args.render_seed,
               render_batch=args.render_batch, checkpoint=checkpoint, fresh=getattr(args, "fresh", False))


def enhance_one(args, prompt: str, out_dir: Path, *, generator=None,
                extra: dict | None = None) -> tuple[dict, dict[str, bytes], str]:
    """One prompt's search and renders, in memory: (result.json's payload, the other files, the summary).

    ``generator``: an LLM already loaded (else --llm etc.); ``extra``: more keys for result.json.
    """
    models = load_models(args)
    job = enhance_job(args, prompt, generator or load_generator(args, "t2i_enhance"), models)
    with Progress("enhance", args.quiet) as bar:
        done = run_job(job, progress=bar)
    return enhance_outputs(args, done, out_dir, models, extra=extra)


def enhance_outputs(args, done: JobResult, out_dir: Path, models: EnhanceModels, *,
                    extra: dict | None = None) -> tuple[dict, dict[str, bytes], str]:
    """A finished (or stopped) search's files, in memory: (result.json's payload, the other files, the summary)."""
    (pw, ph), (fw, fh) = args.preview_size, args.final_size
    prompt, res, cfg, scorer, final = done.job.prompt, done.result, done.prepared.config, done.scorer, models.final
    best = res.best_text
    sheet = contact_sheet(done.images([rec.leaderboard[0].text for rec in res.history]),
                          [["start" if rec.step == 0 else f"step {rec.step}", f"{rec.best_score:.4f}"]
                           for rec in res.history])
    finals = final.render(list(dict.fromkeys([prompt, best])), args.render_seed)
    before, after = finals[0], finals[-1]
    final_scores = [float(v) for v in scorer.image_scorer.image_scores(torch.stack([before, after]))]
    payload = {
        "prompt": prompt, "best_prompt": best, "out_dir": str(out_dir), "task": done.job.task,
        "pipeline": str(args.pipeline), "renderer": models.preview.key, "final_renderer": final.key,
        "llm": done.job.generator.key, "scorer": models.encoder.key, "preset": args.preset, "seed": args.seed,
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
    """The files of one prompt, each written atomically; result.json last: it marks the folder done."""
    for name, data in blobs.items():
        atomic_write_bytes(out_dir / ENHANCE_FILES[name], data)
    atomic_write_text(out_dir / ENHANCE_FILES["result"], json.dumps(payload, indent=1))
