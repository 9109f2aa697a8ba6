"""`mils enhance --prompts FILE` in lockstep batches (--batch) on the tiny diffusers pipeline: each prompt
its own folder and the result it gets alone, a failing prompt fails alone and resumes, finished ones are
never rewritten."""
from __future__ import annotations

import json
import os

import pytest

pytest.importorskip("diffusers")

from devkit.tiny_diffusers import PREVIEW  # noqa: E402
from devkit.toys import ToyLLM  # noqa: E402
from mils.cli import main  # noqa: E402
from mils.cli.enhance import ENHANCE_FILES  # noqa: E402
from mils.cli.enhance_prompts import STATE_FILE  # noqa: E402
from mils.errors import GeneratorError  # noqa: E402

PROMPTS = ["a red cat on a sofa", "a blue car at night", "green trees by a lake"]
FOLDERS = ["0001-a-red-cat-on-a-sofa", "0002-a-blue-car-at-night", "0003-green-trees-by-a-lake"]


class CarOutageLLM(ToyLLM):
    """The toy LLM, whose server goes away for the car prompt from its $MILS_TEST_CAR_OUTAGE-th call on."""

    def __init__(self):
        super().__init__()
        self.car_calls = 0

    def generate(self, prompt, params):
        if "blue car" in prompt:
            self.car_calls += 1
            outage_at = int(os.environ.get("MILS_TEST_CAR_OUTAGE", "0"))
            if outage_at and self.car_calls >= outage_at:
                raise GeneratorError("the LLM server went away (test)")
        return super().generate(prompt, params)


def car_outage_llm():
    return CarOutageLLM()


def _common(models, out, llm="py:devkit.toys:toy_llm"):
    return ["--pipeline", str(models["sd"]), "--llm", llm, "--scorer", str(models["clip"]), "--device", "cpu",
            "--keep", "2", "--new", "3", "--steps", "2", "--patience", "0", "--preview-size", str(PREVIEW),
            "--preview-steps", "2", "--final-size", "32", "--final-steps", "2", "--out", str(out), "--quiet"]


def _result(folder):
    return json.loads((folder / ENHANCE_FILES["result"]).read_text())


