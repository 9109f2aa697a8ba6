"""Quality at equal wall time on real weights (devkit/quality.py, bench/bench_quality.py): P=4 parallel replies
vs P=1 under one time budget per search, on six skimage photos. What is asserted is how the comparison is
made (budgets kept, one shared step 0 that is the pool's best, counts from the histories), never who wins.

Marked `real` (about two minutes on 2 CPU cores).
"""
import pytest
import torch

from devkit.quality import QUALITY_PHOTOS, beats_start, equal_time_runs, summarise
from devkit.real_models import photo, smollm2_gguf_path, stand_in_encoder
from mils.pools import load_pool

pytestmark = pytest.mark.real

BUDGET_S = 3.0


@pytest.fixture(scope="module")
def runs():
    from mils.generators.transformers_lm import load_transformers_generator

    llm = load_transformers_generator(smollm2_gguf_path(), device="cpu")
    return equal_time_runs(llm, stand_in_encoder(), QUALITY_PHOTOS, (1, 4), budget_s=BUDGET_S, pool_limit=100,
                           new_per_step=4, max_new_tokens=40)


def test_both_modes_ran_every_photo_within_the_same_budget(runs):
    assert sorted((r.photo, r.parallel) for r in runs) == sorted((p, n) for p in QUALITY_PHOTOS for n in (1, 4))
    for r in runs:
        assert r.budget_s == BUDGET_S and r.result.stopped == "time", (r.photo, r.parallel, r.result.stopped)
        assert r.started_within_budget, (r.photo, r.parallel, [h.seconds for h in r.result.history])
        assert r.rounds >= 1  # a round opens while time is left, and step 0 leaves time


def test_the_baseline_is_the_pools_best_and_the_same_in_both_modes(runs):
    enc = stand_in_encoder()
    pool = load_pool("image", limit=100)
    emb = enc.encode_text(pool)
    for name in QUALITY_PHOTOS:
        pair = [r for r in runs if r.photo == name]
        target = enc.encode_image(photo(name))[0]
        pool_best = float((emb @ (target / target.norm())).max())
        assert [r.start_best for r in pair] == pytest.approx([pool_best] * 2, abs=1e-5)
        assert pair[0].result.history[0].leaderboard == pair[1].result.history[0].leaderboard


def test_the_counts_come_from_the_histories(runs):
    for p, summary in summarise(runs).items():
        assert [r.parallel for r in summary.runs] == [p] * len(QUALITY_PHOTOS)
        from_history = sum(max(h.best_score for h in r.result.history) > r.result.history[0].best_score
                           for r in summary.runs)
        assert summary.wins == from_history == sum(beats_start(r.result) for r in summary.runs)
        for r in summary.runs:  # elitism: the curve never drops, and the best is its last point
            curve = r.result.curve()
            assert all(b >= a for a, b in zip(curve, curve[1:])) and r.result.best_score == curve[-1]
        assert summary.mean_gain == pytest.approx(sum(r.result.best_score - r.start_best for r in summary.runs)
                                                  / len(summary.runs))
        assert summary.mean_gain >= 0.0
    assert torch.is_tensor(photo("motorcycle")) and photo("motorcycle").shape[-1] == 3
