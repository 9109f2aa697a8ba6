"""The search's value types: its configuration, scored candidates, per-step records and result."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .errors import InputError
from .generators.base import GenerationParams, default_parallel


@dataclass(frozen=True)
class SearchConfig:
    keep: int = 30                  # K: shown to the LLM and kept
    new_per_step: int = 30          # N: asked for per step
    steps: int = 8                  # T
    patience: int = 0               # P: stop when the best has not improved for P steps (0 = off)
    time_budget_s: float | None = None
    seed: int = 0
    temperature: float = 0.5
    top_p: float = 0.9
    max_new_tokens: int = 1024
    retries: int = 2                # extra LLM calls when a reply has no usable new candidate
    min_improvement: float = 0.0    # what counts as "improved" for patience
    parallel: int | None = None     # P sampled replies per step, ceil(N/P) candidates each; None = the generator's

    def replies_per_step(self, generator: object) -> int:
        """P: the configured ``parallel``, else the generator's ``default_parallel`` (at most N)."""
        if self.parallel is not None:
            return self.parallel
        return min(default_parallel(generator), self.new_per_step)

    def validate(self) -> "SearchConfig":
        if self.keep < 1:
            raise InputError("keep", "K of at least 1", repr(self.keep))
        if self.new_per_step < 1:
            raise InputError("new_per_step", "N of at least 1 (the LLM must be asked for something)",
                             repr(self.new_per_step))
        if self.steps < 0:
            raise InputError("steps", "0 or more", repr(self.steps))
        if self.patience < 0:
            raise InputError("patience", "0 (off) or more", repr(self.patience))
        if self.retries < 0:
            raise InputError("retries", "0 or more", repr(self.retries))
        if self.parallel is not None and not (isinstance(self.parallel, int) and 1 <= self.parallel <= self.new_per_step):
            raise InputError("parallel", f"P replies per step between 1 and N={self.new_per_step} (new_per_step), "
                             "or None for the generator's default", repr(self.parallel))
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise InputError("time_budget_s", "a positive number of seconds or None", repr(self.time_budget_s))
        GenerationParams(temperature=self.temperature, top_p=self.top_p,
                         max_new_tokens=self.max_new_tokens).validate()
        return self


@dataclass
class Scored:
    text: str
    score: float
    step: int                      # 0 = the starting pool
    shown: str = ""                # the score as the LLM sees it (mils.scorers.base.shown)
    pinned: bool = False           # the artist pinned it (mils.steering): it stays among the K kept


@dataclass
class StepRecord:
    step: int
    leaderboard: list[Scored]
    best_score: float
    mean_top_k: float
    proposed: int                  # parsed from the LLM
    new: int                       # left after dedup, scored
    llm_calls: int
    encodes: int
    renders: int
    seconds: float
    warnings: list[str] = field(default_factory=list)


@dataclass
class SearchResult:
    best: Scored
    direction: str
    leaderboard: list[Scored]
    history: list[StepRecord]
    stopped: str                   # "steps", "patience", "time", "cancelled", "error", "artist"
    llm_calls: int
    encodes: int
    renders: int
    seconds_total: float
    seconds_llm: float
    seconds_scoring: float
    error: str | None = None       # why it stopped when stopped == "error" (the LLM's or scorer's failure)
    resumed_from: int = 0          # the last finished step a saved state resumed at (0: ran from scratch)
    steering: list[dict] = field(default_factory=list)  # the artist's actions, applied or rejected (mils.steering)

    failure = None                 # not a field (not serialised): the exception behind ``error``, in this process

    @property
    def best_text(self) -> str:
        return self.best.text

    @property
    def best_score(self) -> float:
        return self.best.score

    @property
    def overhead_fraction(self) -> float:
        """Wall time outside model calls (LLM + scoring) over the total."""
        if self.seconds_total <= 0:
            return 0.0
        return max(0.0, self.seconds_total - self.seconds_llm - self.seconds_scoring) / self.seconds_total

    def curve(self) -> list[float]:
        return [r.best_score for r in self.history]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["best_text"] = self.best.text
        d["best_score"] = self.best.score
        d["overhead_fraction"] = self.overhead_fraction
        return d
