""""I am the judge" on a real ComfyUI server, headless (API users, `comfy run`): while the Loop waits for the
artist's pick, the graph's other branches run; picks posted to /mils/steer end the waits; an interrupt during a
wait ends it at once as an interruption, and the requeued graph resumes; a `comfy run` is judged from another
terminal through GET and POST /mils/steer.

Opt-in (COMFY_DIR; see tests/comfyui/conftest.py). The server is the editor suites' (tiny LLM and CLIP)."""
from __future__ import annotations

import json
import threading
import time

import pytest

from devkit import api_graphs
from devkit import comfy_server as cs

pytestmark = pytest.mark.comfyui

WAIT_S = 300   # the judge's timeout: far longer than the test, so only picks or a cancel end a wait


def judged_graph(llm_url: str, **loop) -> dict:
    """The steered caption graph in judge mode, plus an unrelated branch: EmptyImage -> ImageInvert -> PreviewImage.
    ComfyUI stages the Loop before that branch (the Loop's inputs feed an output node directly, the branch's
    first node does not), so without an async wait the branch could only run after the whole search."""
    g = api_graphs.steered_caption_graph(llm_url, judge=True, judge_timeout=WAIT_S, **loop)
    g["10"] = {"class_type": "EmptyImage", "inputs": {"width": 32, "height": 32, "batch_size": 1, "color": 0x2222CC}}
    g["11"] = {"class_type": "ImageInvert", "inputs": {"image": ["10", 0]}}
    g["12"] = {"class_type": "PreviewImage", "inputs": {"images": ["11", 0]}}
    return g


def executed(ws, node: str) -> bool:
    return any(d.get("node") == node for d in ws.of("executed"))


def boards(ws) -> list[dict]:
    return [d for d in ws.of("mils.progress") if not d.get("refresh")]


