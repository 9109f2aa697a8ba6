"""The ``mils`` command: caption media, invert embeddings, list and download models."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from . import registry
from .errors import MilsError

log = logging.getLogger("mils")

RESULT_SUFFIX = ".mils.json"


def _model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("models")
    g.add_argument("--llm", help="LLM: a preset name, a model folder, a .gguf file or a hub id "
                                 "(default: the task's preset, see `mils presets`)")
    g.add_argument("--llm-url", help="use an OpenAI-compatible server instead (e.g. http://127.0.0.1:11434/v1)")
    g.add_argument("--llm-model", help="model name on that server")
    g.add_argument("--api-key-env", help="NAME of the environment variable that holds the server's API key")
    g.add_argument("--scorer", help="scorer: a preset, a local folder/checkpoint, kind:source, or py:module:factory")
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

    p = sub.add_parser("presets", help="list model presets and budget presets")
    p.add_argument("--models-dir", type=Path)

    p = sub.add_parser("download", help="download model presets (explicitly; nothing downloads at import)")
    p.add_argument("names", nargs="+", help="preset names (see `mils presets`)")
    p.add_argument("--models-dir", type=Path)
    return parser


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


def _load_encoder(args, task_name: str):
    spec = args.scorer or registry.TASK_DEFAULTS[task_name]["scorer"]
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
    from .runner import caption

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
        bar = _Progress(path.name, args.quiet)
        try:
            res = caption(generator, encoder, media, preset=args.preset, pool=args.pool, seed=args.seed,
                          num_frames=args.frames, progress=bar, **_overrides(args))
        finally:
            bar.close()
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


_COMMANDS = {"caption": _cmd_caption, "invert": _cmd_invert, "presets": _cmd_presets, "download": _cmd_download}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
