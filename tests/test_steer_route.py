"""POST /mils/steer's logic without ComfyUI (nodes.steer_route.handle_steer) and the Loop's steering with a fake
ComfyUI: actions posted while a run goes take effect; judge mode with a pick and with a timeout."""
import asyncio
import sys
import threading
import time
import types

import pytest
import torch
from mils_pack.nodes import bridge
from mils_pack.nodes.model_memory import ManagedModel
from mils_pack.nodes.loop import MILSLoop
from mils_pack.nodes.steer_route import REGISTRY, SteeringRegistry, handle_runs, handle_steer
from mils_pack.nodes.thumbs import Thumbnails

from devkit.toys import ColourWordsEncoder, ToyLLM
from mils.search_types import Scored
from mils.steering import MAX_TEXT, SteerAction, Steering


@pytest.fixture
def live():
    registry = SteeringRegistry()
    searches = [Steering(), Steering()]
    registry.register("p1", "7", searches)
    return registry, searches


def ask(registry, **body):
    return handle_steer({"prompt_id": "p1", "node_id": "7", **body}, registry)


def test_a_good_action_reaches_the_addressed_search(live):
    registry, searches = live
    status, reply = ask(registry, action="pin", text="a red square", index=1, who="editor")
    assert status == 200 and reply["action"] == "pin"
    assert searches[0].take() == []
    [action] = searches[1].take()
    assert (action.kind, action.text, action.who) == ("pin", "a red square", "editor")
    status, _ = ask(registry, action="pick", text="a red square")
    assert status == 200 and [a.order for a in searches[0].take()] == [("a red square",)]


@pytest.mark.parametrize("body, field", [
    ({"prompt_id": "nope"}, "prompt_id"),
    ({"node_id": "8"}, "prompt_id/node_id"),
    ({"prompt_id": ""}, "prompt_id"),
    ({"node_id": None}, "node_id"),
    ({"action": "explode"}, "action"),
    ({"action": "ban", "text": "   "}, "text"),
    ({"action": "add", "text": "x" * 100_000}, "text"),
    ({"action": "edit", "text": "a", "new_text": ""}, "new_text"),
    ({"action": "rank", "order": "a"}, "order"),
    ({"index": 2}, "index"),
    ({"index": -1}, "index"),
    ({"who": "root"}, "who"),
])
def test_bad_input_is_a_400_naming_the_field(live, body, field):
    registry, searches = live
    status, reply = ask(registry, **{"action": "pin", "text": "a", **body})
    assert status == 400 and reply["error"].startswith(field), reply
    assert all(s.take() == [] for s in searches)


def test_get_lists_the_live_runs_with_their_boards_and_whether_they_wait_for_a_pick(live):
    registry, searches = live
    registry.register("p2", "9", [Steering()])
    searches[1].publish([Scored("a red square", 0.5, 0, "50.00"), Scored("a blue sea", 0.25, 0, "25.00", True)])
    waiter = threading.Thread(target=searches[1].wait_for_pick, args=(30, lambda: False))
    waiter.start()
    try:
        while not searches[1].awaiting_pick:
            time.sleep(0.01)
        status, reply = handle_runs({"prompt_id": "p1"}, registry)
    finally:
        searches[1].submit(SteerAction("stop"))
        waiter.join()
    assert status == 200 and [(r["prompt_id"], r["node_id"]) for r in reply["runs"]] == [("p1", "7")]
    first, second = reply["runs"][0]["searches"]
    assert (first["index"], first["awaiting_pick"], first["leaderboard"]) == (0, False, [])
    assert second["awaiting_pick"] and [(c["text"], c["pinned"]) for c in second["leaderboard"]] == [
        ("a red square", False), ("a blue sea", True)]
    assert not searches[1].awaiting_pick
    assert len(handle_runs({}, registry)[1]["runs"]) == 2 and handle_runs(None, registry)[0] == 200
    assert handle_runs({"node_id": "nope"}, registry)[1]["runs"] == []
    registry.unregister("p1", "7")
    assert [r["prompt_id"] for r in handle_runs({}, registry)[1]["runs"]] == ["p2"]


def test_a_body_that_is_not_an_object_is_a_400():
    assert handle_steer(None)[0] == 400 and handle_steer(["pin"])[0] == 400


def test_a_run_that_ended_answers_409(live):
    registry, searches = live
    registry.unregister("p1", "7")
    assert all(s.closed for s in searches)
    status, reply = ask(registry, action="stop")
    assert status == 409 and "ended" in reply["error"]
    registry.register("p1", "7", [Steering()])   # the same node queued again steers again
    assert ask(registry, action="stop")[0] == 200


def test_a_closed_search_still_registered_answers_409(live):
    registry, searches = live
    searches[0].close()
    assert ask(registry, action="stop")[0] == 409


# -- the Loop, steered while it runs ------------------------------------------------------------

START = "a dark blue sea\na light green field\nan old red tree\na small cup\nnight"


@pytest.fixture(autouse=True)
def own_state_dir(monkeypatch, tmp_path):
    monkeypatch.setattr(bridge, "state_dir", lambda: tmp_path / "states")


