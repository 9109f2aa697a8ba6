"""Embedding arithmetic: "this image + that sound - 'photo' + 'watercolor'" as one target vector."""
from __future__ import annotations

import re

import torch

from ..mils import targets
from .common import CATEGORY, SCORER_TYPE, TARGET_TYPE, node_error

_TERM = re.compile(r"^\s*([+-]?\s*\d*\.?\d+)\s+(.+?)\s*$")


def parse_text_terms(text: str) -> list[tuple[float, str]]:
    """Lines of "weight text", e.g. "+1 watercolor painting" or "-0.5 photo"; a bare line weighs +1."""
    terms = []
    for n, line in enumerate((text or "").splitlines(), 1):
        if not line.strip() or line.strip().startswith("#"):
            continue
        m = _TERM.match(line)
        if m:
            terms.append((float(m.group(1).replace(" ", "")), m.group(2)))
        else:
            terms.append((1.0, line.strip()))
    return terms


class MILSEmbeddingArithmetic:
    DESCRIPTION = ("Builds a target in the scorer's joint space from weighted terms (images, a sound, texts; "
                   "negative weights subtract) as a normalised weighted sum. Connect it to MILS Loop's target to "
                   "turn it into a prompt, then feed that prompt to CLIP Text Encode.")
    CATEGORY = f"{CATEGORY}/Scorer"
    RETURN_TYPES = (TARGET_TYPE, "STRING")
    RETURN_NAMES = ("target", "recipe")
    OUTPUT_TOOLTIPS = ("The combined target, for MILS Loop's target input.",
                       "The terms and weights that went in, as text.")
    FUNCTION = "combine"

    @classmethod
    def INPUT_TYPES(cls):
        weight = {"default": 1.0, "min": -10.0, "max": 10.0, "step": 0.05}
        return {"required": {
            "scorer": (SCORER_TYPE, {"tooltip": "The scorer whose joint space the terms live in (CLIP/SigLIP for "
                                                "images and text, CLAP for audio and text)."}),
            "text_terms": ("STRING", {"multiline": True, "default": "-1 a photo\n+1 a watercolor painting",
                                      "tooltip": "One term per line: a weight, a space, the text. A line without "
                                                 "a weight counts +1."}),
        }, "optional": {
            "image_a": ("IMAGE", {"tooltip": "An image term (a batch is averaged)."}),
            "image_a_weight": ("FLOAT", {**weight, "tooltip": "Weight of image_a (negative subtracts it)."}),
            "image_b": ("IMAGE", {"tooltip": "A second image term."}),
            "image_b_weight": ("FLOAT", {**weight, "tooltip": "Weight of image_b."}),
            "audio": ("AUDIO", {"tooltip": "A sound term (needs a scorer that embeds audio, such as CLAP)."}),
            "audio_weight": ("FLOAT", {**weight, "tooltip": "Weight of the sound."}),
        }}

    def combine(self, scorer, text_terms, image_a=None, image_a_weight=1.0, image_b=None, image_b_weight=1.0,
                audio=None, audio_weight=1.0):
        encoder = scorer.use()
        try:
            terms: list[tuple[float, torch.Tensor]] = []
            recipe = []
            for name, img, w in (("image_a", image_a, image_a_weight), ("image_b", image_b, image_b_weight)):
                if img is not None:
                    terms.append((w, targets.image_target(encoder, img, name=name)))
                    recipe.append(f"{w:+g} {name}")
            if audio is not None:
                if not isinstance(audio, dict) or "waveform" not in audio:
                    raise node_error("audio", "an AUDIO value")
                terms.append((audio_weight, targets.audio_target(encoder, audio["waveform"], audio["sample_rate"])))
                recipe.append(f"{audio_weight:+g} audio")
            for w, text in parse_text_terms(text_terms):
                terms.append((w, targets.text_target(encoder, text, name="text_terms")))
                recipe.append(f"{w:+g} '{text}'")
            if not terms:
                raise node_error("text_terms", "at least one term: connect an image or audio, or write a text line")
            target = targets.combine(terms, name="text_terms")
        finally:
            scorer.release()
        return (target, " ".join(recipe))
