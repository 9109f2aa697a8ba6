"""X-CLIP as the video scorer, on a tiny random-weight XCLIPModel saved to a folder and loaded like a user's.

The reference is transformers' own forward pass: XCLIPProcessor on the same frames, XCLIPModel's
``logits_per_video``.
"""
from __future__ import annotations

import functools
import json
import shutil

import numpy as np
import pytest
import torch

from devkit.toys import ScriptedLLM, toy_encoder
from devkit.tiny_models import make_tiny_xclip
from mils import registry
from mils.errors import InputError
from mils.jobs import Job, prepare, run_job
from mils.media import Media
from mils.scorers.embedding import EmbeddingScorer
from mils.scorers.xclip import XClipModel, XClipVideoScorer

TEXTS = ["a cat", "a dog on a red sofa in the sun", "cat dog", "the sky"]
NUM_FRAMES = 4   # the tiny model's config


pytestmark = pytest.mark.usefixtures("empty_model_cache")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_tiny_xclip(tmp_path_factory.mktemp("xclip"), num_frames=NUM_FRAMES)


def clip(n: int, seed: int = 0) -> torch.Tensor:
    """n frames of 32x32 pixels on the 8-bit grid (so the processor's uint8 input is the same picture)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 32, 32, 3), generator=g).float() / 255.0


@functools.lru_cache(maxsize=2)
def reference_model(folder):
    from transformers import XCLIPModel, XCLIPProcessor

    return XCLIPModel.from_pretrained(folder).eval(), XCLIPProcessor.from_pretrained(folder)


def reference_logits(folder, frames: torch.Tensor, texts) -> list[float]:
    model, processor = reference_model(folder)
    arrays = [(f * 255).round().to(torch.uint8).numpy() for f in frames]
    inputs = processor(text=list(texts), videos=arrays, return_tensors="pt", padding=True, truncation=True)
    pixels = inputs["pixel_values"]
    inputs["pixel_values"] = pixels if pixels.ndim == 5 else pixels[None]   # one video of F frames
    with torch.no_grad():
        return model(**inputs).logits_per_video[0].tolist()


def load(folder) -> XClipModel:
    model = registry.load_scorer_model(str(folder), device="cpu", dtype="float32")
    assert isinstance(model, XClipModel)
    return model


def test_a_folder_is_detected_and_loaded_as_xclip(folder):
    assert registry.detect_scorer_kind(folder) == "xclip"
    model = load(folder)
    assert model.num_frames == NUM_FRAMES and model.modalities == frozenset({"video"})
    assert registry.load_scorer_model(f"xclip:{folder}", device="cpu", dtype="float32") is model  # cached


def test_score_equals_the_models_own_logits_per_video(folder):
    frames = clip(NUM_FRAMES)
    scorer = load(folder).caption_scorer(Media("video", images=frames))
    assert isinstance(scorer, XClipVideoScorer) and scorer.direction == "maximize"
    expected = reference_logits(folder, frames, TEXTS)
    assert scorer.score(TEXTS) == pytest.approx(expected, abs=1e-4)
    assert scorer.score_pool(TEXTS) == pytest.approx(expected, abs=1e-4)
    assert scorer.score(TEXTS[::-1]) == pytest.approx(expected[::-1], abs=1e-4)   # one text's score alone


def test_the_processors_own_pixels_give_the_same_scores(folder):
    """The hub's layout names VideoMAE's image processor: reproduced in torch, or run as it is."""
    model = load(folder)
    assert type(model.image_processor).__name__ == "VideoMAEImageProcessor" and model.torch_preprocessing
    frames = clip(NUM_FRAMES, seed=6)
    in_torch = model.caption_scorer(Media("video", images=frames)).score(TEXTS)
    model.torch_preprocessing = False
    try:
        through_processor = model.caption_scorer(Media("video", images=frames)).score(TEXTS)
    finally:
        model.torch_preprocessing = True
    assert through_processor == pytest.approx(in_torch, abs=1e-4)


def test_frames_are_sampled_evenly_to_the_models_count(folder):
    frames = clip(10, seed=1)
    scorer = load(folder).caption_scorer(Media("video", images=frames))
    evenly = frames[[0, 3, 6, 9]]   # 4 frames evenly over 10
    assert scorer.score(TEXTS) == pytest.approx(reference_logits(folder, evenly, TEXTS), abs=1e-4)
    short = clip(2, seed=2)         # fewer frames than the model takes: repeated in order
    scorer = load(folder).caption_scorer(Media("video", images=short))
    assert scorer.score(TEXTS) == pytest.approx(reference_logits(folder, short[[0, 0, 1, 1]], TEXTS), abs=1e-4)


def test_the_video_changes_the_scores(folder):
    model = load(folder)
    a = model.caption_scorer(Media("video", images=clip(NUM_FRAMES, seed=3))).score(TEXTS)
    b = model.caption_scorer(Media("video", images=clip(NUM_FRAMES, seed=4))).score(TEXTS)
    assert max(abs(x - y) for x, y in zip(a, b)) > 1e-3


@pytest.mark.parametrize("media, name", [
    (Media("image", images=clip(1)), "image"),
    (Media("video", images=clip(1)), "video"),
    (Media("audio", waveform=torch.zeros(1, 1, 100), sample_rate=16000), "audio"),
])
def test_a_single_image_or_a_sound_is_refused_by_name(folder, media, name):
    with pytest.raises(InputError, match=rf"^{name}: expected a video \(several frames\) for the X-CLIP"):
        load(folder).caption_scorer(media)


def test_xclip_refuses_embedding_uses_by_name(folder):
    model = load(folder)
    with pytest.raises(InputError, match="scorer: expected an embedding model"):
        prepare(Job("invert", ScriptedLLM(["1. a cat"]), model, prompt="a cat", pool=["a cat", "a dog"],
                    overrides={"keep": 1}))
    with pytest.raises(InputError, match="scorer: expected an image-text scorer to rate renders"):
        model.prompt_image_scorer("a cat")


def test_video_caption_job_scores_with_xclip_and_images_models_average_frames(folder):
    frames = clip(6, seed=5)
    llm = ScriptedLLM(["1. a cat on a sofa\n2. a dog in the sky"])
    job = Job("video_caption", llm, load(folder), media=Media("video", images=frames), pool=TEXTS,
              overrides={"keep": 2, "new_per_step": 2, "steps": 1, "patience": 1})
    done = run_job(job)
    assert isinstance(done.scorer, XClipVideoScorer)
    best = done.result.best_text
    direct = reference_logits(folder, frames[[0, 2, 3, 5]], [best])[0]
    assert done.result.best_score == pytest.approx(direct, abs=1e-4)
    image_model = prepare(Job("video_caption", llm, toy_encoder(), media=Media("video", images=frames), pool=TEXTS,
                              overrides={"keep": 2}))
    assert isinstance(image_model.scorer, EmbeddingScorer)


def test_xclip_preset_loads_from_the_models_folder(folder, tmp_path):
    preset = registry.PRESETS["xclip-b32"]
    assert preset.kind == "xclip" and preset.repo_id == "microsoft/xclip-base-patch32"
    target = registry.preset_dir(preset, tmp_path)
    shutil.copytree(folder, target)
    (target / ".mils-complete").write_text(preset.repo_id)
    assert isinstance(registry.load_scorer_model("xclip-b32", models_dir=tmp_path, device="cpu", dtype="float32"),
                      XClipModel)


def _write_video(path, n: int = 12):
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(n):
            arr = np.full((32, 32, 3), (i * 20) % 256, np.uint8)
            arr[: 16, :, 0] = 255 - i * 10
            for pkt in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    return path


def test_cli_captions_a_video_with_xclip(folder, tmp_path, capsys):
    from mils.cli import main

    video = _write_video(tmp_path / "clip.mp4")
    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(TEXTS + ["a red car", "a blue sea"]) + "\n")
    rc = main(["caption", str(video), "--llm", "py:devkit.toys:toy_llm", "--scorer", f"xclip:{folder}", "--quiet",
               "--json", "--keep", "2", "--new", "3", "--steps", "1", "--pool", str(pool), "--device", "cpu"])
    out = capsys.readouterr().out
    assert rc == 0, out
    payload = json.loads(out)
    assert payload["kind"] == "video" and payload["scorer"].startswith("xclip:")
    assert payload["best_text"]
