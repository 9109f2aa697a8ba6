"""The artist steers a search (issue 18): pin, unpin, ban, edit, add, stop, rank, judge mode, resume."""
import threading

import pytest

from devkit.toys import OverlapScorer, ToyLLM
from mils.errors import InputError
from mils.lockstep import SearchItem, run_searches
from mils.search import SearchConfig, run_search
from mils.steering import MAX_TEXT, SteerAction, Steering, SteeringClosed, parse_action
from mils.tasks import AVOID, TASKS

TASK = TASKS["invert"]
TARGET = "red car on a street at night"
START = ["a cat", "a red car", "blue sky"]
REPLIES = ["1. red car on street\n2. a dog", "1. red car on a street\n2. night street",
           "1. red car on a street at night\n2. green tree", "1. a small bird\n2. old photo"]


class RecordingLLM:
    """Fixed replies in turn (the last repeats); keeps every prompt."""

    key = "recording-llm"

    def __init__(self, replies=REPLIES):
        self.replies, self.prompts = list(replies), []

    def generate(self, prompt, params):
        self.prompts.append(prompt)
        return [self.replies[min(len(self.prompts) - 1, len(self.replies) - 1)]]


def steered(actions_after: dict, *, start=START, replies=REPLIES, steps=3, keep=2, scorer=None, **kw):
    """Run one search; ``actions_after[step]``: the actions submitted when that step's record arrives."""
    llm, scorer = RecordingLLM(replies), scorer or OverlapScorer(TARGET)
    steering = Steering()

    def progress(rec, total):
        for a in actions_after.get(rec.step, []):
            steering.submit(a)

    cfg = SearchConfig(keep=keep, new_per_step=2, steps=steps, retries=0, parallel=1)
    result = run_search(llm, scorer, TASK, start, cfg, progress=progress, steering=steering, **kw)
    return result, llm, scorer, steering


def texts(board):
    return [s.text for s in board]


def test_a_pinned_candidate_is_in_every_later_prompt_and_in_the_kept_k():
    result, llm, _, _ = steered({0: [SteerAction("pin", "a cat")]})
    assert len(llm.prompts) == 3
    assert all(": a cat\n" in p or p.count(": a cat") for p in llm.prompts)
    assert "a cat" in texts(result.leaderboard) and len(result.leaderboard) == 2
    assert [s.pinned for s in result.leaderboard if s.text == "a cat"] == [True]
    assert all("a cat" in texts(r.leaderboard) for r in result.history[1:])
    assert result.best.text == "red car on a street at night"  # the pin does not make it the best
    [ev] = result.steering
    assert ev["status"] == "applied" and ev["action"] == "pin" and ev["round"] == 0


def test_without_the_pin_the_same_candidate_falls_out():
    result, llm, _, _ = steered({})
    assert "a cat" not in texts(result.leaderboard)
    assert not any(": a cat" in p for p in llm.prompts[1:])
    assert result.steering == []


def test_unpin_lets_it_fall_out_again():
    result, llm, _, _ = steered({0: [SteerAction("pin", "a cat")], 1: [SteerAction("unpin", "a cat")]})
    assert ": a cat" in llm.prompts[0] and ": a cat" not in llm.prompts[1] + llm.prompts[2]
    assert [e["status"] for e in result.steering] == ["applied", "applied"]


def test_a_banned_candidate_never_reappears_and_the_llm_is_told_to_avoid_it():
    # the LLM proposes the banned text again in every reply
    replies = [r + "\n3. red car on street" for r in REPLIES]
    result, llm, scorer, _ = steered({1: [SteerAction("ban", "red car on street")]}, replies=replies)
    assert scorer.scored.count("red car on street") == 1           # scored once, before the ban
    assert all("red car on street" not in texts(r.leaderboard) for r in result.history[2:])
    assert "red car on street" not in texts(result.leaderboard)
    assert AVOID.strip() not in llm.prompts[0]
    for p in llm.prompts[1:]:
        assert AVOID.strip() in p and "- red car on street" in p
    # an add of the banned text is rejected too
    result2, *_ = steered({1: [SteerAction("ban", "red car on street"), SteerAction("add", "red car on street")]})
    assert [e["status"] for e in result2.steering] == ["applied", "rejected"]
    assert "banned" in result2.steering[1]["reason"]


