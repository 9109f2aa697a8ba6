"""Jobs: the ONE place where every task is assembled.

A job is (task, generator, scorer model, optional renderer, media | prompt | target | style, budget
preset + overrides, seed). ``prepare`` turns it into a configured search (the scorer bound to its
target, the starting candidates, the search config, the LLM's intent text) and ``run_job`` runs it
and returns the result with its history. The CLI subcommands and the ComfyUI nodes only translate
their inputs into a ``Job`` and the ``JobResult`` back; neither builds a scorer, a target or a pool.

Tasks: image / video / audio caption (``media``), invert (``target`` or a text in ``prompt``),
t2i_enhance (``prompt`` + a text-to-image ``renderer``), style_transfer (``style`` + an edit
``renderer``), and the text route of cross-modal arithmetic (``run_merge``: caption jobs, then one
LLM call that merges the captions into an image prompt).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

import torch

from . import targets
from .errors import InputError, MilsError
from .generators.base import Generator
from .identity import job_identity
from .lockstep import BatchProgressFn, SearchItem, run_searches
from .media import CAPTION_TASKS, Media
from .merge import merge_captions
from .pools import load_pool
from .cancel import CancelCheck
from .renderers.base import Renderer, token_budget
from .scorers.base import optional
from .scorers.binding import caption_scorer, render_scorer
from .scorers.embedding import EmbeddingScorer
from .scorers.gram import GramRenderScorer, GramStyleScorer
from .search import CancelFn, ProgressFn, SearchConfig, SearchResult, run_search
from .steering import Steering
from .tasks import Task, get_task

DEFAULT_RENDER_SEED = 2024   # the paper renders every candidate with one fixed seed


@dataclass
class StyleSpec:
    """Style transfer's scorer: VGG features and the style image; with a content image, also a content loss."""

    extractor: Any                             # a mils.scorers.gram.FeatureExtractor
    style_image: torch.Tensor
    content_image: torch.Tensor | None = None  # the picture the content loss compares with; None: style only
    style_weight: float = 1000.0
    content_weight: float = 1.0
    size: int = 256


@dataclass
class Job:
    task: str
    generator: Generator
    scorer_model: Any = None                   # an Encoder (caption, invert, t2i_enhance); unused by style_transfer
    renderer: Renderer | None = None           # t2i_enhance, style_transfer
    media: Media | None = None                 # captioning
    prompt: str = ""                           # t2i_enhance: the user's prompt; invert: a text to match
    target: torch.Tensor | None = None         # invert: a target embedding
    style: StyleSpec | GramStyleScorer | None = None  # style_transfer: what to build, or a scorer already built
    pool: str | Sequence[str] | None = None    # a pool name, or starting texts (t2i_enhance: extra starts)
    preset: str = "balanced"
    overrides: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    render_seed: int = DEFAULT_RENDER_SEED
    render_batch: int = 4
    num_frames: int = 8
    checkpoint: str | os.PathLike | None = None   # the search's state after every step; a rerun resumes from it
                                                   # when it was saved for the same job (mils.identity)
    fresh: bool = False                            # ignore a saved state
    steering: Steering | None = None               # the artist's inbox (mils.steering); None: no steering
    judge_timeout_s: float | None = None           # judge mode: wait this long for the artist's pick per round


@dataclass
class Prepared:
    """A configured search: what ``run_search`` needs."""

    task: Task
    scorer: Any
    start: list[str]
    config: SearchConfig
    intent: str = ""


@dataclass
class JobResult:
    job: Job
    prepared: Prepared
    result: SearchResult

    @property
    def scorer(self):
        return self.prepared.scorer

    def images(self, texts: Sequence[str]) -> torch.Tensor:
        """Renders of ``texts`` (cached from the search where it rendered them); rendering tasks only."""
        images = optional(self.scorer, "images")
        if images is None:
            raise InputError("task", f"a task that renders; {self.prepared.task.name} does not")
        return images(list(texts))


def search_config(task: Task, preset: str = "balanced", *, seed: int = 0, **overrides) -> SearchConfig:
    """The task's budget preset, with any non-None override (keep, new_per_step, steps, patience, ...)."""
    b = task.budget(preset)
    cfg = SearchConfig(keep=b.keep, new_per_step=b.new_per_step, steps=b.steps, patience=b.patience,
                       max_new_tokens=b.max_new_tokens, seed=seed)
    return replace(cfg, **{k: v for k, v in overrides.items() if v is not None}).validate()


