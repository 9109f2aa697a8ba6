"""The ``mils`` command: caption media, invert embeddings, enhance text-to-image prompts, list and download models.

``mils style`` (style transfer) and ``mils merge`` (cross-modal arithmetic in text) live in ``mils.cli_media``;
this module builds their parsers and dispatches to them.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import re
import sys
from pathlib import Path

from . import registry
from .errors import MilsError

log = logging.getLogger("mils")

RESULT_SUFFIX = ".mils.json"


def _model_args(p: argparse.ArgumentParser, *, scorer: bool = True, scorer_help: str | None = None) -> None:
    """The model options; ``scorer=False`` leaves out --scorer, ``scorer_help`` rewords it."""
    g = p.add_argument_group("models")
    g.add_argument("--llm", help="LLM: a preset name, a model folder, a .gguf file or a hub id "
                                 "(default: the task's preset, see `mils presets`)")
    g.add_argument("--llm-url", help="use an OpenAI-compatible server instead (e.g. http://127.0.0.1:11434/v1)")
    g.add_argument("--llm-model", help="model name on that server")
    g.add_argument("--api-key-env", help="NAME of the environment variable that holds the server's API key")
    if scorer:
        g.add_argument("--scorer", help=scorer_help or "scorer: a preset, a local folder/checkpoint, kind:source, "
                                                      "or py:module:factory")
    g.add_argument("--models-dir", type=Path, help="where presets live and download to (default: $MILS_MODELS_DIR "
                                                   "or ~/.cache/mils/models)")
    g.add_argument("--no-download", action="store_true", help="never download a missing preset; fail instead")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    g.add_argument("--dtype", default="auto", help="auto, float32, float16, bfloat16")


def _search_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("search")
    g.add_argument("--preset", default="balanced", choices=["preview", "balanced", "paper"],
                   help="budget preset (default balanced)")
    g.add_argument("--steps", type=int, help="T: number of LLM rounds")
    g.add_argument("--keep", type=int, help="K: best candidates shown to the LLM")
    g.add_argument("--new", dest="new_per_step", type=int, help="N: new candidates asked for per round")
    g.add_argument("--patience", type=int, help="stop when the best has not improved for P rounds (0 = off)")
    g.add_argument("--time-budget", dest="time_budget_s", type=float, help="stop after this many seconds")
    g.add_argument("--temperature", type=float)
    g.add_argument("--max-new-tokens", type=int)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--pool", help="starting pool: a name (image, audio, edit) or a text file, one per line")
    g.add_argument("--json", action="store_true", help="print the result with its whole history as JSON")
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def _size_arg(value: str) -> tuple[int, int]:
    """"256" or "768x512" (width x height) as (width, height)."""
    w, sep, h = str(value).lower().strip().partition("x")
    try:
        width = int(w)
        height = int(h) if sep else width
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or WIDTHxHEIGHT, got {value!r}") from None
    return width, height


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mils", description="MILS: an LLM proposes, a multimodal model scores, repeat.")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("caption", help="caption an image, video or audio file, or every such file in a folder")
    p.add_argument("input", type=Path, help="a media file, or a folder (batch mode)")
    p.add_argument("--out", type=Path, help="batch mode: folder for the result files (default: the input folder)")
    p.add_argument("--frames", type=int, default=8, help="video: frames sampled uniformly (default 8)")
    _model_args(p)
    _search_args(p)

    p = sub.add_parser("invert", help="turn a target embedding (or image/audio/text terms) into text")
    p.add_argument("--embedding", type=Path, help="a .safetensors file with an 'embedding' tensor, or a .npy file")
    p.add_argument("--term", action="append", default=[], metavar="KIND:WEIGHT:VALUE",
                   help="add a weighted term, e.g. image:1:cat.jpg  audio:0.5:rain.wav  text:-1:photo  text:1:watercolor")
    _model_args(p)
    _search_args(p)

    p = sub.add_parser("enhance", help="rewrite a text-to-image prompt: render each rewrite with a diffusers "
                                        "pipeline and score the picture against the original prompt")
    p.add_argument("prompt", help="the text-to-image prompt to improve")
    _enhance_render_args(p, pipeline_required=True)
    p.add_argument("--out", type=Path, help="output folder (default ./mils-enhance-<prompt slug>)")
    _model_args(p)
    _search_args(p)

    from .cli_media import add_media_parsers
    from .evaluation.command import add_eval_parser

    add_media_parsers(sub)
    add_eval_parser(sub)

    p = sub.add_parser("presets", help="list model presets and budget presets")
    p.add_argument("--models-dir", type=Path)

    p = sub.add_parser("download", help="download model presets (explicitly; nothing downloads at import)")
    p.add_argument("names", nargs="+", help="preset names (see `mils presets`)")
    p.add_argument("--models-dir", type=Path)
    return parser


def _enhance_render_args(p: argparse.ArgumentParser, *, pipeline_required: bool, title: str = "rendering") -> None:
    """`mils enhance`'s --pipeline and rendering options (also on `mils merge --then-enhance`)."""
    p.add_argument("--pipeline", required=pipeline_required,
                   help="a diffusers text-to-image pipeline: a folder with model_index.json or a hub id")
    g = p.add_argument_group(title)
    g.add_argument("--preview-size", default="256", type=_size_arg, metavar="N|WxH",
                   help="size of the renders scored during the search (default 256; the paper: 256)")
    g.add_argument("--preview-steps", type=int, default=4, help="denoising steps of the search renders (default 4)")
    g.add_argument("--final-size", default="1024", type=_size_arg, metavar="N|WxH",
                   help="size of the before/after renders (default 1024)")
    g.add_argument("--final-steps", type=int, default=30, help="denoising steps of the before/after renders (default 30)")
    g.add_argument("--guidance", type=float, default=7.0, help="classifier-free guidance scale (default 7.0)")
    g.add_argument("--negative", default="", help="negative prompt for every render (default none)")
    g.add_argument("--render-seed", type=int, default=2024,
                   help="the one seed every candidate is rendered with (default 2024, as in the paper)")
    g.add_argument("--render-batch", type=int, default=4, help="prompts per pipeline call (default 4)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return _COMMANDS[args.command](args)
    except MilsError as exc:
        print(f"mils: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mils: interrupted", file=sys.stderr)
        return 130


def _cmd_presets(args) -> int:
    from .tasks import TASKS

    models_dir = args.models_dir or registry.default_models_dir()
    print(f"Model presets (models dir: {models_dir}):")
    for p in registry.PRESETS.values():
        mark = "installed" if registry.is_downloaded(p, models_dir) else "not downloaded"
        print(f"  {p.name:24s} {p.kind:10s} {p.size:>7s}  {p.description} [{mark}]")
    print("\nBudget presets (K shown/kept, N new per round, T rounds, P patience):")
    for t in TASKS.values():
        row = "  ".join(f"{n}: K={b.keep} N={b.new_per_step} T={b.steps}" + (f" P={b.patience}" if b.patience else "")
                        for n, b in t.presets.items())
        print(f"  {t.name:15s} {row}")
    print("\nDefaults per task: " + ", ".join(f"{k}: {v['llm']} + {v['scorer']}"
                                             for k, v in registry.TASK_DEFAULTS.items()))
    return 0


def _cmd_download(args) -> int:
    for name in args.names:
        path = registry.download(name, args.models_dir)
        print(f"{name}: {path}")
    return 0


def _load_generator(args, task_name: str):
    if args.llm_url:
        from .generators.openai_http import OpenAICompatibleGenerator

        if not args.llm_model:
            from .errors import InputError

            raise InputError("--llm-model", "the model name on the server given by --llm-url")
        return OpenAICompatibleGenerator(args.llm_url, args.llm_model, api_key_env=args.api_key_env)
    spec = args.llm or registry.TASK_DEFAULTS[task_name]["llm"]
    return registry.load_llm(spec, models_dir=args.models_dir, device=args.device, dtype=args.dtype,
                             allow_download=not args.no_download)


def _load_encoder(args, task_name: str, spec: str | None = None):
    """``spec`` (else --scorer, else the task's default scorer)."""
    spec = spec or getattr(args, "scorer", None) or registry.TASK_DEFAULTS[task_name]["scorer"]
    return registry.load_scorer_model(spec, models_dir=args.models_dir, device=args.device, dtype=args.dtype,
                                      allow_download=not args.no_download)


def _overrides(args) -> dict:
    return {k: getattr(args, k) for k in ("steps", "keep", "new_per_step", "patience", "time_budget_s",
                                          "temperature", "max_new_tokens")}


class _Progress:
    """A tqdm bar over the rounds that shows the best score and text."""

    def __init__(self, label: str, quiet: bool):
        self.label, self.quiet, self.bar = label, quiet, None

    def __call__(self, rec, total):
        if self.quiet:
            return
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, desc=self.label, unit="round", file=sys.stderr, leave=False)
        else:
            self.bar.update(1)
        self.bar.set_postfix_str(f"best {rec.best_score:.4f}: {rec.leaderboard[0].text[:40]}")

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _summary(name: str, res) -> str:
    lines = [f"{name}: {res.best_text}", f"  score {res.best_score:.4f} ({res.direction}), stopped: {res.stopped}, "
             f"{res.llm_calls} LLM calls, {res.encodes} text encodes, {res.seconds_total:.1f} s"]
    lines.append("  best per round: " + " ".join(f"{s:.4f}" for s in res.curve()))
    for i, s in enumerate(res.leaderboard[:5], 1):
        lines.append(f"  {i}. {s.score:.4f}  {s.text}")
    return "\n".join(lines)


