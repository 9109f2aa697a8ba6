"""The Gram Style node: the paper's style-transfer scorer (VGG19 Gram-matrix style loss + content loss)."""
from __future__ import annotations

from pathlib import Path

from mils import registry
from mils.scorers import gram as gram_engine
from . import bridge, model_memory
from .common import CATEGORY, GRAM_TYPE, node_error

NOT_FOUND = "vgg19 (not downloaded)"
_WEIGHT_SUFFIXES = (".pth", ".pt", ".safetensors", ".bin")


def feature_choices() -> list[str]:
    """VGG entries of models/mils first (the vgg19 preset folder, vgg19-*.pth), then other weight files."""
    names = bridge.list_models(bridge.SCORER_FOLDER)
    vgg = [n for n in names if "vgg" in n.lower() and (Path(n).suffix.lower() in _WEIGHT_SUFFIXES or "/" not in n)]
    files = [n for n in names if n not in vgg and "/" not in n and Path(n).suffix.lower() in _WEIGHT_SUFFIXES]
    return vgg + files or [NOT_FOUND]


def _missing_features(detail: str):
    return node_error("features", f"VGG19 weights in models/{bridge.SCORER_FOLDER}; {detail}. Download the vgg19 "
                                  "preset with MILS Download Model (or `mils download vgg19`), or put a torchvision "
                                  "vgg19 .pth there, then refresh the editor (R)")


class GramStyleHandle:
    """What the scorer output carries: the managed VGG19 features plus the style and content images.

    ``use()`` loads the features (ComfyUI moves them to its device) and returns the ``GramStyleScorer``,
    whose targets are encoded once; the loop hands that scorer to its style-transfer job; ``release()``
    after a run.
    """

    def __init__(self, model: model_memory.ManagedModel, style_image, content_image=None, *,
                 style_weight: float = 1000.0, content_weight: float = 1.0, size: int = 256):
        self.model = model
        self.style_image, self.content_image = style_image, content_image
        self.style_weight, self.content_weight, self.size = style_weight, content_weight, size
        self._scorer = None
        self._extractor = None

    def __repr__(self) -> str:
        return f"<MILS Gram style scorer {self.model.label}, size {self.size}>"

    def use(self):
        extractor = self.model.use()
        if self._scorer is None or self._extractor is not extractor:
            self._scorer = gram_engine.GramStyleScorer(extractor, self.style_image, self.content_image,
                                                       style_weight=self.style_weight,
                                                       content_weight=self.content_weight, size=self.size)
            self._extractor = extractor
        return self._scorer

    def release(self) -> None:
        self.model.release()
        if self.model.obj is None:
            self._scorer = self._extractor = None


class MILSGramStyle:
    DESCRIPTION = ("The paper's style-transfer scorer. Compares images with a style image through VGG19 Gram "
                   "matrices (conv1_1 to conv3_1, before ReLU) and, with a content image, through conv2_2 features. "
                   "Lower is better: style_weight x style + content_weight x content. Outputs a scorer for the "
                   "style-transfer loop and the scores of the 'images' batch. Needs VGG19 weights in models/mils "
                   "(MILS Download Model, preset vgg19).")
    CATEGORY = f"{CATEGORY}/Scorer"
    RETURN_TYPES = (GRAM_TYPE, "FLOAT")
    RETURN_NAMES = ("scorer", "scores")
    OUTPUT_IS_LIST = (False, True)
    OUTPUT_TOOLTIPS = (
        "The style scorer (style and content targets encoded once), for the MILS Loop's style transfer.",
        "One score per image of 'images', in order: style_weight x style + content_weight x content (lower is "
        "better). Empty when 'images' is not connected.",
    )
    FUNCTION = "score"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "features": (feature_choices(), {"tooltip": "VGG19 ImageNet weights in models/mils: the vgg19 preset "
                                             "folder (MILS Download Model) or a torchvision vgg19-*.pth file."}),
            "style_image": ("IMAGE", {"tooltip": "The style to match: one image. Transparency is composited on "
                                      "white, grayscale becomes RGB."}),
            "style_weight": ("FLOAT", {"default": 1000.0, "min": 0.0, "max": 1e9, "step": 1.0,
                                       "tooltip": "Weight of the style loss in the score (the paper: 1000)."}),
            "content_weight": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1e9, "step": 0.01,
                                         "tooltip": "Weight of the content loss in the score (the paper: 1). "
                                                    "Ignored without a content image."}),
            "size": ("INT", {"default": 256, "min": gram_engine.MIN_SIZE, "max": 2048, "step": 8,
                             "tooltip": "Every image is resized (shorter side) and centre-cropped to this square "
                                        "before VGG19 (the paper: 256)."}),
        }, "optional": {
            "content_image": ("IMAGE", {"tooltip": "The picture being restyled: one image. Candidates also pay "
                                        "for drifting from its conv2_2 features. Unconnected: style only."}),
            "images": ("IMAGE", {"tooltip": "A batch to score now (e.g. edits of the content image); the scores "
                                 "come out in order."}),
        }}

    def score(self, features, style_image, style_weight, content_weight, size, content_image=None, images=None):
        gram_engine.check_single_image(style_image, "style_image")
        if content_image is not None:
            gram_engine.check_single_image(content_image, "content_image")
        if features == NOT_FOUND:
            raise _missing_features("none is there yet")
        path = bridge.resolve_model(bridge.SCORER_FOLDER, features)
        if path is None:
            raise _missing_features(f"{features!r} is not there any more")
        dev = model_memory.load_device_for("auto")
        model = model_memory.ManagedModel(lambda: registry.load_gram_features(str(path), device=dev),
                                          label=f"gram features {features}")
        handle = GramStyleHandle(model, style_image, content_image, style_weight=float(style_weight),
                                 content_weight=float(content_weight), size=int(size))
        scorer = handle.use()  # loads the weights and encodes the targets now: errors show at this node
        scores: list[float] = []
        lines: list[str] = []
        try:
            if images is not None:
                scores = scorer.combined(images)
                lines = [f"image {i + 1}: {s:.6g} ({s.shown})" for i, s in enumerate(scores)]
        finally:
            handle.release()
        head = "style, content" if scorer.has_content else "style"
        text = ("\n".join([f"{len(scores)} images scored, lower is better; ({head}) weighted:"] + lines) if lines
                else f"style scorer ready ({head}); connect 'images' to score a batch here")
        return {"ui": {"text": [text]}, "result": (handle, scores)}
