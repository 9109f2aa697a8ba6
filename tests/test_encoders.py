"""Encoders (open_clip, transformers CLIP/SigLIP/PickScore, CLAP) on tiny random-weight models.

Every model is built offline by devkit/tiny_models.py, saved to disk and loaded back through the
loaders users call.
"""
from __future__ import annotations

import logging
import os
import shutil

import pytest
import torch

from devkit.tiny_models import (
    TINY_EMBED_DIM,
    make_tiny_clap,
    make_tiny_hf_clip,
    make_tiny_hf_siglip,
    make_tiny_open_clip,
    make_tiny_open_clip_dir,
)
from mils import presets
from mils.errors import InputError, ModelNotFoundError
from mils.model_cache import MODEL_CACHE
from mils.scorers import _preprocess as pp
from mils.scorers.clap import ClapEncoder, load_clap
from mils.scorers.hf_clip import HFClipEncoder, load_hf_clip, load_pickscore
from mils.scorers.open_clip_encoder import OpenClipEncoder, load_open_clip

TEXTS = ["a cat", "a photo of a big dog", "", "the red sea under a blue sky, at dawn"]


pytestmark = pytest.mark.usefixtures("empty_model_cache")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_models")
    name, checkpoint = make_tiny_open_clip(root)
    return {
        "open_clip": (name, checkpoint),
        "open_clip_dir": make_tiny_open_clip_dir(root),
        "hf_clip": make_tiny_hf_clip(root),
        "hf_clip_weights_only": make_tiny_hf_clip(root, with_processor=False, name="hf_clip_weights"),
        "hf_siglip": make_tiny_hf_siglip(root),
        "clap": make_tiny_clap(root),
        "clap_fused": make_tiny_clap(root, truncation="fusion"),
    }


def _images(n=3, h=40, w=52, seed=0):
    g = torch.Generator().manual_seed(seed)
    small = torch.rand(n, 3, h // 4, w // 4, generator=g)
    return torch.nn.functional.interpolate(small, size=(h, w), mode="bilinear").permute(0, 2, 3, 1).contiguous()


def _audio(n=2, channels=2, seconds=1.5, rate=16_000, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * rate)) / rate
    tones = torch.stack([torch.sin(2 * torch.pi * (220 + 110 * i) * t) for i in range(n)])[:, None, :]
    return 0.3 * tones.expand(n, channels, -1) + 0.05 * torch.randn(n, channels, t.numel(), generator=g)


def _load(kind, tiny):
    if kind == "open_clip":
        name, checkpoint = tiny["open_clip"]
        return load_open_clip(name, pretrained=str(checkpoint), device="cpu")
    if kind == "open_clip_dir":
        return load_open_clip(tiny["open_clip_dir"], device="cpu")
    return load_hf_clip(tiny[kind], device="cpu")


def _assert_rows(x, n, dim=None):
    assert x.dtype == torch.float32 and x.device.type == "cpu" and x.ndim == 2 and x.shape[0] == n
    if dim is not None:
        assert x.shape[1] == dim
    assert torch.allclose(x.norm(dim=1), torch.ones(n), atol=1e-5)


# --------------------------------------------------------------------------------------------
# Image encoders: shared behaviour


IMAGE_KINDS = ["open_clip", "open_clip_dir", "hf_clip", "hf_siglip"]


@pytest.mark.parametrize("kind", IMAGE_KINDS)
def test_image_encoder_shapes_norms_and_determinism(kind, tiny):
    enc = _load(kind, tiny)
    texts, images = enc.encode_text(TEXTS), enc.encode_image(_images())
    _assert_rows(texts, len(TEXTS))
    _assert_rows(images, 3, texts.shape[1])
    assert enc.modalities == frozenset({"image"}) and isinstance(enc.key, str) and enc.key
    assert torch.equal(texts, enc.encode_text(TEXTS))
    assert torch.equal(images, enc.encode_image(_images()))
    assert enc.encode_text([]).shape == (0, texts.shape[1])