def caption_with_progress(args, generator, encoder, media, label: str):
    """One caption search with the command's options and a progress bar."""
    from .runner import caption

    bar = _Progress(label, args.quiet)
    try:
        return caption(generator, encoder, media, preset=args.preset, pool=args.pool, seed=args.seed,
                       num_frames=args.frames, progress=bar, **_overrides(args))
    finally:
        bar.close()


def _load_media(path: Path, frames: int):
    from .media import load_audio, load_image, load_video, media_kind
    from .runner import Media

    kind = media_kind(path)
    if kind == "image":
        return Media("image", images=load_image(path))
    if kind == "video":
        return Media("video", images=load_video(path, frames))
    wav, sr = load_audio(path)
    return Media("audio", waveform=wav, sample_rate=sr)


def _batch_inputs(folder: Path) -> list[Path]:
    from .media import AUDIO_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES

    suffixes = IMAGE_SUFFIXES | VIDEO_SUFFIXES | AUDIO_SUFFIXES
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def result_path(out_dir: Path, media: Path) -> Path:
    return out_dir / (media.name + RESULT_SUFFIX)


def is_finished(path: Path) -> bool:
    """A result file counts only when it parses and holds a best text (partial writes never do)."""
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("best_text"))
    except (OSError, ValueError, AttributeError):
        return False


