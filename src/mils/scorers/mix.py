"""Weighted mixes of scorers: e.g. 0.7 x a VLM judge + 0.3 x HPSv2.1, one number per candidate.

Each part's raw score ``s`` is first put on a common scale with a FIXED map per part,
``(s - lo) / (hi - lo)``, where ``(lo, hi)`` is the part's declared ``score_scale`` (a probability:
0..1; a cosine: 0..0.5, about the best match image-text models give; X-CLIP: its logit scale times
that), and the mix is ``sum(w * normalised) / sum(w)``. A fixed map, not one fitted to the scores
seen so far (z-scores, min-max over the round), because the search keeps a candidate's score from
the round it was scored in: a scale that moves between rounds would make old and new scores
incomparable and could rank a worse candidate first. Min-max over the starting pool is no better:
prompt enhancement starts from one prompt, whose spread is zero.

The score carries its parts: ``0.712 (vlm 0.82, hpsv2.1 27.13)``, each part in its own display,
which is what the LLM and the artist see.

Two levels, as for every scorer: ``ScorerMix`` holds loaded models (what a job or a node socket
carries) and binds each part to the job's medium or prompt (``mils.scorers.binding``);
``WeightedMix`` combines bound scorers (texts -> scores) or image scorers (renders -> scores; a
render is made once and rated by every part).
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Callable, Sequence

import torch

from ..errors import InputError
from . import binding
from .base import Score, optional, shown, text_caches_of

MIX_PREFIX = "mix:"
EXPECTED_SPEC = "mix:WEIGHT*SCORER,WEIGHT*SCORER,... such as mix:0.7*vlm:qwen2.5-vl-3b,0.3*hpsv2.1"
_PART = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*\*\s*(\S(?:.*\S)?)\s*$")
DEFAULT_SCALE = (0.0, 1.0)


def score_scale(scorer) -> tuple[float, float]:
    """The part's ``(lo, hi)``: its scores map to ``(s - lo) / (hi - lo)`` (a scorer without one: 0..1)."""
    lo, hi = optional(scorer, "score_scale") or DEFAULT_SCALE
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise InputError("score_scale", "(lo, hi) with lo < hi", f"{(lo, hi)} on {scorer.key}")
    return float(lo), float(hi)


def check_weights(weights: Sequence[float], labels: Sequence[str], name: str = "weights") -> None:
    if not weights:
        raise InputError(name, "at least one weighted scorer")
    for w, label in zip(weights, labels):
        if not math.isfinite(w):
            raise InputError(name, f"a finite weight for {label}", repr(w))
    if sum(weights) <= 0:
        raise InputError(name, "weights that sum to more than 0 (the mix divides by their sum)",
                         " + ".join(f"{w:g} ({label})" for w, label in zip(weights, labels)) + f" = {sum(weights):g}")


class WeightedMix:
    """Bound scorers (``score``) or image scorers (``image_scores``) combined with weights; one direction."""

    score_scale = DEFAULT_SCALE   # its value is already on the common scale (a mix inside a mix)

    def __init__(self, parts: Sequence[tuple[float, object, str]], *, name: str = "scorer"):
        parts = [(float(w), s, str(label)) for w, s, label in parts]
        check_weights([w for w, _, _ in parts], [label for _, _, label in parts], name)
        directions = {s.direction for _, s, _ in parts}
        if len(directions) > 1:
            raise InputError(name, "parts that all maximize or all minimize (their scores cannot be added)",
                             ", ".join(f"{label} {s.direction}s" for _, s, label in parts))
        self.parts = parts
        self.direction = directions.pop()
        self.scales = [score_scale(s) for _, s, _ in parts]
        self.total = sum(w for w, _, _ in parts)
        self.text_caches = tuple(c for _, s, _ in parts for c in text_caches_of(s))   # lockstep batches each
        self.key = "mix(" + ",".join(f"{w:g}*{s.key}" for w, s, _ in parts) + ")"

    def combine(self, per_part: Sequence[Sequence[float]]) -> list[Score]:
        """One Score per candidate from each part's raw scores (``per_part[i][j]``: part i, candidate j)."""
        out = []
        for values in zip(*per_part):
            total = sum(w * (v - lo) / (hi - lo)
                        for (w, _, _), (lo, hi), v in zip(self.parts, self.scales, values)) / self.total
            detail = ", ".join(f"{label} {shown(s, v)}" for (_, s, label), v in zip(self.parts, values))
            out.append(Score(total, f"{total:.3f} ({detail})"))
        return out

    def score(self, texts: Sequence[str]) -> list[Score]:
        if not texts:
            return []
        return self.combine([s.score(list(texts)) for _, s, _ in self.parts])

    def image_scores(self, images: torch.Tensor) -> list[Score]:
        return self.combine([s.image_scores(images) for _, s, _ in self.parts])

    @property
    def encodes(self) -> int:
        return max((getattr(s, "encodes", 0) for _, s, _ in self.parts), default=0)

    def format_score(self, score: float) -> str:
        return f"{score:.3f}"


