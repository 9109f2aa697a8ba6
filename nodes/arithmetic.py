"""Embedding arithmetic: "this image + that sound - 'photo' + 'watercolor'" as one target vector.

Terms come from a chain of MILS Arithmetic Term nodes (any number: images, sounds, texts, each with a
weight) and from the text lines of MILS Embedding Arithmetic; both are saved in the workflow.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch

from mils import targets
from .common import CATEGORY, SCORER_TYPE, TARGET_TYPE, TERMS_TYPE, audio_input, image_input, node_error

_NUMBER = r"[+-]?\s*(?:\d+(?:\.\d*)?|\.\d+)"
_WEIGHTED = re.compile(rf"^({_NUMBER})\s+(\S.*)$")
_LOOKS_WEIGHTED = re.compile(r"^[+\-.\d]")
EXPECTED_LINE = "'WEIGHT TEXT' such as '+1 a watercolor painting' or '-0.5 a photo' (a line without a weight counts +1)"
WEIGHT = {"default": 1.0, "min": -10.0, "max": 10.0, "step": 0.05}


def parse_text_terms(text: str, *, name: str = "text_terms") -> list[tuple[float, str]]:
    """Lines of "weight text", e.g. "+1 watercolor painting" or "-0.5 photo"; a line without a weight weighs +1.

    A line that starts like a weight but is not one ("+", "2x cats", "+1" alone) or has no word in it
    is an error naming the line, never silently read as text.
    """
    terms = []
    for n, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _WEIGHTED.match(line)
        if m:
            weight, body = float(m.group(1).replace(" ", "")), m.group(2).strip()
        elif _LOOKS_WEIGHTED.match(line):
            raise node_error(name, f"{EXPECTED_LINE}; line {n} is {line!r}")
        else:
            weight, body = 1.0, line
        if not any(ch.isalnum() for ch in body):
            raise node_error(name, f"{EXPECTED_LINE}; line {n} has no words to encode: {line!r}")
        terms.append((weight, body))
    return terms


@dataclass(frozen=True)
class Term:
    """One raw term (encoded later, by the scorer of MILS Embedding Arithmetic)."""

    kind: str          # "image", "audio" or "text"
    value: Any
    weight: float
    label: str

    def encode(self, encoder) -> torch.Tensor:
        if self.kind == "image":
            return targets.image_target(encoder, self.value, name=self.label)
        if self.kind == "audio":
            return targets.audio_target(encoder, self.value["waveform"], self.value["sample_rate"])
        return targets.text_target(encoder, self.value, name=self.label)

    def recipe(self) -> str:
        what = f"'{self.value}'" if self.kind == "text" else self.label
        return f"{self.weight:+g} {what}"


def chained_terms(terms) -> list[Term]:
    """The ``terms`` socket: what a MILS Arithmetic Term put out (nothing connected: no terms)."""
    out = list(terms or ())
    if any(not isinstance(t, Term) for t in out):
        raise node_error("terms", "the terms output of a MILS Arithmetic Term")
    return out


class MILSArithmeticTerm:
    DESCRIPTION = ("One term of embedding arithmetic: an image, a sound or a text with a weight (negative "
                   "subtracts). Chain as many as you need (terms -> terms) into MILS Embedding Arithmetic.")
    CATEGORY = f"{CATEGORY}/Scorer"
    RETURN_TYPES = (TERMS_TYPE,)
    RETURN_NAMES = ("terms",)
    OUTPUT_TOOLTIPS = ("The terms so far plus this one, for another MILS Arithmetic Term or MILS Embedding "
                       "Arithmetic.",)
    FUNCTION = "add"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "weight": ("FLOAT", {**WEIGHT, "tooltip": "Weight of this term (negative subtracts it)."}),
        }, "optional": {
            "terms": (TERMS_TYPE, {"tooltip": "The terms of the previous MILS Arithmetic Term, to add to."}),
            "image": ("IMAGE", {"tooltip": "An image term (a batch is averaged)."}),
            "audio": ("AUDIO", {"tooltip": "A sound term (needs a scorer that embeds audio, such as CLAP)."}),
            "text": ("STRING", {"default": "", "tooltip": "A text term (used when no image or audio is connected)."}),
        }}

    def add(self, weight, terms=None, image=None, audio=None, text=""):
        given = [n for n, v in (("image", image), ("audio", audio)) if v is not None]
        if (text or "").strip():
            given.append("text")
        if not given:
            raise node_error("image", "one term: connect an IMAGE or an AUDIO, or write a text")
        if len(given) > 1:
            raise node_error(given[1], f"one term per node; {' and '.join(given)} are all set (chain another node)")
        earlier = chained_terms(terms)
        kind = given[0]
        if kind == "image":
            value = image_input(image)
        elif kind == "audio":
            value = audio_input(audio)
        else:
            value = text.strip()
        label = f"{kind} {sum(t.kind == kind for t in earlier) + 1}"
        return (tuple(earlier) + (Term(kind, value, float(weight), label),),)


class MILSEmbeddingArithmetic:
    DESCRIPTION = ("Builds a target in the scorer's joint space from weighted terms (MILS Arithmetic Term nodes "
                   "for images, sounds and texts, plus text lines here; negative weights subtract) as a normalised "
                   "weighted sum. Connect it to MILS Loop's target to turn it into a prompt.")
    CATEGORY = f"{CATEGORY}/Scorer"
    RETURN_TYPES = (TARGET_TYPE, "STRING")
    RETURN_NAMES = ("target", "recipe")
    OUTPUT_TOOLTIPS = ("The combined target, for MILS Loop's target input.",
                       "The terms and weights that went in, as text.")
    FUNCTION = "combine"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "scorer": (SCORER_TYPE, {"tooltip": "The scorer whose joint space the terms live in (CLIP/SigLIP for "
                                                "images and text, CLAP for audio and text)."}),
            "text_terms": ("STRING", {"multiline": True, "default": "-1 a photo\n+1 a watercolor painting",
                                      "tooltip": "One term per line: a weight, a space, the text (e.g. '-0.5 a "
                                                 "photo'). A line without a weight counts +1; # starts a comment."}),
        }, "optional": {
            "terms": (TERMS_TYPE, {"tooltip": "Image, sound and text terms from a chain of MILS Arithmetic Term "
                                   "nodes."}),
        }}

    def combine(self, scorer, text_terms, terms=None):
        chained = chained_terms(terms)
        lines = [Term("text", body, w, f"text_terms line {i}")
                 for i, (w, body) in enumerate(parse_text_terms(text_terms), 1)]
        every = chained + lines
        if not every:
            raise node_error("text_terms", "at least one term: chain a MILS Arithmetic Term, or write a text line")
        encoder = scorer.use()
        try:
            target = targets.combine([(t.weight, t.encode(encoder)) for t in every], name="text_terms")
        finally:
            scorer.release()
        return (target, " ".join(t.recipe() for t in every))