def test_edit_replaces_the_text_and_the_new_text_is_scored_by_the_scorer():
    result, _, scorer, _ = steered({0: [SteerAction("edit", "a cat", new_text="a red car at night")]}, steps=1,
                                   keep=5)
    board = {s.text: s.score for s in result.leaderboard}
    assert "a cat" not in board
    assert board["a red car at night"] == pytest.approx(OverlapScorer(TARGET).score(["a red car at night"])[0])
    assert "a red car at night" in scorer.scored
    ev = result.steering[0]
    assert ev["status"] == "applied" and ev["new_text"] == "a red car at night"


def test_an_edit_of_a_pinned_candidate_keeps_the_pin():
    result, llm, *_ = steered({0: [SteerAction("pin", "a cat"), SteerAction("edit", "a cat", new_text="a cat dozing")]})
    assert all(": a cat dozing" in p for p in llm.prompts)
    assert [s.pinned for s in result.leaderboard if s.text == "a cat dozing"] == [True]


def test_add_scores_the_artists_own_candidate():
    result, _, scorer, _ = steered({0: [SteerAction("add", "red car on a street at night", who="cli")]}, steps=1)
    assert result.best.text == "red car on a street at night" and result.best.score == pytest.approx(1.0)
    assert scorer.scored.count("red car on a street at night") == 1
    assert result.steering[0]["who"] == "cli"


def test_rank_puts_the_artists_order_first():
    result, llm, *_ = steered({0: [SteerAction("rank", order=("blue sky", "a cat"))]}, steps=1, keep=5)
    assert texts(result.leaderboard)[:2] == ["blue sky", "a cat"]
    assert result.best.text == "blue sky"
    shown = [line.split(": ", 1)[1] for line in llm.prompts[0].splitlines() if ": " in line and line[0].isdigit()]
    assert shown[:2] == ["blue sky", "a cat"]


def test_a_pick_is_a_rank_of_one_and_a_newer_pick_goes_first():
    pick = parse_action({"action": "pick", "text": "a cat"}, who="judge")
    later = parse_action({"action": "pick", "text": "blue sky"}, who="judge")
    result, *_ = steered({0: [pick], 1: [later]}, steps=2, keep=4)
    assert texts(result.leaderboard)[:2] == ["blue sky", "a cat"]
    assert result.history[1].leaderboard[0].text == "a cat"


def test_stop_ends_the_search_with_its_best():
    result, llm, _, _ = steered({1: [SteerAction("stop")]}, steps=4)
    assert result.stopped == "artist" and len(llm.prompts) == 1
    assert result.best.text == "red car on street"


@pytest.mark.parametrize("action, reason", [
    (SteerAction("pin", "no such text"), "text: no candidate"),
    (SteerAction("ban", "no such text"), "text: no candidate"),
    (SteerAction("unpin", "a cat"), "not pinned"),
    (SteerAction("edit", "a cat", new_text=""), "new_text: an empty text"),
    (SteerAction("edit", "a cat", new_text="blue  SKY"), "new_text:"),        # a duplicate of another candidate
    (SteerAction("add", "a red car"), "duplicate"),
    (SteerAction("add", "x" * (MAX_TEXT + 1)), "at most"),
    (SteerAction("rank", order=("a cat", "gone")), "order[1]"),
    (SteerAction("frobnicate", "a cat"), "unknown action"),
])
def test_bad_actions_are_rejected_with_a_reason_and_the_search_goes_on(action, reason):
    result, llm, *_ = steered({0: [action]})
    [ev] = result.steering
    assert ev["status"] == "rejected" and reason in ev["reason"]
    assert result.stopped == "steps" and len(llm.prompts) == 3


def test_a_ban_of_the_only_candidate_is_rejected():
    result, llm, *_ = steered({0: [SteerAction("ban", "lonely text")]}, start=["lonely text"], keep=1)
    assert result.steering[0]["status"] == "rejected" and "only candidate" in result.steering[0]["reason"]
    assert result.stopped == "steps"


def test_more_pins_than_k_are_rejected():
    pins = [SteerAction("pin", t) for t in START]
    result, *_ = steered({0: pins}, keep=2)
    assert [e["status"] for e in result.steering] == ["applied", "applied", "rejected"]
    assert "K=2" in result.steering[2]["reason"]
    assert {s.text for s in result.leaderboard} == set(START[:2])


@pytest.mark.parametrize("obj, field", [
    ({"action": "pin", "text": "x" * 100_000}, "text"),
    ({"action": "teleport", "text": "a"}, "action"),
    ({"action": "pin", "text": "  "}, "text"),
    ({"action": "edit", "text": "a cat", "new_text": ""}, "new_text"),
    ({"action": "rank", "order": "a cat"}, "order"),
    ({"action": "rank", "order": ["a", 3]}, "order[1]"),
    ({"action": "add", "text": 5}, "text"),
    (["pin", "a"], "action"),
])
def test_parse_action_names_the_field(obj, field):
    with pytest.raises(InputError) as e:
        parse_action(obj)
    assert e.value.input_name == field


