"""`mils eval enhance` reads what `mils enhance` really writes (tiny random pipeline, toy LLM, tiny CLIP)."""
import json

import pytest

pytest.importorskip("diffusers")

from devkit.tiny_diffusers import enhance_args  # noqa: E402

from mils.cli import main  # noqa: E402


def test_eval_enhance_on_mils_enhance_output(tiny_pipelines, tmp_path, capsys):
    runs = tmp_path / "runs"
    for i, prompt in enumerate(["a red cat on a sofa", "a blue dog in the snow"]):
        args = enhance_args(tiny_pipelines, runs / f"run{i}", "--seed", str(i))
        args[1] = prompt
        assert main(args) == 0
    recorded = json.loads((runs / "run0" / "result.json").read_text())["scorer"]
    capsys.readouterr()

    assert main(["eval", "enhance", str(runs), "--judge", str(tiny_pipelines["clip"]), "--device", "cpu"]) == 2
    assert f"the one the search optimised ({recorded})" in capsys.readouterr().err

    assert main(["eval", "enhance", str(runs), "--judge", "py:devkit.toys:toy_judge", "--resamples", "200"]) == 0
    report = json.loads((runs / "eval_enhance.json").read_text())
    assert report["runs"] == 2 and report["optimised_by"] == [recorded] and report["judge"] == "colour-words-judge"
    assert 0 <= report["ci"][0] <= report["win_rate"] <= report["ci"][1] <= 1
    assert (runs / "eval_enhance.png").is_file()
