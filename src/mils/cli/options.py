"""Option groups shared by the subcommands, and their checks."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..errors import InputError

OVERRIDES = ("steps", "keep", "new_per_step", "patience", "time_budget_s", "temperature", "max_new_tokens",
             "parallel")


def add_model_args(p: argparse.ArgumentParser, *, scorer: bool = True, scorer_help: str | None = None) -> None:
    """The model options; ``scorer=False`` leaves out --scorer, ``scorer_help`` rewords it."""
    g = p.add_argument_group("models")
    g.add_argument("--llm", help="LLM: a preset name, a model folder, a .gguf file or a hub id "
                                 "(default: the task's preset, see `mils presets`)")
    g.add_argument("--llm-url", help="use an OpenAI-compatible server instead (e.g. http://127.0.0.1:11434/v1)")
    g.add_argument("--llm-model", help="model name on that server")
    g.add_argument("--api-key-env", help="NAME of the environment variable that holds the server's API key")
    g.add_argument("--llm-timeout", type=float, default=120.0, metavar="SECONDS",
                   help="seconds to wait for one reply from --llm-url once it is sent (default 120)")
    g.add_argument("--llm-max-in-flight", type=int, default=16, metavar="N",
                   help="most requests kept open at once to --llm-url; below it the number adapts to what the "
                        "server sustains (default 16)")
    if scorer:
        g.add_argument("--scorer", help=scorer_help or "scorer: a preset, a local folder/checkpoint, kind:source "
                                                      "(e.g. vlm:qwen3-vl-2b-instruct, a VLM judge), or py:module:factory")
    g.add_argument("--models-dir", type=Path, help="where presets live and download to (default: $MILS_MODELS_DIR "
                                                   "or ~/.cache/mils/models)")
    g.add_argument("--no-download", action="store_true", help="never download a missing preset; fail instead")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    g.add_argument("--dtype", default="auto", help="auto, float32, float16, bfloat16")


def add_vlm_args(p: argparse.ArgumentParser, *, concepts: bool = True) -> None:
    """Options of a VLM judge (--scorer/--judge vlm:...); ignored by other scorers."""
    from ..scorers.concepts import CONCEPT_MODES
    from ..scorers.vlm import DEFAULT_QUESTION

    g = p.add_argument_group("VLM judge (a vlm:... scorer)")
    g.add_argument("--vlm-question", metavar="TEMPLATE",
                   help=f"the question asked about each render, with {{}} or <text> for the prompt "
                        f"(default: {DEFAULT_QUESTION.replace('%', '%%')})")
    if concepts:
        g.add_argument("--concepts", choices=CONCEPT_MODES, default="off",
                       help="concept feedback: split the prompt into its concepts once (llm: by the LLM; parse: at "
                            "commas and 'and'), judge every render per concept, score = their mean, and show the "
                            "LLM which concepts each render lacks (default off)")


def add_search_args(p: argparse.ArgumentParser) -> None:
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
    g.add_argument("--parallel", type=int, metavar="P",
                   help="P sampled replies per round, generated as one batch, each asked for about N/P candidates "
                        "(default: by backend and device, e.g. 4 on a CPU, 8 on a GPU)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--pool", help="starting pool: a name (image, audio, edit) or a text file, one per line")
    g.add_argument("--json", action="store_true", help="print the result with its whole history as JSON")
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def overrides(args) -> dict:
    """The search options the user set (None = the preset's value)."""
    return {k: getattr(args, k) for k in OVERRIDES}


def size_arg(value: str) -> tuple[int, int]:
    """"256" or "768x512" (width x height) as (width, height)."""
    w, sep, h = str(value).lower().strip().partition("x")
    try:
        width = int(w)
        height = int(h) if sep else width
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or WIDTHxHEIGHT, got {value!r}") from None
    return width, height


def add_render_args(p: argparse.ArgumentParser, *, pipeline_required: bool, title: str = "rendering") -> None:
    """`mils enhance`'s --pipeline and rendering options (also on `mils merge --then-enhance`)."""
    p.add_argument("--pipeline", required=pipeline_required,
                   help="a diffusers text-to-image pipeline: a folder with model_index.json or a hub id")
    g = p.add_argument_group(title)
    g.add_argument("--preview-size", default="256", type=size_arg, metavar="N|WxH",
                   help="size of the renders scored during the search (default 256; the paper: 256)")
    g.add_argument("--preview-steps", type=int, default=4, help="denoising steps of the search renders (default 4)")
    g.add_argument("--final-size", default="1024", type=size_arg, metavar="N|WxH",
                   help="size of the before/after renders (default 1024)")
    g.add_argument("--final-steps", type=int, default=30, help="denoising steps of the before/after renders (default 30)")
    g.add_argument("--guidance", type=float, default=7.0, help="classifier-free guidance scale (default 7.0)")
    g.add_argument("--negative", default="", help="negative prompt for every render (default none)")
    g.add_argument("--render-seed", type=int, default=2024,
                   help="the one seed every candidate is rendered with (default 2024, as in the paper)")
    g.add_argument("--render-batch", type=int, default=4, help="prompts per pipeline call (default 4)")


def check_render_args(args) -> None:
    for name, (w, h) in (("--preview-size", args.preview_size), ("--final-size", args.final_size)):
        if min(w, h) < 8 or w % 8 or h % 8:
            raise InputError(name, "a width and height of at least 8 that are multiples of 8", f"{w}x{h}")
    for name, v in (("--preview-steps", args.preview_steps), ("--final-steps", args.final_steps),
                    ("--render-batch", args.render_batch)):
        if v < 1:
            raise InputError(name, "at least 1", repr(v))
    if not math.isfinite(args.guidance) or args.guidance < 0:
        raise InputError("--guidance", "a finite number >= 0", repr(args.guidance))
