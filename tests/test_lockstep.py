"""Many searches in lockstep: same results as alone, one batched LLM call and encode per step."""
from __future__ import annotations

import pytest

from devkit.toys import HashingEncoder, OverlapScorer, ToyLLM
from mils.errors import GeneratorError, InputError
from mils.lockstep import SearchItem, run_searches
from mils.scorers.embedding import EmbeddingScorer
from mils.search import SearchConfig, run_search
from mils.tasks import TASKS

TASK = TASKS["image_caption"]
POOL = ["a red car on a street", "a blue sky", "a wooden table", "an old tree", "a bird over water",
        "a dog on a beach", "a small cup", "night light"]
TARGETS = ["a small cat sleeping on a red sofa", "a dog running on the beach at night",
           "coffee cup on a wooden table", "old tree in the snow"]
CFG = SearchConfig(keep=4, new_per_step=6, steps=5, seed=3)


class BatchToyLLM(ToyLLM):
    """ToyLLM with replies per row seed and a generate_batch that counts batches; can fail a prompt."""

    def __init__(self, fail_when=None):
        super().__init__()
        self.batches: list[int] = []
        self.fail_when = fail_when

    def generate(self, prompt, params):
        if self.fail_when and self.fail_when in prompt:
            raise GeneratorError("the LLM server at http://x (model 'm') had a server error (HTTP 500)")
        return [ToyLLM.generate(self, prompt, p)[0] for p in params.row_params()]

    def generate_batch(self, prompts, params_list):
        self.batches.append(len(prompts))
        out = []
        for prompt, params in zip(prompts, params_list):
            try:
                out.append(self.generate(prompt, params))
            except GeneratorError as e:
                out.append(e)
        return out


def signature(res):
    return ([[(s.text, s.score, s.step) for s in h.leaderboard] for h in res.history],
            res.stopped, res.llm_calls, res.best_text, [h.new for h in res.history])


def alone(target, cfg=CFG, llm=None, **kw):
    return run_search(llm or BatchToyLLM(), OverlapScorer(target), TASK, POOL, cfg, **kw)


@pytest.mark.parametrize("parallel", [1, 3])
def test_each_search_in_the_batch_equals_it_run_alone(parallel):
    from dataclasses import replace

    cfg = replace(CFG, parallel=parallel)
    llm = BatchToyLLM()
    results = run_searches(llm, TASK, [SearchItem(OverlapScorer(t), POOL) for t in TARGETS], cfg)
    for target, res in zip(TARGETS, results):
        assert signature(res) == signature(alone(target, cfg))
    assert llm.batches == [len(TARGETS)] * cfg.steps  # one batched LLM call per step for all searches


def test_a_search_that_stops_leaves_the_batch_and_the_others_go_on():
    from dataclasses import replace

    short = replace(CFG, steps=2)
    patient = replace(CFG, steps=8, patience=1)
    items = [SearchItem(OverlapScorer(TARGETS[0]), POOL, config=short),
             SearchItem(OverlapScorer(TARGETS[1]), POOL),
             SearchItem(OverlapScorer(TARGETS[2]), POOL, config=patient)]
    llm = BatchToyLLM()
    results = run_searches(llm, TASK, items, CFG)
    assert [r.stopped for r in results[:2]] == ["steps", "steps"]
    assert len(results[0].history) == 3 and len(results[1].history) == CFG.steps + 1
    assert signature(results[2]) == signature(alone(TARGETS[2], patient))
    assert llm.batches[0] == 3 and llm.batches[-1] < 3