def _cmd_caption(args) -> int:
    from .cache import atomic_write_text
    from .errors import InputError
    from .media import media_kind

    if args.input.is_dir():
        inputs = _batch_inputs(args.input)
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
            media = _load_media(path, args.frames)
        except MilsError as exc:
            if not args.input.is_dir():
                raise
            failed.append(path)  # one bad file must not stop a batch
            print(f"mils: {path.name}: {exc}", file=sys.stderr)
            continue
        task_name = media.task_name
        if task_name not in models:
            models[task_name] = (_load_generator(args, task_name), _load_encoder(args, task_name))
        generator, encoder = models[task_name]
        res = caption_with_progress(args, generator, encoder, media, path.name)
        payload = {"input": str(path), "kind": media_kind(path), "task": task_name, "llm": generator.key,
                   "scorer": encoder.key, "preset": args.preset, "seed": args.seed, **res.to_dict()}
        results[path] = payload
        if out_dir is not None:
            atomic_write_text(result_path(out_dir, path), json.dumps(payload, indent=1))
        if not args.json:
            print(_summary(path.name, res))
    if args.json:
        out = list(results.values())
        print(json.dumps(out[0] if len(out) == 1 and not args.input.is_dir() else out, indent=1))
    if failed:
        print(f"mils: {len(failed)} of {len(todo)} input(s) failed: {', '.join(p.name for p in failed)}",
              file=sys.stderr)
        return 1
    return 0


def _parse_term(term: str, encoder):
    from . import targets
    from .errors import InputError
    from .media import load_audio, load_image

    kind, _, rest = term.partition(":")
    weight, _, value = rest.partition(":")
    try:
        w = float(weight)
    except ValueError:
        raise InputError("--term", "KIND:WEIGHT:VALUE with a numeric weight", term) from None
    if kind == "text":
        return w, targets.text_target(encoder, value, name="--term")
    if kind == "image":
        return w, targets.image_target(encoder, load_image(value, name="--term"), name="--term")
    if kind == "audio":
        wav, sr = load_audio(value, name="--term")
        return w, targets.audio_target(encoder, wav, sr, name="--term")
    raise InputError("--term", "a kind of text, image or audio", term)


def _load_embedding(path: Path):
    import numpy as np
    import torch

    from .errors import InputError

    if not path.is_file():
        raise InputError("--embedding", "an existing .safetensors or .npy file", str(path))
    if path.suffix == ".npy":
        return torch.from_numpy(np.load(path)).float().flatten()
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except Exception as exc:
        raise InputError("--embedding", "a safetensors file", f"{path} ({exc})") from exc
    if "embedding" not in tensors:
        raise InputError("--embedding", "a tensor named 'embedding'", f"keys {sorted(tensors)}")
    return tensors["embedding"].float().flatten()


