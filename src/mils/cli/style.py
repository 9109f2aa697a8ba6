"""`mils style`: search edit instructions that make a photo look like a style image (METHOD.md §2.5)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from PIL import Image

from .. import registry
from ..cache import atomic_write_bytes, atomic_write_text
from ..errors import InputError
from ..images import contact_sheet, png_bytes, to_pil, wrap_label
from ..jobs import Job, StyleSpec
from ..media import load_image
from .models import load_generator
from .options import add_model_args, add_search_args, overrides
from .output import Progress, add_fresh_arg, exit_code, outputs_or_best, run_resumable, summary

STYLE_FILES = {"best_instruction": "best_instruction.txt", "best": "best.png", "runner_ups": "runner_ups.png",
               "result": "result.json"}
RUNNER_UPS = 6          # edits on runner_ups.png


def add_parser(sub) -> None:
    p = sub.add_parser("style", help="style transfer: search edit instructions that make a photo look like a style "
                                     "image (Gram-matrix style loss + content loss, lower is better)")
    p.add_argument("content_image", type=Path, metavar="CONTENT_IMAGE", help="the photo to restyle")
    p.add_argument("style_image", type=Path, metavar="STYLE_IMAGE", help="the image whose style to match")
    p.add_argument("--pipeline", required=True,
                   help="a diffusers instruction-edit (InstructPix2Pix) or image-to-image pipeline (a text-to-image "
                        "one runs as image-to-image): a folder with model_index.json or a hub id")
    p.add_argument("--features", default="vgg19",
                   help="Gram features: vgg19 (the preset, `mils download vgg19`), a VGG19 weights file or folder, "
                        "or py:module:function returning a feature extractor (default vgg19)")
    g = p.add_argument_group("editing and scoring")
    g.add_argument("--size", type=int, default=256,
                   help="working size: the content image is edited with its shorter side at N pixels (a multiple of "
                        "8) and each edit is scored at NxN (shorter side N, centre crop) (default 256, as the paper)")
    g.add_argument("--edit-steps", type=int, default=20, help="denoising steps per edit (default 20)")
    g.add_argument("--strength", type=float, default=0.75,
                   help="image-to-image pipelines: how far from the content image to go, in (0, 1] (default 0.75)")
    g.add_argument("--image-guidance", type=float, default=1.5,
                   help="InstructPix2Pix pipelines: image guidance scale, the content image's weight (default 1.5)")
    g.add_argument("--guidance", type=float, default=7.0, help="text guidance scale (default 7.0)")
    g.add_argument("--negative", default="", help="negative prompt for every edit (default none)")
    g.add_argument("--style-weight", type=float, default=1000.0, help="weight of the style loss (default 1000)")
    g.add_argument("--content-weight", type=float, default=1.0, help="weight of the content loss (default 1)")
    g.add_argument("--render-seed", type=int, default=2024,
                   help="the one seed every edit is made with (default 2024, as in the paper)")
    g.add_argument("--render-batch", type=int, default=4, help="edits per pipeline call (default 4)")
    p.add_argument("--out", type=Path, help="output folder (default ./mils-style-<content image name>)")
    add_model_args(p, scorer=False)
    add_search_args(p)
    add_fresh_arg(p)


def check_args(args) -> None:
    if isinstance(args.size, bool) or args.size < 16 or args.size % 8:
        raise InputError("--size", "a multiple of 8 of at least 16 (pixels)", repr(args.size))
    for name, v in (("--edit-steps", args.edit_steps), ("--render-batch", args.render_batch)):
        if v < 1:
            raise InputError(name, "at least 1", repr(v))
    if not (math.isfinite(args.strength) and 0.0 < args.strength <= 1.0):
        raise InputError("--strength", "a number in (0, 1]", repr(args.strength))
    for name, v in (("--guidance", args.guidance), ("--image-guidance", args.image_guidance),
                    ("--style-weight", args.style_weight), ("--content-weight", args.content_weight)):
        if not math.isfinite(v) or v < 0:
            raise InputError(name, "a finite number >= 0", repr(v))
    if args.style_weight == 0 and args.content_weight == 0:
        raise InputError("--style-weight", "a weight above 0 for the style or the content loss", "both 0")


def edit_size(width: int, height: int, size: int) -> tuple[int, int]:
    """(width, height) with the shorter side scaled to ``size``, both rounded to multiples of 8."""
    scale = size / min(width, height)
    return max(8, round(width * scale / 8) * 8), max(8, round(height * scale / 8) * 8)


def run(args) -> int:
    from ..renderers import DiffusersEditRenderer, load_diffusers_pipeline

    check_args(args)
    content = load_image(args.content_image, name="content_image")
    style = load_image(args.style_image, name="style_image")
    out_dir = args.out or Path.cwd() / f"mils-style-{args.content_image.stem}"
    ch, cw = content.shape[1:3]
    rw, rh = edit_size(cw, ch, args.size)

    extractor = registry.load_gram_features(args.features, models_dir=args.models_dir, device=args.device,
                                            allow_download=not args.no_download)
    pipe = load_diffusers_pipeline(args.pipeline, args.device, args.dtype, task="edit")
    renderer = DiffusersEditRenderer(pipe, content, width=rw, height=rh, steps=args.edit_steps,
                                     guidance_scale=args.guidance, image_guidance_scale=args.image_guidance,
                                     strength=args.strength, negative_prompt=args.negative,
                                     batch_size=args.render_batch)
    # the content target is the picture the editor starts from (the content image at the edit size)
    spec = StyleSpec(extractor, style, renderer.image.movedim(1, -1) if extractor.content_layer else None,
                     style_weight=args.style_weight, content_weight=args.content_weight, size=args.size)
    job = Job("style_transfer", load_generator(args, "style_transfer"), renderer=renderer, style=spec,
              pool=args.pool, preset=args.preset, overrides=overrides(args), seed=args.seed,
              render_seed=args.render_seed, render_batch=args.render_batch)
    with Progress("style", args.quiet) as bar:
        done = run_resumable(job, progress=bar, fresh=args.fresh)
    fallback = {"content_image": str(args.content_image), "style_image": str(args.style_image),
                "best_instruction": done.result.best_text, "out_dir": str(out_dir), "task": job.task,
                "llm": job.generator.key}
    payload, blobs, text = outputs_or_best(lambda: _outputs(args, job, done, out_dir, renderer, extractor,
                                                            (cw, ch), (rw, rh)), done.result, fallback)
    for name, data in blobs.items():
        atomic_write_bytes(out_dir / STYLE_FILES[name], data)
    atomic_write_text(out_dir / STYLE_FILES["result"], json.dumps(payload, indent=1))  # last: marks it done
    print(json.dumps(payload, indent=1) if args.json else text)
    return exit_code(done.result, "style", out_dir / STYLE_FILES["result"])


def _outputs(args, job, done, out_dir: Path, renderer, extractor, content_size, edit_size_):
    """result.json's payload, the other files and the summary, in memory."""
    (cw, ch), (rw, rh) = content_size, edit_size_
    res, cfg, scorer = done.result, done.prepared.config, done.scorer
    gram, best = scorer.gram, res.best_text

    # everything is made in memory first; the files are written (each atomically) only at the end
    top = res.leaderboard
    pairs = scorer.pairs([s.text for s in top])     # cached renders: only the Gram features run again
    shown = top[:RUNNER_UPS]
    images = done.images([s.text for s in shown])
    sheet = contact_sheet(images, [wrap_label(f"{i}. {s.shown}", s.text, rw) for i, s in enumerate(shown, 1)])
    best_img = to_pil(images[0])
    if best_img.size != (cw, ch):
        best_img = best_img.resize((cw, ch), Image.Resampling.LANCZOS)
    sw, cwt = gram.style_weight, gram.content_weight
    payload = {
        "content_image": str(args.content_image), "style_image": str(args.style_image), "best_instruction": best,
        "out_dir": str(out_dir), "task": job.task, "pipeline": str(args.pipeline), "renderer": renderer.key,
        "mode": renderer.mode, "features": extractor.key, "scorer": scorer.key, "llm": job.generator.key,
        "preset": args.preset, "seed": args.seed, "pool": args.pool or done.prepared.task.pool,
        "pool_size": len(done.prepared.start),
        "settings": {"size": args.size, "edit_size": [rw, rh], "content_size": [cw, ch],
                     "edit_steps": args.edit_steps, "strength": args.strength, "image_guidance": args.image_guidance,
                     "guidance": args.guidance, "negative": args.negative, "style_weight": sw,
                     "content_weight": cwt, "content_scored": gram.has_content, "render_seed": args.render_seed,
                     "render_batch": args.render_batch, "keep": cfg.keep, "new_per_step": cfg.new_per_step,
                     "steps": cfg.steps, "patience": cfg.patience},
        # style / content: the unweighted losses; score = style_weight * style + content_weight * content
        "top": [{"rank": i, "text": s.text, "score": s.score, "style": st, "content": co,
                 "weighted": [sw * st, cwt * co], "step": s.step}
                for i, (s, (st, co)) in enumerate(zip(top, pairs), 1)],
        "files": dict(STYLE_FILES),
        **res.to_dict(),
    }
    blobs = {"best": png_bytes(best_img), "runner_ups": png_bytes(sheet),
             "best_instruction": (best + "\n").encode("utf-8")}
    text = "\n".join([
        summary("style", res),
        f"  {res.renders} edits ({renderer.mode}) at {rw}x{rh}, scored at {args.size}x{args.size}; "
        f"best: style {sw * pairs[0][0]:.4g} + content {cwt * pairs[0][1]:.4g}",
        f"  saved in {out_dir}: " + ", ".join(STYLE_FILES.values())])
    return payload, blobs, text
