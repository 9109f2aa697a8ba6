"""`mils enhance --scorer vlm:... --concepts parse` and `mils eval enhance --judge vlm:...` on tiny tiny_pipelines."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("diffusers")

from devkit.tiny_diffusers import PREVIEW  # noqa: E402

from devkit.tiny_vlm import make_tiny_qwen3_vl  # noqa: E402
from mils import registry  # noqa: E402
from mils.cli import main  # noqa: E402
from mils.media import load_image  # noqa: E402
from mils.scorers.concepts import parse_concepts  # noqa: E402

PROMPT = "a red cube, a blue ball and a lamp"
QUESTION = "Is there <text> in this image ? Answer yes or no ."


@pytest.fixture(scope="module")
def vlm(tmp_path_factory):
    return make_tiny_qwen3_vl(tmp_path_factory.mktemp("cli-vlm") / "vlm")


def _enhance(tiny_pipelines, vlm, out, *extra):
    return ["enhance", PROMPT, "--pipeline", str(tiny_pipelines["sd"]), "--llm", "py:devkit.toys:toy_llm",
            "--scorer", f"vlm:{vlm}", "--device", "cpu", "--dtype", "float32", "--keep", "2", "--new", "2",
            "--steps", "1", "--preview-size", str(PREVIEW), "--preview-steps", "1", "--final-size", "32",
            "--final-steps", "1", "--out", str(out), "--quiet", *extra]


def test_enhance_with_concepts_then_judge_with_the_plain_question(tiny_pipelines, vlm, tmp_path, capsys):
    out = tmp_path / "runs" / "one"
    assert main(_enhance(tiny_pipelines, vlm, out, "--concepts", "parse", "--vlm-question", QUESTION)) == 0
    res = json.loads((out / "result.json").read_text())
    assert res["scorer"].startswith("vlm:") and res["scorer"].endswith("|concepts=parse")
    judge = registry.load_scorer_model(f"vlm:{vlm}", device="cpu", dtype="float32")
    concepts = parse_concepts(PROMPT)
    after = load_image(out / "after.png")
    asked = judge.with_options(question=QUESTION).yes_probs(after.repeat(len(concepts), 1, 1, 1), concepts)
    assert res["final_scores"]["after"] == pytest.approx(sum(asked) / len(concepts), abs=1e-5)
    for rec in res["history"]:
        for s in rec["leaderboard"]:
            assert s["shown"].startswith(f"{s['score']:.3f}")

    capsys.readouterr()
    report_dir = tmp_path / "report"
    assert main(["eval", "enhance", str(tmp_path / "runs"), "--judge", f"vlm:{vlm}", "--device", "cpu",
                 "--dtype", "float32", "--resamples", "50", "--out", str(report_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["judge"] == judge.key and report["optimised_by"] == [res["scorer"]]
    run = report["per_run"][0]
    before = load_image(out / "before.png")
    assert run["before"] == pytest.approx(judge.yes_probs(before, [PROMPT])[0], abs=1e-5)
    assert run["after"] == pytest.approx(judge.yes_probs(after, [PROMPT])[0], abs=1e-5)


def test_vlm_options_need_a_vlm_scorer(tiny_pipelines, vlm, tmp_path, capsys):
    args = _enhance(tiny_pipelines, vlm, tmp_path / "x", "--concepts", "parse")
    args[args.index("--scorer") + 1] = str(tiny_pipelines["clip"])
    assert main(args) == 2
    assert "--vlm-question/--concepts: expected a VLM judge" in capsys.readouterr().err
    assert main(_enhance(tiny_pipelines, vlm, tmp_path / "y", "--vlm-question", "Is it nice?")) == 2
    err = capsys.readouterr().err
    assert "--vlm-question: expected a question with {} or <text>" in err and "Is it nice?" in err