class ScorerMix:
    """Loaded scorer models with weights and labels; bound to a job's medium or prompt part by part."""

    def __init__(self, parts: Sequence[tuple[float, object, str]], *, name: str = "scorer"):
        parts = [(float(w), m, str(label)) for w, m, label in parts]
        check_weights([w for w, _, _ in parts], [label for _, _, label in parts], name)
        self.parts = parts
        self.name = name
        self.key = "mix(" + ",".join(f"{w:g}*{getattr(m, 'key', label)}" for w, m, label in parts) + ")"
        kinds = [set(getattr(m, "modalities", ())) for _, m, _ in parts]
        self.modalities = frozenset(set.intersection(*kinds))

    def __repr__(self) -> str:
        return f"ScorerMix({', '.join(f'{w:g}*{label}' for w, _, label in self.parts)})"

    def caption_scorer(self, media, *, num_frames: int = 8) -> WeightedMix:
        return WeightedMix([(w, binding.caption_scorer(m, media, num_frames=num_frames), label)
                            for w, m, label in self.parts], name=self.name)

    def prompt_image_scorer(self, prompt: str, *, generator=None, seed: int = 0) -> WeightedMix:
        return WeightedMix([(w, binding.prompt_image_scorer(m, prompt, generator=generator, seed=seed), label)
                            for w, m, label in self.parts],
                           name=self.name)

    def encode_text(self, texts) -> torch.Tensor:
        raise InputError(self.name, "one embedding model for a target embedding (task invert, arithmetic); a mix "
                                    "of scorers has no single embedding space", repr(self))

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        raise InputError(self.name, "one embedding model to embed images; a mix of scorers has no single "
                                    "embedding space", repr(self))


def parse_mix_spec(spec: str, name: str = "scorer") -> list[tuple[float, str]]:
    """``mix:0.7*vlm:qwen2.5-vl-3b,0.3*hpsv2.1`` -> [(0.7, "vlm:qwen2.5-vl-3b"), (0.3, "hpsv2.1")].

    Strict: every comma-separated part is WEIGHT*SCORER (a part's spec cannot hold a comma, nor be a
    mix); an error names the part and the expected form.
    """
    spec = str(spec).strip()
    if not spec.startswith(MIX_PREFIX):
        raise InputError(name, EXPECTED_SPEC, repr(spec))
    body = spec[len(MIX_PREFIX):]
    if not body.strip():
        raise InputError(name, EXPECTED_SPEC, f"{spec!r} (no parts)")
    parts = []
    for i, raw in enumerate(body.split(","), 1):
        m = _PART.match(raw)
        if not m:
            raise InputError(name, EXPECTED_SPEC, f"part {i} {raw.strip()!r}")
        part = m.group(2)
        if part.startswith(MIX_PREFIX):
            raise InputError(name, f"{EXPECTED_SPEC}, whose parts are not mixes themselves", f"part {i} {part!r}")
        parts.append((float(m.group(1)), part))
    check_weights([w for w, _ in parts], [p for _, p in parts], name)
    return parts


def part_label(spec: str, presets: Sequence[str] = ()) -> str:
    """A short name for a part in the score's display: the preset, the kind of ``kind:source``, or the folder."""
    spec = spec.strip()
    if spec in presets:
        return spec
    if spec.startswith("py:"):
        return spec.rsplit(":", 1)[-1]
    path = Path(spec)
    if path.exists():
        return path.name or spec
    kind, sep, _ = spec.partition(":")
    return kind if sep and kind else spec


def load_mix(spec: str, load_part: Callable[[str], object], *, presets: Sequence[str] = (),
             name: str = "scorer") -> ScorerMix:
    """A ``mix:`` spec with every part loaded by ``load_part`` (registry.load_scorer_model)."""
    parts = parse_mix_spec(spec, name)
    labels: list[str] = []
    for _, part in parts:
        label = part_label(part, presets)
        labels.append(label if label not in labels else f"{label}#{len(labels) + 1}")
    return ScorerMix([(w, load_part(part), label) for (w, part), label in zip(parts, labels)], name=name)