@pytest.mark.parametrize("kind", IMAGE_KINDS)
def test_image_encoder_batch_equals_one_at_a_time(kind, tiny):
    enc = _load(kind, tiny)
    enc.text_batch_size, enc.image_batch_size = 3, 2  # also exercises chunking
    texts, images = enc.encode_text(TEXTS), enc.encode_image(_images(5))
    singles_t = torch.cat([enc.encode_text([t]) for t in TEXTS])
    singles_i = torch.cat([enc.encode_image(img[None]) for img in _images(5)])
    assert torch.allclose(texts, singles_t, atol=1e-5)
    assert torch.allclose(images, singles_i, atol=1e-5)


@pytest.mark.parametrize("kind", IMAGE_KINDS)
def test_image_encoder_is_cached_once(kind, tiny):
    loads = MODEL_CACHE.loads
    first, second = _load(kind, tiny), _load(kind, tiny)
    assert first is second
    assert MODEL_CACHE.loads == loads + 1


def test_grayscale_and_alpha_are_converted(tiny):
    enc = _load("hf_clip", tiny)
    rgb = _images(2)
    gray = rgb.mean(dim=-1, keepdim=True)
    assert torch.allclose(enc.encode_image(gray), enc.encode_image(gray.expand(-1, -1, -1, 3)), atol=1e-6)
    opaque = torch.cat([rgb, torch.ones_like(rgb[..., :1])], dim=-1)
    assert torch.allclose(enc.encode_image(opaque), enc.encode_image(rgb), atol=1e-6)
    transparent = torch.cat([rgb, torch.zeros_like(rgb[..., :1])], dim=-1)
    assert torch.allclose(enc.encode_image(transparent), enc.encode_image(torch.ones_like(rgb)), atol=1e-6)
    as_uint8 = (rgb * 255).round().to(torch.uint8)
    assert torch.allclose(enc.encode_image(as_uint8), enc.encode_image(as_uint8.float() / 255), atol=1e-6)


@pytest.mark.parametrize("bad, expected", [
    (torch.rand(40, 52, 3), "4-D"),
    (torch.rand(0, 40, 52, 3), "at least one image"),
    (torch.rand(1, 1, 52, 3), "at least 2 pixels"),
    (torch.rand(1, 40, 52, 2), "channels"),
    (torch.full((1, 8, 8, 3), float("nan")), "contains NaN/inf"),
    (torch.full((1, 8, 8, 3), float("inf")), "contains NaN/inf"),
    (torch.rand(1, 8, 8, 3) * 255, "values in 0..1"),
    (torch.zeros(1, 8, 8, 3, dtype=torch.int32), "float"),
    ([[0.5]], "torch tensor"),
])
def test_bad_images_name_the_input(bad, expected, tiny):
    enc = _load("open_clip", tiny)
    with pytest.raises(InputError) as err:
        enc.encode_image(bad)
    assert err.value.input_name == "image" and str(err.value).startswith("image:")
    assert expected in str(err.value)


def test_slightly_out_of_range_images_are_clamped_with_a_warning(tiny, caplog):
    enc = _load("open_clip", tiny)
    img = _images(1)
    img[0, 0, 0, 0] = 1.05
    img[0, 1, 1, 1] = -0.02
    with caplog.at_level(logging.WARNING, logger="mils.scorers._preprocess"):
        out = enc.encode_image(img)
    assert "clamped" in caplog.text
    assert torch.allclose(out, enc.encode_image(img.clamp(0, 1)), atol=1e-6)


def test_texts_must_be_a_list_of_strings(tiny):
    enc = _load("hf_clip", tiny)
    with pytest.raises(InputError, match="texts: expected a list of strings"):
        enc.encode_text("a cat")
    with pytest.raises(InputError, match=r"texts\[1\]"):
        enc.encode_text(["a cat", 3])


# --------------------------------------------------------------------------------------------
# open_clip specifics


