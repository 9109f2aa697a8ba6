"""Feature extractors for the Gram style scorer: any CNN's layers read with hooks, and the paper's VGG19.

torchvision VGG19 ``features`` truncated after conv3_1, ReLUs not in place; the style layers are the
outputs of the first five convolutions before ReLU (conv1_1, conv1_2, conv2_1, conv2_2, conv3_1, named
``conv_1`` .. ``conv_5``); the content layer is conv2_2 (``conv_4``). ``ModuleFeatures`` runs the
same math on any CNN (a module plus named layers, read with forward hooks).
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Protocol, Sequence, runtime_checkable

import torch
import torch.nn as nn

from ..errors import InputError, ModelNotFoundError
from ..model_cache import load_cached
from . import _preprocess as pp

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
VGG19_CONV_SHAPES = {0: (64, 3, 3, 3), 2: (64, 64, 3, 3), 5: (128, 64, 3, 3), 7: (128, 128, 3, 3), 10: (256, 128, 3, 3)}


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
            want = VGG19_CONV_SHAPES[i] if w == "weight" else VGG19_CONV_SHAPES[i][:1]
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
