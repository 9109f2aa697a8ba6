"""One MILS search as a state object (``Search``); the driver (mils.lockstep) calls the models.

METHOD.md §1: the starting candidates are scored once; each step shows the top K (best first) as
"score: text" lines, asks for N new candidates, parses them, drops anything seen before (the whole
history, not only the K shown), scores the rest and merges. The best so far is never lost.
"""
from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from .errors import GeneratorError, InputError, MilsError
from .generators.base import GenerationParams
from .parsing import normalize, parse_candidates
from .scorers.base import Scorer, optional, shown, sort_key
from .search_checkpoint import attach_checkpoint
from .search_types import Scored, SearchConfig, SearchResult, StepRecord
from .steer_apply import artist_order, keep_pinned
from .tasks import Task

log = logging.getLogger(__name__)

__all__ = ["CancelFn", "LLMRequest", "ProgressFn", "Search", "start_search"]


ProgressFn = Callable[[StepRecord, int], None]
CancelFn = Callable[[], bool]


def _step_seed(seed: int, step: int, attempt: int) -> int:
    return (seed * 1_000_003 + step * 7_919 + attempt * 104_729) % (2**31 - 1)


def _counter(scorer: Scorer, name: str) -> int:
    return int(optional(scorer, name) or 0)


class _Board:
    """Everything scored so far, with the normalised texts used for dedup."""

    def __init__(self, direction: str):
        self.direction = direction
        self.key = sort_key(direction)
        self.seen: set[str] = set()
        self.items: list[Scored] = []
        # the artist's steering (mils.steer_apply): kept among the K, to avoid, ranked first
        self.pinned: list[str] = []
        self.banned: list[str] = []
        self.ranked: list[str] = []

    def add(self, items: Sequence[Scored]) -> None:
        for it in items:
            if not math.isfinite(it.score):
                log.warning("dropping candidate with non-finite score: %r", it.text)
                continue
            self.items.append(it)
        self.reorder()

    def reorder(self) -> None:
        # stable sort: among equal scores the earlier candidate stays ahead (deterministic)
        self.items.sort(key=lambda s: self.key(s.score))
        self.items = artist_order(self.items, self.ranked)

    def top(self, k: int) -> list[Scored]:
        return keep_pinned(self.items, k, set(self.pinned))

    def best_score(self) -> float:
        """The scorer's best (the artist's ranking aside)."""
        return min(self.items, key=lambda s: self.key(s.score)).score


@dataclass(frozen=True)
class LLMRequest:
    """What a search needs from the LLM next: one prompt, ``params.num_replies`` replies."""

    prompt: str
    params: GenerationParams