def test_open_clip_preprocessing_matches_open_clip_transform(tiny):
    import open_clip
    from PIL import Image

    enc = _load("open_clip", tiny)
    cfg = open_clip.get_model_preprocess_cfg(enc.model)
    transform = open_clip.image_transform(cfg["size"], is_train=False, mean=cfg["mean"], std=cfg["std"],
                                          interpolation=cfg["interpolation"], resize_mode=cfg["resize_mode"])
    for h, w in [(48, 64), (100, 75), (20, 30)]:
        u8 = (_images(1, h, w) * 255).round().to(torch.uint8)
        reference = transform(Image.fromarray(u8[0].numpy()))[None]
        ours = enc.preprocess(u8.float() / 255)
        assert ours.shape == reference.shape
        assert (ours - reference).abs().max() < 0.05  # resampler differences only


def test_open_clip_key_and_checkpoint_argument(tiny):
    name, checkpoint = tiny["open_clip"]
    enc = load_open_clip(name, pretrained=str(checkpoint), device="cpu")
    assert enc.key.startswith(f"open_clip:{name}:tiny.safetensors@{os.path.getsize(checkpoint)}:")
    assert load_open_clip(name, checkpoint=checkpoint, device="cpu") is enc
    assert isinstance(enc, OpenClipEncoder)
    local_dir = _load("open_clip_dir", tiny)
    assert local_dir.resize_mode == "squash" and local_dir.mean == (0.5, 0.5, 0.5)


def test_open_clip_missing_checkpoint_names_the_path(tiny, tmp_path):
    name, _ = tiny["open_clip"]
    missing = tmp_path / "nowhere" / "weights.safetensors"
    with pytest.raises(ModelNotFoundError, match=str(missing)):
        load_open_clip(name, pretrained=str(missing), device="cpu")
    with pytest.raises(ModelNotFoundError, match="nowhere"):
        load_open_clip(f"local-dir:{tmp_path / 'nowhere'}", device="cpu")


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_open_clip_corrupt_checkpoint_is_a_clear_error(tiny, tmp_path, suffix):
    name, _ = tiny["open_clip"]
    corrupt = tmp_path / f"corrupt{suffix}"
    corrupt.write_bytes(os.urandom(4096))
    with pytest.raises(InputError) as err:
        load_open_clip(name, pretrained=str(corrupt), device="cpu")
    assert str(corrupt) in str(err.value) and "not a valid model file" in str(err.value)
    assert err.value.input_name == "pretrained"


def test_open_clip_offline_tag_says_how_to_download():
    with pytest.raises(ModelNotFoundError) as err:
        load_open_clip("ViT-B-32", "laion2b_s34b_b79k", device="cpu")
    msg = str(err.value)
    assert "hf download laion/CLIP-ViT-B-32-laion2B-s34B-b79K" in msg and "--local-dir" in msg
    assert "pretrained=" in msg


def test_open_clip_bad_names_and_tags():
    with pytest.raises(InputError, match="model_name"):
        load_open_clip("ViT-B-33", "laion2b_s34b_b79k", device="cpu")
    with pytest.raises(InputError, match="pretrained: expected a pretrained tag for ViT-B-32"):
        load_open_clip("ViT-B-32", "no_such_tag", device="cpu")
    with pytest.raises(InputError, match="pretrained"):
        load_open_clip("ViT-B-32", device="cpu")


# --------------------------------------------------------------------------------------------
# transformers CLIP / SigLIP / PickScore specifics


@pytest.mark.parametrize("kind", ["hf_clip", "hf_siglip"])
def test_hf_torch_preprocessing_matches_the_image_processor(kind, tiny):
    from PIL import Image

    enc = _load(kind, tiny)
    assert enc.torch_preprocessing
    for h, w in [(48, 64), (100, 75), (20, 30)]:
        u8 = (_images(1, h, w) * 255).round().to(torch.uint8)
        reference = enc.image_processor(images=[Image.fromarray(u8[0].numpy())], return_tensors="pt")
        ours = enc.preprocess(u8.float() / 255)["pixel_values"]
        assert ours.shape == reference["pixel_values"].shape
        assert (ours - reference["pixel_values"]).abs().max() < 0.05


