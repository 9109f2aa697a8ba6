"""`mils style` (style transfer) and `mils merge` (cross-modal arithmetic in text), end to end on tiny models.

The pipelines are devkit.tiny_diffusers' tiny random ones (an InstructPix2Pix folder and a text-to-image folder that
`mils style` runs as image-to-image); the Gram features are a two-convolution CNN (``tiny_features`` below, passed
as ``--features py:test_cli_style:tiny_features``); the LLM and encoder are devkit/toys.py's.
"""
import json
import wave

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

pytest.importorskip("diffusers")

from devkit.tiny_diffusers import components as _components, unet as _unet  # noqa: E402

from mils.cli import main  # noqa: E402
from mils.cli.style import STYLE_FILES, edit_size  # noqa: E402
from mils.merge import merge_prompt  # noqa: E402
from mils.scorers.gram_features import ModuleFeatures  # noqa: E402

TOY_LLM = ["--llm", "py:devkit.toys:toy_llm", "--quiet"]
CONTENT_SIZE = (44, 36)            # W x H: edited at 40x32 (--size 32), best.png back at 44x36


def tiny_features():
    """A two-convolution feature extractor for the Gram scorer (style: both taps, content: the second)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(4, 6, 3, padding=1,
                                                                                           stride=2))
    return ModuleFeatures(net, {"a": "0", "b": "2"}, key="tiny-cnn", content_layer="b")


def _image(path, size, seed):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    Image.fromarray(small).resize(size, Image.Resampling.BILINEAR).save(path)
    return path


def _png_size(path):
    with Image.open(path) as im:
        assert im.format == "PNG"
        return im.size


@pytest.fixture(scope="module")
def pipes(tmp_path_factory):
    from diffusers import (
        EulerAncestralDiscreteScheduler,
        StableDiffusionInstructPix2PixPipeline,
        StableDiffusionPipeline,
    )

    root = tmp_path_factory.mktemp("style-pipes")
    parts = _components()
    StableDiffusionPipeline(**parts).save_pretrained(root / "sd")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        unet8 = _unet(8).eval()
    StableDiffusionInstructPix2PixPipeline(**{**parts, "unet": unet8, "scheduler": EulerAncestralDiscreteScheduler
                                              .from_config(parts["scheduler"].config)}).save_pretrained(root / "ip2p")
    return {"sd": root / "sd", "ip2p": root / "ip2p"}


@pytest.fixture
def images(tmp_path):
    return {"content": _image(tmp_path / "photo.png", CONTENT_SIZE, 0),
            "style": _image(tmp_path / "style.jpg", (30, 50), 1)}


def _style_args(images, pipeline, out, *extra):
    return ["style", str(images["content"]), str(images["style"]), "--pipeline", str(pipeline),
            "--features", "py:test_cli_style:tiny_features", *TOY_LLM, "--device", "cpu", "--dtype", "float32",
            "--size", "32", "--edit-steps", "2", "--out", str(out), *extra]


def test_edit_size_keeps_the_aspect_with_the_shorter_side_at_size():
    assert edit_size(44, 36, 32) == (40, 32)
    assert edit_size(1024, 768, 256) == (344, 256)
    assert edit_size(300, 300, 256) == (256, 256)


def test_style_end_to_end_instruct_pix2pix(pipes, images, tmp_path, capsys):
    out = tmp_path / "styled"
    args = _style_args(images, pipes["ip2p"], out, "--preset", "preview", "--keep", "3", "--new", "4",
                       "--steps", "2", "--json")
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in out.iterdir()) == sorted(STYLE_FILES.values())  # no temp files left
    res = json.loads((out / "result.json").read_text())
    assert res == printed
    assert res["task"] == "style_transfer" and res["mode"] == "instruct" and res["features"] == "tiny-cnn"
    assert res["pool"] == "edit" and res["pool_size"] == 16          # the shipped pool, subsampled by preview
    assert len(res["history"]) == 3 and res["direction"] == "minimize"
    assert res["settings"]["edit_size"] == [40, 32] and res["settings"]["content_size"] == list(CONTENT_SIZE)
    assert res["settings"]["render_seed"] == 2024 and res["settings"]["content_scored"] is True

    # the best is the lowest combined score: of the top K, of every round, and = 1000 * style + 1 * content
    top = res["top"]
    assert len(top) == 3 and [t["rank"] for t in top] == [1, 2, 3]
    assert res["best_score"] == top[0]["score"] == min(t["score"] for t in top)
    assert res["best_score"] == min(h["best_score"] for h in res["history"])
    assert [t["score"] for t in top] == sorted(t["score"] for t in top)
    for t in top:
        assert t["score"] == pytest.approx(1000 * t["style"] + t["content"], rel=1e-4)
        assert t["weighted"] == pytest.approx([1000 * t["style"], t["content"]])
    assert res["best_instruction"] == res["best_text"] == top[0]["text"]
    assert (out / "best_instruction.txt").read_text().strip() == res["best_text"]

    assert _png_size(out / "best.png") == CONTENT_SIZE                 # the content image's size
    sheet_w, sheet_h = _png_size(out / "runner_ups.png")
    assert sheet_w >= 3 * 40 and sheet_h > 32                          # the top 3 edits side by side


def test_style_img2img_with_a_pool_file_and_human_summary(pipes, images, tmp_path, capsys):
    pool = tmp_path / "pool.txt"
    pool.write_text("make it red\nturn it into a sketch\nwatercolor\n")
    out = tmp_path / "img2img"
    args = _style_args(images, pipes["sd"], out, "--pool", str(pool), "--keep", "2", "--new", "2", "--steps", "1",
                       "--strength", "0.5")
    assert main(args) == 0
    text = capsys.readouterr().out
    assert text.startswith("style: ") and f"saved in {out}" in text and "(img2img) at 40x32" in text
    res = json.loads((out / "result.json").read_text())
    assert res["mode"] == "img2img" and res["pool"] == str(pool) and res["pool_size"] == 3
    assert _png_size(out / "best.png") == CONTENT_SIZE


def test_style_errors_name_the_input(pipes, images, tmp_path, capsys):
    missing = tmp_path / "nope.png"
    args = _style_args(images, pipes["ip2p"], tmp_path / "o1")
    args[1] = str(missing)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "content_image: expected an existing file" in err and str(missing) in err

    tiny = tmp_path / "dot.png"
    Image.new("RGB", (1, 1), (255, 0, 0)).save(tiny)
    args = _style_args(images, pipes["ip2p"], tmp_path / "o2")
    args[2] = str(tiny)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "style_image: expected an image of at least 2x2 pixels" in err and str(tiny) in err

    not_pipeline = tmp_path / "not_a_pipeline"
    not_pipeline.mkdir()
    (not_pipeline / "readme.txt").write_text("hello")
    assert main(_style_args(images, not_pipeline, tmp_path / "o3")) == 2
    err = capsys.readouterr().err
    assert "pipeline: expected a diffusers pipeline folder" in err and str(not_pipeline) in err

    assert main(_style_args(images, pipes["ip2p"], tmp_path / "o4", "--size", "30")) == 2
    assert "--size: expected a multiple of 8" in capsys.readouterr().err
    assert not any((tmp_path / f"o{i}").exists() for i in range(1, 5))


# ------------------------------------------------------------------------------------------ mils merge


def _wav(path, seconds=0.5, sr=16000, amplitude=0.5):
    t = np.arange(int(seconds * sr)) / sr
    samples = (amplitude * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(samples.tobytes())
    return path


MERGE_TOYS = [*TOY_LLM, "--scorer-image", "py:devkit.toys:toy_encoder", "--scorer-audio", "py:devkit.toys:toy_encoder",
              "--preset", "preview", "--keep", "3", "--new", "4", "--steps", "2"]


@pytest.fixture
def merge_inputs(tmp_path):
    photo = tmp_path / "red.png"
    Image.fromarray(np.full((16, 16, 3), (230, 20, 20), np.uint8)).save(photo)
    return [photo, _wav(tmp_path / "tone.wav")]


def test_merge_prints_captions_and_a_merged_prompt(merge_inputs, capsys):
    assert main(["merge", *map(str, merge_inputs), *MERGE_TOYS]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "captions:"
    assert lines[1].startswith("  red.png (image, score ") and lines[2].startswith("  tone.wav (audio, score ")
    assert lines[3].startswith("merged prompt: ") and len(lines[3]) > len("merged prompt: ")


def test_merge_json(merge_inputs, capsys):
    assert main(["merge", *map(str, merge_inputs), *MERGE_TOYS, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [i["kind"] for i in out["inputs"]] == ["image", "audio"]
    assert [i["task"] for i in out["inputs"]] == ["image_caption", "audio_caption"]
    for i in out["inputs"]:
        assert i["caption"] and i["caption"] == i["search"]["best_text"] and i["scorer"] == "colour-words"
        assert i["score"] == max(h["best_score"] for h in i["search"]["history"])
    assert out["merged_prompt"] and out["llm"] == "toy-llm" and out["enhance"] is None
    # the instruction sent to the LLM holds every caption
    assert out["merge_instruction"] == merge_prompt([(i["kind"], i["caption"]) for i in out["inputs"]], 77)
    assert all(i["caption"] in out["merge_instruction"] for i in out["inputs"])


def test_merge_errors(merge_inputs, tmp_path, capsys):
    assert main(["merge", str(merge_inputs[0]), str(tmp_path / "gone.wav"), *MERGE_TOYS]) == 2
    assert "input: expected an existing image, audio or video file" in capsys.readouterr().err
    assert main(["merge", *map(str, merge_inputs), *MERGE_TOYS, "--then-enhance"]) == 2
    assert "--pipeline: expected" in capsys.readouterr().err


def test_merge_then_enhance_runs_mils_enhance_on_the_merged_prompt(merge_inputs, pipes, tmp_path, capsys):
    out = tmp_path / "enhanced"
    args = ["merge", *map(str, merge_inputs), *MERGE_TOYS, "--then-enhance", "--pipeline", str(pipes["sd"]),
            "--scorer", "py:devkit.toys:toy_encoder", "--device", "cpu", "--dtype", "float32", "--preview-size", "32",
            "--preview-steps", "2", "--final-size", "32", "--final-steps", "2", "--out", str(out), "--json"]
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    res = json.loads((out / "result.json").read_text())
    assert printed["enhance"] == res
    assert res["prompt"] == printed["merged_prompt"] and res["task"] == "t2i_enhance"
    assert [m["caption"] for m in res["merged_from"]] == [i["caption"] for i in printed["inputs"]]
    assert res["history"][0]["leaderboard"][0]["text"] == printed["merged_prompt"]
    assert (out / "after.png").is_file() and (out / "best_prompt.txt").read_text().strip() == res["best_prompt"]
