"""mils.batch without the CLI: the resume plan, lockstep units with per-round states, outages kept."""
from __future__ import annotations

import json

import pytest

from devkit.toys import VOCAB, ColourWordsEncoder, ToyLLM
from mils.batch import BatchOptions, Dataset, ItemResult, plan, run
from mils.errors import GeneratorError, InputError
from mils.jobs import Job

POOL = [f"a {w} {v}" for w, v in zip(VOCAB[::2], VOCAB[1::2])]
TEXTS = ["a red cat", "a blue sofa", "a green tree"]


class OutageLLM(ToyLLM):
    """The toy LLM whose ``fail_at``-th call fails, as a server outage does after its retries. In a lockstep
    batch each round asks for every running search in the items' order, so the call picks the item and round."""

    def __init__(self, fail_at: int = 0):
        super().__init__()
        self.fail_at = fail_at

    def generate(self, prompt, params):
        if self.calls + 1 == self.fail_at:
            self.calls += 1
            raise GeneratorError("the LLM server went away (test)")
        return super().generate(prompt, params)


class Texts(Dataset):
    """Invert each text: <out>/<slug>.json, its round state beside it."""

    def __init__(self, out, llm, seed=0):
        self.out, self.llm, self.seed, self.encoder = out, llm, seed, ColourWordsEncoder()

    def result_path(self, item):
        return self.out / f"{item.replace(' ', '-')}.json"

    def state_path(self, item):
        return self.out / f"{item.replace(' ', '-')}.state.json"

    def name(self, item):
        return item

    def options(self):
        return {"seed": self.seed}

    def job(self, item, loaded):
        return Job("invert", self.llm, self.encoder, prompt=item, pool=POOL, seed=self.seed,
                   overrides={"keep": 3, "new_per_step": 4, "steps": 4, "patience": 0})

    def result(self, item, done):
        return ItemResult({"options": self.options(), **done.result.to_dict()})


def _results(out):
    return {p.name: json.loads(p.read_text()) for p in sorted(out.glob("*.json")) if ".state." not in p.name}


def test_lockstep_units_equal_one_at_a_time_and_a_rerun_skips_them(tmp_path):
    alone, together = tmp_path / "alone", tmp_path / "together"
    run(Texts(alone, ToyLLM()), TEXTS, BatchOptions(alone, batch=1))
    llm = ToyLLM()
    report = run(Texts(together, llm), TEXTS, BatchOptions(together, batch=3))
    assert len(report.done) == 3 and not report.failed and llm.calls == 3 * 4
    a, b = _results(alone), _results(together)
    assert sorted(a) == sorted(b) and len(a) == 3
    assert {k: (v["best_text"], v["best_score"]) for k, v in a.items()} == \
        {k: (v["best_text"], v["best_score"]) for k, v in b.items()}
    assert not list(together.glob("*.state.json"))

    again = ToyLLM()
    report = run(Texts(together, again), TEXTS, BatchOptions(together, batch=3))
    assert report.plan.done == TEXTS and not report.plan.todo and again.calls == 0


def test_an_outage_keeps_the_best_so_far_and_the_rerun_resumes_at_its_last_round(tmp_path):
    out = tmp_path / "out"
    llm = OutageLLM(fail_at=2 * 3 + 2)          # 3 searches: rounds 1 and 2 finish, round 3 fails for the 2nd
    report = run(Texts(out, llm), TEXTS, BatchOptions(out, batch=3))
    assert [item for item, _, _ in report.failed] == ["a blue sofa"] and len(report.done) == 2
    (item, why, kept), = report.failed
    assert "stopped at round 2" in why and "went away" in why
    saved = _results(out)["a-blue-sofa.json"]
    assert saved["stopped"] == "error" and saved["best_text"] == kept.payload["best_text"]
    assert (out / "a-blue-sofa.state.json").is_file()

    p = plan(Texts(out, llm), TEXTS)
    assert (p.done, p.partial, p.pending) == (["a red cat", "a green tree"], ["a blue sofa"], [])
    resumed = ToyLLM()
    report = run(Texts(out, resumed), TEXTS, BatchOptions(out, batch=3))
    assert resumed.calls == 4 - 2 and len(report.done) == 1         # only the rounds it had left
    fresh = tmp_path / "fresh"
    run(Texts(fresh, ToyLLM()), ["a blue sofa"], BatchOptions(fresh))
    got, want = _results(out)["a-blue-sofa.json"], _results(fresh)["a-blue-sofa.json"]
    assert (got["best_text"], got["best_score"], got["resumed_from"]) == (want["best_text"], want["best_score"], 2)


def test_results_with_other_options_are_refused_unless_fresh(tmp_path):
    out = tmp_path / "out"
    run(Texts(out, ToyLLM()), TEXTS, BatchOptions(out))
    with pytest.raises(InputError, match=r"3 with other options .*seed \(0 -> 1\)"):
        plan(Texts(out, ToyLLM(), seed=1), TEXTS)
    report = run(Texts(out, ToyLLM(), seed=1), TEXTS, BatchOptions(out, fresh=True))
    assert len(report.done) == 3 and {r["options"]["seed"] for r in _results(out).values()} == {1}


def test_a_state_alone_is_resumed_and_bad_options_name_themselves(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a-red-cat.state.json").write_text("{}")                # a run killed before its first result
    p = plan(Texts(out, ToyLLM()), TEXTS)
    assert p.partial == ["a red cat"] and p.pending == TEXTS[1:] and p.todo == TEXTS
    with pytest.raises(InputError, match="batch: expected at least 1"):
        BatchOptions(out, batch=0).validate()
    with pytest.raises(InputError, match="workers: expected a Ray run as well"):
        BatchOptions(out, workers=2).validate()
