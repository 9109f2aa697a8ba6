"""The MILS Loop node: the search. LLM + scorer + what to match in; the best prompt (and its render) out."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import torch

from mils.errors import Cancelled
from mils.images import score_curve_image
from mils.keys import digest
from mils.jobs import Job, JobResult, run_jobs
from mils.steering import Steering
from . import bridge
from .common import CATEGORY, GRAM_TYPE, LLM_TYPE, RENDERER_TYPE, SCORER_TYPE, TARGET_TYPE, image_input, seed_input
from .loop_inputs import TASK_CHOICES, TASK_TOOLTIP, LoopInputs, fill_jobs, pick_task
from .steer_route import REGISTRY
from .thumbs import Thumbnails

BUDGETS = ["preview", "balanced", "paper"]
EVENT = "mils.progress"


def leaderboard_text(res, limit: int = 10) -> str:
    best = res.leaderboard[0].shown if res.leaderboard else f"{res.best_score:.4f}"
    lines = [f"best {best} after {len(res.history) - 1} steps ({res.stopped}); "
             f"{res.llm_calls} LLM calls, {res.encodes} encodes, {res.renders} renders"]
    lines += [f"{i}. {s.shown}  {'[pinned] ' if getattr(s, 'pinned', False) else ''}{s.text}"
              for i, s in enumerate(res.leaderboard[:limit], 1)]
    return "\n".join(lines)


class MILSLoop:
    DESCRIPTION = ("The MILS search: the LLM proposes candidates, the scorer rates them against the target, the "
                   "best K go back to the LLM with their scores, for T steps. Captions an IMAGE (one caption per "
                   "image of a batch, searched together), a VIDEO or AUDIO; with a MILS Renderer it enhances your "
                   "prompt by rendering every rewrite with your checkpoint and scoring the picture against your "
                   "original prompt; with MILS Gram Style (and a renderer) it searches edit instructions that "
                   "restyle a photo; with a target from MILS Embedding Arithmetic it turns the target into text.")
    CATEGORY = CATEGORY
    RETURN_TYPES = ("STRING", "STRING", "FLOAT", "IMAGE", "IMAGE", "CONDITIONING")
    RETURN_NAMES = ("best_prompt", "top_k", "scores", "best_image", "score_curve", "conditioning")
    OUTPUT_IS_LIST = (True, True, True, False, False, False)
    OUTPUT_TOOLTIPS = (
        "The best text found (a list: one per image of an IMAGE batch, else one).",
        "The final top K texts, best first (a list; for a batch, each image's top K in turn).",
        "Their scores, in the same order (a list).",
        "The best candidate's render (with a renderer), else the input image(s).",
        "Best score and mean top-K score per step, as a chart (one per search).",
        "The best prompt encoded with the renderer's CLIP, ready for KSampler (None without a renderer).",
    )
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        zero_is_preset = " 0 = the budget preset's value."
        return {"required": {
            "llm": (LLM_TYPE, {"tooltip": "The generator (MILS Local LLM or MILS OpenAI-compatible LLM)."}),
            "task": (TASK_CHOICES, {"default": "auto", "tooltip": TASK_TOOLTIP}),
            "budget": (BUDGETS, {"default": "preview", "tooltip": "preview: a minute on a CPU with small models. "
                                 "balanced: better results. paper: the MILS paper's settings (slow)."}),
            "keep": ("INT", {"default": 0, "min": 0, "max": 500, "tooltip": "K: best candidates shown to the LLM "
                             "and kept." + zero_is_preset}),
            "new_per_step": ("INT", {"default": 0, "min": 0, "max": 500, "tooltip": "N: new candidates asked for "
                                     "per step." + zero_is_preset}),
            "steps": ("INT", {"default": 0, "min": 0, "max": 200, "tooltip": "T: LLM rounds." + zero_is_preset}),
            "parallel": ("INT", {"default": 0, "min": 0, "max": 64, "tooltip": "P: the N candidates of a step come "
                                 "from P replies of about N/P each, generated as one batch (at most N). 0 = the "
                                 "LLM's default (more on a GPU or a server)."}),
            "patience": ("INT", {"default": 0, "min": 0, "max": 100, "tooltip": "Stop when the best has not improved "
                                 "for this many steps." + zero_is_preset + " Above steps: never stop early."}),
            "seed": seed_input(),
            "resume": ("BOOLEAN", {"default": True, "tooltip": "After a Cancel or an LLM failure, queueing the same "
                                   "graph again goes on from the last finished step (no finished step is asked "
                                   "again). Off: start over."}),
        }, "optional": {
            "scorer": (SCORER_TYPE, {"tooltip": "The scorer (MILS Scorer Loader): SigLIP/CLIP for images and video, "
                                                "CLAP for audio, PickScore/HPSv2 or CLIP for prompt enhancement."}),
            "renderer": (RENDERER_TYPE, {"tooltip": "MILS Renderer (your MODEL, CLIP, VAE): prompt enhancement, edit "
                                         "mode and style transfer render every candidate with it."}),
            "style_scorer": (GRAM_TYPE, {"tooltip": "Style transfer: MILS Gram Style. The LLM then writes edit "
                                         "instructions, each applied to the content image with the renderer, "
                                         "ranked by style (and content) loss, lower is better."}),
            "image": ("IMAGE", {"tooltip": "Image(s) to caption: one caption per image of the batch. With task "
                                "video_caption: the frames of one video."}),
            "video": ("VIDEO", {"tooltip": "A video to caption (core Load Video); its frames are sampled evenly."}),
            "audio": ("AUDIO", {"tooltip": "A sound to caption (needs a CLAP scorer)."}),
            "target": (TARGET_TYPE, {"tooltip": "A target embedding to turn into text (from MILS Embedding "
                                     "Arithmetic); task auto then inverts it."}),
            "text": ("STRING", {"multiline": True, "default": "", "tooltip": "Prompt enhancement: your prompt (the "
                                "target and the starting point). Invert: the text whose embedding to match."}),
            "initial": ("STRING", {"multiline": True, "default": "", "tooltip": "Your own starting candidates, one "
                                   "per line, or a pool name (image, audio, edit). Empty: the task's pool."}),
            "judge": ("BOOLEAN", {"default": False, "label_on": "I am the judge", "label_off": "the scorer judges",
                                  "tooltip": "I am the judge: after each round the Loop waits for you to pick or "
                                  "rank candidates on the node (or through POST /mils/steer), up to judge_timeout; "
                                  "your order outranks the scorer's. Off: the scorer ranks alone (you can still "
                                  "pin, ban, edit and add while it runs)."}),
            "judge_timeout": ("INT", {"default": 60, "min": 1, "max": 3600, "tooltip": "I am the judge: seconds to "
                                      "wait for your pick after each round; then the search goes on with the "
                                      "scorer's ranking. Cancel ends the wait at once."}),
        }, "hidden": {"unique_id": "UNIQUE_ID"}}

    def run(self, llm, task, budget, keep, new_per_step, steps, parallel, patience, seed, resume=True, scorer=None,
            renderer=None, style_scorer=None, image=None, video=None, audio=None, target=None, text="", initial="",
            judge=False, judge_timeout=60, unique_id=None):
        given = LoopInputs(scorer=scorer, style_scorer=style_scorer, renderer=renderer, image=image, video=video,
                           audio=audio, target=target, text=text or "", initial=initial or "")
        task_name = pick_task(task, given)
        overrides = {"keep": keep or None, "new_per_step": new_per_step or None, "steps": steps or None,
                     "patience": patience or None, "parallel": parallel or None}
        used = [h for h in (llm, scorer, style_scorer) if h is not None]
        try:
            base = Job(task_name, llm.use(), preset=budget, overrides=overrides, seed=seed % (2**31 - 1),
                       render_seed=seed, render_batch=renderer.batch_size if renderer is not None else 4)
            jobs = fill_jobs(base, given)
            states = self._keep_state(jobs, unique_id, fresh=not resume)
            prompt_id = bridge.current_prompt_id()
            progress = self._progress(unique_id, task_name, jobs, prompt_id)
            steerings = self._steerable(jobs, judge_timeout if judge else None, progress.refresh)
            REGISTRY.register(prompt_id, unique_id, steerings)
            try:
                done = run_jobs(jobs, progress=progress, should_cancel=bridge.interrupt_check())
            finally:
                REGISTRY.unregister(prompt_id, unique_id)
        finally:
            for handle in used:
                handle.release()
        for path, d in zip(states, done):
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
        return self._outputs(done, given)

    @staticmethod
    def _keep_state(jobs: list[Job], unique_id, *, fresh: bool) -> list[Path]:
        """Each search saves its state after every step, so a requeue after a Cancel resumes it.

        The file is named by the node, the task and the search's place in the batch; the state records the
        job's identity (mils.identity: models, inputs, budget, seed), and one made for another identity is
        ignored with a warning naming what differs.
        """
        folder = bridge.state_dir()
        paths = []
        for k, job in enumerate(jobs):
            name = digest(json.dumps([str(unique_id), job.task, k]).encode())
            job.checkpoint, job.fresh = folder / f"loop-{name}.json", fresh
            paths.append(job.checkpoint)
        folder.mkdir(parents=True, exist_ok=True)
        return paths

    @staticmethod
    def _steerable(jobs: list[Job], judge_timeout_s: float | None, refresh) -> list[Steering]:
        """One Steering per search (the route hands the artist's actions to it; ``refresh(k, board)`` shows what
        they did at once); renders keep small previews."""
        steerings = []
        for k, job in enumerate(jobs):
            job.steering = Steering(on_applied=lambda board, events, k=k: refresh(k, board))
            job.judge_timeout_s = judge_timeout_s
            if job.renderer is not None and not isinstance(job.renderer, Thumbnails):
                job.renderer = Thumbnails(job.renderer)
            steerings.append(job.steering)
        return steerings

    # -- live feedback and outputs -------------------------------------------------------------

    def _progress(self, unique_id, task_name: str, jobs: list[Job], prompt_id):
        searches = len(jobs)
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
                "node": unique_id, "prompt_id": prompt_id, "task": task_name, "step": rec.step,
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

    def _outputs(self, done: list[JobResult], given: LoopInputs):
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
