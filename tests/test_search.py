import pytest

from devkit.toys import HashingEncoder, OverlapScorer, ScriptedLLM, ToyLLM
from mils.errors import GeneratorError, InputError
from mils.parsing import normalize
from mils.scorers.embedding import EmbeddingScorer
from mils.search import SearchConfig, run_search
from mils.tasks import TASKS

TASK = TASKS["image_caption"]
POOL = ["a red car on a street", "a blue sky", "a wooden table", "an old tree", "a bird over water",
        "a dog on a beach", "a small cup", "night light"]
TARGET = "a small cat sleeping on a red sofa"


def search(llm=None, scorer=None, start=POOL, on_error="raise", **cfg):
    cfg = {"keep": 4, "new_per_step": 6, "steps": 6, "seed": 3, **cfg}
    return run_search(llm or ToyLLM(), scorer or OverlapScorer(TARGET), TASK, start, SearchConfig(**cfg),
                      on_error=on_error)


def test_search_improves_on_the_starting_pool_and_keeps_the_best():
    scorer = OverlapScorer(TARGET)
    res = search(scorer=scorer, steps=8)
    start_best = max(scorer.score(POOL))
    assert res.best_score > start_best
    curve = res.curve()
    assert curve == sorted(curve), "elitism: the best score never drops"
    assert res.best_score == curve[-1] == res.leaderboard[0].score
    assert len(res.history) == 9 and res.history[0].step == 0


def test_prompt_shows_top_k_best_first_as_score_lines():
    llm = ToyLLM()
    search(llm=llm, steps=1, keep=3)
    prompt = llm.prompts[0]
    lines = [ln for ln in prompt.splitlines() if ln[:1].isdigit()]
    assert len(lines) == 3
    scores = [float(ln.split(":")[0]) for ln in lines]
    assert scores == sorted(scores, reverse=True)
    assert "Write 6 new" in prompt and "higher is better" in prompt


def test_same_seed_same_history_other_seed_differs():
    a, b, c = search(seed=11), search(seed=11), search(seed=12)
    texts = lambda r: [[s.text for s in h.leaderboard] for h in r.history]
    assert texts(a) == texts(b)
    assert texts(a) != texts(c)


def test_dedup_is_against_the_whole_history_not_only_the_shown_k():
    # the LLM repeats a pool line that is NOT among the top K shown, plus case/spacing variants
    reply = "1. A Blue  Sky.\n2. a wooden table\n3. a small cat on a sofa"
    scorer = OverlapScorer(TARGET)
    res = search(llm=ScriptedLLM([reply, "1. a small cat on a sofa"]), scorer=scorer, keep=2, steps=1)
    scored = [normalize(t) for t in scorer.scored]
    assert len(scored) == len(set(scored)), "nothing scored twice"
    assert res.history[1].new == 1 and res.history[1].proposed == 3


def test_never_more_than_n_new_per_step():
    res = search(llm=ToyLLM(), new_per_step=2, steps=3)
    assert all(h.new <= 2 for h in res.history[1:])


def test_patience_stops_early():
    reply_cycle = [f"1. night light number {w}" for w in "one two three four five six seven eight".split()]
    res = search(llm=ScriptedLLM(reply_cycle), steps=8, patience=2)
    assert res.stopped == "patience"
    assert len(res.history) == 3  # start + 2 stale steps


def test_cancel_stops_between_steps_and_keeps_the_best():
    calls = {"n": 0}

    def progress(rec, total):
        calls["n"] += 1

    cancel_after = {"steps": 2}
    res = run_search(ToyLLM(), OverlapScorer(TARGET), TASK, POOL, SearchConfig(keep=4, new_per_step=6, steps=10),
                     progress=progress, should_cancel=lambda: calls["n"] > cancel_after["steps"])
    assert res.stopped == "cancelled"
    assert len(res.history) == 3
    assert res.best_score == max(h.best_score for h in res.history)


def test_time_budget_stops():
    res = search(steps=50, time_budget_s=1e-9)
    assert res.stopped == "time" and len(res.history) == 1


def test_llm_that_never_returns_anything_usable_is_a_clear_error():
    # a refusal inside a think block parses to nothing; the next replies only repeat pool lines
    llm = ScriptedLLM(["<think>I can't help with that.</think>", "1. a blue sky\n2. A Wooden Table."])
    with pytest.raises(GeneratorError, match="no usable candidate in any of 2 steps") as err:
        search(llm=llm, steps=2, retries=1)
    assert llm.calls == 4, "every step used all its tries"
    assert "A Wooden Table." in str(err.value), "the message quotes the last reply"