def red(size=16):
    img = torch.full((1, size, size, 3), 0.05)
    img[..., 0] = 0.9
    return img


def steered_loop(monkeypatch, on_event, run=None, **kw):
    """Runs the Loop; ``on_event(data, post)`` is called at each progress event, ``post`` sends to the route.
    ``run(loop, llm, args)``: how to call the node (default ``loop.run(llm, **args)``)."""
    events = []
    monkeypatch.setattr(bridge, "current_prompt_id", lambda: "prompt-1")

    def post(**body):
        return handle_steer({"prompt_id": "prompt-1", "node_id": "12", **body})

    def send(name, data):
        events.append(data)
        on_event(data, post)

    monkeypatch.setattr(bridge, "send_event", send)
    args = dict(task="auto", budget="preview", keep=3, new_per_step=4, steps=4, parallel=0, patience=0, seed=1,
                scorer=ManagedModel(ColourWordsEncoder, label="toy scorer"), image=red(), initial=START,
                unique_id="12")
    args.update(kw)
    llm = ManagedModel(ToyLLM, label="toy llm")
    out = run(MILSLoop(), llm, args) if run else MILSLoop().run(llm, **args)
    return out, events


def test_progress_events_name_the_run_and_the_route_answers_409_after_it(monkeypatch):
    out, events = steered_loop(monkeypatch, lambda data, post: None)
    assert {e["prompt_id"] for e in events} == {"prompt-1"} and {e["node"] for e in events} == {"12"}
    assert all({"text", "score", "shown", "pinned"} <= set(row) for e in events for row in e["leaderboard"])
    assert events[-1]["final"] and not events[0]["final"] and events[0]["judge"] is None
    status, reply = handle_steer({"prompt_id": "prompt-1", "node_id": "12", "action": "stop"})
    assert status == 409, reply


def test_a_pin_posted_during_the_run_keeps_the_candidate_in_the_top_k(monkeypatch):
    pinned = "a small cup"   # a weak start for a red image: the scorer alone drops it

    _, baseline = steered_loop(monkeypatch, lambda data, post: None)
    assert pinned not in [r["text"] for r in baseline[-1]["leaderboard"]]

    def pin_once(data, post):
        if data["step"] == 0:
            assert post(action="pin", text=pinned)[0] == 200

    out, events = steered_loop(monkeypatch, pin_once)
    assert pinned in out["result"][1]                               # the final top K
    assert any(r["text"] == pinned and r["pinned"] for r in events[-1]["leaderboard"])
    # the editor sees the pin at once: a refresh of step 0's board, before step 1's
    refresh = [e for e in events if e.get("refresh")]
    assert refresh and refresh[0]["step"] == 0 and any(r["text"] == pinned and r["pinned"]
                                                      for r in refresh[0]["leaderboard"])
    assert refresh[0]["steering"][-1]["action"] == "pin" and refresh[0]["steering"][-1]["status"] == "applied"


def test_a_ban_posted_during_the_run_removes_the_candidate(monkeypatch):
    _, baseline = steered_loop(monkeypatch, lambda data, post: None)
    best = baseline[0]["leaderboard"][0]["text"]

    def ban_best(data, post):
        if data["step"] == 0:
            assert post(action="ban", text=best)[0] == 200

    out, events = steered_loop(monkeypatch, ban_best)
    assert best not in out["result"][1] and best not in out["result"][0]
    assert all(best not in [r["text"] for r in e["leaderboard"]] for e in events[2:])


def test_judge_mode_takes_the_artists_pick(monkeypatch):
    picks = []

    def pick_last(data, post):
        if not data["final"]:
            assert data["judge"] == 5
            choice = data["leaderboard"][-1]["text"]
            picks.append(choice)
            assert post(action="pick", text=choice)[0] == 200

    out, events = steered_loop(monkeypatch, pick_last, judge=True, judge_timeout=5)
    # the artist's pick outranks the scorer's order: it leads the next board
    assert events[1]["leaderboard"][0]["text"] == picks[0]


def test_judge_mode_times_out_and_goes_on_with_the_scorer(monkeypatch):
    out, events = steered_loop(monkeypatch, lambda data, post: None, judge=True, judge_timeout=1, steps=2)
    plain, _ = steered_loop(monkeypatch, lambda data, post: None, steps=2)
    assert out["result"][:3] == plain["result"][:3]
    assert [e["step"] for e in events] == [0, 1, 2]


def test_judge_mode_asks_after_every_round_including_the_last(monkeypatch):
    """The artist judges every round; the last wait lets their pick decide the winner (the event that
    precedes it is the final one, so the editor can say so)."""
    waits, seen = [], []
    wait = Steering.wait_for_pick

    def recorded(self, timeout_s, cancelled, poll_s=0.1):
        waits.append(seen[-1]["final"])
        return wait(self, min(timeout_s, 0.2), cancelled, poll_s)

    monkeypatch.setattr(Steering, "wait_for_pick", recorded)
    steered_loop(monkeypatch, lambda data, post: seen.append(data), judge=True, judge_timeout=60, steps=2)
    assert waits == [False, False, True], waits   # after step 0, step 1 and the final step 2


