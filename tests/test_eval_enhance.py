"""`mils eval enhance`: win rate and bootstrap CI under a judge other than the optimiser, on synthetic runs."""
import json
import math

import pytest
from PIL import Image

from mils.cli import main
from mils.errors import InputError
from mils.evaluation import bootstrap_ci, evaluate_enhance, find_enhance_runs

LIGHT_RED, DARK_BLUE = (230, 40, 40), (10, 10, 90)
PROMPT = "a light red picture"
# (before, after): four wins, one loss, one tie for a judge that sees "light red" in a light red picture
RUNS = [(DARK_BLUE, LIGHT_RED)] * 4 + [(LIGHT_RED, DARK_BLUE), (LIGHT_RED, LIGHT_RED)]


def _write_runs(root, runs=RUNS, scorer="colour-words"):
    for i, (before, after) in enumerate(runs):
        d = root / f"run{i}"
        d.mkdir(parents=True)
        Image.new("RGB", (32, 32), before).save(d / "before.png")
        Image.new("RGB", (32, 32), after).save(d / "after.png")
        payload = {"prompt": PROMPT, "best_prompt": f"{PROMPT}, rewrite {i}", "task": "t2i_enhance",
                   "scorer": scorer, "files": {"before": "before.png", "after": "after.png",
                                               "result": "result.json"}}
        (d / "result.json").write_text(json.dumps(payload))
    return root


@pytest.fixture
def runs(tmp_path):
    return _write_runs(tmp_path / "runs")


def test_win_rate_and_seeded_bootstrap_ci(runs):
    from devkit.toys import toy_judge

    report = evaluate_enhance(runs, toy_judge(), resamples=2000, seed=3)
    assert (report.wins, report.ties, report.losses) == (4, 1, 1)
    assert report.win_rate == pytest.approx(4.5 / 6)
    assert 0 < report.ci[0] < report.win_rate < report.ci[1] <= 1   # six mixed outcomes: a real interval
    assert report.mean_gain > 0 and report.optimised_by == ["colour-words"]
    assert evaluate_enhance(runs, toy_judge(), resamples=2000, seed=3).ci == report.ci   # seeded
    half = evaluate_enhance(runs, toy_judge(), resamples=2000, seed=3, confidence=0.5).ci
    assert report.ci[0] <= half[0] < half[1] <= report.ci[1]         # the confidence asked for is used


def test_runs_that_all_win_have_a_win_rate_of_one_and_no_spread(tmp_path):
    from devkit.toys import toy_judge

    report = evaluate_enhance(_write_runs(tmp_path / "runs", RUNS[:4]), toy_judge(), resamples=500)
    assert (report.win_rate, report.ci) == (1.0, (1.0, 1.0))


def test_bootstrap_ci_matches_the_normal_approximation_on_a_large_sample():
    values = [1] * 120 + [0] * 280                    # a win rate of 0.3 over 400 runs
    se = math.sqrt(0.3 * 0.7 / 400)                   # the standard error of that mean
    lo, hi = bootstrap_ci(values, seed=0)
    assert lo == pytest.approx(0.3 - 1.96 * se, abs=0.01) and hi == pytest.approx(0.3 + 1.96 * se, abs=0.01)
    assert bootstrap_ci(values, seed=0) == (lo, hi)   # seeded


def test_bootstrap_ci_narrows_with_more_runs():
    lo_small, hi_small = bootstrap_ci([1, 0] * 5, seed=0)
    lo_big, hi_big = bootstrap_ci([1, 0] * 500, seed=0)
    assert lo_small < lo_big < 0.5 < hi_big < hi_small


def test_the_optimiser_as_judge_is_refused(runs):
    from devkit.toys import toy_encoder

    with pytest.raises(InputError, match=r"--judge: expected a scorer other than the one the search optimised "
                                         r"\(colour-words\)"):
        evaluate_enhance(runs, toy_encoder())


def test_bad_inputs_are_clear_errors(tmp_path, runs):
    from devkit.toys import text_only_encoder, toy_judge

    with pytest.raises(InputError, match="--judge: expected an image-text scorer"):
        evaluate_enhance(runs, text_only_encoder())
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="RESULTS: expected a folder with `mils enhance` outputs"):
        find_enhance_runs(tmp_path / "empty")
    (tmp_path / "style").mkdir()
    (tmp_path / "style" / "result.json").write_text(json.dumps({"task": "style_transfer"}))
    with pytest.raises(InputError, match="RESULTS: expected `mils enhance` outputs"):
        find_enhance_runs(tmp_path / "style")
    d = json.loads((runs / "run0" / "result.json").read_text())
    del d["scorer"]
    (runs / "run0" / "result.json").write_text(json.dumps(d))
    with pytest.raises(InputError, match=r"run0/result.json: scorer: expected the text `mils enhance` records"):
        evaluate_enhance(runs, toy_judge())
    (runs / "run1" / "after.png").unlink()
    with pytest.raises(InputError, match=r"run1/result.json: files.after: expected the render"):
        find_enhance_runs(runs / "run1")


def test_cli_writes_json_markdown_and_contact_sheet(runs, tmp_path, capsys):
    out = tmp_path / "eval"
    assert main(["eval", "enhance", str(runs), "--judge", "py:devkit.toys:toy_judge", "--out", str(out),
                 "--resamples", "500"]) == 0
    printed = capsys.readouterr().out
    assert "judged by colour-words-judge" in printed and "75.0%" in printed
    report = json.loads((out / "eval_enhance.json").read_text())
    assert report["win_rate"] == pytest.approx(0.75) and report["resamples"] == 500
    assert (out / "eval_enhance.md").read_text().startswith("# Prompt enhancement")
    sheet = Image.open(out / "eval_enhance.png")
    assert sheet.width > 4 * 32      # four wins and one loss, side by side


def test_cli_refuses_the_optimiser_before_loading_it(runs, capsys):
    assert main(["eval", "enhance", str(runs), "--judge", "colour-words"]) == 2
    assert "--judge: expected a scorer other than the one the search optimised" in capsys.readouterr().err
    assert main(["eval", "enhance", str(runs), "--judge", "py:devkit.toys:toy_encoder"]) == 2
    assert "(colour-words), got colour-words" in capsys.readouterr().err
