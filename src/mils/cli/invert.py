"""`mils invert`: turn a target embedding (or weighted image / audio / text terms) into text."""
from __future__ import annotations

import json
from pathlib import Path

from .. import targets
from ..errors import InputError
from ..jobs import Job
from ..media import load_audio, load_image
from .models import load_encoder, load_generator
from .options import add_model_args, add_search_args, overrides
from .output import Progress, add_fresh_arg, exit_code, run_resumable, summary


def add_parser(sub) -> None:
    p = sub.add_parser("invert", help="turn a target embedding (or image/audio/text terms) into text")
    p.add_argument("--embedding", type=Path, help="a .safetensors file with an 'embedding' tensor, or a .npy file")
    p.add_argument("--term", action="append", default=[], metavar="KIND:WEIGHT:VALUE",
                   help="add a weighted term, e.g. image:1:cat.jpg  audio:0.5:rain.wav  text:-1:photo  text:1:watercolor")
    add_model_args(p)
    add_search_args(p)
    add_fresh_arg(p)


def parse_term(term: str, encoder):
    """"KIND:WEIGHT:VALUE" as (weight, target)."""
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


def load_embedding(path: Path):
    import numpy as np
    import torch

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


def run(args) -> int:
    if not args.embedding and not args.term:
        raise InputError("invert", "--embedding FILE or at least one --term")
    encoder = load_encoder(args, "invert")
    terms = [(1.0, load_embedding(args.embedding))] if args.embedding else []
    terms += [parse_term(t, encoder) for t in args.term]
    job = Job("invert", load_generator(args, "invert"), encoder, target=targets.combine(terms), pool=args.pool,
              preset=args.preset, overrides=overrides(args), seed=args.seed)
    with Progress("invert", args.quiet) as bar:
        res = run_resumable(job, progress=bar, fresh=args.fresh).result
    if args.json:
        print(json.dumps({"llm": job.generator.key, "scorer": encoder.key, **res.to_dict()}, indent=1))
    else:
        print(summary("invert", res))
    return exit_code(res, "invert")
