"""Quality at equal wall time: a caption search with P parallel replies per round vs P=1, both under one
time budget (``SearchConfig.time_budget_s``), on real photos. Shared by bench/bench_quality.py and its
``real`` test.

For each photo both modes start from the same pool with the same seed, so their step 0 is the same;
a search "beats the start" when its best score beats the best of that step 0 (the best starting
caption). The modes alternate which runs first from one photo to the next, and one short warm-up
search runs before any timing (first-call costs, the pool's text embeddings).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from mils.jobs import Job, run_job
from mils.media import Media
from mils.pools import load_pool
from mils.search import SearchResult

from .real_models import PHOTOS, photo

QUALITY_PHOTOS = PHOTOS   # every real photo the tests use
UNBOUNDED_STEPS = 10_000   # the budget, not the step count, ends every search


def beats_start(result: SearchResult) -> bool:
    """Whether the search's best beats the best starting caption (its step 0), in the scorer's direction."""
    start, best = result.history[0].best_score, result.best_score
    return best > start if result.direction == "maximize" else best < start


@dataclass
class QualityRun:
    photo: str
    parallel: int
    budget_s: float
    result: SearchResult

    @property
    def start_best(self) -> float:
        return self.result.history[0].best_score

    @property
    def rounds(self) -> int:
        return len(self.result.history) - 1

    @property
    def started_within_budget(self) -> bool:
        """Every round began before the budget was spent: the time of the rounds before the last one (and of
        step 0) stays under the budget, since a round only opens while time is left."""
        return sum(h.seconds for h in self.result.history[:-1]) < self.budget_s


@dataclass
class QualitySummary:
    parallel: int
    runs: list[QualityRun]

    @property
    def wins(self) -> int:
        """Photos where the search beat its best starting caption (from each history)."""
        return sum(beats_start(r.result) for r in self.runs)

    @property
    def mean_gain(self) -> float:
        return sum(r.result.best_score - r.start_best for r in self.runs) / len(self.runs)

    @property
    def mean_rounds(self) -> float:
        return sum(r.rounds for r in self.runs) / len(self.runs)

    @property
    def new_candidates(self) -> int:
        return sum(h.new for r in self.runs for h in r.result.history[1:])


def equal_time_runs(llm, encoder, photos: Sequence[str] = QUALITY_PHOTOS, parallels: Sequence[int] = (1, 4), *,
                    budget_s: float, keep: int = 8, new_per_step: int = 8, pool_limit: int = 200, seed: int = 0,
                    temperature: float = 0.8, max_new_tokens: int = 160) -> list[QualityRun]:
    """One caption search per (photo, P) under ``budget_s`` seconds each, through the job layer."""
    pool = load_pool("image", limit=pool_limit)

    def job(name: str, parallel: int, **over) -> Job:
        options = dict(keep=keep, new_per_step=new_per_step, steps=UNBOUNDED_STEPS, patience=0,
                       time_budget_s=budget_s, parallel=parallel, temperature=temperature,
                       max_new_tokens=max_new_tokens)
        return Job("image_caption", llm, encoder, media=Media("image", photo(name)), pool=pool, seed=seed,
                   overrides={**options, **over})

    run_job(job(photos[0], min(parallels), steps=1, time_budget_s=None, max_new_tokens=8))  # warm-up, untimed
    runs = []
    for i, name in enumerate(photos):
        for parallel in (parallels if i % 2 == 0 else list(reversed(parallels))):
            runs.append(QualityRun(name, parallel, budget_s, run_job(job(name, parallel)).result))
    return runs


def summarise(runs: Sequence[QualityRun]) -> dict[int, QualitySummary]:
    """The runs of each P, smallest P first."""
    out: dict[int, QualitySummary] = {}
    for r in sorted(runs, key=lambda r: r.parallel):
        out.setdefault(r.parallel, QualitySummary(r.parallel, [])).runs.append(r)
    return out
