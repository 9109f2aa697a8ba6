import json

import numpy as np
import pytest
from PIL import Image

from devkit.toys import ScriptedLLM
from mils.cli import main
from mils.cli.caption import RESULT_SUFFIX

TOYS = ["--llm", "py:devkit.toys:toy_llm", "--scorer", "py:devkit.toys:toy_encoder", "--quiet"]
SMALL = ["--keep", "4", "--new", "5", "--steps", "3", "--pool", "image"]


def _image(path, rgb):
    Image.fromarray(np.full((16, 16, 3), rgb, np.uint8)).save(path)
    return path


@pytest.fixture
def photos(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    _image(d / "red.png", (230, 20, 20))
    _image(d / "blue.jpg", (10, 10, 90))
    (d / "notes.txt").write_text("not media")
    return d


def test_caption_one_image_prints_json_with_history(photos, capsys):
    assert main(["caption", str(photos / "red.png"), *TOYS, *SMALL, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["task"] == "image_caption" and out["scorer"] == "colour-words"
    assert len(out["history"]) == 4
    assert out["best_score"] == max(h["best_score"] for h in out["history"])
    assert "red" in out["best_text"].lower() or "light" in out["best_text"].lower()


def test_caption_human_summary(photos, capsys):
    assert main(["caption", str(photos / "red.png"), *TOYS, *SMALL]) == 0
    out = capsys.readouterr().out
    assert out.startswith("red.png: ") and "best per round:" in out


def test_batch_writes_one_result_per_input_and_resumes(photos, tmp_path, capsys):
    out_dir = tmp_path / "results"
    assert main(["caption", str(photos), "--out", str(out_dir), *TOYS, *SMALL]) == 0
    files = sorted(p.name for p in out_dir.iterdir())
    assert files == ["blue.jpg" + RESULT_SUFFIX, "red.png" + RESULT_SUFFIX]
    first = (out_dir / ("red.png" + RESULT_SUFFIX)).read_text()

    # a half-written result (crash mid-write) and a leftover temp file must not count as finished
    (out_dir / ("blue.jpg" + RESULT_SUFFIX)).write_text('{"best_text": "a bl')
    (out_dir / (".red.png" + RESULT_SUFFIX + ".x.part")).write_text("junk")
    capsys.readouterr()
    assert main(["caption", str(photos), "--out", str(out_dir), *TOYS, *SMALL]) == 0
    captured = capsys.readouterr()
    assert "skipping 1 finished" in captured.err
    assert captured.out.startswith("blue.jpg: ")
    assert json.loads((out_dir / ("blue.jpg" + RESULT_SUFFIX)).read_text())["best_text"]
    assert (out_dir / ("red.png" + RESULT_SUFFIX)).read_text() == first


def test_missing_input_is_a_clear_error(tmp_path, capsys):
    assert main(["caption", str(tmp_path / "nope.jpg"), *TOYS]) == 2
    assert "input: expected an existing media file or folder" in capsys.readouterr().err


def test_unsupported_file_is_a_clear_error(photos, capsys):
    assert main(["caption", str(photos / "notes.txt"), *TOYS]) == 2
    assert "input: expected an image" in capsys.readouterr().err


def test_k_larger_than_pool_is_a_clear_error(photos, tmp_path, capsys):
    pool = tmp_path / "pool.txt"
    pool.write_text("a cat\na dog\n")
    assert main(["caption", str(photos / "red.png"), *TOYS, "--pool", str(pool), "--keep", "5"]) == 2
    assert "keep: expected K no larger than the pool (2 descriptions)" in capsys.readouterr().err


def test_missing_preset_without_download_names_the_command(photos, tmp_path, capsys):
    rc = main(["caption", str(photos / "red.png"), "--llm", "py:devkit.toys:toy_llm", "--scorer", "siglip-b16",
               "--models-dir", str(tmp_path / "models"), "--no-download", "--quiet"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "mils download siglip-b16 --models-dir" in err and str(tmp_path / "models") in err


def test_download_offline_is_a_clear_error(tmp_path, capsys):
    assert main(["download", "clip-vit-b32", "--models-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "cannot download clip-vit-b32" in err and "hf download" in err and "--scorer PATH" in err
    assert not (tmp_path / "mils" / "clip-vit-b32" / ".mils-complete").exists()


def test_presets_lists_models_and_budgets(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "siglip-b16" in out and "qwen2.5-1.5b-instruct" in out and "paper: K=50 N=50 T=10" in out


def target_words_llm():
    """For ``--llm py:test_cli:target_words_llm``: proposes the inverted target's words, with and without blue."""
    return ScriptedLLM(["1. light red blue\n2. light red"])


def test_invert_text_terms(capsys):
    assert main(["invert", "--term", "text:1:light red", "--term", "text:-0.5:blue", "--llm",
                 "py:test_cli:target_words_llm", "--scorer", "py:devkit.toys:toy_encoder", "--quiet", *SMALL,
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # the target's own words win, over every pool line and over the variant with the subtracted "blue"
    assert out["best"]["text"] == "light red" and out["best"]["step"] == 1
    assert out["best_score"] > out["history"][0]["best_score"]


def test_invert_needs_a_target(capsys):
    assert main(["invert", *TOYS]) == 2
    assert "--embedding FILE or at least one --term" in capsys.readouterr().err


def test_llm_url_needs_model(photos, capsys):
    assert main(["caption", str(photos / "red.png"), "--llm-url", "http://127.0.0.1:9/v1",
                 "--scorer", "py:devkit.toys:toy_encoder", "--quiet"]) == 2
    assert "--llm-model" in capsys.readouterr().err


def test_batch_goes_on_past_a_broken_file_and_reports_it(photos, tmp_path, capsys):
    (photos / "broken.png").write_bytes(b"not a png")
    out_dir = tmp_path / "results"
    assert main(["caption", str(photos), "--out", str(out_dir), *TOYS, *SMALL]) == 1
    err = capsys.readouterr().err
    assert "broken.png: image: expected a readable image file" in err and "1 of 3 input(s) failed" in err
    assert sorted(p.name for p in out_dir.iterdir()) == ["blue.jpg" + RESULT_SUFFIX, "red.png" + RESULT_SUFFIX]


def test_unknown_scorer_name_is_a_clear_error(photos, capsys):
    assert main(["caption", str(photos / "red.png"), "--llm", "py:devkit.toys:toy_llm", "--scorer", "sigclip-b16"]) == 2
    err = capsys.readouterr().err
    assert "sigclip-b16" in err and "siglip-b16" in err