def test_steps_with_only_known_candidates_are_skipped_and_the_pool_best_wins():
    scorer = OverlapScorer(TARGET)
    pool_best = max(POOL, key=lambda t: scorer.score([t])[0])
    llm = ScriptedLLM(["1. night light again", "1. a blue sky\n2. A Red Car On A Street"])
    res = search(llm=llm, scorer=scorer, steps=3, retries=0)
    assert [h.new for h in res.history[1:]] == [1, 0, 0]
    assert [any("skipped" in w for w in h.warnings) for h in res.history[1:]] == [False, True, True]
    assert res.best.text == pool_best and res.best.step == 0
    assert res.stopped == "steps"


def test_a_search_that_improves_wins_with_a_candidate_from_a_later_step():
    scorer = OverlapScorer(TARGET)
    pool_best_score = max(scorer.score(POOL))
    llm = ScriptedLLM(["1. a cat", "1. a small cat sleeping on a sofa"])
    res = search(llm=llm, scorer=scorer, steps=2)
    assert res.best.text == "a small cat sleeping on a sofa" and res.best.step == 2
    assert res.best_score == pytest.approx(6 / 7) and pool_best_score == pytest.approx(3 / 7)
    assert [h.best_score for h in res.history] == pytest.approx([pool_best_score, pool_best_score, 6 / 7])


def test_an_unusable_reply_is_retried_then_the_step_goes_on():
    llm = ScriptedLLM(["```\n```", "<think>1. hidden</think>", "1. a small cat sleeping"])
    res = search(llm=llm, steps=1, retries=2)
    assert llm.calls == 3 and res.history[1].new == 1
    assert len(res.history[1].warnings) == 2


def test_step_is_skipped_with_a_warning_when_retries_run_out():
    llm = ScriptedLLM(["1. a small cat", "", "", "", "1. a red sofa"])
    res = search(llm=llm, steps=3, retries=1)
    assert [h.new for h in res.history[1:]] == [1, 0, 1]
    assert any("skipped" in w for w in res.history[2].warnings)


@pytest.mark.parametrize("cfg, name", [({"new_per_step": 0}, "new_per_step"), ({"keep": 0}, "keep"),
                                       ({"steps": -1}, "steps"), ({"temperature": -1}, "temperature"),
                                       ({"top_p": 0}, "top_p")])
def test_bad_config_names_the_input(cfg, name):
    with pytest.raises(InputError, match=name):
        search(**cfg)


def test_empty_start_is_an_error():
    with pytest.raises(InputError, match="start"):
        search(start=["", "  "])


def test_minimising_scorer_sorts_lowest_first_and_says_lower():
    class Distance(OverlapScorer):
        direction = "minimize"

        def score(self, texts):
            return [1 - s for s in super().score(texts)]

    llm = ToyLLM()
    res = search(llm=llm, scorer=Distance(TARGET))
    assert res.best_score == min(s.score for s in res.leaderboard)
    assert res.curve() == sorted(res.curve(), reverse=True)
    assert "lower is better" in llm.prompts[0]


def test_embedding_scorer_search_with_caches():
    enc = HashingEncoder()
    target = enc.encode_text([TARGET])[0]
    scorer = EmbeddingScorer(enc, target)
    enc.texts_encoded = 0
    res = search(scorer=scorer, steps=5)
    # every text was embedded once: the pool through the disk store, the LLM's texts through the text cache
    assert enc.texts_encoded == len(POOL) + scorer.text_cache.encoded
    assert res.encodes == scorer.text_cache.encoded
    assert res.best_score > max(scorer.score(POOL))
    # a second target (the next image) reuses the pool embeddings from disk and the cached texts
    before = enc.texts_encoded
    other = EmbeddingScorer(enc, enc.encode_text(["a dog on a beach at night"])[0])
    enc.texts_encoded = before
    search(scorer=other, steps=0)
    assert enc.texts_encoded == before and other.pool_store.loaded_from_disk == 1


def test_scores_shown_to_the_llm_keep_small_differences_visible():
    enc = HashingEncoder()
    scorer = EmbeddingScorer(enc, enc.encode_text(["x"])[0])
    assert scorer.format_score(0.1234) != scorer.format_score(0.1239)