def test_parse_action_reads_each_kind():
    assert parse_action({"action": "edit", "text": " a ", "new_text": "b"}, who="editor") == \
        SteerAction("edit", "a", "b", who="editor")
    assert parse_action({"action": "rank", "order": ["b", "a"]}).order == ("b", "a")
    assert parse_action({"action": "stop"}).kind == "stop"


def test_the_inbox_closes_when_the_run_ends():
    _, _, _, steering = steered({})
    assert steering.closed
    with pytest.raises(SteeringClosed):
        steering.submit(SteerAction("stop"))


def test_events_are_in_the_inbox_and_the_json_result():
    import json
    result, _, _, steering = steered({0: [SteerAction("pin", "a cat"), SteerAction("pin", "nope")]})
    assert steering.events() == result.steering
    back = json.loads(json.dumps(result.to_dict()))
    assert [e["status"] for e in back["steering"]] == ["applied", "rejected"]
    assert any(s["pinned"] for s in back["leaderboard"])


def test_a_resumed_run_keeps_its_pins_and_bans(tmp_path):
    ck = tmp_path / "state.json"
    cancel = {"now": False}
    actions = {0: [SteerAction("pin", "a cat"), SteerAction("ban", "blue sky")]}

    def stop_after_round_one():
        return cancel["now"]

    def progress_hook(rec, total):
        if rec.step == 1:
            cancel["now"] = True
    steering = Steering()
    llm = RecordingLLM()

    def progress(rec, total):
        for a in actions.get(rec.step, []):
            steering.submit(a)
        progress_hook(rec, total)
    cfg = SearchConfig(keep=2, new_per_step=2, steps=3, retries=0, parallel=1)
    first = run_search(llm, OverlapScorer(TARGET), TASK, START, cfg, progress=progress, steering=steering,
                       checkpoint=ck, should_cancel=stop_after_round_one)
    assert first.stopped == "cancelled"
    again = RecordingLLM()
    second = run_search(again, OverlapScorer(TARGET), TASK, START, cfg, checkpoint=ck, steering=Steering())
    assert second.resumed_from == 1 and len(again.prompts) == 2
    for p in again.prompts:
        assert ": a cat" in p and "- blue sky" in p
    assert "a cat" in texts(second.leaderboard) and "blue sky" not in texts(second.leaderboard)
    assert [e["action"] for e in second.steering] == ["pin", "ban"]


def test_a_search_stopped_by_the_artist_resumes_as_finished(tmp_path):
    ck = tmp_path / "state.json"
    first, *_ = steered({1: [SteerAction("stop")]}, checkpoint=ck)
    again = RecordingLLM()
    cfg = SearchConfig(keep=2, new_per_step=2, steps=3, retries=0, parallel=1)
    second = run_search(again, OverlapScorer(TARGET), TASK, START, cfg, checkpoint=ck)
    assert second.stopped == "artist" and again.prompts == [] and second.best.text == first.best.text


def test_steering_one_search_of_a_batch_leaves_the_other_as_if_alone():
    cfg = SearchConfig(keep=2, new_per_step=2, steps=3, retries=0, parallel=1)
    alone = run_search(ToyLLM(), OverlapScorer("blue sky at night"), TASK, START, cfg)
    steering = Steering()
    steering.submit(SteerAction("ban", "a red car"))
    items = [SearchItem(OverlapScorer(TARGET), START, steering=steering),
             SearchItem(OverlapScorer("blue sky at night"), START)]
    first, second = run_searches(ToyLLM(), TASK, items, cfg)
    assert first.steering[0]["status"] == "applied" and "a red car" not in texts(first.leaderboard)
    assert second.steering == [] and texts(second.leaderboard) == texts(alone.leaderboard)


# -- judge mode


def test_judge_mode_times_out_to_the_scorers_ranking():
    plain, *_ = steered({})
    judged, *_ = steered({}, judge_timeout_s=0.01)
    assert texts(judged.leaderboard) == texts(plain.leaderboard) and judged.best == plain.best
    assert judged.steering == []