def test_hf_processor_fallback_path_agrees_with_torch_path(tiny):
    enc = _load("hf_clip", tiny)
    fast = enc.encode_image(_images(2))
    enc.torch_preprocessing = False
    try:
        slow = enc.encode_image(_images(2))
    finally:
        enc.torch_preprocessing = True
    assert torch.allclose(fast, slow, atol=0.02)


def test_siglip_pads_texts_to_max_length(tiny):
    enc = _load("hf_siglip", tiny)
    clip = _load("hf_clip", tiny)
    assert enc.pad_to_max_length and not clip.pad_to_max_length
    ids = enc.tokenizer(["a cat"], padding="max_length", max_length=enc.max_length, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        out = enc.model.get_text_features(input_ids=ids)
    expected = torch.nn.functional.normalize(getattr(out, "pooler_output", out), dim=-1)
    assert torch.allclose(enc.encode_text(["a cat"]), expected, atol=1e-6)


def test_processor_from_another_source_and_pickscore(tiny):
    full = _load("hf_clip", tiny)
    weights_only = tiny["hf_clip_weights_only"]
    with pytest.raises(ModelNotFoundError, match="processor_source"):
        load_hf_clip(weights_only, device="cpu")
    enc = load_hf_clip(weights_only, processor_source=tiny["hf_clip"], device="cpu")
    assert isinstance(enc, HFClipEncoder) and enc is not full
    assert torch.allclose(enc.encode_text(TEXTS), full.encode_text(TEXTS), atol=1e-6)
    assert torch.allclose(enc.encode_image(_images()), full.encode_image(_images()), atol=1e-6)
    assert load_pickscore(weights_only, processor_source=tiny["hf_clip"], device="cpu") is enc


def test_hf_missing_folder_names_the_path(tmp_path):
    missing = tmp_path / "models" / "clip"
    with pytest.raises(ModelNotFoundError, match=str(missing)):
        load_hf_clip(missing, device="cpu")
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        load_hf_clip(tmp_path, device="cpu")


def test_hf_offline_hub_id_says_how_to_download(monkeypatch):
    with pytest.raises(ModelNotFoundError) as err:
        load_hf_clip("mils-test-org/no-such-clip", device="cpu")
    msg = str(err.value)
    assert "hf download mils-test-org/no-such-clip --local-dir" in msg and "source=" in msg
    monkeypatch.setitem(presets.PRESETS, "tiny-clip",
                        presets.Preset("tiny-clip", "hf_clip", "mils-test-org/no-such-clip", "a test preset", "1 MB"))
    with pytest.raises(ModelNotFoundError, match="mils download tiny-clip"):
        load_hf_clip("mils-test-org/no-such-clip", device="cpu")


def test_pickscore_defaults_offline_name_both_repos():
    with pytest.raises(ModelNotFoundError, match="yuvalkirstain/PickScore_v1"):
        load_pickscore(device="cpu")


def test_hf_corrupt_weights_are_a_clear_error(tiny, tmp_path):
    folder = tmp_path / "corrupt_clip"
    shutil.copytree(tiny["hf_clip"], folder)
    (folder / "model.safetensors").write_bytes(os.urandom(4096))
    with pytest.raises(InputError) as err:
        load_hf_clip(folder, device="cpu")
    assert str(folder) in str(err.value) and "not a valid model file" in str(err.value)


# --------------------------------------------------------------------------------------------
# CLAP


@pytest.mark.parametrize("kind", ["clap", "clap_fused"])
def test_clap_shapes_norms_determinism_and_batching(kind, tiny):
    enc = load_clap(tiny[kind], device="cpu")
    assert isinstance(enc, ClapEncoder) and enc.modalities == frozenset({"audio"})
    texts = enc.encode_text(TEXTS)
    _assert_rows(texts, len(TEXTS), TINY_EMBED_DIM)
    audio = _audio(3, seconds=2.5)  # longer than the tiny models' window: exercises random cropping
    emb = enc.encode_audio(audio, 16_000)
    _assert_rows(emb, 3, TINY_EMBED_DIM)
    assert torch.equal(emb, enc.encode_audio(audio, 16_000))
    singles = torch.cat([enc.encode_audio(a[None], 16_000) for a in audio])
    assert torch.allclose(emb, singles, atol=1e-5)
    assert torch.allclose(texts, torch.cat([enc.encode_text([t]) for t in TEXTS]), atol=1e-5)


def test_clap_resamples_and_downmixes(tiny):
    enc = load_clap(tiny["clap"], device="cpu")
    mono = _audio(2, channels=1, seconds=1.0, rate=48_000)
    stereo = mono.expand(-1, 2, -1)
    assert torch.allclose(enc.encode_audio(stereo, 48_000), enc.encode_audio(mono, 48_000), atol=1e-6)
    low = _audio(2, channels=1, seconds=1.0, rate=16_000)
    upsampled = pp.resample(low[:, 0], 16_000, 48_000)[:, None, :]
    assert torch.allclose(enc.encode_audio(low, 16_000), enc.encode_audio(upsampled, 48_000), atol=1e-5)


def test_clap_is_cached_once(tiny):
    loads = MODEL_CACHE.loads
    assert load_clap(tiny["clap"], device="cpu") is load_clap(str(tiny["clap"]), device="cpu")
    assert MODEL_CACHE.loads == loads + 1


@pytest.mark.parametrize("waveform, rate, name, expected", [
    (torch.zeros(1, 1, 0), 16_000, "audio", "empty audio"),
    (torch.zeros(2, 1, 800), 16_000, "audio", "is silent"),
    (torch.full((1, 1, 800), float("nan")), 16_000, "audio", "contains NaN/inf"),
    (torch.rand(1, 800), 16_000, "audio", "3-D"),
    (torch.rand(0, 1, 800), 16_000, "audio", "at least one clip"),
    (torch.rand(1, 1, 800), 0, "audio.sample_rate", "positive integer"),
    (torch.rand(1, 1, 800), 16_000.5, "audio.sample_rate", "positive integer"),
    (torch.rand(1, 1, 800), True, "audio.sample_rate", "positive integer"),
])
def test_bad_audio_names_the_input(waveform, rate, name, expected, tiny):
    enc = load_clap(tiny["clap"], device="cpu")
    with pytest.raises(InputError) as err:
        enc.encode_audio(waveform, rate)
    assert err.value.input_name == name and expected in str(err.value)


def test_clap_offline_and_missing_sources(tmp_path):
    with pytest.raises(ModelNotFoundError, match="hf download mils-test-org/no-such-clap"):
        load_clap("mils-test-org/no-such-clap", device="cpu")
    with pytest.raises(ModelNotFoundError, match=str(tmp_path / "a" / "b")):
        load_clap(tmp_path / "a" / "b", device="cpu")


def test_open_clip_offline_hf_tokenizer_says_how_to_download(tiny, tmp_path):
    import json

    import open_clip

    from devkit.tiny_models import TINY_OPEN_CLIP_CONFIG

    cfg = json.loads(json.dumps(TINY_OPEN_CLIP_CONFIG))
    cfg["text_cfg"]["hf_tokenizer_name"] = "mils-test-org/no-such-tokenizer"
    cfg_file = tmp_path / "mils-tiny-clip-hftok.json"
    cfg_file.write_text(json.dumps(cfg))
    open_clip.add_model_config(cfg_file)
    _, checkpoint = tiny["open_clip"]
    with pytest.raises(ModelNotFoundError) as err:
        load_open_clip("mils-tiny-clip-hftok", pretrained=str(checkpoint), device="cpu")
    assert "tokenizer of mils-tiny-clip-hftok" in str(err.value)
    assert "hf download mils-test-org/no-such-tokenizer" in str(err.value)