def wait_for_board(ws, count: int, pid: str, timeout: float = 180) -> list[dict]:
    """The Loop's boards once there are ``count`` (ws.wait_for's predicate may not call ws.of: one lock)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = boards(ws)
        if len(found) >= count:
            return found
        ended = [d for d in ws.of("execution_error") + ws.of("execution_interrupted") if d.get("prompt_id") == pid]
        assert not ended, ended
        time.sleep(0.1)
    pytest.fail(f"fewer than {count} boards in {timeout} s")


def test_other_branches_run_while_the_judge_waits_and_picks_end_the_waits(browser_server, fake_llm_url):
    srv = browser_server
    with cs.WsListener(srv) as ws:
        if not ws.available:
            pytest.skip("websocket-client is not installed: the test reads the order of ComfyUI's events")
        pid = srv.queue(judged_graph(fake_llm_url, steps=1), client_id=ws.client_id)
        first = wait_for_board(ws, 1, pid)[0]
        assert first["judge"] == WAIT_S and first["step"] == 0
        # the Loop is waiting for the artist (300 s): the unrelated branch runs now, not after the search
        assert ws.wait_for(lambda t, d: t == "executed" and d.get("node") == "12", timeout=60), (
            f"the other branch did not run while the Loop waited:\n{srv.log_tail()}")
        assert not executed(ws, "4")
        picks = []
        for step in (0, 1):
            board = wait_for_board(ws, step + 1, pid)[step]
            picks.append(board["leaderboard"][-1]["text"])
            status, reply = srv.post("/mils/steer", {"prompt_id": pid, "node_id": "4", "action": "pick",
                                                     "text": picks[-1]})
            assert status == 200, reply
        hist = srv.wait_history(pid, timeout=120)
    assert hist["status"]["status_str"] == "success", hist["status"]
    loop = hist["outputs"]["4"]
    assert [e["action"] for e in loop["mils_steering"]] == ["rank", "rank"], loop["mils_steering"]
    assert loop["mils_leaderboard"][0]["text"] == picks[-1]   # the last pick decides the winner
    assert "12" in hist["outputs"] and srv.alive()


def test_an_interrupt_during_a_judge_wait_is_an_interruption_and_the_requeue_resumes(browser_server, fake_llm_url):
    srv = browser_server
    graph = judged_graph(fake_llm_url, steps=2)
    graph["4"]["inputs"]["resume"] = True
    with cs.WsListener(srv) as ws:
        if not ws.available:
            pytest.skip("websocket-client is not installed: the test waits for the Loop's first board")
        pid = srv.queue(graph, client_id=ws.client_id)
        wait_for_board(ws, 1, pid)
        assert ws.wait_for(lambda t, d: t == "executed" and d.get("node") == "12", timeout=60)
        status, _ = srv.post("/interrupt", {})
        assert status == 200
        hist = srv.wait_history(pid, timeout=60)   # at once: not after the 300 s wait
    assert hist["status"]["status_str"] == "error", hist["status"]
    interrupted = cs.messages(hist, "execution_interrupted")
    assert interrupted and interrupted[0]["node_type"] == "MILSLoop", hist["status"]["messages"]
    assert not cs.messages(hist, "execution_error")

    with cs.WsListener(srv) as ws:
        pid = srv.queue(graph, client_id=ws.client_id)
        resumed = wait_for_board(ws, 1, pid)[0]
        status, reply = srv.post("/mils/steer", {"prompt_id": pid, "node_id": "4", "action": "stop"})
        assert status == 200, reply
        hist = srv.wait_history(pid, timeout=120)
    # it went on from the saved step 0, showing that board (and waiting on it) first
    assert resumed["step"] == 0 and "resuming the search saved" in srv.log_text()
    assert hist["status"]["status_str"] == "success", hist["status"]
    assert "(artist)" in hist["outputs"]["4"]["text"][0]


def test_a_headless_comfy_run_is_judged_through_the_route(browser_server, fake_llm_url, tmp_path):
    """`comfy run --workflow` in one terminal; in another, GET /mils/steer shows the board the Loop waits on
    and POST /mils/steer picks from it."""
    srv = browser_server
    if not srv.paths.comfy_cli:
        pytest.skip("comfy-cli not installed (pip install comfy-cli, or set COMFY_CLI)")
    workflow = tmp_path / "judged_api.json"
    workflow.write_text(json.dumps(judged_graph(fake_llm_url, steps=1, patience=5)))
    done: dict = {}
    runner = threading.Thread(target=lambda: done.update(
        run=cs.comfy_cli_run(srv.paths, srv, workflow, home=tmp_path / "home", timeout=240)))
    runner.start()
    picks: list[str] = []
    deadline = time.monotonic() + 240
    while runner.is_alive() and time.monotonic() < deadline:
        runs = srv.get("/mils/steer")["runs"]
        waiting = [(r, s) for r in runs for s in r["searches"] if s["awaiting_pick"]
                   and len(s["steering"]) == len(picks)]   # one pick per wait
        if waiting:
            run, search = waiting[0]
            picks.append(search["leaderboard"][-1]["text"])
            status, reply = srv.post("/mils/steer", {"prompt_id": run["prompt_id"], "node_id": run["node_id"],
                                                     "index": search["index"], "action": "pick", "text": picks[-1]})
            assert status == 200, reply
        time.sleep(0.1)
    runner.join(timeout=60)
    result = done["run"]
    assert result.returncode == 0, f"comfy run failed ({result.returncode}):\n{result.stdout[-3000:]}"
    envelope = cs.parse_cli_envelope(result.stdout)
    assert envelope and envelope.get("ok") is True, result.stdout[-2000:]
    pid = envelope["data"]["prompt_id"]
    loop = srv.get(f"/history/{pid}")[pid]["outputs"]["4"]
    assert len(picks) == 2 and [(e["who"], e["order"]) for e in loop["mils_steering"]] == [
        ("api", [picks[0]]), ("api", [picks[1]])], loop["mils_steering"]
    assert loop["mils_leaderboard"][0]["text"] == picks[-1]
    assert srv.get("/mils/steer")["runs"] == []   # nothing left to steer