class Search:
    """One MILS search as a state object: the driver calls the LLM and the scorer, the state decides.

    ``begin()`` scores the start; then while ``request()`` returns an LLMRequest, answer it with
    ``accept_replies(replies)``; if that returns texts, score them and ``accept_scores(scores)``.
    ``fail(error)`` stops with ``stopped="error"``, ``stop_cancelled()`` with ``"cancelled"``;
    ``finish()`` returns the SearchResult. Cancel checks are the driver's (mils.lockstep).
    ``on_step(search)`` is called after every finished step (the checkpoint writer).
    ``steering`` (mils.steering.Steering) and ``judge_timeout_s``: the artist's inbox, applied by the driver
    between rounds (mils.steer_apply), and judge mode; ``steer_events`` what was applied or rejected.
    """

    def __init__(self, scorer: Scorer, task: Task, start: Sequence[str], config: SearchConfig, *,
                 generator_key: str = "llm", parallel: int = 1, intent: str = "", use_pool_cache: bool = True,
                 progress: ProgressFn | None = None, on_step: Callable[["Search"], None] | None = None,
                 steering=None, judge_timeout_s: float | None = None):
        self.config = config.validate()
        self.start = [t.strip() for t in start if t and t.strip()]
        if not self.start:
            raise InputError("start", "at least one non-empty starting text (a pool or the user's prompt)")
        if not isinstance(parallel, int) or not 1 <= parallel <= config.new_per_step:
            raise InputError("parallel", f"P replies per step between 1 and N={config.new_per_step}", repr(parallel))
        self.scorer, self.task, self.intent = scorer, task, intent
        self.generator_key = generator_key
        self.replies = parallel
        self.asked = math.ceil(config.new_per_step / parallel)
        self.use_pool_cache = use_pool_cache
        self.progress, self.on_step = progress, on_step
        self.steering, self.judge_timeout_s = steering, judge_timeout_s
        self.steer_events: list[dict] = []
        self.better_word = "higher" if scorer.direction == "maximize" else "lower"
        self.board = _Board(scorer.direction)
        self.history: list[StepRecord] = []
        self.step = 0                 # the last finished step
        self.stale = 0
        self.best_so_far = math.nan
        self.productive_steps = 0
        self.last_reply = ""
        self.llm_calls = 0
        self.secs_llm = self.secs_score = 0.0
        self.seconds_before = 0.0     # run time of the runs a saved state comes from
        self.encodes_before = self.renders_before = 0
        self.resumed_from = 0
        self.stopped: str | None = None
        self.error: BaseException | None = None
        self.t_begin = time.perf_counter()
        self.enc0, self.ren0 = _counter(scorer, "encodes"), _counter(scorer, "renders")
        self._step_open = False
        self._pending: list[str] = []

    # -- the driver's side
    @property
    def done(self) -> bool:
        return self.stopped is not None

    @property
    def between_steps(self) -> bool:
        """Running, with no step open (no retry of the LLM pending): when steering applies."""
        return self.stopped is None and not self._step_open

    def unique_start(self) -> list[str]:
        """The starting texts step 0 scores: the first of those that normalise alike, in order."""
        first: dict[str, str] = {}
        for t in self.start:
            first.setdefault(normalize(t), t)
        return list(first.values())

    def begin(self) -> None:
        """Score the starting texts once (step 0)."""
        unique = self.unique_start()
        self.board.seen.update(normalize(t) for t in unique)
        t0 = time.perf_counter()
        score_fn = optional(self.scorer, "score_pool") if self.use_pool_cache and len(unique) > 1 else self.scorer.score
        scores = score_fn(unique)
        self.secs_score += time.perf_counter() - t0
        _check_scores(scores, len(unique))
        self.board.add([Scored(t, float(s), 0, shown(self.scorer, s)) for t, s in zip(unique, scores)])
        if not self.board.items:
            raise InputError("scorer", "finite scores for the starting texts", "only NaN/inf")
        self.best_so_far = self.board.items[0].score
        self._tell(self._record(0, len(self.start), len(unique), 0, time.perf_counter() - self.t_begin, []))

    def shown_lines(self) -> list[str]:
        """The top K as the LLM sees them, best first."""
        return [f"{s.shown}: {s.text}" for s in self.board.top(self.config.keep)]

    def request(self) -> LLMRequest | None:
        """The next LLM call this search needs, or None when it has stopped."""
        if self._pending:
            raise RuntimeError("accept_scores() the texts of the last accept_replies() first")
        if self.done:
            return None
        cfg = self.config
        if not self._step_open:
            if self.step >= cfg.steps:
                return self._stop("steps")
            if cfg.time_budget_s is not None and time.perf_counter() - self.t_begin >= cfg.time_budget_s:
                return self._stop("time")
            self._open_step()
        params = GenerationParams(temperature=cfg.temperature, top_p=cfg.top_p, max_new_tokens=cfg.max_new_tokens,
                                  num_replies=self.replies, seed=_step_seed(cfg.seed, self.step + 1, self._attempt),
                                  max_items=self.asked)
        return LLMRequest(self._prompt, params)

    def accept_replies(self, replies: Sequence[str], seconds: float = 0.0) -> list[str]:
        """Parse and dedup the LLM's replies; return the new texts to score ([] = nothing to score now)."""
        step = self.step + 1
        self.secs_llm += seconds
        self.llm_calls += 1
        self._calls += 1
        for reply in replies:
            self.last_reply = reply
            cands = parse_candidates(reply, max_words=self.task.max_words * 2)
            self._proposed += len(cands)
            for c in cands:
                k = normalize(c)
                if len(self._fresh) < self.config.new_per_step and k not in self.board.seen:
                    self.board.seen.add(k)
                    self._fresh.append(c)
        if self._fresh:
            self._pending = list(self._fresh)
            return list(self._pending)
        self._warn(f"step {step}: reply {self._attempt + 1} had no usable new candidate")
        if self._attempt < self.config.retries:
            self._attempt += 1
            return []
        self._warn(f"step {step} skipped: the LLM gave nothing new in {self._calls} tries")
        self._close_step()
        return []

    def accept_scores(self, scores: Sequence[float], seconds: float = 0.0) -> None:
        """Merge the scores of the texts the last accept_replies() returned, and finish the step."""
        texts, self._pending = self._pending, []
        _check_scores(scores, len(texts))
        self.secs_score += seconds
        self.board.add([Scored(t, float(s), self.step + 1, shown(self.scorer, s)) for t, s in zip(texts, scores)])
        self.productive_steps += 1
        self._close_step()

    def stop_cancelled(self) -> None:
        """Stop here because the run was cancelled; the best so far is kept."""
        self._pending = []
        self._stop("cancelled")

    def stop_by_artist(self) -> None:
        """Stop here: the artist said so; the best so far is kept."""
        self._pending = []
        self._stop("artist")

    def fail(self, error: BaseException) -> None:
        """Stop here (the LLM or the scorer failed); the best so far is kept. An error outside the MilsError
        family (a bug, not an outage) is logged with its traceback."""
        self._pending = []
        self.error = error
        self._stop("error")
        log.warning("search stopped at step %d: %s: %s", self.step, type(error).__name__, error,
                    exc_info=None if isinstance(error, MilsError) else error)

    def finish(self) -> SearchResult:
        if self.stopped is None:
            self._stop("cancelled")
        if (self.config.steps > 0 and self.productive_steps == 0 and self.stopped not in ("cancelled", "error")
                and len(self.history) > 1):
            snippet = self.last_reply.strip().replace("\n", " ")[:200]
            raise GeneratorError(
                f"the LLM ({self.generator_key}) returned no usable candidate in any of {len(self.history) - 1} "
                f"steps ({self.config.retries + 1} tries each). Use an instruction-tuned model, raise max_new_tokens, "
                f"or check its chat template. Last reply: {snippet!r}")
        result = SearchResult(
            best=self.board.items[0], direction=self.scorer.direction, leaderboard=self.board.top(self.config.keep),
            history=self.history, stopped=self.stopped, llm_calls=self.llm_calls, encodes=self.encodes_so_far(),
            renders=self.renders_so_far(), seconds_total=self.seconds_so_far(),
            seconds_llm=self.secs_llm, seconds_scoring=self.secs_score,
            error=None if self.error is None else str(self.error) or type(self.error).__name__,
            resumed_from=self.resumed_from, steering=[dict(e) for e in self.steer_events])
        result.failure = self.error
        return result

    # -- counters (a resumed search adds those of the runs before)
    def encodes_so_far(self) -> int:
        return self.encodes_before + _counter(self.scorer, "encodes") - self.enc0

    def renders_so_far(self) -> int:
        return self.renders_before + _counter(self.scorer, "renders") - self.ren0

    def seconds_so_far(self) -> float:
        return self.seconds_before + time.perf_counter() - self.t_begin

    def _stop(self, why: str) -> None:
        self.stopped = why
        self._step_open = False
        return None

    def _warn(self, msg: str) -> None:
        self._warnings.append(msg)
        log.warning(msg)

    def _open_step(self) -> None:
        self._step_open = True
        self._t_step = time.perf_counter()
        self._prompt = self.task.build_prompt(self.shown_lines(), self.asked, better=self.better_word,
                                              intent=self.intent, avoid=self.board.banned)
        self._attempt = self._calls = self._proposed = 0
        self._fresh: list[str] = []
        self._warnings: list[str] = []

    def _close_step(self) -> None:
        self._step_open = False
        self.step += 1
        rec = self._record(self.step, self._proposed, len(self._fresh),
                           self._calls, time.perf_counter() - self._t_step, self._warnings)
        best = self.board.best_score()
        improved = (best - self.best_so_far if self.scorer.direction == "maximize"
                    else self.best_so_far - best)
        if improved > self.config.min_improvement:
            self.best_so_far = best
            self.stale = 0
        else:
            self.stale += 1
        if self.config.patience and self.stale >= self.config.patience:
            self._stop("patience")
        if self.on_step is not None:
            self.on_step(self)       # the state is saved before anyone is told (a callback may raise)
        self._tell(rec)

    def report_current(self) -> None:
        """Tell ``progress`` the last recorded round again (a resumed search shows the board it goes on from,
        before a judge waits on it)."""
        if self.history:
            self._tell(self.history[-1])

    def _tell(self, rec: StepRecord) -> None:
        if self.progress is not None:
            self.progress(rec, self.config.steps)

    def _record(self, step: int, proposed: int, new: int, calls: int, seconds: float, warnings: list[str]):
        top = self.board.top(self.config.keep)
        rec = StepRecord(step=step, leaderboard=[Scored(s.text, s.score, s.step, s.shown, s.pinned) for s in top],
                         best_score=top[0].score, mean_top_k=sum(s.score for s in top) / len(top),
                         proposed=proposed, new=new, llm_calls=calls, encodes=self.encodes_so_far(),
                         renders=self.renders_so_far(), seconds=seconds, warnings=warnings)
        self.history.append(rec)
        return rec


def start_search(search: Search, checkpoint: str | os.PathLike | None, *, fresh: bool = False,
                 identity: dict[str, str] | None = None) -> None:
    """``search.begin()``, or resume it from the state saved at ``checkpoint`` (a state for ``identity``,
    default: the search's own, see mils.identity); then save after every step."""
    if checkpoint is None:
        search.begin()
        return
    attach_checkpoint(search, checkpoint, fresh=fresh, identity=identity)


def _check_scores(scores: Sequence[float], n: int) -> None:
    if len(scores) != n:
        raise RuntimeError(f"scorer returned {len(scores)} scores for {n} texts")
