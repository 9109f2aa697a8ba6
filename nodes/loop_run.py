"""One run of the MILS Loop node: its jobs, resumable state, live progress, steering, and its outputs.

``LoopRun(inputs, make_steering, cancel)`` builds the jobs from the node's inputs and registers their
steering with POST /mils/steer; ``search()`` runs them (``run_jobs``; on a worker thread in judge mode on
an async executor); ``end()`` unregisters and releases the models; ``outputs(done)`` turns the results
into the node's outputs (or ComfyUI's interrupt, or the error with the best so far).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import torch

from mils.cancel import CancelCheck
from mils.errors import Cancelled
from mils.images import score_curve_image
from mils.jobs import Job, JobResult, run_jobs
from mils.keys import digest
from mils.steering import Steering
from . import bridge
from .common import image_input
from .loop_inputs import LoopInputs, fill_jobs, pick_task
from .steer_route import REGISTRY
from .thumbs import Thumbnails

EVENT = "mils.progress"


class LoopRun:
    def __init__(self, inputs: dict, make_steering=Steering, cancel: CancelCheck | None = None) -> None:
        self.given = LoopInputs(scorer=inputs.get("scorer"), style_scorer=inputs.get("style_scorer"),
                                renderer=inputs.get("renderer"), image=inputs.get("image"),
                                video=inputs.get("video"), audio=inputs.get("audio"), target=inputs.get("target"),
                                text=inputs.get("text") or "", initial=inputs.get("initial") or "")
        task_name = pick_task(inputs["task"], self.given)
        overrides = {name: inputs[name] or None for name in ("keep", "new_per_step", "steps", "patience", "parallel")}
        renderer, seed = self.given.renderer, inputs["seed"]
        self.used = [h for h in (inputs["llm"], self.given.scorer, self.given.style_scorer) if h is not None]
        self.unique_id, self.cancel = inputs.get("unique_id"), cancel or bridge.interrupt_check()
        self.prompt_id = bridge.current_prompt_id()
        try:
            base = Job(task_name, inputs["llm"].use(), preset=inputs["budget"], overrides=overrides,
                       seed=seed % (2**31 - 1), render_seed=seed,
                       render_batch=renderer.batch_size if renderer is not None else 4)
            self.jobs = fill_jobs(base, self.given)
            self.states = self._keep_state(fresh=not inputs.get("resume", True))
            self.progress = self._progress(task_name)
            judge_timeout = inputs.get("judge_timeout", 60) if inputs.get("judge") else None
            REGISTRY.register(self.prompt_id, self.unique_id, self._steerable(judge_timeout, make_steering))
        except BaseException:
            self._release()
            raise

    def search(self) -> list:
        """Runs the searches (what ``run_jobs`` returns: a JobResult or an exception per search)."""
        return run_jobs(self.jobs, progress=self.progress, should_cancel=self.cancel)

    def end(self) -> None:
        REGISTRY.unregister(self.prompt_id, self.unique_id)
        self._release()

    def _release(self) -> None:
        for handle in self.used:
            handle.release()

    def outputs(self, done: list) -> dict:
        for path, d in zip(self.states, done):
            if not isinstance(d, Exception) and d.result.stopped not in ("cancelled", "error", "time"):
                path.unlink(missing_ok=True)   # finished: nothing to resume
        # a cancel shows in the queue as interrupted, its state kept for a requeue
        if any(isinstance(d, Cancelled) or not isinstance(d, Exception) and d.result.stopped == "cancelled"
               for d in done):
            bridge.raise_interrupted()
        for slot in done:
            if isinstance(slot, Exception):
                raise slot
        failed = [d.result for d in done if d.result.stopped == "error"]
        if len(failed) == len(done):  # nothing to pass on: say why, and what was found before it failed
            raise _with_best(failed[0])
        return self._outputs(done)

    def _keep_state(self, *, fresh: bool) -> list[Path]:
        """Each search saves its state after every step, so a requeue after a Cancel resumes it.

        The file is named by the node, the task and the search's place in the batch; the state records the
        job's identity (mils.identity: models, inputs, budget, seed), and one made for another identity is
        ignored with a warning naming what differs.
        """
        folder = bridge.state_dir()
        paths = []
        for k, job in enumerate(self.jobs):
            name = digest(json.dumps([str(self.unique_id), job.task, k]).encode())
            job.checkpoint, job.fresh = folder / f"loop-{name}.json", fresh
            paths.append(job.checkpoint)
        folder.mkdir(parents=True, exist_ok=True)
        return paths

    def _steerable(self, judge_timeout_s: float | None, make_steering) -> list[Steering]:
        """One Steering per search (the route hands the artist's actions to it; ``progress.refresh(k, board)``
        shows what they did at once); renders keep small previews."""
        steerings = []
        for k, job in enumerate(self.jobs):
            job.steering = make_steering(on_applied=lambda board, events, k=k: self.progress.refresh(k, board))
            job.judge_timeout_s = judge_timeout_s
            if job.renderer is not None and not isinstance(job.renderer, Thumbnails):
                job.renderer = Thumbnails(job.renderer)
            steerings.append(job.steering)
        return steerings

    # -- live feedback and outputs -------------------------------------------------------------

    def _progress(self, task_name: str):
        jobs, searches = self.jobs, len(self.jobs)
        last: list[dict | None] = [None] * searches
        bar = None
        steps_done = [0] * searches
        curves: list[list[float]] = [[] for _ in range(searches)]

        def on_step(k, rec, total_steps):
            nonlocal bar
            bar = bar or bridge.progress_bar(total_steps * searches)
            curves[k].append(rec.best_score)
            steps_done[k] = rec.step
            bar.update_absolute(sum(steps_done), total_steps * searches)
            job = jobs[k]
            last[k] = {
                "node": self.unique_id, "prompt_id": self.prompt_id, "task": task_name, "step": rec.step,
                "total": total_steps, "search": k + 1, "searches": searches,
                "leaderboard": board_rows(rec.leaderboard[:10], job.renderer),
                "curve": list(curves[k]), "new": rec.new, "warnings": rec.warnings,
                "judge": job.judge_timeout_s, "steering": job.steering.events()[-5:],
                "final": rec.step >= total_steps}
            bridge.send_event(EVENT, last[k])

        def refresh(k, board):
            """The board right after the artist's actions were applied (same round; the judge's clock runs on)."""
            if last[k] is not None:
                job = jobs[k]
                bridge.send_event(EVENT, {**last[k], "leaderboard": board_rows(board[:10], job.renderer),
                                          "steering": job.steering.events()[-5:], "refresh": True})

        on_step.refresh = refresh
        return on_step

    def _outputs(self, done: list[JobResult]):
        given = self.given
        results = [d.result for d in done]
        renderer = done[0].job.renderer
        media = [d.job.media for d in done if d.job.media is not None and d.job.media.images is not None]
        if renderer is not None:
            best_image = done[0].images([results[0].best_text])
        elif media:
            best_image = torch.cat([m.images[:1] for m in media])   # each image of a batch, a video's first frame
        elif given.image is not None:
            best_image = image_input(given.image)
        else:
            best_image = torch.zeros(1, 64, 64, 3)
        title = f"MILS {done[0].job.task}: best score per step"
        curves = [score_curve_image(r.curve(), [h.mean_top_k for h in r.history], title=title) for r in results]
        conditioning = renderer.conditioning(results[0].best_text) if renderer is not None else None
        texts = [leaderboard_text(r) for r in results]
        if len(results) > 1:
            texts = [f"image {i}: {t}" for i, t in enumerate(texts, 1)]
        ui = {"text": ["\n\n".join(texts)], "mils_leaderboard": board_rows(results[0].leaderboard),
              "mils_curve": results[0].curve(), "mils_steering": list(getattr(results[0], "steering", None) or [])}
        top = [s for r in results for s in r.leaderboard]
        return {"ui": ui, "result": ([r.best_text for r in results], [s.text for s in top], [s.score for s in top],
                                     best_image, torch.cat(curves), conditioning)}


def leaderboard_text(res, limit: int = 10) -> str:
    best = res.leaderboard[0].shown if res.leaderboard else f"{res.best_score:.4f}"
    lines = [f"best {best} after {len(res.history) - 1} steps ({res.stopped}); "
             f"{res.llm_calls} LLM calls, {res.encodes} encodes, {res.renders} renders"]
    lines += [f"{i}. {s.shown}  {'[pinned] ' if getattr(s, 'pinned', False) else ''}{s.text}"
              for i, s in enumerate(res.leaderboard[:limit], 1)]
    return "\n".join(lines)


def board_rows(board, renderer=None) -> list[dict]:
    """Leaderboard rows for the editor: text, score, its display, pinned, and (with previews) the render."""
    rows = []
    for s in board:
        row = {"score": s.score, "shown": s.shown, "text": s.text, "pinned": bool(getattr(s, "pinned", False))}
        preview = renderer.preview(s.text) if isinstance(renderer, Thumbnails) else None
        if preview:
            row["thumb"] = preview
        rows.append(row)
    return rows


def _with_best(res) -> BaseException:
    """The error that stopped a search (its own type), its message saying where it stopped and the best so far."""
    err = res.failure
    note = (f"{res.error} (the search stopped at step {len(res.history) - 1}; best so far {res.best_score:.4f}: "
            f"{res.best_text!r})")
    if err is None:
        return RuntimeError(note)
    try:
        told = copy.copy(err)
        told.args = (note,)
        if str(told) == note:
            told.__cause__ = err
            return told
    except Exception:  # an exception type that cannot be copied: keep it as it is
        pass
    return err
