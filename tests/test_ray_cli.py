"""`mils caption FOLDER --ray` on a local Ray (num_cpus=2) with the toy models of tests/toys.py."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devkit.toys import ToyLLM
from mils.cli import main
from mils.cli.caption import RESULT_SUFFIX, STATE_SUFFIX

TOYS = ["--llm", "py:devkit.toys:toy_llm", "--scorer", "py:devkit.toys:toy_encoder", "--quiet"]
SMALL = ["--keep", "4", "--new", "5", "--steps", "3", "--pool", "image"]
ROUNDS = ["--keep", "4", "--new", "5", "--steps", "4", "--patience", "0", "--pool", "image"]   # always 4 rounds
CRASHING = ["--llm", "py:test_ray_cli:crashing_llm"]
CRASH_DIR_ENV = "MILS_TEST_RAY_CRASH_DIR"   # set on the workers by the ray_session fixture (conftest)


def crashing_llm():
    """The toy LLM, logging each call's process id to <crash dir>/calls.log; the first worker to find the
    ``armed`` marker dies (os._exit) on its Nth call (N: the marker's text, default 1), and the first to find an
    ``outage`` marker fails its Nth call as an LLM server outage does after its retries."""
    from mils.errors import GeneratorError

    class CrashOnce(ToyLLM):
        def generate(self, prompt, params):
            crash_dir = Path(os.environ[CRASH_DIR_ENV])
            with (crash_dir / "calls.log").open("a") as f:
                f.write(f"{os.getpid()}\n")
            if _fires(crash_dir / "armed", self.calls + 1):
                os._exit(1)
            if _fires(crash_dir / "outage", self.calls + 1):
                self.calls += 1
                raise GeneratorError("the LLM server went away (test)")
            return super().generate(prompt, params)

    return CrashOnce()


def _fires(marker: Path, call: int) -> bool:
    """True for exactly one process: the first to reach call N of the marker (renamed to <name>-fired)."""
    try:
        at = int(marker.read_text() or 1)
    except FileNotFoundError:
        return False
    if call != at:
        return False
    try:
        marker.rename(marker.with_name(marker.name + "-fired"))  # exactly one process wins the rename
    except FileNotFoundError:
        return False
    marker.with_name(marker.name + "-pid").write_text(str(os.getpid()))
    return True


def _image(path, rgb):
    Image.fromarray(np.full((16, 16, 3), rgb, np.uint8)).save(path)
    return path


@pytest.fixture
def photos(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    for name, rgb in (("red.png", (230, 20, 20)), ("blue.jpg", (10, 10, 90)), ("green.png", (20, 200, 20))):
        _image(d / name, rgb)
    return d


def _results(out_dir):
    return {p.name: json.loads(p.read_text()) for p in sorted(out_dir.glob("*" + RESULT_SUFFIX))}


def test_same_results_as_the_local_batch_and_a_rerun_recomputes_nothing(ray_session, photos, tmp_path, capsys):
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert main(["caption", str(photos), "--out", str(local), *TOYS, *SMALL]) == 0
    assert main(["caption", str(photos), "--ray", "--workers", "2", "--out", str(remote), *TOYS, *SMALL]) == 0
    want, got = _results(local), _results(remote)
    assert sorted(got) == sorted(want) and len(got) == 3
    for name in want:
        assert (got[name]["best_text"], got[name]["best_score"]) == (want[name]["best_text"], want[name]["best_score"])
        assert got[name]["options"] == want[name]["options"]
    assert not [p for p in remote.iterdir() if p.name.endswith(".part")]

    mtimes = {p.name: p.stat().st_mtime_ns for p in remote.iterdir()}
    capsys.readouterr()
    assert main(["caption", str(photos), "--ray", "--out", str(remote), *TOYS, *SMALL]) == 0
    assert "skipping 3 finished" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in remote.iterdir()} == mtimes


def test_a_worker_killed_mid_run_is_retried(ray_session, photos, tmp_path):
    (ray_session / "armed").write_text("")
    out = tmp_path / "out"
    llm = ["--llm", "py:test_ray_cli:crashing_llm"]
    assert main(["caption", str(photos), "--ray", "--workers", "2", "--out", str(out), *TOYS, *SMALL, *llm]) == 0
    assert (ray_session / "armed-fired").exists()
    assert sorted(_results(out)) == sorted(p.name + RESULT_SUFFIX for p in photos.iterdir())


def _calls(crash_dir) -> list[str]:
    """The process ids of the LLM calls logged since the last look (the log starts again)."""
    log = crash_dir / "calls.log"
    lines = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return lines


def test_a_worker_lost_mid_batch_resumes_its_inputs_on_another_worker(ray_session, photos, tmp_path, monkeypatch):
    monkeypatch.setenv(CRASH_DIR_ENV, str(ray_session))     # the local run logs its calls too
    _image(photos / "white.png", (240, 240, 240))            # 4 inputs: a lockstep batch of 2 for each worker
    _calls(ray_session)
    local = tmp_path / "local"
    assert main(["caption", str(photos), "--batch", "2", "--out", str(local), *TOYS, *ROUNDS, *CRASHING]) == 0
    scratch = len(_calls(ray_session))                       # 4 inputs, every round from scratch
    assert scratch == 4 * 4

    (ray_session / "armed").write_text("5")                  # a worker dies on its 5th call: round 3 of its batch
    remote = tmp_path / "remote"
    assert main(["caption", str(photos), "--ray", "--workers", "2", "--batch", "2", "--out", str(remote), *TOYS,
                 *ROUNDS, *CRASHING]) == 0
    calls, lost = _calls(ray_session), (ray_session / "armed-pid").read_text()
    assert calls.count(lost) == 5                            # two rounds of its 2 inputs saved, then it died
    # the other batch ran whole (half the scratch calls); what is left is the lost batch's, after the loss
    resumed_calls = len(calls) - calls.count(lost) - scratch // 2
    print(f"LLM calls of a resumed Ray worker's input after the loss: {resumed_calls / 2:g}; "
          f"from scratch: {scratch / 4:g}")
    assert 0 < resumed_calls < scratch // 2

    want, got = _results(local), _results(remote)
    assert sorted(got) == sorted(want) and len(got) == 4
    assert sorted(r["resumed_from"] for r in got.values()) == [0, 0, 2, 2]   # the lost batch resumed after round 2
    for name in want:                                        # and ended where the uninterrupted run did
        assert (got[name]["best_text"], got[name]["best_score"]) == (want[name]["best_text"], want[name]["best_score"])
        assert [h["best_score"] for h in got[name]["history"]] == [h["best_score"] for h in want[name]["history"]]
    assert not list(remote.glob("*" + STATE_SUFFIX))         # finished: no round state left


def test_an_llm_outage_on_a_worker_keeps_the_best_so_far_and_the_rerun_resumes(ray_session, photos, tmp_path,
                                                                                capsys):
    (ray_session / "outage").write_text("5")                 # one batch of 3: round 2's call for the 2nd input fails
    out = tmp_path / "out"
    args = ["caption", str(photos), "--ray", "--workers", "1", "--batch", "3", "--out", str(out), *TOYS, *ROUNDS,
            *CRASHING]
    assert main(args) == 1
    err = capsys.readouterr().err
    results = _results(out)
    stopped = [name for name, r in results.items() if r["stopped"] == "error"]
    assert len(results) == 3 and len(stopped) == 1, results
    kept = results[stopped[0]]
    assert "went away" in kept["error"] and kept["best_text"] and len(kept["history"]) == 2
    assert (out / stopped[0].replace(RESULT_SUFFIX, STATE_SUFFIX)).is_file()
    assert "stopped at round 1" in err and "rerun to resume" in err and "1 of 3 input(s) failed" in err

    assert main(args) == 0                                   # the outage is over: the rerun resumes that input only
    assert "skipping 2 finished" in capsys.readouterr().err
    resumed = _results(out)[stopped[0]]
    assert resumed["stopped"] == "steps" and resumed["resumed_from"] == 1 and len(resumed["history"]) == 5


def test_a_failing_input_fails_alone(ray_session, photos, tmp_path, capsys):
    (photos / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    assert main(["caption", str(photos), "--ray", "--out", str(out), *TOYS, *SMALL]) == 1
    err = capsys.readouterr().err
    assert "broken.png: image: expected a readable image file" in err and "1 of 4 input(s) failed: broken.png" in err
    assert len(_results(out)) == 3


def test_manifest_of_relative_paths_and_jsonl(ray_session, photos, tmp_path):
    manifest = photos / "list.jsonl"
    manifest.write_text('{"input": "red.png"}\n# a comment\n\n' + f"{photos / 'blue.jpg'}\n")
    out = tmp_path / "out"
    assert main(["caption", "--manifest", str(manifest), "--ray", "--out", str(out), *TOYS, *SMALL]) == 0
    assert sorted(_results(out)) == ["blue.jpg" + RESULT_SUFFIX, "red.png" + RESULT_SUFFIX]


def test_results_made_with_other_options_are_refused_unless_fresh(ray_session, photos, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["caption", str(photos), "--ray", "--out", str(out), *TOYS, *SMALL]) == 0
    capsys.readouterr()
    assert main(["caption", str(photos), "--ray", "--out", str(out), *TOYS, *SMALL, "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert "--out: expected finished results made with this run's options" in err
    assert "3 with other options" in err and "red.png.mils.json: seed (0 -> 1)" in err
    assert {r["seed"] for r in _results(out).values()} == {0}
    assert main(["caption", str(photos), "--ray", "--out", str(out), *TOYS, *SMALL, "--seed", "1", "--fresh"]) == 0
    assert {r["seed"] for r in _results(out).values()} == {1}


def test_llm_server_shared_by_every_worker(ray_session, photos, tmp_path):
    import threading

    from test_http_generator import MODEL, _FakeServer

    server = _FakeServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = tmp_path / "out"
        llm = ["--llm-url", server.base_url, "--llm-model", MODEL, "--scorer", "py:devkit.toys:toy_encoder", "--quiet"]
        assert main(["caption", str(photos), "--ray", "--workers", "2", "--out", str(out), *llm, *SMALL]) == 0
    finally:
        server.shutdown()
        server.server_close()
    results = _results(out)
    assert len(results) == 3 and all(r["llm"] == f"openai:{server.base_url}:{MODEL}" for r in results.values())
    assert server.count() >= 3 * 3   # every input's every round went to the server


def test_unreachable_cluster_fails_fast_naming_ray(ray_session, photos, tmp_path, capsys):
    assert main(["caption", str(photos), "--ray", "127.0.0.1:1", "--out", str(tmp_path / "o"), *TOYS]) == 2
    err = capsys.readouterr().err
    assert "--ray: expected the address of a running Ray cluster" in err and "127.0.0.1:1" in err


def test_bad_inputs_are_clear_errors_before_any_worker(photos, tmp_path, capsys, monkeypatch):
    import mils.distributed.driver as driver

    monkeypatch.setattr(driver, "run_units", lambda *a, **k: pytest.fail("workers started"))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["caption", str(empty), "--ray", *TOYS]) == 2
    assert f"input: expected a folder with image, video or audio files, got {empty}" in capsys.readouterr().err

    manifest = tmp_path / "list.txt"
    manifest.write_text(f"{photos / 'red.png'}\nmissing.png\n")
    assert main(["caption", "--manifest", str(manifest), "--ray", *TOYS]) == 2
    assert f"--manifest: expected an existing media file on each line, got {manifest} line 2: missing.png" in \
        capsys.readouterr().err
    manifest.write_text('{"path": "red.png"}\n')
    assert main(["caption", "--manifest", str(manifest), "--ray", *TOYS]) == 2
    assert f"{manifest} line 1" in capsys.readouterr().err

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["caption", str(photos), "--ray", "--out", str(blocker / "out"), *TOYS]) == 2
    assert f"--out: expected a folder this user can write, got {blocker / 'out'}" in capsys.readouterr().err

    assert main(["caption", str(photos), "--ray", "--workers", "0", "--out", str(tmp_path / "o"), *TOYS]) == 2
    assert "--workers: expected at least 1" in capsys.readouterr().err
    assert main(["caption", str(photos), "--workers", "2", "--out", str(tmp_path / "o"), *TOYS]) == 2
    assert "--workers: expected --ray as well" in capsys.readouterr().err


def test_without_the_extra_ray_names_it(photos, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)   # `import ray` now raises ImportError
    assert main(["caption", str(photos), "--ray", "--out", str(tmp_path / "o"), *TOYS]) == 2
    assert 'pip install "mils-nodes[ray]"' in capsys.readouterr().err
