"""The MILS search: an LLM proposes, a scorer rates, the best K go back to the LLM with their scores.

METHOD.md §1: the starting candidates are scored once; each step shows the top K (best first) as
"score: text" lines, asks for N new candidates, parses them, drops anything seen before (the whole
history, not only the K shown), scores the rest and merges. The best so far is never lost.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

from .cancel import cancel_scope
from .errors import GeneratorError, InputError
from .generators.base import GenerationParams, Generator, default_parallel
from .parsing import normalize, parse_candidates
from .scorers.base import Scorer, sort_key
from .tasks import Task

log = logging.getLogger(__name__)


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
    stopped: str                   # "steps", "patience", "time", "cancelled"
    llm_calls: int
    encodes: int
    renders: int
    seconds_total: float
    seconds_llm: float
    seconds_scoring: float

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


ProgressFn = Callable[[StepRecord, int], None]
CancelFn = Callable[[], bool]


def _step_seed(seed: int, step: int, attempt: int) -> int:
    return (seed * 1_000_003 + step * 7_919 + attempt * 104_729) % (2**31 - 1)


def _counter(scorer: Scorer, name: str) -> int:
    return int(getattr(scorer, name, 0) or 0)


class _Board:
    """Everything scored so far, with the normalised texts used for dedup."""

    def __init__(self, direction: str):
        self.direction = direction
        self.key = sort_key(direction)
        self.seen: set[str] = set()
        self.items: list[Scored] = []

    def add(self, items: Sequence[Scored]) -> None:
        for it in items:
            if not math.isfinite(it.score):
                log.warning("dropping candidate with non-finite score: %r", it.text)
                continue
            self.items.append(it)
        # stable sort: among equal scores the earlier candidate stays ahead (deterministic)
        self.items.sort(key=lambda s: self.key(s.score))

    def top(self, k: int) -> list[Scored]:
        return self.items[:k]


def run_search(generator: Generator, scorer: Scorer, task: Task, start: Sequence[str], config: SearchConfig, *,
               intent: str = "", use_pool_cache: bool = True, progress: ProgressFn | None = None,
               should_cancel: CancelFn | None = None) -> SearchResult:
    """Run the MILS search from ``start`` (a pool, or the user's text) and return the best and its history.

    ``should_cancel`` is polled between steps and, through mils.cancel, inside long model calls;
    a cancelled search returns the best found so far with ``stopped == "cancelled"``.
    """
    with cancel_scope(should_cancel):
        return _run_search(generator, scorer, task, start, config, intent=intent, use_pool_cache=use_pool_cache,
                           progress=progress, should_cancel=should_cancel)


def _run_search(
    generator: Generator,
    scorer: Scorer,
    task: Task,
    start: Sequence[str],
    config: SearchConfig,
    *,
    intent: str = "",
    use_pool_cache: bool = True,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
) -> SearchResult:
    config.validate()
    start = [t.strip() for t in start if t and t.strip()]
    if not start:
        raise InputError("start", "at least one non-empty starting text (a pool or the user's prompt)")
    t_begin = time.perf_counter()
    cancel = should_cancel or (lambda: False)
    secs_llm = secs_score = 0.0
    llm_calls = 0
    enc0, ren0 = _counter(scorer, "encodes"), _counter(scorer, "renders")
    better_word = "higher" if scorer.direction == "maximize" else "lower"
    replies = config.replies_per_step(generator)
    asked = math.ceil(config.new_per_step / replies)

    board = _Board(scorer.direction)
    unique_start: list[str] = []
    for t in start:
        k = normalize(t)
        if k not in board.seen:
            board.seen.add(k)
            unique_start.append(t)

    t0 = time.perf_counter()
    score_fn = getattr(scorer, "score_pool", None) if use_pool_cache and len(unique_start) > 1 else None
    scores = (score_fn or scorer.score)(unique_start)
    secs_score += time.perf_counter() - t0
    _check_scores(scores, len(unique_start))
    board.add([Scored(t, float(s), 0) for t, s in zip(unique_start, scores)])
    if not board.items:
        raise InputError("scorer", "finite scores for the starting texts", "only NaN/inf")

    history: list[StepRecord] = []

    def record(step: int, proposed: int, new: int, calls: int, seconds: float, warnings: list[str]) -> StepRecord:
        top = board.top(config.keep)
        rec = StepRecord(step=step, leaderboard=[Scored(s.text, s.score, s.step) for s in top],
                         best_score=top[0].score, mean_top_k=sum(s.score for s in top) / len(top),
                         proposed=proposed, new=new, llm_calls=calls,
                         encodes=_counter(scorer, "encodes") - enc0, renders=_counter(scorer, "renders") - ren0,
                         seconds=seconds, warnings=warnings)
        history.append(rec)
        if progress is not None:
            progress(rec, config.steps)
        return rec

    record(0, len(start), len(unique_start), 0, time.perf_counter() - t_begin, [])
    stopped = "steps"
    best_so_far = board.items[0].score
    stale = 0
    productive_steps = 0
    last_reply = ""

    for step in range(1, config.steps + 1):
        if cancel():
            stopped = "cancelled"
            break
        if config.time_budget_s is not None and time.perf_counter() - t_begin >= config.time_budget_s:
            stopped = "time"
            break
        t_step = time.perf_counter()
        shown = board.top(config.keep)
        lines = [f"{scorer.format_score(s.score)}: {s.text}" for s in shown]
        prompt = task.build_prompt(lines, asked, better=better_word, intent=intent)
        warnings: list[str] = []
        fresh: list[str] = []
        proposed = 0
        calls = 0
        for attempt in range(config.retries + 1):
            params = GenerationParams(temperature=config.temperature, top_p=config.top_p,
                                      max_new_tokens=config.max_new_tokens, num_replies=replies,
                                      seed=_step_seed(config.seed, step, attempt))
            t0 = time.perf_counter()
            answers = generator.generate(prompt, params)
            secs_llm += time.perf_counter() - t0
            calls += 1
            for reply in answers:
                last_reply = reply
                cands = parse_candidates(reply, max_words=task.max_words * 2)
                proposed += len(cands)
                for c in cands:
                    k = normalize(c)
                    if len(fresh) < config.new_per_step and k not in board.seen:
                        board.seen.add(k)
                        fresh.append(c)
            if fresh or cancel():
                break
            warnings.append(f"step {step}: reply {attempt + 1} had no usable new candidate")
            log.warning(warnings[-1])
        llm_calls += calls
        if cancel():
            stopped = "cancelled"
            break
        if fresh:
            t0 = time.perf_counter()
            scores = scorer.score(fresh)
            secs_score += time.perf_counter() - t0
            _check_scores(scores, len(fresh))
            board.add([Scored(t, float(s), step) for t, s in zip(fresh, scores)])
            productive_steps += 1
        else:
            warnings.append(f"step {step} skipped: the LLM gave nothing new in {calls} tries")
            log.warning(warnings[-1])
        rec = record(step, proposed, len(fresh), calls, time.perf_counter() - t_step, warnings)
        improved = (rec.best_score - best_so_far if scorer.direction == "maximize"
                    else best_so_far - rec.best_score)
        if improved > config.min_improvement:
            best_so_far = rec.best_score
            stale = 0
        else:
            stale += 1
        if config.patience and stale >= config.patience:
            stopped = "patience"
            break

    if config.steps > 0 and productive_steps == 0 and stopped != "cancelled" and len(history) > 1:
        snippet = last_reply.strip().replace("\n", " ")[:200]
        raise GeneratorError(
            f"the LLM ({generator.key}) returned no usable candidate in any of {len(history) - 1} steps "
            f"({config.retries + 1} tries each). Use an instruction-tuned model, raise max_new_tokens, "
            f"or check its chat template. Last reply: {snippet!r}")

    top = board.top(config.keep)
    return SearchResult(
        best=board.items[0], direction=scorer.direction, leaderboard=top, history=history, stopped=stopped,
        llm_calls=llm_calls, encodes=_counter(scorer, "encodes") - enc0, renders=_counter(scorer, "renders") - ren0,
        seconds_total=time.perf_counter() - t_begin, seconds_llm=secs_llm, seconds_scoring=secs_score)


def _check_scores(scores: Sequence[float], n: int) -> None:
    if len(scores) != n:
        raise RuntimeError(f"scorer returned {len(scores)} scores for {n} texts")