def _prompts_file(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("\n".join(PROMPTS) + "\n")
    return path


def test_a_batch_gives_each_prompt_the_result_it_gets_alone(tiny_pipelines, tmp_path):
    batched = tmp_path / "batched"
    prompts = _prompts_file(tmp_path)
    assert main(["enhance", "--prompts", str(prompts), "--batch", "3", *_common(tiny_pipelines, batched)]) == 0
    assert sorted(p.name for p in batched.iterdir()) == FOLDERS
    for prompt, folder in zip(PROMPTS, FOLDERS):
        got = _result(batched / folder)
        assert sorted(p.name for p in (batched / folder).iterdir()) == sorted(ENHANCE_FILES.values())  # no state left
        alone = tmp_path / f"alone-{folder}"
        assert main(["enhance", prompt, *_common(tiny_pipelines, alone)]) == 0
        want = _result(alone)
        assert got["prompt"] == prompt and got["stopped"] == "steps" and got["number"] == FOLDERS.index(folder) + 1
        assert got["best_prompt"] == want["best_prompt"]
        assert got["best_score"] == pytest.approx(want["best_score"], abs=1e-5)  # batched renders: last-digit noise
        assert [[s["text"] for s in h["leaderboard"]] for h in got["history"]] == \
            [[s["text"] for s in h["leaderboard"]] for h in want["history"]]
        assert got["renders"] == want["renders"] and got["llm_calls"] == want["llm_calls"]
    assert len({_result(batched / f)["best_prompt"] for f in FOLDERS}) == 3


def test_an_outage_fails_that_prompt_alone_and_the_rerun_resumes_it(tiny_pipelines, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    args = ["enhance", "--prompts", str(_prompts_file(tmp_path)), "--batch", "2",
            *_common(tiny_pipelines, out, llm="py:test_enhance_batch:car_outage_llm")]
    monkeypatch.setenv("MILS_TEST_CAR_OUTAGE", "2")             # round 1 finishes, round 2's call fails
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"{FOLDERS[1]}: stopped at round 1" in err and "rerun to resume" in err
    assert f"1 of 3 prompt(s) failed: {FOLDERS[1]}" in err
    kept = _result(out / FOLDERS[1])
    assert kept["stopped"] == "error" and "went away" in kept["error"] and len(kept["history"]) == 2
    assert kept["best_prompt"] == kept["history"][-1]["leaderboard"][0]["text"]   # the best so far is kept
    assert (out / FOLDERS[1] / STATE_FILE).is_file()
    finished = {f: (out / f / ENHANCE_FILES["result"]).read_bytes() for f in (FOLDERS[0], FOLDERS[2])}
    assert all(_result(out / f)["stopped"] == "steps" for f in finished)

    monkeypatch.delenv("MILS_TEST_CAR_OUTAGE")
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "skipping 2 finished" in err
    resumed = _result(out / FOLDERS[1])
    assert resumed["stopped"] == "steps" and resumed["resumed_from"] == 1 and len(resumed["history"]) == 3
    assert not (out / FOLDERS[1] / STATE_FILE).exists()
    assert {f: (out / f / ENHANCE_FILES["result"]).read_bytes() for f in finished} == finished  # never rewritten
    uninterrupted = tmp_path / "uninterrupted"
    assert main(["enhance", PROMPTS[1], *_common(tiny_pipelines, uninterrupted)]) == 0
    assert resumed["best_prompt"] == _result(uninterrupted)["best_prompt"]


@pytest.mark.parametrize("extra, message", [
    (["--batch", "0"], "--batch: expected at least 1 prompt per lockstep batch, got 0"),
    (["--batch", "-2"], "--batch: expected at least 1 prompt per lockstep batch, got -2"),
])
def test_bad_batch_names_the_option(tiny_pipelines, tmp_path, capsys, extra, message):
    out = tmp_path / "o"
    assert main(["enhance", "--prompts", str(_prompts_file(tmp_path)), *extra, *_common(tiny_pipelines, out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_empty_prompts_file_and_batch_without_prompts(tiny_pipelines, tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    assert main(["enhance", "--prompts", str(empty), "--batch", "2", *_common(tiny_pipelines, tmp_path / "o")]) == 2
    assert f"--prompts: expected a file with at least one prompt, got {empty}" in capsys.readouterr().err
    assert main(["enhance", "a cat", "--batch", "2", *_common(tiny_pipelines, tmp_path / "o")]) == 2
    assert "--batch: expected --prompts FILE as well" in capsys.readouterr().err


def test_the_searches_of_a_batch_share_pipeline_calls(tiny_pipelines):
    import math

    from mils.jobs import Job, run_jobs
    from mils.renderers import DiffusersRenderer, load_diffusers_pipeline
    from mils.scorers.hf_clip import load_hf_clip

    pipe = load_diffusers_pipeline(str(tiny_pipelines["sd"]), "cpu", "float32")
    renderer = DiffusersRenderer(pipe, width=PREVIEW, height=PREVIEW, steps=2, batch_size=4)
    encoder, llm = load_hf_clip(str(tiny_pipelines["clip"])), ToyLLM()
    jobs = [Job("t2i_enhance", llm, encoder, renderer=renderer, prompt=p, render_batch=4,
                overrides={"keep": 2, "new_per_step": 3, "steps": 1, "patience": 0}) for p in PROMPTS]
    out = run_jobs(jobs)
    assert [o.result.stopped for o in out] == ["steps"] * 3
    new = sum(o.result.history[1].new for o in out)
    # the three prompts in one pipeline call, then the round's new candidates of all three, 4 per call
    assert renderer.pipeline_calls == 1 + math.ceil(new / 4) < 2 * len(PROMPTS)
