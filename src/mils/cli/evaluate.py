"""`mils eval captions` and `mils eval enhance`: argparse and the run functions (translation only)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import registry
from ..cache import atomic_write_text
from ..errors import InputError
from .options import add_vlm_args

CAPTION_FILES = {"json": "eval_captions.json", "markdown": "eval_captions.md", "picture": "eval_captions.png"}
ENHANCE_FILES = {"json": "eval_enhance.json", "markdown": "eval_enhance.md", "picture": "eval_enhance.png"}


def _loader_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("models")
    g.add_argument("--models-dir", type=Path, help="where presets live (default: $MILS_MODELS_DIR or "
                                                   "~/.cache/mils/models)")
    g.add_argument("--no-download", action="store_true", help="never download a missing preset; fail instead")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    g.add_argument("--dtype", default="auto", help="auto, float32, float16, bfloat16")


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="evaluate results: caption metrics against references, enhancement win rate "
                                    "under an independent judge")
    esub = p.add_subparsers(dest="eval_command", required=True)

    c = esub.add_parser("captions", help="BLEU, METEOR, ROUGE-L, CIDEr, SPICE (pycocoevalcap) and CLIPScore of "
                                         "`mils caption` results, and of the starting pool's best (step 0)")
    c.add_argument("results", type=Path, metavar="RESULTS",
                   help="a folder of `mils caption` results (*.mils.json), or a file of file -> caption "
                        "(JSON object, CSV or JSON lines)")
    c.add_argument("--refs", type=Path, required=True, metavar="REFS",
                   help="references: COCO captions JSON, a JSON object, CSV or JSON lines of file -> reference(s)")
    c.add_argument("--clipscore-scorer", metavar="SCORER",
                   help="also compute reference-free CLIPScore with this image-text scorer (as `mils caption "
                        "--scorer`) on the media files")
    c.add_argument("--media", type=Path, metavar="DIR", help="folder of the media files (default: the paths the "
                                                             "results record)")
    c.add_argument("--no-spice", action="store_true", help="skip SPICE (it starts Stanford CoreNLP: slow)")
    c.add_argument("--out", type=Path, help="folder for eval_captions.json/.md/.png (default: the RESULTS folder)")
    c.add_argument("--json", action="store_true", help="print the JSON report instead of the tables")
    _loader_args(c)

    e = esub.add_parser("enhance", help="win rate of the best prompt's render over the original prompt's under a "
                                        "judge scorer other than the one the search optimised")
    e.add_argument("results", type=Path, metavar="RESULTS", help="a `mils enhance` output folder, or a folder of them")
    e.add_argument("--judge", required=True, metavar="SCORER",
                   help="the scorer that judges (as `mils enhance --scorer`; e.g. a VLM judge vlm:qwen3-vl-2b-instruct); "
                        "not the optimised one")
    e.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples (default 10000)")
    e.add_argument("--confidence", type=float, default=0.95, help="confidence of the interval (default 0.95)")
    e.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    e.add_argument("--show", type=int, default=4, help="biggest wins and losses on the contact sheet (default 4)")
    e.add_argument("--out", type=Path, help="folder for eval_enhance.json/.md/.png (default: the RESULTS folder)")
    e.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    _loader_args(e)
    add_vlm_args(e, concepts=False)


def _load(args, spec: str, option: str):
    if not spec or not spec.strip():
        raise InputError(option, "a scorer: a preset, a local folder/checkpoint, kind:source or py:module:factory")
    from .models import vlm_options

    return vlm_options(args, registry.load_scorer_model(spec, models_dir=args.models_dir, device=args.device,
                                                        dtype=args.dtype, allow_download=not args.no_download))


def _out_dir(args) -> Path:
    return args.out or (args.results if args.results.is_dir() else args.results.parent)


def _saved(out: Path, files: dict) -> str:
    return f"saved in {out}: " + ", ".join(files.values())


def run_captions(args) -> int:
    from ..evaluation.captions import evaluate_captions
    from ..evaluation.references import load_references
    from ..evaluation.report import caption_markdown, caption_picture, write_json, write_png
    from ..evaluation.results import load_caption_results

    results = load_caption_results(args.results)
    refs = load_references(args.refs)               # bad inputs fail before any model loads
    encoder = _load(args, args.clipscore_scorer, "--clipscore-scorer") if args.clipscore_scorer else None
    report = evaluate_captions(results, refs, clipscore_encoder=encoder, media_dir=args.media,
                               spice=not args.no_spice)
    report.results = str(args.results)
    out = _out_dir(args)
    payload = {**report.to_dict(), "files": dict(CAPTION_FILES)}
    text = caption_markdown(report)
    write_json(out / CAPTION_FILES["json"], payload)
    atomic_write_text(out / CAPTION_FILES["markdown"], text)
    write_png(out / CAPTION_FILES["picture"], caption_picture(report))
    print(json.dumps(payload, indent=1) if args.json else text + _saved(out, CAPTION_FILES))
    return 0


def run_enhance_eval(args) -> int:
    from ..evaluation.enhance_judge import evaluate_enhance, find_enhance_runs, wins_and_losses_sheet
    from ..evaluation.report import enhance_markdown, write_json, write_png

    runs = find_enhance_runs(args.results)
    optimised = sorted({r.scorer for r in runs})
    if args.judge.strip() in optimised:             # refuse before loading anything
        raise InputError("--judge", f"a scorer other than the one the search optimised ({', '.join(optimised)})",
                         args.judge)
    judge = _load(args, args.judge, "--judge")
    report = evaluate_enhance(runs, judge, resamples=args.resamples, confidence=args.confidence, seed=args.seed)
    out = _out_dir(args)
    payload = {**report.to_dict(), "results": str(args.results), "files": dict(ENHANCE_FILES)}
    text = enhance_markdown(report)
    write_json(out / ENHANCE_FILES["json"], payload)
    atomic_write_text(out / ENHANCE_FILES["markdown"], text)
    write_png(out / ENHANCE_FILES["picture"], wins_and_losses_sheet(report, args.show))
    print(json.dumps(payload, indent=1) if args.json else text + _saved(out, ENHANCE_FILES))
    return 0


def run(args) -> int:
    return {"captions": run_captions, "enhance": run_enhance_eval}[args.eval_command](args)
