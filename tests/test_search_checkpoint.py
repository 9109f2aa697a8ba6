"""Resumable searches: state after every step, resume at the last finished step, bad states ignored."""
from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest

from devkit.toys import OverlapScorer, ToyLLM
from mils.errors import GeneratorError
from mils.lockstep import SearchItem, run_searches
from mils.search import SearchConfig, run_search
from mils.tasks import TASKS

TASK = TASKS["image_caption"]
POOL = ["a red car on a street", "a blue sky", "a wooden table", "an old tree", "a bird over water",
        "a dog on a beach", "a small cup", "night light"]
TARGET = "a small cat sleeping on a red sofa"
CFG = SearchConfig(keep=4, new_per_step=6, steps=5, seed=3)


class Killed(BaseException):
    """Stands in for the process dying (not an error the search handles)."""


class DyingLLM(ToyLLM):
    def __init__(self, die_at_call, exc=Killed):
        super().__init__()
        self.die_at_call, self.exc = die_at_call, exc

    def generate(self, prompt, params):
        if self.calls + 1 >= self.die_at_call:
            self.calls += 1
            raise self.exc("killed")
        return super().generate(prompt, params)


def run(llm, path=None, cfg=CFG, target=TARGET, **kw):
    return run_search(llm, OverlapScorer(target), TASK, POOL, cfg, checkpoint=path, **kw)


def signature(res):
    return ([[(s.text, s.score, s.step) for s in h.leaderboard] for h in res.history], res.stopped,
            res.best_text, res.llm_calls, [h.new for h in res.history])


@pytest.fixture
def uninterrupted():
    return run(ToyLLM())


def test_killed_after_step_2_resumes_at_step_3_and_ends_where_an_uninterrupted_run_does(tmp_path, uninterrupted):
    path = tmp_path / "search.json"
    with pytest.raises(Killed):
        run(DyingLLM(3), path)
    assert json.loads(path.read_text())["step"] == 2
    counting = ToyLLM()
    res = run(counting, path)
    assert counting.calls == CFG.steps - 2  # no finished step repeated
    assert res.resumed_from == 2
    assert signature(res) == signature(uninterrupted)
    assert [p.name for p in tmp_path.iterdir()] == ["search.json"]  # no temp files left


def test_llm_failure_keeps_the_best_and_a_rerun_goes_on(tmp_path, uninterrupted):
    path = tmp_path / "s.json"
    failed = run(DyingLLM(4, GeneratorError), path, on_error="return")
    assert failed.stopped == "error" and failed.error == "killed" and len(failed.history) == 4
    counting = ToyLLM()
    res = run(counting, path)
    assert counting.calls == CFG.steps - 3 and signature(res) == signature(uninterrupted)


def test_a_finished_search_is_not_run_again(tmp_path, uninterrupted):
    path = tmp_path / "s.json"
    run(ToyLLM(), path)
    again = ToyLLM()
    res = run(again, path)
    assert again.calls == 0 and signature(res) == signature(uninterrupted)


def test_fresh_ignores_the_saved_state(tmp_path):
    path = tmp_path / "s.json"
    run(ToyLLM(), path)
    counting = ToyLLM()
    res = run(counting, path, fresh=True)
    assert counting.calls == CFG.steps and res.resumed_from == 0


@pytest.mark.parametrize("content", ["{not json", "", "[1, 2]", '{"version": 99}', "\x00\xff garbage"])
def test_a_corrupt_state_is_ignored_with_a_warning(tmp_path, caplog, uninterrupted, content):
    path = tmp_path / "s.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content)
    counting = ToyLLM()
    with caplog.at_level(logging.WARNING, logger="mils.search_checkpoint"):
        res = run(counting, path)
    assert counting.calls == CFG.steps and signature(res) == signature(uninterrupted)
    assert any("corrupt" in r.getMessage() and str(path) in r.getMessage() for r in caplog.records)
    assert json.loads(path.read_text())["step"] == CFG.steps  # overwritten with a good state


def test_a_state_with_missing_fields_is_ignored(tmp_path, caplog, uninterrupted):
    path = tmp_path / "s.json"
    with pytest.raises(Killed):
        run(DyingLLM(3), path)
    state = json.loads(path.read_text())
    del state["board"]
    path.write_text(json.dumps(state))
    with caplog.at_level(logging.WARNING, logger="mils.search_checkpoint"):
        res = run(ToyLLM(), path)
    assert res.resumed_from == 0 and signature(res) == signature(uninterrupted)
    assert any("corrupt" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("other,named", [({"cfg": replace(CFG, seed=4)}, "seed (3 -> 4)"),
                                         ({"target": "a dog"}, "scorer ("), ({"cfg": replace(CFG, keep=3)}, "budget (")])
def test_a_state_from_other_arguments_is_ignored_with_a_warning_naming_them(tmp_path, caplog, other, named):
    path = tmp_path / "s.json"
    run(ToyLLM(), path)
    counting = ToyLLM()
    with caplog.at_level(logging.WARNING, logger="mils.search_checkpoint"):
        res = run(counting, path, **other)
    assert counting.calls == CFG.steps and res.resumed_from == 0
    warned = [r.getMessage() for r in caplog.records if "other arguments" in r.getMessage()]
    assert len(warned) == 1 and named in warned[0] and "llm" not in warned[0]


def test_a_new_time_budget_still_resumes(tmp_path, uninterrupted):
    path = tmp_path / "s.json"
    with pytest.raises(Killed):
        run(DyingLLM(3), path)
    res = run(ToyLLM(), path, cfg=replace(CFG, time_budget_s=3600.0))
    assert res.resumed_from == 2 and signature(res) == signature(uninterrupted)


def test_lockstep_batch_resumes_each_search(tmp_path):
    targets = [TARGET, "a dog running on the beach at night", "coffee cup on a wooden table"]
    paths = [tmp_path / f"{i}.json" for i in range(3)]
    items = [SearchItem(OverlapScorer(t), POOL, checkpoint=p) for t, p in zip(targets, paths)]
    with pytest.raises(Killed):
        run_searches(DyingLLM(3 * 2 + 1), TASK, items, CFG)  # dies in step 3 (ToyLLM has no generate_batch)
    assert [json.loads(p.read_text())["step"] for p in paths] == [2, 2, 2]
    items = [SearchItem(OverlapScorer(t), POOL, checkpoint=p) for t, p in zip(targets, paths)]
    counting = ToyLLM()
    results = run_searches(counting, TASK, items, CFG)
    assert counting.calls == 3 * (CFG.steps - 2)
    for t, res in zip(targets, results):
        assert res.resumed_from == 2
        assert signature(res) == signature(run_search(ToyLLM(), OverlapScorer(t), TASK, POOL, CFG))
