"""`mils caption FOLDER` in lockstep batches (--batch), with P replies per round (--parallel), and resumable
results: an LLM outage keeps the best so far, a rerun resumes at the last finished round."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devkit.toys import ToyLLM
from mils.cli import main
from mils.cli.caption import RESULT_SUFFIX, STATE_SUFFIX
from mils.cli.output import EXIT_STOPPED
from mils.errors import GeneratorError

TOYS = ["--scorer", "py:devkit.toys:toy_encoder", "--quiet"]
SMALL = ["--keep", "4", "--new", "4", "--steps", "4", "--patience", "0", "--pool", "image"]
COLOURS = {"red.png": (230, 20, 20), "blue.png": (10, 10, 90), "green.png": (20, 200, 30)}


@pytest.fixture
def photos(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    for name, rgb in COLOURS.items():
        Image.fromarray(np.full((16, 16, 3), rgb, np.uint8)).save(d / name)
    return d


class FlakyLLM(ToyLLM):
    """The toy LLM that logs every call to $MILS_TEST_CALLS and fails once, on call $MILS_TEST_FAIL_AT,
    as a server outage after the retries does (a marker file remembers that it already failed)."""

    def generate(self, prompt, params):
        log = Path(os.environ["MILS_TEST_CALLS"])
        calls = len(log.read_text().splitlines()) + 1 if log.exists() else 1
        with log.open("a") as f:
            f.write("call\n")
        marker = log.with_suffix(".failed")
        if calls == int(os.environ.get("MILS_TEST_FAIL_AT", "0")) and not marker.exists():
            marker.write_text("1")
            raise GeneratorError("the LLM server went away (test)")
        return super().generate(prompt, params)


def flaky_llm():
    return FlakyLLM()


def results(folder: Path) -> dict:
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.glob(f"*{RESULT_SUFFIX}"))}


def test_a_lockstep_batch_gives_each_input_its_own_result(photos, tmp_path):
    alone, together = tmp_path / "alone", tmp_path / "together"
    llm = ["--llm", "py:devkit.toys:toy_llm"]
    assert main(["caption", str(photos), *llm, *TOYS, *SMALL, "--batch", "1", "--out", str(alone)]) == 0
    assert main(["caption", str(photos), *llm, *TOYS, *SMALL, "--batch", "3", "--out", str(together)]) == 0
    a, b = results(alone), results(together)
    assert sorted(a) == sorted(f"{n}{RESULT_SUFFIX}" for n in COLOURS)
    for name in a:
        assert (b[name]["best_text"], b[name]["best_score"]) == (a[name]["best_text"], a[name]["best_score"])
        assert [h["best_score"] for h in b[name]["history"]] == [h["best_score"] for h in a[name]["history"]]
    assert len({r["best_text"] for r in b.values()}) == 3  # each image its own caption, not one for all


def test_an_llm_outage_keeps_the_best_so_far_and_the_rerun_resumes(photos, tmp_path, monkeypatch):
    calls = tmp_path / "calls.log"
    monkeypatch.setenv("MILS_TEST_CALLS", str(calls))
    out = tmp_path / "out"
    args = ["caption", str(photos / "red.png"), "--llm", "py:test_cli_batch:flaky_llm", *TOYS, *SMALL,
            "--out", str(out), "--parallel", "1"]
    monkeypatch.setenv("MILS_TEST_FAIL_AT", "3")            # rounds 1 and 2 finish, round 3's call fails
    assert main(args) == EXIT_STOPPED                       # the distinct code of an outage
    kept = json.loads((out / f"red.png{RESULT_SUFFIX}").read_text())
    assert kept["stopped"] == "error" and "went away" in kept["error"] and kept["best_text"]
    assert len(kept["history"]) == 3 and (out / f"red.png{STATE_SUFFIX}").is_file()

    calls.unlink()
    assert main(args) == 0                                  # resumes after round 2: rounds 3 and 4 only
    assert len(calls.read_text().splitlines()) == 2
    done = json.loads((out / f"red.png{RESULT_SUFFIX}").read_text())
    assert done["stopped"] == "steps" and len(done["history"]) == 5 and not (out / f"red.png{STATE_SUFFIX}").exists()

    fresh_run = tmp_path / "fresh"                          # the same search uninterrupted ends in the same place
    monkeypatch.setenv("MILS_TEST_FAIL_AT", "0")
    assert main([*args[:-4], "--out", str(fresh_run), "--parallel", "1"]) == 0
    again = json.loads((fresh_run / f"red.png{RESULT_SUFFIX}").read_text())
    assert (again["best_text"], again["best_score"]) == (done["best_text"], done["best_score"])


def test_an_outage_in_a_batch_fails_that_input_alone(photos, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MILS_TEST_CALLS", str(tmp_path / "calls.log"))
    monkeypatch.setenv("MILS_TEST_FAIL_AT", "2")
    out = tmp_path / "out"
    assert main(["caption", str(photos), "--llm", "py:test_cli_batch:flaky_llm", *TOYS, *SMALL, "--batch", "1",
                 "--out", str(out)]) == 1
    assert "rerun to resume" in capsys.readouterr().err
    stopped = {name: r["stopped"] for name, r in results(out).items()}
    assert sorted(stopped.values()) == ["error", "steps", "steps"]


@pytest.mark.parametrize("flag, value, name", [("--batch", "0", "--batch"), ("--parallel", "9", "parallel"),
                                               ("--parallel", "0", "parallel")])
def test_bad_batch_and_parallel_name_the_option(photos, flag, value, name, capsys):
    assert main(["caption", str(photos), "--llm", "py:devkit.toys:toy_llm", *TOYS, *SMALL, flag, value]) == 2
    assert name in capsys.readouterr().err
