"""The driver's rules, the same for one search and many: a cancel at any moment is a cancel with the best so
far; a failure while generating or scoring is stopped="error" with its text; foreign errors are logged with
their traceback."""
from __future__ import annotations

import logging

import pytest

from devkit.toys import ColourRenderer, ColourWordsEncoder, HashingEncoder, ToyLLM
from mils import targets
from mils.cancel import CancelCheck
from mils.errors import Cancelled, GeneratorError
from mils.lockstep import SearchItem, run_searches
from mils.scorers.embedding import EmbeddingScorer
from mils.scorers.render import RenderScorer
from mils.search import SearchConfig, run_search
from mils.tasks import TASKS

POOL = ["a red car on a street", "a blue sky", "a wooden table", "an old tree", "a bird over water",
        "a dog on a beach", "a small cup", "night light"]
CAPTIONS = ["a small cat sleeping on a red sofa", "a dog running on the beach at night", "old tree in the snow"]
PROMPTS = ["a light red car", "a dark blue sky", "green tree at night"]
CFG = SearchConfig(keep=4, new_per_step=4, steps=4, seed=5)


class HostInterrupt(Exception):
    """Stands in for ComfyUI's InterruptProcessingException: raised once, and the host's flag is cleared."""


class Trap:
    """Counts the model calls of each kind and raises at the ``at``-th call of ``kind``."""

    def __init__(self, kind: str | None = None, at: int = 0, how: str = "host"):
        self.kind, self.at, self.how = kind, at, how
        self.calls = {"llm": 0, "encode": 0, "render": 0, "progress": 0}
        self.flag = False   # the host's "cancel pressed" flag, polled by should_cancel

    def hit(self, kind: str) -> None:
        self.calls[kind] += 1
        if kind != self.kind or self.calls[kind] != self.at:
            return
        if self.how == "keyboard":
            raise KeyboardInterrupt()
        if self.how == "host":            # the interrupt exception itself, flag already cleared
            raise HostInterrupt("Processing interrupted")
        if self.how == "wrapped":         # a backend that wraps whatever it meets
            try:
                raise HostInterrupt("Processing interrupted")
            except HostInterrupt as e:
                raise GeneratorError("generation failed") from e
        if self.how == "cancelled":       # a renderer's own cancel
            raise Cancelled("rendering cancelled")
        self.flag = True                  # "flag": the check says stop, the call fails with whatever it meets
        raise RuntimeError("CUDA error: operation aborted")

    def check(self) -> CancelCheck:
        return CancelCheck(lambda: self.flag, errors=(HostInterrupt,))


class TrapLLM(ToyLLM):
    def __init__(self, trap):
        super().__init__()
        self.trap = trap

    def generate(self, prompt, params):
        self.trap.hit("llm")
        return [ToyLLM.generate(self, prompt, p)[0] for p in params.row_params()]


class TrapEncoder(ColourWordsEncoder):
    def __init__(self, trap):
        super().__init__()
        self.trap = trap

    def encode_text(self, texts):
        if self.trap is not None:
            self.trap.hit("encode")
        return super().encode_text(texts)


class TrapRenderer(ColourRenderer):
    def __init__(self, trap):
        super().__init__()
        self.trap = trap

    def render(self, texts, seed):
        self.trap.hit("render")
        return super().render(texts, seed)


def _items(trap: Trap, task: str, n: int) -> list[SearchItem]:
    if task == "caption":
        encoder = TrapEncoder(trap)
        return [SearchItem(EmbeddingScorer(encoder, HashingEncoder.encode_text(encoder, [c])[0]), POOL)
                for c in CAPTIONS[:n]]
    encoder, renderer = TrapEncoder(None), TrapRenderer(trap)
    items = []
    for p in PROMPTS[:n]:
        scorer = RenderScorer(renderer, encoder, targets.text_target(encoder, p), seed=7, batch_size=2)
        items.append(SearchItem(scorer, [p, p + " photo"], intent=p))
    for item in items:
        item.scorer.image_scorer.encoder = _ImageTrap(encoder, trap)
    return items


class _ImageTrap:
    """The image side of the render scorer's encoder, counted."""

    def __init__(self, encoder, trap):
        self.encoder, self.trap = encoder, trap

    def encode_image(self, images):
        self.trap.hit("encode")
        return self.encoder.encode_image(images)


def _run(trap: Trap, task: str, n: int):
    tname = "image_caption" if task == "caption" else "t2i_enhance"
    return run_searches(TrapLLM(trap), TASKS[tname], _items(trap, task, n), CFG, use_pool_cache=False,
                        should_cancel=trap.check(), progress=lambda i, rec, total: trap.hit("progress"))


def _history(res):
    return [(h.step, [(s.text, s.score) for s in h.leaderboard]) for h in res.history]