def _cmd_invert(args) -> int:
    from . import targets
    from .errors import InputError
    from .runner import invert

    if not args.embedding and not args.term:
        raise InputError("invert", "--embedding FILE or at least one --term")
    encoder = _load_encoder(args, "invert")
    terms = [(1.0, _load_embedding(args.embedding))] if args.embedding else []
    terms += [_parse_term(t, encoder) for t in args.term]
    target = targets.combine(terms)
    generator = _load_generator(args, "invert")
    bar = _Progress("invert", args.quiet)
    try:
        res = invert(generator, encoder, target, preset=args.preset, pool=args.pool, seed=args.seed,
                     progress=bar, **_overrides(args))
    finally:
        bar.close()
    if args.json:
        print(json.dumps({"llm": generator.key, "scorer": encoder.key, **res.to_dict()}, indent=1))
    else:
        print(_summary("invert", res))
    return 0


ENHANCE_FILES = {"best_prompt": "best_prompt.txt", "before": "before.png", "after": "after.png",
                 "contact_sheet": "contact_sheet.png", "result": "result.json"}


def _slug(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:limit].rstrip("-") or "prompt"


def _to_pil(image):
    """A (H, W, 3) float 0..1 tensor as an RGB PIL image."""
    import numpy as np
    from PIL import Image

    arr = (image.detach().to("cpu").float().clamp(0, 1).numpy() * 255.0).round().astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def _png_bytes(image) -> bytes:
    import io

    buf = io.BytesIO()
    (image if hasattr(image, "save") else _to_pil(image)).save(buf, format="PNG")
    return buf.getvalue()


