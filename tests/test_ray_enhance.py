"""`mils enhance --prompts FILE`, one prompt after another and on Ray workers, on the tiny diffusers pipeline."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("diffusers")

from devkit.tiny_diffusers import PREVIEW  # noqa: E402
from mils.cli import main  # noqa: E402
from mils.cli.enhance import ENHANCE_FILES  # noqa: E402

PROMPTS = ["a red cat on a sofa", "A blue car, at night!"]
FOLDERS = ["0001-a-red-cat-on-a-sofa", "0002-a-blue-car-at-night"]


def _args(models, prompts, out, *extra):
    return ["enhance", "--prompts", str(prompts), "--pipeline", str(models["sd"]), "--llm", "py:devkit.toys:toy_llm",
            "--scorer", str(models["clip"]), "--device", "cpu", "--keep", "2", "--new", "3", "--steps", "1",
            "--preview-size", str(PREVIEW), "--preview-steps", "2", "--final-size", "32", "--final-steps", "2",
            "--out", str(out), "--quiet", *extra]


def _bests(out):
    return {d.name: (r["best_prompt"], r["best_score"]) for d in sorted(out.iterdir())
            for r in [json.loads((d / "result.json").read_text())]}


def test_prompts_locally_then_on_ray_give_the_same_results(tiny_pipelines, ray_session, tmp_path, capsys):
    text = tmp_path / "prompts.txt"
    text.write_text("\n".join(PROMPTS) + "\n")
    jsonl = tmp_path / "prompts.jsonl"
    jsonl.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in PROMPTS))
    local, remote = tmp_path / "local", tmp_path / "remote"

    assert main(_args(tiny_pipelines, text, local)) == 0
    assert sorted(p.name for p in local.iterdir()) == FOLDERS
    for folder in FOLDERS:
        assert sorted(p.name for p in (local / folder).iterdir()) == sorted(ENHANCE_FILES.values())
    assert json.loads((local / FOLDERS[1] / "result.json").read_text())["prompt"] == PROMPTS[1]

    assert main(_args(tiny_pipelines, jsonl, remote, "--ray", "--workers", "2")) == 0
    want, got = _bests(local), _bests(remote)
    assert sorted(got) == FOLDERS
    for folder in FOLDERS:  # a worker's torch runs with other thread counts: last-digit float differences
        assert got[folder][0] == want[folder][0] and got[folder][1] == pytest.approx(want[folder][1], abs=1e-5)

    capsys.readouterr()
    assert main(_args(tiny_pipelines, jsonl, remote, "--ray")) == 0
    assert "skipping 2 finished" in capsys.readouterr().err


def test_prompts_file_errors(tiny_pipelines, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a cat"}\n{"text": "a dog"}\n')
    assert main(_args(tiny_pipelines, bad, tmp_path / "o")) == 2
    assert f"--prompts: expected a JSON object with a \"prompt\" string, or a plain line, got {bad} line 2" in \
        capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert main(_args(tiny_pipelines, empty, tmp_path / "o")) == 2
    assert f"--prompts: expected a file with at least one prompt, got {empty}" in capsys.readouterr().err
    assert main(["enhance", "a cat", "--pipeline", str(tiny_pipelines["sd"]), "--ray"]) == 2
    assert "--ray: expected --prompts FILE" in capsys.readouterr().err