def test_judge_mode_applies_a_pick_from_another_thread():
    llm, steering = RecordingLLM(), Steering()
    seen = threading.Semaphore(0)
    boards = []

    def progress(rec, total):
        boards.append(rec)
        seen.release()

    def judge():  # after each round the artist picks the worst of the first board
        for _ in range(2):
            seen.acquire(timeout=30)
            steering.submit(SteerAction("rank", order=(boards[0].leaderboard[-1].text,), who="judge"))
    t = threading.Thread(target=judge)
    t.start()
    cfg = SearchConfig(keep=3, new_per_step=2, steps=1, retries=0, parallel=1)
    result = run_search(llm, OverlapScorer(TARGET), TASK, START, cfg, progress=progress, steering=steering,
                        judge_timeout_s=60)
    t.join(30)
    picked = boards[0].leaderboard[-1].text
    assert [(e["status"], e["who"], e["round"]) for e in result.steering] == [("applied", "judge", 0),
                                                                               ("applied", "judge", 1)]
    assert result.best.text == picked and result.stopped == "steps"
    assert ": " + picked in llm.prompts[0].splitlines()[3]  # first of the lines shown to the LLM


def test_cancel_ends_the_judges_wait_at_once():
    cancel = threading.Event()
    steering = Steering()
    waiting = threading.Event()
    original = steering.wait_for_pick

    def wait(timeout_s, cancelled, poll_s=0.1):
        waiting.set()
        return original(timeout_s, cancelled, poll_s)
    steering.wait_for_pick = wait
    out = {}

    def run():
        cfg = SearchConfig(keep=2, new_per_step=2, steps=3, retries=0, parallel=1)
        out["result"] = run_search(RecordingLLM(), OverlapScorer(TARGET), TASK, START, cfg, steering=steering,
                                   judge_timeout_s=3600, should_cancel=cancel.is_set)
    t = threading.Thread(target=run)
    t.start()
    assert waiting.wait(30)
    cancel.set()
    t.join(60)
    assert not t.is_alive()
    assert out["result"].stopped == "cancelled" and out["result"].llm_calls == 0


def test_wait_for_pick_returns_false_on_cancel_and_timeout_true_on_a_queued_rank():
    s = Steering()
    assert s.wait_for_pick(3600, lambda: True) is False
    assert s.wait_for_pick(0.01, lambda: False) is False
    s.submit(SteerAction("pin", "a"))
    assert s.wait_for_pick(0.01, lambda: False) is False   # only a rank or a stop ends the wait
    s.submit(SteerAction("stop"))
    assert s.wait_for_pick(3600, lambda: False) is True


@pytest.mark.parametrize("timeout", [0, -1, "5", True])
def test_bad_judge_timeout_names_it(timeout):
    cfg = SearchConfig(keep=2, new_per_step=2, steps=1, retries=0, parallel=1)
    with pytest.raises(InputError, match="judge_timeout_s"):
        run_search(RecordingLLM(), OverlapScorer(TARGET), TASK, START, cfg, steering=Steering(),
                   judge_timeout_s=timeout)


def test_the_inbox_publishes_the_board_and_reports_applied_batches():
    seen = []
    steering = Steering(on_applied=lambda board, events: seen.append(([s.text for s in board], events)))
    steering.submit(SteerAction("pin", "a cat"))
    llm = RecordingLLM()
    cfg = SearchConfig(keep=2, new_per_step=2, steps=1, retries=0, parallel=1)
    result = run_search(llm, OverlapScorer(TARGET), TASK, START, cfg, steering=steering)
    [(board, events)] = seen
    assert "a cat" in board and [e["action"] for e in events] == ["pin"]
    assert [s.text for s in steering.leaderboard()] == texts(result.leaderboard)


def test_one_inbox_cannot_steer_two_searches():
    steering = Steering()
    cfg = SearchConfig(keep=2, new_per_step=2, steps=1, retries=0, parallel=1)
    items = [SearchItem(OverlapScorer(TARGET), START, steering=steering),
             SearchItem(OverlapScorer(TARGET), START, steering=steering)]
    with pytest.raises(InputError, match="items"):
        run_searches(RecordingLLM(), TASK, items, cfg)


class FailsOn(OverlapScorer):
    def score(self, texts):
        if "boom" in texts:
            raise RuntimeError("the scorer broke on boom")
        return super().score(texts)


def test_a_scorer_failure_on_an_added_text_stops_that_search_with_its_best():
    result, llm, *_ = steered({0: [SteerAction("add", "boom"), SteerAction("pin", "a cat")]}, scorer=FailsOn(TARGET),
                                on_error="return")
    assert result.stopped == "error" and "boom" in result.error and llm.prompts == []
    assert [(e["action"], e["status"]) for e in result.steering] == [("add", "rejected"), ("pin", "rejected")]
    assert result.best.text == "a red car"