# -- judge mode on an executor that awaits coroutine nodes (ComfyUI v0.8.0 and later) -----------------------

def beside_other_work(ticks: list):
    """Runs the Loop's coroutine beside another "node" on one event loop, as ComfyUI's executor does; the other
    node's ticks record whether the search was inside the Loop's run at the time."""
    def run(loop, llm, args):
        async def main():
            task = asyncio.create_task(loop.run_async(llm=llm, **args))   # as ComfyUI calls it
            while not task.done():
                ticks.append(1)
                await asyncio.sleep(0.02)
            return task.result()
        return asyncio.run(main())
    return run


def test_the_loop_awaits_coroutine_nodes_only_where_comfyui_does(monkeypatch):
    assert not bridge.runs_async_nodes()   # outside ComfyUI

    async def get_output_data():
        pass
    monkeypatch.setitem(sys.modules, "execution", types.SimpleNamespace(get_output_data=get_output_data))
    assert bridge.runs_async_nodes()
    monkeypatch.setitem(sys.modules, "execution", types.SimpleNamespace(get_output_data=lambda: None))
    assert not bridge.runs_async_nodes()   # an old, synchronous executor would take a coroutine for the output


def test_judge_waits_let_other_nodes_run_and_the_result_is_the_same(monkeypatch):
    ticks, waiting = [], []
    out, events = steered_loop(monkeypatch, lambda data, post: waiting.append(len(ticks)), run=beside_other_work(ticks),
                               judge=True, judge_timeout=1, steps=2)
    plain, _ = steered_loop(monkeypatch, lambda data, post: None, steps=2)
    assert out["result"][:3] == plain["result"][:3]   # nobody judged: the scorer's ranking
    # the other node ran during each of the three waits (after steps 0, 1, 2): its ticks grew between events
    assert len(ticks) >= 3 * 10 and waiting[1] > waiting[0] and waiting[2] > waiting[1], (waiting, len(ticks))


def test_judge_waits_without_an_async_executor_hold_everything_up(monkeypatch):
    """The contrast: the blocking run in a coroutine (what an executor that cannot await would see)."""
    ticks = []

    def blocking(loop, llm, args):
        class SyncNodeInACoroutine:
            async def run_async(self, llm, **args):
                return loop.run(llm, **args)
        return beside_other_work(ticks)(SyncNodeInACoroutine(), llm, args)

    steered_loop(monkeypatch, lambda data, post: None, run=blocking, judge=True, judge_timeout=1, steps=1)
    assert len(ticks) == 1   # the other node ran once, before the Loop started, and never while it waited


def test_a_pick_posted_while_an_async_judge_waits_leads_the_next_board(monkeypatch):
    picks = []

    def pick_last(data, post):
        if not data.get("refresh"):
            choice = data["leaderboard"][-1]["text"]
            picks.append(choice)
            assert post(action="pick", text=choice)[0] == 200

    out, events = steered_loop(monkeypatch, pick_last, run=beside_other_work([]), judge=True, judge_timeout=600,
                               steps=2)
    boards = [e for e in events if not e.get("refresh")]
    assert boards[1]["leaderboard"][0]["text"] == picks[0] and boards[2]["leaderboard"][0]["text"] == picks[1]
    assert out["result"][0] == [picks[2]]   # the last pick decides the winner
    assert [e["action"] for e in out["ui"]["mils_steering"]] == ["rank"] * 3


def test_an_interrupt_during_an_async_judge_wait_cancels_at_once_and_keeps_the_state(monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(bridge, "interrupt_requested", lambda: len(seen) >= 1)
    out, events = steered_loop(monkeypatch, lambda data, post: seen.append(data), run=beside_other_work([]),
                               judge=True, judge_timeout=600, steps=3)
    assert [e["step"] for e in events] == [0] and "(cancelled)" in out["ui"]["text"][0]
    assert list((tmp_path / "states").glob("loop-*.json"))   # a requeue resumes it

    # the requeue shows the board it resumes from before it waits on it: the artist can stop at once
    monkeypatch.setattr(bridge, "interrupt_requested", lambda: False)
    out, events = steered_loop(monkeypatch, lambda data, post: post(action="stop"), run=beside_other_work([]),
                               judge=True, judge_timeout=5, steps=3)
    assert [e["step"] for e in events if not e.get("refresh")] == [0] and "(artist)" in out["ui"]["text"][0]


class FlatRenderer:
    key = "flat"

    def render(self, texts, seed):
        return torch.stack([torch.full((32, 32, 3), (len(t) % 7) / 7) for t in texts])


def test_previews_of_renders_are_kept_per_text():
    thumbs = Thumbnails(FlatRenderer())
    images = thumbs.render(["a", "bb"], seed=1)
    assert images.shape == (2, 32, 32, 3) and thumbs.key == "flat"
    assert thumbs.preview("a").startswith("data:image/jpeg;base64,") and thumbs.preview("zzz") is None
    assert thumbs.preview("a") != thumbs.preview("bb")
