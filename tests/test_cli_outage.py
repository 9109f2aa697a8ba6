"""A single-input run that meets an LLM outage keeps its best: printed with stopped="error", a distinct exit code,
and its state in the user's cache folder; the same command again resumes at the last finished round."""
import json

import numpy as np
import pytest
from PIL import Image

from devkit.toys import ToyLLM
from mils.cli import main
from mils.cli.output import EXIT_STOPPED
from mils.errors import GeneratorError

LLM = ["--llm", "py:test_cli_outage:flaky_llm", "--scorer", "py:devkit.toys:toy_encoder", "--quiet"]
BUDGET = ["--keep", "4", "--new", "5", "--steps", "6", "--pool", "image", "--json"]
SERVER = {"fail_after": None, "calls": 0}   # the LLM "server": its calls over every run, and when it dies


class FlakyLLM(ToyLLM):
    """The toy LLM behind a server that dies after ``fail_after`` replies (None: never)."""

    def generate(self, prompt, params):
        if SERVER["fail_after"] is not None and SERVER["calls"] >= SERVER["fail_after"]:
            raise GeneratorError("the LLM server at http://127.0.0.1:9/v1 refused the connection")
        SERVER["calls"] += 1
        return super().generate(prompt, params)


def flaky_llm():
    return FlakyLLM()


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "red.png"
    Image.fromarray(np.full((16, 16, 3), (230, 20, 20), np.uint8)).save(path)
    return path


def _run(args, capsys, fail_after=None):
    SERVER.update(fail_after=fail_after, calls=0)
    rc = main(args)
    captured = capsys.readouterr()
    return rc, json.loads(captured.out), SERVER["calls"], captured.err


def _steps(out):
    return [(h["step"], [(s["text"], s["score"]) for s in h["leaderboard"]]) for h in out["history"]]


def _states(tmp_path):
    return list((tmp_path / "mils-cache" / "states").glob("*.json"))


def test_caption_outage_prints_the_best_then_the_same_command_resumes(photo, tmp_path, capsys, monkeypatch):
    cmd = ["caption", str(photo), *LLM, *BUDGET]
    rc, whole, scratch_calls, _ = _run(cmd, capsys)
    assert rc == 0 and whole["stopped"] == "steps" and not _states(tmp_path)

    rc, partial, calls, err = _run(cmd, capsys, fail_after=3)
    assert rc == EXIT_STOPPED and rc not in (0, 1, 2)
    assert partial["stopped"] == "error" and "refused the connection" in partial["error"]
    assert partial["best_text"] and _steps(partial) == _steps(whole)[:4]   # the start and three rounds
    assert "run the same command again to resume" in err and len(_states(tmp_path)) == 1

    rc, resumed, resumed_calls, _ = _run(cmd, capsys)
    assert rc == 0 and resumed["resumed_from"] == 3
    assert _steps(resumed) == _steps(whole) and resumed["best_text"] == whole["best_text"]
    assert resumed_calls == scratch_calls - 3 < scratch_calls
    assert not _states(tmp_path), "a finished run removes its state"
    print(f"LLM calls: from scratch {scratch_calls}, resumed after the outage {resumed_calls}")


def test_a_resumed_state_belongs_to_its_job_and_fresh_ignores_it(photo, tmp_path, capsys):
    cmd = ["caption", str(photo), *LLM, *BUDGET]
    _, whole, scratch_calls, _ = _run(cmd, capsys)
    rc, _, _, _ = _run(cmd, capsys, fail_after=2)
    assert rc == EXIT_STOPPED and len(_states(tmp_path)) == 1
    rc, other, _, _ = _run([*cmd, "--seed", "7"], capsys)   # another job: from scratch, its own state
    assert rc == 0 and other["resumed_from"] == 0 and len(_states(tmp_path)) == 1
    rc, fresh, calls, _ = _run([*cmd, "--fresh"], capsys)
    assert rc == 0 and fresh["resumed_from"] == 0 and calls == scratch_calls and _steps(fresh) == _steps(whole)
    assert not _states(tmp_path)


def test_invert_outage_keeps_the_best_and_resumes(tmp_path, capsys):
    cmd = ["invert", "--term", "text:1:light red", *LLM, *BUDGET]
    rc, whole, scratch_calls, _ = _run(cmd, capsys)
    rc, partial, _, _ = _run(cmd, capsys, fail_after=4)
    assert rc == EXIT_STOPPED and partial["stopped"] == "error" and partial["best_text"]
    rc, resumed, resumed_calls, _ = _run(cmd, capsys)
    assert rc == 0 and _steps(resumed) == _steps(whole) and resumed_calls == scratch_calls - 4
