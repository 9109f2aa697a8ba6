"""Steering a running MILS Loop on a real ComfyUI server: POST /mils/steer, and the artist's clicks in the editor.

Opt-in, like test_browser.py (COMFY_DIR, Chromium, playwright; MILS_FRONTEND_ROOT for another frontend):
  * the route answers 400 (naming the field) for bad input and 409 for a run that ended; the server keeps running;
  * pin and ban by CLICKING the rows of the Loop in the real editor while a run goes: the pinned candidate is in
    the final top K, the banned one is gone, both recorded as the editor's actions;
  * "I am the judge": a run nobody judges goes on after its timeout; a run where the artist clicks a row and
    Send gets the pick.
Screenshots go to artifacts/ (mils_steered_run.png, mils_judge.png).
"""
from __future__ import annotations

import itertools
import json
import time

import pytest

from devkit import api_graphs
from devkit.editor import ARTIFACTS, FakeLLM, bad_console_entries, editor, serving, skip_reason

pytestmark = [pytest.mark.comfyui, pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")]

class _SlowLLM(FakeLLM):
    """The fake OpenAI-compatible LLM, a second per call: time for the artist to click between rounds."""
    calls = itertools.count()

    def do_POST(self):
        time.sleep(1.0)
        super().do_POST()


@pytest.fixture
def slow_llm_url():
    with serving(_SlowLLM) as url:
        yield url


def graph(llm_url: str, **loop) -> dict:
    return api_graphs.steered_caption_graph(llm_url, **loop)


QUEUE_JS = """
async (graph) => {
  window.__milsError = null;
  window.__milsEvents = [];
  app.api.addEventListener("execution_error", e => { window.__milsError = e.detail; });
  app.api.addEventListener("mils.progress", e => window.__milsEvents.push(e.detail));
  await app.loadApiJson(graph, "mils_steer.json");
  const n = app.graph.getNodeById(4);
  app.canvas.ds.scale = 1;
  app.canvas.ds.offset = [-n.pos[0] + 60, -n.pos[1] + 40];
  app.graph.setDirtyCanvas(true, true);
  await app.queuePrompt(0, 1);
}
"""

FIRST_LIVE = "() => window.__milsError || document.querySelectorAll('.mils-steer:not([hidden]) .mils-row button').length"
DONE = "() => window.__milsError || (app.graph.getNodeById(4)?.properties?.mils_text ?? '').startsWith('best')"


def _history(srv, prompt_id: str) -> dict:
    hist = srv.wait_history(prompt_id, timeout=180)
    assert hist["status"]["status_str"] == "success", json.dumps(hist["status"])[:2000]
    return hist["outputs"]["4"]


def _wait_note(page, start: str) -> None:
    """The panel's note (the route's answer to the last action) starts with ``start``."""
    try:
        page.wait_for_function("(s) => document.querySelector('.mils-note')?.textContent.startsWith(s)", arg=start,
                               timeout=10_000)
    except Exception:
        note = page.evaluate("() => document.querySelector('.mils-note')?.textContent")
        raise AssertionError(f"expected a note starting {start!r}, got {note!r}") from None


def _prompt_id(page) -> str:
    events = page.evaluate("() => window.__milsEvents")
    ids = {e.get("prompt_id") for e in events}
    assert len(ids) == 1 and None not in ids, ids
    return ids.pop()


def test_the_route_rejects_bad_input_and_ended_runs_and_the_server_keeps_running(browser_server, slow_llm_url):
    srv = browser_server
    bad = [({}, "prompt_id"), ({"prompt_id": "nope", "node_id": "4", "action": "pin", "text": "a"}, "prompt_id"),
           ({"prompt_id": "p", "node_id": ""}, "node_id")]
    for body, field in bad:
        status, reply = srv.post("/mils/steer", body)
        assert status == 400 and reply["error"].startswith(field), (body, reply)
    status, reply = srv.request("POST", "/mils/steer", None)
    assert status == 400 and reply["error"].startswith("body"), reply

    prompt_id = srv.queue(graph(slow_llm_url, steps=3))
    deadline = time.monotonic() + 120
    answers = []
    while time.monotonic() < deadline:
        status, reply = srv.post("/mils/steer", {"prompt_id": prompt_id, "node_id": "4", "action": "explode"})
        if status == 400 and reply["error"].startswith("action"):
            break   # the run is live: its own bad actions are 400 too
        answers.append((status, reply))
        time.sleep(0.2)
    else:
        pytest.fail(f"the run never became steerable: {answers[-3:]}")
    base = {"prompt_id": prompt_id, "node_id": "4"}
    for extra, field in [({"action": "ban", "text": ""}, "text"), ({"action": "add", "text": "x" * 100_000}, "text"),
                         ({"action": "pin", "text": "a", "index": 3}, "index")]:
        status, reply = srv.post("/mils/steer", {**base, **extra})
        assert status == 400 and reply["error"].startswith(field), (extra, reply)
    status, reply = srv.post("/mils/steer", {**base, "action": "add", "text": "a scarlet square"})
    assert status == 200, reply
    outputs = _history(srv, prompt_id)
    status, reply = srv.post("/mils/steer", {**base, "action": "stop"})
    assert status == 409 and "ended" in reply["error"], reply
    assert srv.alive()
    added = [e for e in outputs["mils_steering"] if e["action"] == "add"]
    assert added and added[0]["who"] == "api" and added[0]["status"] == "applied", outputs["mils_steering"]


def test_pin_and_ban_by_clicking_during_a_run(browser_server, slow_llm_url):
    srv = browser_server
    ARTIFACTS.mkdir(exist_ok=True)
    logs: list = []
    with editor(srv, logs) as page:
        page.evaluate(QUEUE_JS, graph(slow_llm_url, steps=5, patience=10))
        page.wait_for_function(FIRST_LIVE, timeout=120_000)
        assert page.evaluate("() => window.__milsError") is None
        rows = page.locator(".mils-steer .mils-row")
        last, first = rows.last.get_attribute("data-text"), rows.first.get_attribute("data-text")
        rows.last.locator("button.mils-pin").click()
        _wait_note(page, "pin: queued")
        rows.first.locator("button.mils-ban").click()
        _wait_note(page, "ban: queued")
        page.locator(".mils-add-text").fill("a scarlet block")
        page.locator(".mils-add button").click()
        # the next round's board shows the pin
        page.wait_for_function("(t) => [...document.querySelectorAll('.mils-row.mils-pinned')].some(r => "
                               "r.dataset.text === t)", arg=last, timeout=60_000)
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "mils_steered_run.png"))
        prompt_id = _prompt_id(page)
        page.wait_for_function(DONE, timeout=180_000)
        assert page.evaluate("() => window.__milsError") is None
        props = page.evaluate("() => app.graph.getNodeById(4).properties")
    outputs = _history(srv, prompt_id)
    final = [r["text"] for r in props["mils_leaderboard"]]
    assert last in final and first not in final, (last, first, final)
    applied = {(e["action"], e["text"]) for e in outputs["mils_steering"] if e["status"] == "applied"}
    assert {("pin", last), ("ban", first), ("add", "a scarlet block")} <= applied, outputs["mils_steering"]
    assert {e["who"] for e in outputs["mils_steering"]} == {"editor"}
    (ARTIFACTS / "mils_steered_console.json").write_text(json.dumps(logs, indent=1))
    assert not bad_console_entries(logs), bad_console_entries(logs)


