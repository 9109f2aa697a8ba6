"""`mils enhance --scorer mix:...`: a tiny random SD pipeline renders each rewrite once; a tiny CLIP and a toy
judge rate it; the leaderboard shows both parts and the before/after scores are the mix's."""
import json

import pytest

pytest.importorskip("diffusers")

from devkit.tiny_diffusers import enhance_args  # noqa: E402

from mils.cli import main  # noqa: E402


def test_enhance_with_a_mix_of_scorers(tiny_pipelines, tmp_path, capsys):
    out = tmp_path / "mixed"
    args = enhance_args(tiny_pipelines, out, "--json")
    args[args.index("--scorer") + 1] = f"mix:0.7*{tiny_pipelines['clip']},0.3*py:devkit.toys:toy_judge"
    assert main(args) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["scorer"].startswith("mix(0.7*hf_clip:") and "0.3*colour-words-judge" in res["scorer"]
    top = res["history"][-1]["leaderboard"][0]
    assert top["shown"].startswith(f"{top['score']:.3f} (hf_clip ") and ", toy_judge " in top["shown"]
    assert {type(v) for v in res["final_scores"].values()} == {float}