def test_shared_encoder_embeds_all_new_candidates_in_one_batch():
    enc = HashingEncoder()
    scorers = [EmbeddingScorer(enc, enc.encode_text([t])[0]) for t in TARGETS]
    calls_before = enc.text_calls
    # no pool store: a freshly computed pool tensor and one read back from disk can differ in the last bit
    results = run_searches(BatchToyLLM(), TASK, [SearchItem(s, POOL) for s in scorers], CFG, use_pool_cache=False)
    batched_calls = enc.text_calls - calls_before
    enc2 = HashingEncoder()
    solo = [run_search(BatchToyLLM(), EmbeddingScorer(enc2, enc2.encode_text([t])[0]), TASK, POOL, CFG,
                       use_pool_cache=False) for t in TARGETS]
    assert [signature(r)[0] for r in results] == [signature(r)[0] for r in solo]
    assert batched_calls <= CFG.steps + 1  # one encode per step (plus the pool), not one per search


def test_a_failing_input_fails_alone():
    class Broken(OverlapScorer):
        def score(self, texts):
            if len(self.scored) > len(POOL):
                raise RuntimeError("scorer crashed")
            return super().score(texts)

    items = [SearchItem(OverlapScorer(TARGETS[0]), POOL),
             SearchItem(OverlapScorer(TARGETS[1]), ["", "  "]),          # nothing to start from
             SearchItem(Broken(TARGETS[2]), POOL),                         # fails at step 2
             SearchItem(OverlapScorer(TARGETS[3]), POOL)]
    results = run_searches(BatchToyLLM(), TASK, items, CFG)
    assert isinstance(results[1], InputError) and "start" in str(results[1])
    assert results[2].stopped == "error" and "scorer crashed" in results[2].error
    assert len(results[2].history) == 2 and results[2].best_score >= max(OverlapScorer(TARGETS[2]).score(POOL))
    assert signature(results[0]) == signature(alone(TARGETS[0]))
    assert signature(results[3]) == signature(alone(TARGETS[3]))


def test_an_llm_outage_for_one_prompt_keeps_its_best_and_the_others_go_on():
    # the failing search is the one whose prompt shows its own zebra line
    llm = BatchToyLLM(fail_when="zebra")
    items = [SearchItem(OverlapScorer(t), POOL) for t in TARGETS]
    items[1] = SearchItem(OverlapScorer("zebra crossing"), POOL + ["a zebra crossing"])
    results = run_searches(llm, TASK, items, CFG)
    assert results[1].stopped == "error" and "HTTP 500" in results[1].error
    assert results[1].best_text == "a zebra crossing" and len(results[1].history) == 1
    for i in (0, 2, 3):
        assert signature(results[i]) == signature(alone(TARGETS[i]))


def test_empty_batch_is_an_error():
    with pytest.raises(InputError, match="items"):
        run_searches(BatchToyLLM(), TASK, [], CFG)


def test_cancel_stops_every_search():
    seen = {"n": 0}

    def progress(i, rec, total):
        seen["n"] += 1

    results = run_searches(BatchToyLLM(), TASK, [SearchItem(OverlapScorer(t), POOL) for t in TARGETS], CFG,
                           progress=progress, should_cancel=lambda: seen["n"] >= 2 * len(TARGETS))
    assert all(r.stopped == "cancelled" and len(r.history) == 2 for r in results)


def test_plain_generator_without_generate_batch_is_looped():
    results = run_searches(ToyLLM(), TASK, [SearchItem(OverlapScorer(t), POOL) for t in TARGETS[:2]], CFG)
    assert [signature(r) for r in results] == [signature(run_search(ToyLLM(), OverlapScorer(t), TASK, POOL, CFG))
                                               for t in TARGETS[:2]]


def test_an_interrupt_raised_inside_the_llm_call_is_a_cancel():
    state = {"cancel": False}

    class Interrupting(BatchToyLLM):
        def generate(self, prompt, params):
            if self.calls >= 4:
                state["cancel"] = True
                raise RuntimeError("InterruptProcessingException")  # what ComfyUI raises
            return super().generate(prompt, params)

    items = [SearchItem(OverlapScorer(t), POOL) for t in TARGETS[:2]]
    results = run_searches(Interrupting(), TASK, items, CFG, should_cancel=lambda: state["cancel"])
    assert all(r.stopped == "cancelled" for r in results)