def test_judge_mode_times_out_without_a_pick(browser_server, slow_llm_url):
    srv = browser_server
    logs: list = []
    with editor(srv, logs) as page:
        page.evaluate(QUEUE_JS, graph(slow_llm_url, steps=2, judge=True, judge_timeout=2))
        page.wait_for_function("() => window.__milsError || document.querySelector('.mils-judge:not([hidden])')",
                               timeout=120_000)
        assert "s" in page.locator(".mils-countdown").text_content()
        prompt_id = _prompt_id(page)
        page.wait_for_function(DONE, timeout=180_000)
        assert page.evaluate("() => window.__milsError") is None
        judged = [e["judge"] for e in page.evaluate("() => window.__milsEvents")]
    outputs = _history(srv, prompt_id)
    assert set(judged) == {2} and not outputs["mils_steering"]   # nobody judged: the scorer's ranking went on
    assert not bad_console_entries(logs), bad_console_entries(logs)


def test_judge_mode_takes_a_pick_clicked_on_the_node(browser_server, slow_llm_url):
    srv = browser_server
    logs: list = []
    with editor(srv, logs) as page:
        page.evaluate(QUEUE_JS, graph(slow_llm_url, steps=2, judge=True, judge_timeout=45))
        page.wait_for_function("() => window.__milsError || document.querySelector('.mils-judge:not([hidden])')",
                               timeout=120_000)
        row = page.locator(".mils-steer .mils-row").last
        choice = row.get_attribute("data-text")
        row.locator(".mils-text").click()
        assert "mils-chosen" in page.locator(".mils-steer .mils-row").last.get_attribute("class")
        page.wait_for_timeout(200)
        page.screenshot(path=str(ARTIFACTS / "mils_judge.png"))
        page.locator(".mils-judge button").click()
        _wait_note(page, "pick: queued")
        prompt_id = _prompt_id(page)
        # the pick ends the wait and leads the next round
        page.wait_for_function("() => window.__milsError || window.__milsEvents.some(e => e.step >= 1)",
                               timeout=60_000)
        events = page.evaluate("() => window.__milsEvents")
        assert page.evaluate("() => window.__milsError") is None
        after = [e for e in events if e["step"] == 1][0]
        assert after["leaderboard"][0]["text"] == choice, after["leaderboard"]
        # and the second round: pick its first row at once
        page.wait_for_function("() => window.__milsEvents.some(e => e.step >= 1) && "
                               "document.querySelector('.mils-judge:not([hidden])')", timeout=30_000)
        page.locator(".mils-steer .mils-row").first.locator(".mils-text").click()
        page.locator(".mils-judge button").click()
        _wait_note(page, "pick: queued")
        page.wait_for_function(DONE, timeout=100_000)
    outputs = _history(srv, prompt_id)
    picks = [e for e in outputs["mils_steering"] if e["action"] == "rank"]
    assert picks and picks[0]["order"] == [choice] and picks[0]["status"] == "applied", outputs["mils_steering"]
    assert not bad_console_entries(logs), bad_console_entries(logs)
