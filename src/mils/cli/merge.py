"""`mils merge`: cross-modal arithmetic in text (METHOD.md §2.6): caption each input, merge the captions."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import registry
from ..errors import InputError
from ..jobs import run_merge
from ..media import load_media, media_kind
from .caption import caption_job
from .enhance import enhance
from .models import load_encoder, load_generator
from .options import add_model_args, add_render_args, add_search_args, check_render_args
from .output import Progress


def add_parser(sub) -> None:
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
    add_render_args(p, pipeline_required=False, title="rendering (with --then-enhance)")
    p.add_argument("--out", type=Path, help="--then-enhance: output folder (default ./mils-enhance-<prompt slug>)")
    add_model_args(p, scorer_help="--then-enhance: the image-text scorer of the enhancement (default "
                                  f"{registry.TASK_DEFAULTS['t2i_enhance']['scorer']}); the captions use "
                                  "--scorer-image / --scorer-audio")
    add_search_args(p)


def check_args(args) -> None:
    for path in args.inputs:
        if not path.is_file():
            raise InputError("input", "an existing image, audio or video file", str(path))
        media_kind(path)
    if args.frames < 1:
        raise InputError("--frames", "at least 1", repr(args.frames))
    if args.then_enhance:
        if not args.pipeline:
            raise InputError("--pipeline", "a diffusers text-to-image pipeline for --then-enhance")
        check_render_args(args)
    elif args.pipeline:
        raise InputError("--then-enhance", "the flag when --pipeline is given (the pipeline renders the enhancement)")


def run(args) -> int:
    check_args(args)
    media = [load_media(path, args.frames) for path in args.inputs]
    if args.then_enhance:  # a bad pipeline fails now, not after the captions; loaded once (MODEL_CACHE)
        from ..renderers import load_diffusers_pipeline

        load_diffusers_pipeline(args.pipeline, args.device, args.dtype)
    generator = load_generator(args, media[0].task_name)
    encoders: dict[str, object] = {}
    jobs, labels = [], {}
    for path, m in zip(args.inputs, media):
        group = "audio" if m.kind == "audio" else "image"
        if group not in encoders:
            spec = (args.scorer_audio if group == "audio" else args.scorer_image) \
                or registry.TASK_DEFAULTS[m.task_name]["scorer"]
            encoders[group] = load_encoder(args, m.task_name, spec)
        jobs.append(caption_job(args, generator, encoders[group], m))
        labels[id(jobs[-1])] = path.name
    bars: list[Progress] = []

    def progress_for(job):
        bars.append(Progress(labels[id(job)], args.quiet))
        return bars[-1]

    try:
        merged = run_merge(jobs, seed=args.seed, temperature=args.temperature, max_new_tokens=args.max_new_tokens,
                           progress_for=progress_for)
    finally:
        for bar in bars:
            bar.close()
    inputs = [{"input": str(path), "kind": r.job.media.kind, "task": r.job.task, "scorer": r.job.scorer_model.key,
               "caption": r.result.best_text, "score": r.result.best_score, "search": r.result.to_dict()}
              for path, r in zip(args.inputs, merged.captions)]
    payload = {"inputs": inputs, "merged_prompt": merged.merged_prompt, "llm": generator.key, "preset": args.preset,
               "seed": args.seed, "merge_instruction": merged.instruction, "merge_reply": merged.reply,
               "enhance": None}

    enhance_summary = None
    if args.then_enhance:
        enh_args = argparse.Namespace(**{**vars(args), "prompt": merged.merged_prompt, "pool": None})
        merged_from = [{k: i[k] for k in ("input", "kind", "caption")} for i in inputs]
        payload["enhance"], enhance_summary = enhance(enh_args, merged.merged_prompt, generator=generator,
                                                      extra={"merged_from": merged_from})
    if args.json:
        print(json.dumps(payload, indent=1))
    else:
        print("captions:")
        for i in inputs:
            print(f"  {Path(i['input']).name} ({i['kind']}, score {i['score']:.4f}): {i['caption']}")
        print(f"merged prompt: {merged.merged_prompt}")
        if enhance_summary:
            print(enhance_summary)
    return 0
