"""`mils style` (style transfer, METHOD.md §2.5) and `mils merge` (cross-modal arithmetic in text, §2.6).

``mils.cli`` builds these parsers (``add_media_parsers``) and dispatches to ``COMMANDS``; the shared
option groups, model loading, progress bar, summary, contact sheet and `mils enhance` itself are
reused from there.
"""
from __future__ import annotations

import argparse
import json
import math
import textwrap
from pathlib import Path

from . import registry
from .cli import (
    _check_enhance_render_args,
    _enhance_render_args,
    _load_encoder,
    _load_generator,
    _load_media,
    _model_args,
    _overrides,
    _png_bytes,
    _Progress,
    _search_args,
    _summary,
    _to_pil,
    caption_with_progress,
    contact_sheet,
    run_enhance,
)
from .errors import GeneratorError, InputError

STYLE_FILES = {"best_instruction": "best_instruction.txt", "best": "best.png", "runner_ups": "runner_ups.png",
               "result": "result.json"}
RUNNER_UPS = 6          # edits on runner_ups.png


def add_media_parsers(sub) -> None:
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
    _model_args(p, scorer=False)
    _search_args(p)

    p = sub.add_parser("merge", help="cross-modal arithmetic in text (the paper's route): caption each input with "
                                     "MILS, then have the LLM merge the captions into one image-generation prompt")
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="image, audio or video files")
    p.add_argument("--frames", type=int, default=8, help="video: frames sampled uniformly (default 8)")
    p.add_argument("--scorer-image", help="scorer for image and video inputs (default: "
                                          f"{registry.TASK_DEFAULTS['image_caption']['scorer']})")
    p.add_argument("--scorer-audio", help="scorer for audio inputs (default: "
                                          f"{registry.TASK_DEFAULTS['audio_caption']['scorer']})")
    p.add_argument("--then-enhance", action="store_true",
                   help="then run `mils enhance` on the merged prompt (needs --pipeline)")
    _enhance_render_args(p, pipeline_required=False, title="rendering (with --then-enhance)")
    p.add_argument("--out", type=Path, help="--then-enhance: output folder (default ./mils-enhance-<prompt slug>)")
    _model_args(p, scorer_help="--then-enhance: the image-text scorer of the enhancement (default "
                               f"{registry.TASK_DEFAULTS['t2i_enhance']['scorer']}); the captions use "
                               "--scorer-image / --scorer-audio")
    _search_args(p)


# ------------------------------------------------------------------------------------------ mils style


def _check_style_args(args) -> None:
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