def test_result_serialises_to_json_that_reads_back_as_the_same_result():
    import json

    res = search(llm=FailingLLM(3), steps=5, on_error="return")   # a partial result, with its error
    back = json.loads(json.dumps(res.to_dict()))
    assert back["best_text"] == res.best_text == back["best"]["text"] and back["best_score"] == res.best_score
    assert back["stopped"] == "error" and back["error"] == res.error and "refused" in back["error"]
    assert [h["best_score"] for h in back["history"]] == res.curve()
    assert [[s["text"] for s in h["leaderboard"]] for h in back["history"]] == \
        [[s.text for s in h.leaderboard] for h in res.history]
    assert back["llm_calls"] == res.llm_calls == len(res.history) - 1 and "failure" not in back  # stays in-process


def test_cancel_inside_a_long_llm_call_stops_that_step():
    from mils import cancel

    class SlowLLM(ToyLLM):
        def generate(self, prompt, params):
            state["calls"] += 1
            if state["calls"] == 2:
                state["flag"] = True          # e.g. the user pressed Cancel mid-generation
                assert cancel.requested()     # what a backend polls while it generates
            return super().generate(prompt, params)

    state = {"calls": 0, "flag": False}
    res = run_search(SlowLLM(), OverlapScorer(TARGET), TASK, POOL, SearchConfig(keep=4, new_per_step=6, steps=10),
                     should_cancel=lambda: state["flag"])
    assert res.stopped == "cancelled" and len(res.history) == 2  # step 2's candidates were not scored
    assert not cancel.requested()  # the scope ends with the search


# --- parallel replies per step ------------------------------------------------------------------

class CountingToyLLM(ToyLLM):
    """ToyLLM whose replies differ per reply (each reply r is sampled with its own row seed)."""

    default_parallel = 3

    def __init__(self):
        super().__init__()
        self.params: list = []

    def generate(self, prompt, params):
        from dataclasses import replace

        self.params.append(params)
        return [ToyLLM.generate(self, prompt, p)[0] for p in params.row_params()] if params.num_replies > 1 else \
            ToyLLM.generate(self, prompt, replace(params, num_replies=1))


def test_parallel_replies_each_ask_for_their_share():
    llm = CountingToyLLM()
    res = search(llm=llm, new_per_step=7, parallel=3, steps=2)
    assert all(p.num_replies == 3 for p in llm.params)
    assert "Write 3 new" in llm.prompts[0]  # ceil(7 / 3)
    assert all(h.new <= 7 for h in res.history[1:]) and res.history[1].new > 3


def test_parallel_defaults_to_the_generators_and_is_capped_at_n():
    llm = CountingToyLLM()
    search(llm=llm, new_per_step=6, steps=1)
    assert llm.params[0].num_replies == 3 and "Write 2 new" in llm.prompts[0]
    llm = CountingToyLLM()
    search(llm=llm, new_per_step=2, steps=1)
    assert llm.params[0].num_replies == 2
    plain = ToyLLM()  # no default_parallel: one reply, as before
    search(llm=plain, steps=1)
    assert "Write 6 new" in plain.prompts[0]


def test_parallel_is_deterministic_under_a_seed():
    texts = lambda r: [[s.text for s in h.leaderboard] for h in r.history]
    assert texts(search(llm=CountingToyLLM(), parallel=3)) == texts(search(llm=CountingToyLLM(), parallel=3))


@pytest.mark.parametrize("p", [0, -2, 7, 2.5])
def test_bad_parallel_names_it(p):
    with pytest.raises(InputError, match="parallel"):
        search(parallel=p)


# --- an LLM failure keeps the best so far -------------------------------------------------------

class FailingLLM(ToyLLM):
    def __init__(self, fail_from_call):
        super().__init__()
        self.fail_from_call = fail_from_call

    def generate(self, prompt, params):
        if self.calls + 1 >= self.fail_from_call:
            self.calls += 1
            raise GeneratorError("the LLM server at http://127.0.0.1:9/v1 refused the connection")
        return super().generate(prompt, params)


def test_llm_failure_raises_with_the_partial_result_or_returns_it():
    with pytest.raises(GeneratorError, match="refused") as ei:
        search(llm=FailingLLM(3), steps=5)
    partial = ei.value.result
    assert partial.stopped == "error" and "refused" in partial.error and len(partial.history) == 3
    res = run_search(FailingLLM(3), OverlapScorer(TARGET), TASK, POOL, SearchConfig(keep=4, new_per_step=6, steps=5,
                                                                                    seed=3), on_error="return")
    assert res.stopped == "error" and res.best_score == partial.best_score
    assert res.best_score == max(h.best_score for h in res.history)
    with pytest.raises(InputError, match="on_error"):
        run_search(ToyLLM(), OverlapScorer(TARGET), TASK, POOL, SearchConfig(), on_error="ignore")
