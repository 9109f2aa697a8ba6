"""MILS VLM Judge: the question and concept feedback of a VLM judge loaded by MILS Scorer Loader."""
from __future__ import annotations

from mils.scorers.concepts import CONCEPT_MODES
from mils.scorers.vlm import DEFAULT_QUESTION, check_question
from .common import CATEGORY, SCORER_TYPE, image_input, node_error, split_lines

_CONCEPT_HELP = {
    "off": "one question about the whole prompt per render",
    "llm": "the LLM splits the prompt into its concepts once (objects, attributes, relations); each render is "
           "asked about each one; the LLM is told which ones its render lacks",
    "parse": "like llm, but the prompt is split at commas and 'and' (simple prompts; no LLM call)",
}


class JudgeHandle:
    """A scorer socket value: the loader's model handle, used with this node's question and concept mode."""

    def __init__(self, inner, question: str, concepts: str):
        self.inner, self.question, self.concepts = inner, question, concepts

    def __repr__(self) -> str:
        return f"<MILS VLM judge {getattr(self.inner, 'label', self.inner)}, concepts {self.concepts}>"

    def use(self):
        model = self.inner.use()
        if not hasattr(model, "with_options"):
            raise node_error("scorer", f"a VLM judge (MILS Scorer Loader, kind 'VLM judge'); "
                                       f"{getattr(model, 'key', model)} is not one")
        return model.with_options(question=self.question, concepts=self.concepts)

    def release(self) -> None:
        self.inner.release()


class MILSVLMJudge:
    DESCRIPTION = ("Sets how a VLM judge (MILS Scorer Loader, kind 'VLM judge') rates renders: the question it is "
                   "asked, and concept feedback: the prompt split into its concepts, each checked in every render, "
                   "the missing ones shown to the LLM and on the leaderboard.")
    CATEGORY = f"{CATEGORY}/Scorer"
    RETURN_TYPES = (SCORER_TYPE,)
    RETURN_NAMES = ("scorer",)
    OUTPUT_TOOLTIPS = ("The VLM judge with these settings, for MILS Loop (prompt enhancement) and MILS Score.",)
    FUNCTION = "configure"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "scorer": (SCORER_TYPE, {"tooltip": "A VLM judge from MILS Scorer Loader (e.g. qwen3-vl-2b-instruct)."}),
            "question": ("STRING", {"default": DEFAULT_QUESTION, "tooltip": "Asked about each render; {} or <text> "
                                    "is replaced by the prompt (or by each concept). Must ask for yes or no."}),
            "concepts": (list(CONCEPT_MODES), {"default": "llm", "tooltip": "; ".join(
                f"{k}: {v}" for k, v in _CONCEPT_HELP.items())}),
        }}

    def configure(self, scorer, question, concepts):
        if concepts not in CONCEPT_MODES:
            raise node_error("concepts", f"one of {', '.join(CONCEPT_MODES)}")
        handle = JudgeHandle(getattr(scorer, "inner", scorer), check_question(question), concepts)
        handle.use()     # a scorer that is not a VLM judge fails here
        return (handle,)


def vlm_scores(judge, texts: str, images=None, target_image=None, target_text: str = "") -> tuple[list, list[float]]:
    """MILS Score with a VLM judge: each image against the target text, or each text line against the target image."""
    if images is not None:
        if not (target_text or "").strip():
            raise node_error("target_text", "the text the images should show (a VLM judge asks about a text)")
        images = image_input(images, "images")
        return ([f"image {i + 1}" for i in range(images.shape[0])],
                judge.yes_probs(images, [target_text.strip()] * images.shape[0]))
    if target_image is None:
        raise node_error("target_image", "the image the texts describe (a VLM judge asks about an image)")
    image = image_input(target_image, "target_image")
    if image.shape[0] != 1:
        raise node_error("target_image", "one image (a VLM judge asks about one picture)")
    labels = split_lines(texts)
    if not labels:
        raise node_error("texts", "at least one candidate line")
    return labels, judge.yes_probs(image.expand(len(labels), -1, -1, -1), labels)
