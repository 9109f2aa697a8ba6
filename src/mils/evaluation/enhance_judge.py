"""`mils eval enhance`: does the best prompt's render beat the original prompt's, under a judge the search did not optimise?

Reads what `mils enhance` writes (result.json with the scorer it optimised, before.png = the original
prompt's render, after.png = the best prompt's), scores both renders against the original prompt with
the judge, and reports the win rate with a seeded percentile-bootstrap confidence interval.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InputError
from .clipscore import check_image_encoder, image_text_cosines

RESULT_FILE = "result.json"


@dataclass
class EnhanceRun:
    folder: str
    prompt: str
    best_prompt: str
    scorer: str
    before: Path
    after: Path


@dataclass
class EnhanceReport:
    judge: str
    optimised_by: list[str]
    runs: int
    win_rate: float                 # ties count half
    ci: tuple[float, float]
    confidence: float
    resamples: int
    seed: int
    wins: int
    ties: int
    losses: int
    mean_gain: float                # mean judge score (cosine, or a VLM judge's P(yes)) of the best render minus the original's
    per_run: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def find_enhance_runs(path: str | Path) -> list[EnhanceRun]:
    """A `mils enhance` output folder, or a folder holding several (searched recursively)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError("RESULTS", "an existing `mils enhance` output folder (or a folder of them)", str(path))
    files = sorted(path.rglob(RESULT_FILE))
    if not files:
        raise InputError("RESULTS", f"a folder with `mils enhance` outputs ({RESULT_FILE}, before.png, after.png)",
                         f"no {RESULT_FILE} under {path}")
    runs = [run for run in map(_read_run, files) if run is not None]
    if not runs:
        raise InputError("RESULTS", "`mils enhance` outputs (result.json with task t2i_enhance)",
                         f"only other tasks' results under {path}")
    return runs


def _read_run(file: Path) -> EnhanceRun | None:
    """The run in ``file``; None for another command's result.json (e.g. `mils style`)."""
    try:
        d = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(str(file), "a JSON file written by `mils enhance`", f"unreadable ({exc})") from None
    if not isinstance(d, dict):
        raise InputError(str(file), "a JSON object written by `mils enhance`", type(d).__name__)
    if d.get("task", "t2i_enhance") != "t2i_enhance":
        return None
    for key in ("prompt", "best_prompt", "scorer"):
        if not isinstance(d.get(key), str) or not d[key]:
            raise InputError(f"{file}: {key}", "the text `mils enhance` records there", repr(d.get(key))[:80])
    files = d.get("files") if isinstance(d.get("files"), dict) else {}
    renders = {}
    for key in ("before", "after"):
        p = file.parent / str(files.get(key, f"{key}.png"))
        if not p.is_file():
            raise InputError(f"{file}: files.{key}", "the render `mils enhance` saved beside result.json", str(p))
        renders[key] = p
    return EnhanceRun(str(file.parent), d["prompt"], d["best_prompt"], d["scorer"], renders["before"],
                      renders["after"])


def bootstrap_ci(values, *, resamples: int = 10_000, confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values``, seeded."""
    v = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(resamples, len(v)))].mean(axis=1)
    alpha = (1.0 - confidence) / 2
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def evaluate_enhance(results, judge, *, resamples: int = 10_000, confidence: float = 0.95,
                     seed: int = 0) -> EnhanceReport:
    """Win rate of the best prompt's render over the original's under ``judge`` (an image-text encoder or a VLM judge).

    ``results``: a folder (see ``find_enhance_runs``) or a list of EnhanceRun. Refused when ``judge`` is
    the scorer a search optimised: that score is what the search maximised, not evidence.
    """
    from ..media import load_image

    runs = results if isinstance(results, list) else find_enhance_runs(results)
    if not hasattr(judge, "prompt_image_scorer"):
        check_image_encoder(judge, "--judge")
    optimised = sorted({r.scorer for r in runs})
    if judge.key in optimised:
        raise InputError("--judge", f"a scorer other than the one the search optimised ({', '.join(optimised)})",
                         judge.key)
    if resamples < 1 or not 0 < confidence < 1:
        raise InputError("resamples/confidence", "resamples >= 1 and a confidence in (0, 1)",
                         f"{resamples}, {confidence}")
    images = [load_image(p, name=str(p)) for r in runs for p in (r.before, r.after)]
    prompts = [r.prompt for r in runs for _ in (0, 1)]
    cos = judge_scores(judge, images, prompts)
    per_run, outcomes = [], []
    for r, before, after in zip(runs, cos[0::2], cos[1::2]):
        outcome = 1.0 if after > before else 0.5 if after == before else 0.0
        outcomes.append(outcome)
        per_run.append({"folder": r.folder, "prompt": r.prompt, "best_prompt": r.best_prompt, "before": before,
                        "after": after, "gain": after - before, "outcome": outcome,
                        "before_image": str(r.before), "after_image": str(r.after)})
    return EnhanceReport(judge=judge.key, optimised_by=optimised, runs=len(runs),
                         win_rate=float(np.mean(outcomes)),
                         ci=bootstrap_ci(outcomes, resamples=resamples, confidence=confidence, seed=seed),
                         confidence=confidence, resamples=resamples, seed=seed,
                         wins=outcomes.count(1.0), ties=outcomes.count(0.5), losses=outcomes.count(0.0),
                         mean_gain=float(np.mean([p["gain"] for p in per_run])), per_run=per_run)


def judge_scores(judge, images, prompts) -> list[float]:
    """The judge's score of each image against its prompt: the cosine of an image-text encoder, or a VLM
    judge's P(yes) (per concept and averaged when its concept mode is ``parse``)."""
    if not hasattr(judge, "prompt_image_scorer"):
        return image_text_cosines(judge, images, prompts)
    scorers: dict[str, object] = {}
    out = []
    for image, prompt in zip(images, prompts):
        scorer = scorers.setdefault(prompt, judge.prompt_image_scorer(prompt))
        out.append(float(scorer.image_scores(image if image.ndim == 4 else image[None])[0]))
    return out


def wins_and_losses_sheet(report: EnhanceReport, count: int = 4) -> Image.Image:
    """The ``count`` biggest wins and losses: each column the original's render above the best prompt's."""
    import textwrap

    from .report import pair_sheet

    ranked = sorted(report.per_run, key=lambda p: p["gain"], reverse=True)
    wins = [p for p in ranked if p["gain"] > 0][:count]
    losses = [p for p in reversed(ranked) if p["gain"] < 0][:count]
    shown = wins + [p for p in losses if p not in wins] or ranked[:count]
    pairs = [(Image.open(p["before_image"]).convert("RGB"), Image.open(p["after_image"]).convert("RGB"))
             for p in shown]
    labels = [[("win " if p["gain"] > 0 else "loss " if p["gain"] < 0 else "tie ") + f"{p['gain']:+.4f}",
               *textwrap.wrap(p["prompt"], 24, max_lines=2, placeholder="...")] for p in shown]
    return pair_sheet(pairs, labels)