# --- searches that render (prompt enhancement): the new candidates of all searches rendered together -------------

ENHANCE_PROMPTS = ["a light red poster", "a dark blue poster", "a green wall at night", "a light blue sky"]
PAINT_VOCAB = ["red", "blue", "green", "light", "dark", "poster", "wall", "sky"]


def _enhance_job(prompt, llm, encoder, renderer, render_batch=8, **over):
    from mils.jobs import Job

    return Job("t2i_enhance", llm, encoder, renderer=renderer, prompt=prompt, seed=1, render_batch=render_batch,
               overrides={"keep": 3, "new_per_step": 4, "steps": 3, "patience": 0, **over})


def test_enhance_jobs_in_lockstep_render_together_and_equal_each_run_alone():
    from devkit.toys import ColourRenderer, ColourWordsEncoder
    from mils.jobs import run_job, run_jobs

    enc, renderer = ColourWordsEncoder(), ColourRenderer()
    llm = BatchToyLLM()
    llm.vocab = PAINT_VOCAB
    together = run_jobs([_enhance_job(p, llm, enc, renderer) for p in ENHANCE_PROMPTS])
    solo_renderers = [ColourRenderer() for _ in ENHANCE_PROMPTS]
    solo_llm = BatchToyLLM()
    solo_llm.vocab = PAINT_VOCAB
    alone_results = [run_job(_enhance_job(p, solo_llm, enc, r)) for p, r in zip(ENHANCE_PROMPTS, solo_renderers)]
    for got, want in zip(together, alone_results):
        assert signature(got.result) == signature(want.result)
        assert got.result.renders == want.result.renders
    assert llm.batches == [len(ENHANCE_PROMPTS)] * 3            # one batched LLM call per round
    # step 0: the four prompts in one render call; then each round's new candidates of all four searches
    assert renderer.calls[0] == ENHANCE_PROMPTS
    rendered = [t for call in renderer.calls for t in call]
    assert len(rendered) == len(set(rendered))                   # nothing rendered twice
    per_round = [sum(r.result.history[step].new for r in together) for step in (1, 2, 3)]
    assert [len(c) for c in renderer.calls[1:]] == [min(8, n - k) for n in per_round for k in range(0, n, 8)]
    solo_calls = sum(len(r.calls) for r in solo_renderers)
    assert len(renderer.calls) < solo_calls


def test_render_batch_bounds_the_shared_render_calls_and_a_failing_render_fails_alone():
    from devkit.toys import ColourRenderer, ColourWordsEncoder
    from mils.jobs import run_job, run_jobs

    class Breaks(ColourRenderer):  # fails on any call that holds a rewrite of the "night" prompt
        def render(self, texts, seed):
            if any("night" in t and t != ENHANCE_PROMPTS[2] for t in texts):
                raise RuntimeError("renderer crashed at night")
            return super().render(texts, seed)

    enc, renderer = ColourWordsEncoder(), Breaks()
    llm = BatchToyLLM()
    llm.vocab = PAINT_VOCAB
    out = run_jobs([_enhance_job(p, llm, enc, renderer, render_batch=3) for p in ENHANCE_PROMPTS])
    assert all(len(call) <= 3 for call in renderer.calls)
    assert renderer.calls[0] == ENHANCE_PROMPTS[:3] and renderer.calls[1] == ENHANCE_PROMPTS[3:]
    failed = out[2].result
    assert failed.stopped == "error" and "at night" in failed.error and failed.best_text == ENHANCE_PROMPTS[2]
    for i in (0, 1, 3):  # the others go on, rendered together, as if alone
        solo = BatchToyLLM()
        solo.vocab = PAINT_VOCAB
        assert signature(out[i].result) == signature(run_job(_enhance_job(ENHANCE_PROMPTS[i], solo, enc,
                                                                          ColourRenderer(), render_batch=3)).result)