def contact_sheet(images, labels):
    """One row of images, each with its lines of label centred below it (white background, Pillow's font)."""
    from PIL import Image, ImageDraw, ImageFont

    tiles = [_to_pil(im) for im in images]
    w, h = max(t.width for t in tiles), max(t.height for t in tiles)
    try:
        font = ImageFont.load_default(size=max(10, min(20, w // 14)))
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        font = ImageFont.load_default()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def extent(text: str) -> tuple[int, int]:
        left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
        return right - left, bottom - top

    lines = [line for lab in labels for line in lab]
    line_h = max([extent(line)[1] for line in lines] + [8]) + 4
    col = max([w] + [extent(line)[0] for line in lines])
    pad = 8
    rows = max([len(lab) for lab in labels] + [0])
    sheet = Image.new("RGB", (pad + len(tiles) * (col + pad), 2 * pad + h + 4 + rows * line_h), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (tile, lab) in enumerate(zip(tiles, labels)):
        x = pad + i * (col + pad)
        sheet.paste(tile, (x + (col - tile.width) // 2, pad))
        for j, line in enumerate(lab):
            draw.text((x + (col - extent(line)[0]) // 2, pad + h + 4 + j * line_h), line, fill="black", font=font)
    return sheet


def _check_enhance_args(args) -> str:
    from .errors import InputError

    prompt = (args.prompt or "").strip()
    if not prompt:
        raise InputError("prompt", "a non-empty text-to-image prompt", repr(args.prompt))
    if args.pool:
        raise InputError("--pool", "no pool: enhance starts from the prompt itself", repr(args.pool))
    _check_enhance_render_args(args)
    return prompt


def _check_enhance_render_args(args) -> None:
    from .errors import InputError

    for name, (w, h) in (("--preview-size", args.preview_size), ("--final-size", args.final_size)):
        if min(w, h) < 8 or w % 8 or h % 8:
            raise InputError(name, "a width and height of at least 8 that are multiples of 8", f"{w}x{h}")
    for name, v in (("--preview-steps", args.preview_steps), ("--final-steps", args.final_steps),
                    ("--render-batch", args.render_batch)):
        if v < 1:
            raise InputError(name, "at least 1", repr(v))
    if not math.isfinite(args.guidance) or args.guidance < 0:
        raise InputError("--guidance", "a finite number >= 0", repr(args.guidance))


def _cmd_enhance(args) -> int:
    prompt = _check_enhance_args(args)
    payload, summary = run_enhance(args, prompt)
    print(json.dumps(payload, indent=1) if args.json else summary)
    return 0


def run_enhance(args, prompt: str, *, generator=None, extra: dict | None = None) -> tuple[dict, str]:
    """The `mils enhance` search, renders and output folder for a checked ``prompt``.

    ``generator``: an LLM already loaded (else --llm etc.); ``extra``: more keys for result.json.
    Returns result.json's payload and the human summary.
    """
    import torch

    from .cache import atomic_write_bytes, atomic_write_text
    from .renderers import DiffusersRenderer, load_diffusers_pipeline
    from .runner import search_config
    from .scorers.render import RenderScorer
    from .search import run_search
    from .targets import text_target
    from .tasks import get_task

    task = get_task("t2i_enhance")
    cfg = search_config(task, args.preset, seed=args.seed, **_overrides(args))
    out_dir = args.out or Path.cwd() / f"mils-enhance-{_slug(prompt)}"
    (pw, ph), (fw, fh) = args.preview_size, args.final_size

    pipe = load_diffusers_pipeline(args.pipeline, args.device, args.dtype)
    look = dict(guidance_scale=args.guidance, negative_prompt=args.negative, batch_size=args.render_batch)
    preview = DiffusersRenderer(pipe, width=pw, height=ph, steps=args.preview_steps, **look)
    final = DiffusersRenderer(pipe, width=fw, height=fh, steps=args.final_steps, **look)
    encoder = _load_encoder(args, "t2i_enhance")
    # every render is scored against the ORIGINAL prompt, all with the one render seed
    scorer = RenderScorer(preview, encoder, text_target(encoder, prompt, name="prompt"), seed=args.render_seed,
                          batch_size=args.render_batch)
    generator = generator or _load_generator(args, "t2i_enhance")
    bar = _Progress("enhance", args.quiet)
    try:
        res = run_search(generator, scorer, task, [prompt], cfg, intent=prompt, progress=bar)
    finally:
        bar.close()
    best = res.best_text

    # everything is made in memory first; the files are written (each atomically) only at the end
    sheet = contact_sheet(scorer.images([rec.leaderboard[0].text for rec in res.history]),
                          [["start" if rec.step == 0 else f"step {rec.step}", f"{rec.best_score:.4f}"]
                           for rec in res.history])
    finals = final.render(list(dict.fromkeys([prompt, best])), args.render_seed)
    before, after = finals[0], finals[-1]
    final_scores = (encoder.encode_image(torch.stack([before, after])).float() @ scorer.target).tolist()
    payload = {
        "prompt": prompt, "best_prompt": best, "out_dir": str(out_dir), "task": task.name,
        "pipeline": str(args.pipeline), "renderer": preview.key, "final_renderer": final.key,
        "llm": generator.key, "scorer": encoder.key, "preset": args.preset, "seed": args.seed,
        "settings": {"preview_size": [pw, ph], "preview_steps": args.preview_steps, "final_size": [fw, fh],
                     "final_steps": args.final_steps, "guidance": args.guidance, "negative": args.negative,
                     "render_seed": args.render_seed, "render_batch": args.render_batch, "keep": cfg.keep,
                     "new_per_step": cfg.new_per_step, "steps": cfg.steps, "patience": cfg.patience},
        "final_scores": {"before": final_scores[0], "after": final_scores[1]},
        "files": dict(ENHANCE_FILES),
        **(extra or {}),
        **res.to_dict(),
    }
    blobs = {"before": _png_bytes(before), "after": _png_bytes(after), "contact_sheet": _png_bytes(sheet),
             "best_prompt": (best + "\n").encode("utf-8")}
    for name, data in blobs.items():
        atomic_write_bytes(out_dir / ENHANCE_FILES[name], data)
    atomic_write_text(out_dir / ENHANCE_FILES["result"], json.dumps(payload, indent=1))  # last: marks it done

    summary = "\n".join([
        _summary("enhance", res),
        f"  {res.renders} preview renders at {pw}x{ph}; final {fw}x{fh}, {args.final_steps} steps: "
        f"original {final_scores[0]:.4f} -> best {final_scores[1]:.4f}",
        f"  saved in {out_dir}: " + ", ".join(ENHANCE_FILES.values())])
    return payload, summary


def _cmd_eval(args) -> int:
    from .evaluation.command import run_eval

    return run_eval(args)


def _cmd_media(args) -> int:
    from .cli_media import COMMANDS

    return COMMANDS[args.command](args)


_COMMANDS = {"caption": _cmd_caption, "invert": _cmd_invert, "enhance": _cmd_enhance, "style": _cmd_media,
             "merge": _cmd_media, "presets": _cmd_presets, "download": _cmd_download, "eval": _cmd_eval}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
