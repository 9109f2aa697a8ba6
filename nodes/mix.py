"""MILS Scorer Mix: scorers combined with weights (e.g. a VLM judge 0.7 + HPSv2.1 0.3), chained node to node.

Each node adds one scorer with its weight to the mix of the previous node; the last one's output is a
scorer like MILS Scorer Loader's, for MILS Loop. The engine side (normalisation, display) is
mils.scorers.mix.
"""
from __future__ import annotations

import re

from mils.scorers.mix import ScorerMix, check_weights
from .common import CATEGORY, SCORER_TYPE, node_error

WEIGHT = {"default": 1.0, "min": -10.0, "max": 10.0, "step": 0.05}


class MixHandle:
    """The scorer socket of a mix: its parts' handles (from MILS Scorer Loader), weights and labels.

    ``use()`` loads every part (each through ComfyUI's model management) and returns a ScorerMix;
    ``release()`` releases every part.
    """

    def __init__(self, parts: tuple[tuple[float, object, str], ...]):
        self.parts = parts
        self.label = "mix(" + ", ".join(f"{w:g}*{label}" for w, _, label in parts) + ")"
        self.keep_loaded = all(getattr(h, "keep_loaded", True) for _, h, _ in parts)

    def __repr__(self) -> str:
        return f"<MILS {self.label}>"

    def use(self) -> ScorerMix:
        return ScorerMix([(w, handle.use(), label) for w, handle, label in self.parts], name="scorer")

    def release(self) -> None:
        for _, handle, _ in self.parts:
            handle.release()


def part_label(handle, given: str, taken: list[str]) -> str:
    """The part's name in the score's display: the node's ``name``, else the model's folder (or file) name."""
    label = given.strip()
    if not label:
        spec = str(getattr(handle, "label", "scorer")).removeprefix("scorer ")
        pieces = [p for p in re.split(r"[/\\:]", spec) if p]
        if len(pieces) > 1 and re.search(r"\.(pt|pth|bin|safetensors|ckpt)$", pieces[-1]):
            pieces.pop()   # a checkpoint file: its folder names the model
        label = pieces[-1] if pieces else "scorer"
    return label if label not in taken else f"{label}#{len(taken) + 1}"


class MILSScorerMix:
    DESCRIPTION = ("Adds a scorer with a weight to a mix of scorers (e.g. a VLM judge 0.7 + HPSv2.1 0.3). Chain "
                   "as many as you need (scorer -> mix); the last one's scorer goes wherever a scorer does "
                   "(MILS Loop). Each part is put on a fixed 0..1 scale before weighting, and the LLM sees "
                   "every part's score.")
    CATEGORY = f"{CATEGORY}/Scorer"
    RETURN_TYPES = (SCORER_TYPE,)
    RETURN_NAMES = ("scorer",)
    OUTPUT_TOOLTIPS = ("The mix so far plus this scorer: for another MILS Scorer Mix's 'mix', or MILS Loop's "
                       "scorer.",)
    FUNCTION = "add"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "scorer": (SCORER_TYPE, {"tooltip": "The scorer to add (from MILS Scorer Loader)."}),
            "weight": ("FLOAT", {**WEIGHT, "tooltip": "Its weight. The mix divides by the sum of the weights, "
                                                      "which must be above 0."}),
        }, "optional": {
            "mix": (SCORER_TYPE, {"tooltip": "The scorer output of the previous MILS Scorer Mix, to add to."}),
            "name": ("STRING", {"default": "", "tooltip": "Its name in the scores the LLM sees, e.g. "
                                                         "'0.71 (vlm 0.82, hps 27.10)'. Empty: the model's name."}),
        }}

    def add(self, scorer, weight, mix=None, name=""):
        if mix is not None and not isinstance(mix, MixHandle):
            raise node_error("mix", "the scorer output of another MILS Scorer Mix (connect a single scorer to "
                                    "'scorer' instead)")
        if isinstance(scorer, MixHandle):
            raise node_error("scorer", "one scorer from MILS Scorer Loader; to chain a mix, connect it to 'mix'")
        earlier = mix.parts if mix is not None else ()
        label = part_label(scorer, name or "", [label for _, _, label in earlier])
        parts = earlier + ((float(weight), scorer, label),)
        check_weights([w for w, _, _ in parts], [label for _, _, label in parts], name="weight")
        return (MixHandle(parts),)
