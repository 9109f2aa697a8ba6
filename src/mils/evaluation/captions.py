"""`mils eval captions`: the paper's caption metrics for MILS's best captions and for the starting pool's best."""
from __future__ import annotations

import logging
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import InputError
from .caption_metrics import METRICS, score_systems
from .clipscore import check_image_encoder, clip_scores, find_media
from .references import References, load_references
from .results import CaptionResult, load_caption_results

log = logging.getLogger(__name__)

MILS_ROW = "MILS (best)"
BASELINE_ROW = "Starting pool (step 0 best)"


@dataclass
class CurveStats:
    """The best score per step over the dataset; a run that stopped early keeps its last best (elitism)."""

    mean: list[float]
    std: list[float]
    min: list[float]
    max: list[float]
    runs: int
    direction: str | None


@dataclass
class CaptionReport:
    metrics: dict[str, dict[str, float | None]]      # row (MILS_ROW, BASELINE_ROW) -> metric -> value
    tokenizer: str
    unavailable: dict[str, str]                      # metric (or row) -> why it has no value
    evaluated: list[str]                             # input names scored against references
    missing_references: list[str]                    # inputs with no reference (listed, not scored)
    curve: CurveStats | None
    clipscore_scorer: str | None = None
    per_input: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    results: str = ""
    references: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate_captions(results, refs, *, clipscore_encoder=None, media_dir=None, java: bool | None = None,
                      spice: bool = True) -> CaptionReport:
    """Score captions against references with pycocoevalcap, for MILS's best and the step-0 baseline.

    ``results``: a path (folder or file, see ``load_caption_results``) or a list of CaptionResult;
    ``refs``: a path (see ``load_references``) or References. ``clipscore_encoder``: an image-text
    encoder for reference-free CLIPScore on the media files (found via ``media_dir`` or the path each
    result records). ``java``/``spice``: see ``compute_caption_metrics``.
    """
    items: list[CaptionResult] = results if isinstance(results, list) else load_caption_results(results)
    references: References = refs if isinstance(refs, References) else load_references(refs)
    matched = {r.name: (r, references.find(r.name)) for r in items}
    evaluated = [r for r, found in matched.values() if found]
    missing = [name for name, (_, found) in matched.items() if not found]
    if not evaluated:
        names = ", ".join(r.name for r in items[:5]) + (", ..." if len(items) > 5 else "")
        raise InputError("--refs", f"references for at least one of the {len(items)} inputs (matched by file "
                                   f"name, then name without extension)", f"none for {names} in {references.source}")
    if missing:
        log.warning("%d input(s) have no reference and are not scored: %s", len(missing), ", ".join(missing))
    gts = {r.name: matched[r.name][1] for r in evaluated}
    systems = {MILS_ROW: {r.name: r.caption for r in evaluated}}
    unavailable: dict[str, str] = {}
    no_history = [r.name for r in evaluated if r.baseline is None]
    if no_history:
        unavailable[BASELINE_ROW] = (f"{len(no_history)} result(s) have no search history (step 0), e.g. "
                                     f"{no_history[0]}: give `mils caption` result files")
    else:
        systems[BASELINE_ROW] = {r.name: r.baseline for r in evaluated}
    scored = score_systems(gts, systems, java=java, spice=spice)
    first = scored[MILS_ROW]
    unavailable = {**first.unavailable, **unavailable}
    metrics = {MILS_ROW: first.scores,
               BASELINE_ROW: scored[BASELINE_ROW].scores if BASELINE_ROW in scored else dict.fromkeys(METRICS)}
    per_input = [{"input": r.name, "caption": r.caption, "baseline": r.baseline, "references": gts[r.name],
                  "curve": r.curve} for r in evaluated]
    key, notes = None, []
    if clipscore_encoder is not None:
        key = _add_clipscore(clipscore_encoder, evaluated, media_dir, metrics, per_input, unavailable)
        if key in {r.scorer for r in evaluated}:
            notes.append(f"CLIPScore uses {key}, the scorer the search optimised: it is not an independent judge")
    return CaptionReport(metrics=metrics, tokenizer=first.tokenizer, unavailable=unavailable,
                         evaluated=[r.name for r in evaluated], missing_references=missing,
                         curve=curve_stats([r for r in evaluated if r.curve]), clipscore_scorer=key,
                         per_input=per_input, notes=notes, results=_describe(results), references=references.source)


def _add_clipscore(encoder, evaluated, media_dir, metrics, per_input, unavailable) -> str:
    from ..media import load_image

    check_image_encoder(encoder, "--clipscore-scorer")
    images = [load_image(find_media(r.input, r.name, r.source, media_dir), name=r.name) for r in evaluated]
    best = clip_scores(encoder, images, [r.caption for r in evaluated])
    metrics[MILS_ROW]["CLIPScore"] = statistics.fmean(best)
    for row, s in zip(per_input, best):
        row["clipscore"] = s
    if BASELINE_ROW in unavailable:
        metrics[BASELINE_ROW]["CLIPScore"] = None
    else:
        base = clip_scores(encoder, images, [r.baseline for r in evaluated])
        metrics[BASELINE_ROW]["CLIPScore"] = statistics.fmean(base)
        for row, s in zip(per_input, base):
            row["baseline_clipscore"] = s
    return encoder.key


def curve_stats(items: list[CaptionResult]) -> CurveStats | None:
    if not items:
        return None
    steps = max(len(r.curve) for r in items)
    padded = [r.curve + [r.curve[-1]] * (steps - len(r.curve)) for r in items]
    columns = list(zip(*padded))
    directions = {r.direction for r in items}
    return CurveStats(mean=[statistics.fmean(c) for c in columns],
                      std=[statistics.pstdev(c) for c in columns],
                      min=[min(c) for c in columns], max=[max(c) for c in columns], runs=len(items),
                      direction=directions.pop() if len(directions) == 1 else None)


def _describe(results) -> str:
    return str(results) if isinstance(results, (str, Path)) else f"{len(results)} results"