MOMENTS = [(kind, at) for kind in ("llm", "encode", "render", "progress") for at in (1, 2, 3, 5)]


@pytest.mark.parametrize("task,n", [("caption", 1), ("caption", 3), ("enhance", 1), ("enhance", 3)])
def test_a_cancel_at_any_moment_is_a_cancel_with_the_best_so_far(task, n):
    reference = _run(Trap(), task, n)
    assert all(r.stopped == "steps" for r in reference)
    seen = 0
    for how in ("host", "keyboard", "wrapped", "cancelled", "flag"):
        for kind, at in MOMENTS:
            if task == "caption" and kind == "render":
                continue
            trap = Trap(kind, at, how)
            out = _run(trap, task, n)
            if trap.calls[kind] < at:
                continue  # the run had fewer calls of this kind
            seen += 1
            moment = f"{how} at {kind} call {at}"
            for ref, res in zip(reference, out):
                if isinstance(res, Cancelled):   # cancelled while its start was scored: nothing to return
                    assert kind != "llm", moment
                    continue
                assert not isinstance(res, Exception), f"{moment}: {res!r}"
                assert res.stopped == "cancelled", moment
                assert _history(res) == _history(ref)[:len(res.history)], moment
                assert res.best_score == max(h.best_score for h in res.history), moment
                assert res.best_score == ref.history[len(res.history) - 1].best_score, moment
    assert seen >= 30


def test_a_cancel_stops_the_model_calls_at_once():
    trap = Trap("llm", 2, "host")   # the second prompt of step 1 (three searches, asked in turn)
    out = _run(trap, "caption", 3)
    assert trap.calls["llm"] == 2 and trap.calls["progress"] == 3  # the starts only: no prompt after the cancel
    assert [len(r.history) for r in out] == [1, 1, 1] and {r.stopped for r in out} == {"cancelled"}


def test_run_search_is_the_one_item_case():
    trap = Trap("render", 3, "cancelled")
    [item] = _items(trap, "enhance", 1)
    res = run_search(TrapLLM(trap), item.scorer, TASKS["t2i_enhance"], item.start, CFG, intent=item.intent,
                     should_cancel=trap.check())
    [ref] = _run(Trap(), "enhance", 1)
    assert res.stopped == "cancelled" and _history(res) == _history(ref)[:len(res.history)]


class BrokenScorer:
    direction = "maximize"
    key = "broken"

    def __init__(self, fail_at: int, exc: Exception):
        self.calls, self.fail_at, self.exc = 0, fail_at, exc

    def score(self, texts):
        self.calls += 1
        if self.calls == self.fail_at:
            raise self.exc
        return [len(t) / 100 for t in texts]

    def format_score(self, s):
        return f"{100 * s:.2f}"


@pytest.mark.parametrize("exc", [GeneratorError("server gone"), ZeroDivisionError("division by zero")])
def test_a_scoring_failure_is_an_error_with_its_text_in_one_search_and_in_many(exc, caplog):
    caplog.set_level(logging.WARNING)
    with pytest.raises(type(exc)) as ei:
        run_search(ToyLLM(), BrokenScorer(3, exc), TASKS["image_caption"], POOL, CFG)
    partial = ei.value.result
    assert partial.stopped == "error" and str(exc) in partial.error and len(partial.history) == 2
    alone = run_search(ToyLLM(), BrokenScorer(3, exc), TASKS["image_caption"], POOL, CFG, on_error="return")
    many = run_searches(ToyLLM(), TASKS["image_caption"],
                        [SearchItem(BrokenScorer(3, exc), POOL), SearchItem(BrokenScorer(99, exc), POOL)], CFG)
    assert many[0].stopped == alone.stopped == "error" and many[0].error == alone.error
    assert many[0].best_score == alone.best_score == partial.best_score
    assert many[1].stopped == "steps"
    foreign = [r for r in caplog.records if r.exc_info and r.exc_info[1] is exc]
    assert bool(foreign) == (not isinstance(exc, GeneratorError))  # a bug is logged with its traceback


def test_an_llm_failure_is_an_error_in_one_search_and_in_many():
    class DownLLM(ToyLLM):
        def generate(self, prompt, params):
            if self.calls >= 2:
                raise GeneratorError("timed out: no reply within 120 s")
            return super().generate(prompt, params)

    one = run_search(DownLLM(), BrokenScorer(99, None), TASKS["image_caption"], POOL, CFG, on_error="return")
    [many] = run_searches(DownLLM(), TASKS["image_caption"], [SearchItem(BrokenScorer(99, None), POOL)], CFG)
    assert one.stopped == many.stopped == "error"
    assert one.error == many.error and "timed out" in one.error and len(one.history) == 3