def starting_pool(task: Task, preset: str, pool: str | Sequence[str] | None, keep: int) -> list[str]:
    """The task's pool (or the user's pool name/file/list), subsampled per the preset, checked against K."""
    limit = task.budget(preset).pool_limit
    if pool is None:
        if task.pool is None:
            raise InputError("pool", f"a starting text for task {task.name}")
        texts = load_pool(task.pool, limit=limit)
    elif isinstance(pool, str):
        texts = load_pool(pool, limit=limit)
    else:
        texts = [t.strip() for t in pool if t and t.strip()]
        if not texts:
            raise InputError("pool", "at least one non-empty description")
    if keep > len(texts):
        raise InputError("keep", f"K no larger than the pool ({len(texts)} descriptions); lower K or use a larger pool",
                         repr(keep))
    return texts


_ARTICLE = {"image": "an image", "video": "a video", "audio": "a sound"}


def _need(value, name: str, what: str, task: str):
    if value is None:
        raise InputError(name, f"{what} for task {task}")
    return value


def _caption(job: Job, task: Task, config: SearchConfig) -> Prepared:
    media = _need(job.media, "media", "an image, a video or a sound to caption", task.name)
    if media.task_name != task.name:
        wanted = next(k for k, t in CAPTION_TASKS.items() if t == task.name)
        raise InputError(wanted, f"{_ARTICLE[wanted]} to caption for task {task.name}", _ARTICLE[media.kind])
    encoder = _need(job.scorer_model, "scorer", "a scorer model", task.name)
    scorer = caption_scorer(encoder, media, num_frames=job.num_frames)
    return Prepared(task, scorer, starting_pool(task, job.preset, job.pool, config.keep), config)


def _invert(job: Job, task: Task, config: SearchConfig) -> Prepared:
    encoder = _need(job.scorer_model, "scorer", "a scorer model", task.name)
    if job.target is not None:
        target = job.target
    elif job.prompt.strip():
        target = targets.text_target(encoder, job.prompt, name="text")
    else:
        raise InputError("target", "a target embedding, or a text whose embedding to match, for task invert")
    scorer = EmbeddingScorer(encoder, target, label="target")
    return Prepared(task, scorer, starting_pool(task, job.preset, job.pool, config.keep), config)