def _label(rank: int, score: str, text: str, width_px: int) -> list[str]:
    """Rank and score, then the instruction wrapped to about the tile's width (three lines at most)."""
    chars = max(12, int(width_px / (0.6 * max(10, min(20, width_px // 14)))))  # contact_sheet's font size
    lines = textwrap.wrap(text, chars, max_lines=3, placeholder=" ...")
    return [f"{rank}. {score}", *lines]


def _cmd_style(args) -> int:
    from PIL import Image

    from .cache import atomic_write_bytes, atomic_write_text
    from .media import load_image
    from .renderers import DiffusersEditRenderer, load_diffusers_pipeline
    from .runner import search_config, starting_pool
    from .scorers.gram import GramRenderScorer, GramStyleScorer
    from .search import run_search
    from .tasks import get_task

    _check_style_args(args)
    content = load_image(args.content_image, name="content_image")
    style = load_image(args.style_image, name="style_image")
    task = get_task("style_transfer")
    cfg = search_config(task, args.preset, seed=args.seed, **_overrides(args))
    start = starting_pool(task, args.preset, args.pool, cfg.keep)
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
    content_target = renderer.image.movedim(1, -1) if extractor.content_layer else None
    gram = GramStyleScorer(extractor, style, content_target, style_weight=args.style_weight,
                           content_weight=args.content_weight, size=args.size)
    scorer = GramRenderScorer(renderer, gram, seed=args.render_seed, batch_size=args.render_batch)
    generator = _load_generator(args, task.name)
    bar = _Progress("style", args.quiet)
    try:
        res = run_search(generator, scorer, task, start, cfg, progress=bar)
    finally:
        bar.close()
    best = res.best_text

    # everything is made in memory first; the files are written (each atomically) only at the end
    top = res.leaderboard
    pairs = scorer.pairs([s.text for s in top])     # cached renders: only the Gram features run again
    shown = top[:RUNNER_UPS]
    images = scorer.images([s.text for s in shown])
    sheet = contact_sheet(images, [_label(i, scorer.format_score(s.score), s.text, rw)
                                   for i, s in enumerate(shown, 1)])
    best_img = _to_pil(images[0])
    if best_img.size != (cw, ch):
        best_img = best_img.resize((cw, ch), Image.Resampling.LANCZOS)
    sw, cwt = gram.style_weight, gram.content_weight
    payload = {
        "content_image": str(args.content_image), "style_image": str(args.style_image), "best_instruction": best,
        "out_dir": str(out_dir), "task": task.name, "pipeline": str(args.pipeline), "renderer": renderer.key,
        "mode": renderer.mode, "features": extractor.key, "scorer": scorer.key, "llm": generator.key,
        "preset": args.preset, "seed": args.seed, "pool": args.pool or task.pool, "pool_size": len(start),
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
    blobs = {"best": _png_bytes(best_img), "runner_ups": _png_bytes(sheet),
             "best_instruction": (best + "\n").encode("utf-8")}
    for name, data in blobs.items():
        atomic_write_bytes(out_dir / STYLE_FILES[name], data)
    atomic_write_text(out_dir / STYLE_FILES["result"], json.dumps(payload, indent=1))  # last: marks it done

    if args.json:
        print(json.dumps(payload, indent=1))
    else:
        print(_summary("style", res))
        print(f"  {res.renders} edits ({renderer.mode}) at {rw}x{rh}, scored at {args.size}x{args.size}; "
              f"best: style {sw * pairs[0][0]:.4g} + content {cwt * pairs[0][1]:.4g}")
        print(f"  saved in {out_dir}: " + ", ".join(STYLE_FILES.values()))
    return 0


# ------------------------------------------------------------------------------------------ mils merge

# our own wording; METHOD.md §2.6: the paper's combination prompt is not public
MERGE_PROMPT = (
    "Your job is to write one prompt for an image generator that combines several inputs into a single picture.\n"
    "Each input was described in words:\n\n"
    "{descriptions}\n\n"
    "Write 1 new image-generation prompt that merges all of these into one coherent scene: keep the main subject "
    "of every input; a sound becomes what makes it, or the place, weather and mood it suggests. Describe one "
    "setting, the composition, lighting and style, in at most {max_words} words. Reply with the prompt only, "
    "as \"1. ...\"."
)
_KIND_LABEL = {"image": "Image", "video": "Video clip", "audio": "Sound"}
MERGE_TRIES = 3


def merge_prompt(captions: list[tuple[str, str]], max_words: int) -> str:
    """The LLM instruction for (kind, caption) pairs."""
    lines = [f"- {_KIND_LABEL.get(kind, kind)}: {text}" for kind, text in captions]
    return MERGE_PROMPT.format(descriptions="\n".join(lines), max_words=max_words)


def merge_captions(generator, captions: list[tuple[str, str]], *, seed: int = 0, temperature: float | None = None,
                   max_new_tokens: int | None = None, max_words: int = 77) -> tuple[str, str, str]:
    """Ask the LLM once (more only when a reply holds no usable prompt) to merge the captions.

    Returns (merged prompt, the instruction sent, the reply it came from).
    """
    from .generators.base import GenerationParams
    from .parsing import parse_candidates

    prompt = merge_prompt(captions, max_words)
    reply = ""
    for attempt in range(MERGE_TRIES):
        params = GenerationParams(temperature=0.5 if temperature is None else temperature,
                                  max_new_tokens=max_new_tokens or 400, seed=seed + attempt).validate()
        for reply in generator.generate(prompt, params):
            cands = parse_candidates(reply, max_words=max_words * 2)
            if cands:
                return cands[0], prompt, reply
    snippet = reply.strip().replace("\n", " ")[:200]
    raise GeneratorError(f"the LLM ({generator.key}) wrote no usable merged prompt in {MERGE_TRIES} tries. "
                         f"Use an instruction-tuned model or raise --max-new-tokens. Last reply: {snippet!r}")


def _check_merge_args(args) -> None:
    from .media import media_kind

    for path in args.inputs:
        if not path.is_file():
            raise InputError("input", "an existing image, audio or video file", str(path))
        media_kind(path)
    if args.frames < 1:
        raise InputError("--frames", "at least 1", repr(args.frames))
    if args.then_enhance:
        if not args.pipeline:
            raise InputError("--pipeline", "a diffusers text-to-image pipeline for --then-enhance")
        _check_enhance_render_args(args)
    elif args.pipeline:
        raise InputError("--then-enhance", "the flag when --pipeline is given (the pipeline renders the enhancement)")


def _cmd_merge(args) -> int:
    from .tasks import get_task

    _check_merge_args(args)
    media = [_load_media(path, args.frames) for path in args.inputs]
    if args.then_enhance:  # a bad pipeline fails now, not after the captions; loaded once (MODEL_CACHE)
        from .renderers import load_diffusers_pipeline

        load_diffusers_pipeline(args.pipeline, args.device, args.dtype)
    generator = _load_generator(args, media[0].task_name)
    encoders: dict[str, object] = {}
    inputs = []
    for path, m in zip(args.inputs, media):
        group = "audio" if m.kind == "audio" else "image"
        if group not in encoders:
            spec = (args.scorer_audio if group == "audio" else args.scorer_image) \
                or registry.TASK_DEFAULTS[m.task_name]["scorer"]
            encoders[group] = _load_encoder(args, m.task_name, spec)
        encoder = encoders[group]
        res = caption_with_progress(args, generator, encoder, m, path.name)
        inputs.append({"input": str(path), "kind": m.kind, "task": m.task_name, "scorer": encoder.key,
                       "caption": res.best_text, "score": res.best_score, "search": res.to_dict()})

    enhance_task = get_task("t2i_enhance")
    merged, instruction, reply = merge_captions(
        generator, [(i["kind"], i["caption"]) for i in inputs], seed=args.seed, temperature=args.temperature,
        max_new_tokens=args.max_new_tokens, max_words=enhance_task.max_words)
    payload = {"inputs": inputs, "merged_prompt": merged, "llm": generator.key, "preset": args.preset,
               "seed": args.seed, "merge_instruction": instruction, "merge_reply": reply, "enhance": None}

    enhance_summary = None
    if args.then_enhance:
        enh_args = argparse.Namespace(**{**vars(args), "prompt": merged, "pool": None})
        merged_from = [{k: i[k] for k in ("input", "kind", "caption")} for i in inputs]
        payload["enhance"], enhance_summary = run_enhance(enh_args, merged, generator=generator,
                                                          extra={"merged_from": merged_from})
    if args.json:
        print(json.dumps(payload, indent=1))
    else:
        print("captions:")
        for i in inputs:
            print(f"  {Path(i['input']).name} ({i['kind']}, score {i['score']:.4f}): {i['caption']}")
        print(f"merged prompt: {merged}")
        if enhance_summary:
            print(enhance_summary)
    return 0


COMMANDS = {"style": _cmd_style, "merge": _cmd_merge}