def _told_budget(task: Task, renderer) -> Task:
    """The task with the renderer's prompt budget in the LLM's instructions (unchanged without one)."""
    budget = token_budget(renderer)
    if not budget:
        return task
    words = max(1, (budget - 2) * 3 // 4)  # CLIP's budget counts start and end tokens; ~1.3 tokens per word
    note = (f" The image model reads only the first {budget} tokens (about {words} words) of each line: "
            "longer lines are cut there, so keep every line within that.")
    return replace(task, template=task.template + note, max_words=min(task.max_words, words))


def _enhance(job: Job, task: Task, config: SearchConfig) -> Prepared:
    prompt = job.prompt.strip()
    if not prompt:
        raise InputError("prompt", "your prompt: prompt enhancement starts from it and scores renders against it")
    if isinstance(job.pool, str):
        raise InputError("pool", "no pool name: enhancement starts from the prompt (extra starting prompts as a list)",
                         repr(job.pool))
    renderer = _need(job.renderer, "renderer", "a text-to-image renderer", task.name)
    encoder = _need(job.scorer_model, "scorer", "a scorer model", task.name)
    # every render is scored against the ORIGINAL prompt, all with the one render seed
    scorer = render_scorer(encoder, renderer, prompt, seed=job.render_seed, batch_size=job.render_batch,
                           generator=job.generator, llm_seed=job.seed)
    start = [prompt] + [t.strip() for t in (job.pool or []) if t.strip() and t.strip() != prompt]
    return Prepared(_told_budget(task, renderer), scorer, start, config, intent=prompt)


def _style_transfer(job: Job, task: Task, config: SearchConfig) -> Prepared:
    style = _need(job.style, "style", "a style image and its features", task.name)
    renderer = _need(job.renderer, "renderer", "an image-edit renderer (the content image and an editor)", task.name)
    gram = style if isinstance(style, GramStyleScorer) else GramStyleScorer(
        style.extractor, style.style_image, style.content_image, style_weight=style.style_weight,
        content_weight=style.content_weight, size=style.size)
    scorer = GramRenderScorer(renderer, gram, seed=job.render_seed, batch_size=job.render_batch)
    return Prepared(_told_budget(task, renderer), scorer, starting_pool(task, job.preset, job.pool, config.keep),
                    config)


_ASSEMBLE: dict[str, Callable[[Job, Task, SearchConfig], Prepared]] = {
    "image_caption": _caption, "video_caption": _caption, "audio_caption": _caption,
    "invert": _invert, "t2i_enhance": _enhance, "style_transfer": _style_transfer,
}


def prepare(job: Job) -> Prepared:
    """The configured search of ``job``; every bad input is an InputError naming it."""
    task = get_task(job.task)
    config = search_config(task, job.preset, seed=job.seed, **dict(job.overrides))
    return _ASSEMBLE[task.name](job, task, config)


def run_job(job: Job, *, progress: ProgressFn | None = None, should_cancel: CancelFn | CancelCheck | None = None,
            on_error: str = "raise") -> JobResult:
    """Assemble and run one job (a lockstep batch of one, see ``run_jobs``). An LLM or scorer failure raises
    (``on_error="raise"``; the error carries the partial result) or returns the best so far with
    ``stopped == "error"`` (``"return"``). A cancel returns the best so far with ``stopped == "cancelled"``."""
    try:
        prep = prepare(job)
    except BaseException:
        if job.steering is not None:  # the run ended before it began: steering it is an error (SteeringClosed)
            job.steering.close()
        raise
    result = run_search(job.generator, prep.scorer, prep.task, prep.start, prep.config, intent=prep.intent,
                        progress=progress, should_cancel=should_cancel, checkpoint=job.checkpoint, fresh=job.fresh,
                        identity=_identity(job), on_error=on_error, steering=job.steering,
                        judge_timeout_s=job.judge_timeout_s)
    return JobResult(job, prep, result)


def _identity(job: Job) -> dict[str, str] | None:
    """The job's identity where it keeps a resumable state (digesting the inputs costs a little)."""
    return job_identity(job) if job.checkpoint is not None else None


def run_jobs(jobs: Sequence[Job], *, progress: BatchProgressFn | None = None,
             should_cancel: CancelFn | CancelCheck | None = None) -> list[JobResult | Exception]:
    """Jobs of one task with one generator in lockstep: one batched LLM call and one batched encode per step,
    and, for jobs that render on one renderer (t2i_enhance on one pipeline), their candidates rendered together.

    Each result equals the job run alone with the same seed where the backends are deterministic. A job
    that cannot be assembled or fails (bad input, LLM outage) fails alone: its slot holds the exception
    (input errors) or a result with ``stopped == "error"``; the others go on. A cancel stops them all
    (``stopped == "cancelled"``, or ``mils.errors.Cancelled`` in the slot of a job cancelled before its
    start was scored); see mils.lockstep for the rules.
    """
    if not jobs:
        raise InputError("jobs", "at least one job in the batch", "an empty batch")
    generator = jobs[0].generator
    if any(j.generator is not generator for j in jobs):
        raise InputError("jobs", "one generator for the whole batch")
    slots: list[JobResult | Exception] = []
    ready: list[tuple[int, Prepared]] = []
    for i, job in enumerate(jobs):
        try:
            prep = prepare(job)
        except MilsError as exc:
            slots.append(exc)
            if job.steering is not None:
                job.steering.close()
            continue
        if ready and prep.task != ready[0][1].task:
            raise InputError("jobs", f"jobs of one task; {prep.task.name} and {ready[0][1].task.name} are mixed")
        slots.append(None)  # filled below
        ready.append((i, prep))
    if ready:
        items = [SearchItem(p.scorer, p.start, intent=p.intent, config=p.config, checkpoint=jobs[i].checkpoint,
                            identity=_identity(jobs[i]), steering=jobs[i].steering,
                            judge_timeout_s=jobs[i].judge_timeout_s)
                 for i, p in ready]
        fresh = any(jobs[i].fresh for i, _ in ready)
        outs = run_searches(generator, ready[0][1].task, items, ready[0][1].config, should_cancel=should_cancel,
                            fresh=fresh, progress=(lambda k, rec, total: progress(ready[k][0], rec, total))
                            if progress else None)
        for (i, prep), out in zip(ready, outs):
            slots[i] = out if isinstance(out, Exception) else JobResult(jobs[i], prep, out)
    return slots


@dataclass
class MergeResult:
    captions: list[JobResult]
    merged_prompt: str
    instruction: str          # what the LLM was asked
    reply: str                # the reply the merged prompt came from


def run_merge(caption_jobs: Sequence[Job], *, generator: Generator | None = None, seed: int = 0,
              temperature: float | None = None, max_new_tokens: int | None = None,
              progress_for: Callable[[Job], ProgressFn | None] | None = None) -> MergeResult:
    """Cross-modal arithmetic in text (the paper's route): caption every input, then merge the captions.

    ``generator`` writes the merged prompt (default: the first caption job's); ``progress_for(job)``
    gives each caption search its progress callback.
    """
    if not caption_jobs:
        raise InputError("inputs", "at least one image, video or sound to merge")
    done = [run_job(j, progress=progress_for(j) if progress_for else None) for j in caption_jobs]
    llm = generator or caption_jobs[0].generator
    merged, instruction, reply = merge_captions(
        llm, [(r.job.media.kind, r.result.best_text) for r in done], seed=seed, temperature=temperature,
        max_new_tokens=max_new_tokens, max_words=get_task("t2i_enhance").max_words)
    return MergeResult(done, merged, instruction, reply)
