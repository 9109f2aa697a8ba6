"""The MILS Loop node: generator + scorer + target in, the best prompt (and its render) out."""
from __future__ import annotations

import torch

from ..mils import pools
from ..mils.images import score_curve_image
from ..mils.jobs import Job, run_job
from . import bridge
from .common import CATEGORY, GRAM_TYPE, LLM_TYPE, SCORER_TYPE, TARGET_TYPE, node_error, seed_input, split_lines
from .scorer import build_target, target_media

TASK_CHOICES = ["auto", "image_caption", "video_caption", "audio_caption", "t2i_enhance", "style_transfer", "invert"]
BUDGETS = ["preview", "balanced", "paper"]
EVENT = "mils.progress"


def pick_task(task: str, image, audio, text: str, model, target=None, style_scorer=None) -> str:
    if task != "auto":
        return task
    if style_scorer is not None:
        return "style_transfer"
    if target is not None:
        return "invert"
    if model is not None:
        return "t2i_enhance"
    if audio is not None:
        return "audio_caption"
    if image is not None:
        return "video_caption" if image.shape[0] > 1 else "image_caption"
    if text.strip():
        return "invert"
    raise node_error("image", "a target: connect an IMAGE or AUDIO, or connect MODEL/CLIP/VAE and write a prompt")


def _pool_from_initial(initial: str):
    """The 'initial' widget: a pool name, or the user's own lines, or empty for the task's pool."""
    lines = split_lines(initial)
    if len(lines) == 1 and lines[0].lower() in pools.pool_names():
        return lines[0].lower()
    return lines or None


def leaderboard_text(res, limit: int = 10) -> str:
    lines = [f"best {res.best_score:.4f} after {len(res.history) - 1} steps ({res.stopped}); "
             f"{res.llm_calls} LLM calls, {res.encodes} encodes, {res.renders} renders"]
    lines += [f"{i}. {s.score:.4f}  {s.text}" for i, s in enumerate(res.leaderboard[:limit], 1)]
    return "\n".join(lines)


class MILSLoop:
    DESCRIPTION = ("The MILS search: the LLM proposes candidates, the scorer rates them against the target, the "
                   "best K go back to the LLM with their scores, for T steps. Captions an IMAGE (several = video "
                   "frames) or AUDIO; with MODEL, CLIP and VAE connected it enhances your prompt by rendering "
                   "every rewrite with your checkpoint (one fixed seed) and scoring the picture against your "
                   "original prompt; with MILS Gram Style connected it searches edit instructions that restyle "
                   "content_image after the style image.")
    CATEGORY = CATEGORY
    RETURN_TYPES = ("STRING", "STRING", "FLOAT", "IMAGE", "IMAGE", "CONDITIONING")
    RETURN_NAMES = ("best_prompt", "top_k", "scores", "best_image", "score_curve", "conditioning")
    OUTPUT_IS_LIST = (False, True, True, False, False, False)
    OUTPUT_TOOLTIPS = (
        "The best text found.",
        "The final top K texts, best first (a list).",
        "Their scores, best first (a list).",
        "The best candidate's render (prompt enhancement), else the target image.",
        "Best score and mean top-K score per step, as a chart.",
        "The best prompt encoded with the connected CLIP (None without a CLIP), ready for KSampler.",
    )
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        samplers, schedulers = bridge.sampler_choices()
        zero_is_preset = " 0 = the budget preset's value."
        return {"required": {
            "llm": (LLM_TYPE, {"tooltip": "The generator (MILS Local LLM or MILS OpenAI-compatible LLM)."}),
            "task": (TASK_CHOICES, {"default": "auto", "tooltip": "auto: prompt enhancement when MODEL is connected, "
                                    "else caption the connected IMAGE / AUDIO, else invert the text."}),
            "budget": (BUDGETS, {"default": "preview", "tooltip": "preview: a minute on a CPU with small models. "
                                 "balanced: better results. paper: the MILS paper's settings (slow)."}),
            "keep": ("INT", {"default": 0, "min": 0, "max": 500, "tooltip": "K: best candidates shown to the LLM "
                             "and kept." + zero_is_preset}),
            "new_per_step": ("INT", {"default": 0, "min": 0, "max": 500, "tooltip": "N: new candidates asked for "
                                     "per step." + zero_is_preset}),
            "steps": ("INT", {"default": 0, "min": 0, "max": 200, "tooltip": "T: LLM rounds." + zero_is_preset}),
            "patience": ("INT", {"default": 0, "min": 0, "max": 100, "tooltip": "Stop when the best has not improved "
                                 "for this many steps." + zero_is_preset + " Above steps: never stop early."}),
            "seed": seed_input(),
        }, "optional": {
            "scorer": (SCORER_TYPE, {"tooltip": "The scorer (MILS Scorer Loader). PickScore or CLIP for prompt "
                                                "enhancement, SigLIP/CLIP for images and video, CLAP for audio."}),
            "style_scorer": (GRAM_TYPE, {"tooltip": "Style transfer: MILS Gram Style. The LLM then writes edit "
                                         "instructions, each applied to content_image with your MODEL, and the "
                                         "edits are ranked by style (and content) loss, lower is better."}),
            "image": ("IMAGE", {"tooltip": "Target to caption: one image, or a batch of video frames."}),
            "target": (TARGET_TYPE, {"tooltip": "A target embedding to turn into text (from MILS Embedding "
                                     "Arithmetic); task auto then inverts it."}),
            "audio": ("AUDIO", {"tooltip": "Target to caption: a sound (needs a CLAP scorer)."}),
            "text": ("STRING", {"multiline": True, "default": "", "tooltip": "Prompt enhancement: your prompt (the "
                                "target and the starting point). Invert: the text whose embedding to match."}),
            "initial": ("STRING", {"multiline": True, "default": "", "tooltip": "Your own starting candidates, one "
                                   "per line, or a pool name (image, audio, edit). Empty: the task's pool."}),
            "model": ("MODEL", {"tooltip": "Prompt enhancement: your checkpoint's MODEL, to render candidates."}),
            "clip": ("CLIP", {"tooltip": "Your checkpoint's CLIP: encodes candidates for rendering, and the best "
                              "prompt for the conditioning output."}),
            "vae": ("VAE", {"tooltip": "Your checkpoint's VAE, to decode renders."}),
            "sampler_name": (samplers, {"default": "euler", "tooltip": "Sampler for the preview renders."}),
            "scheduler": (schedulers, {"default": "normal", "tooltip": "Scheduler for the preview renders."}),
            "render_steps": ("INT", {"default": 8, "min": 1, "max": 100, "tooltip": "Sampling steps per preview."}),
            "cfg": ("FLOAT", {"default": 7.0, "min": 0.0, "max": 30.0, "step": 0.1, "tooltip": "CFG of the previews."}),
            "preview_size": ("INT", {"default": 256, "min": 64, "max": 2048, "step": 8,
                                     "tooltip": "Width and height of the preview renders the scorer sees."}),
            "render_batch": ("INT", {"default": 4, "min": 1, "max": 64, "tooltip": "Candidates rendered per "
                                     "sampler call (halved automatically when memory runs out)."}),
            "negative": ("STRING", {"multiline": True, "default": "", "tooltip": "Negative prompt for the previews."}),
            "content_image": ("IMAGE", {"tooltip": "Edit mode and style transfer: every candidate is applied to "
                                        "this image as img2img with your MODEL (an edit instruction or a prompt), "
                                        "instead of rendering from noise."}),
            "denoise": ("FLOAT", {"default": 0.6, "min": 0.05, "max": 1.0, "step": 0.05, "tooltip": "Edit mode: how "
                                  "much of the content image is repainted (1.0 = nothing kept)."}),
        }, "hidden": {"unique_id": "UNIQUE_ID"}}

    def run(self, llm, task, budget, keep, new_per_step, steps, patience, seed, scorer=None, style_scorer=None,
            image=None, audio=None,
            text="", initial="", model=None, clip=None, vae=None, sampler_name="euler", scheduler="normal",
            render_steps=8, cfg=7.0, preview_size=256, render_batch=4, negative="", content_image=None, denoise=0.6,
            target=None, unique_id=None):
        text = text or ""
        task_name = pick_task(task, image, audio, text, model, target, style_scorer)
        render = dict(sampler_name=sampler_name, scheduler=scheduler, steps=render_steps, cfg=cfg,
                      width=preview_size, height=preview_size, negative=negative, batch_size=render_batch)
        overrides = {"keep": keep or None, "new_per_step": new_per_step or None, "steps": steps or None,
                     "patience": patience or None}
        used = [h for h in (llm, scorer, style_scorer) if h is not None]
        try:
            job = Job(task_name, llm.use(), preset=budget, overrides=overrides, seed=seed % (2**31 - 1),
                      render_seed=seed, render_batch=render_batch)
            self._fill(job, scorer, style_scorer, image, audio, text, initial, target, model, clip, vae,
                       content_image, denoise, render)
            done = run_job(job, progress=self._progress(unique_id, task_name), should_cancel=bridge.interrupt_requested)
        finally:
            for handle in used:
                handle.release()
        if done.result.stopped == "cancelled":
            bridge.raise_if_interrupted()
        return self._outputs(done, image, clip)

    # -- inputs into the job -------------------------------------------------------------------

    def _fill(self, job, scorer, style_scorer, image, audio, text, initial, target, model, clip, vae, content_image,
              denoise, render) -> None:
        name = job.task
        if name == "style_transfer":
            if style_scorer is None:
                raise node_error("style_scorer", "MILS Gram Style for task style_transfer")
            content = content_image if content_image is not None else style_scorer.content_image
            if content is None:
                raise node_error("content_image", "the photo to restyle (here or on MILS Gram Style)")
            job.style = style_scorer.use()  # its targets are already encoded
            job.renderer = self._renderer(model, clip, vae, render, content, denoise)
            job.pool = _pool_from_initial(initial)
            return
        if scorer is None:
            raise node_error("scorer", f"a scorer (MILS Scorer Loader) for task {name}")
        job.scorer_model = scorer.use()
        if name == "t2i_enhance":
            if not text.strip():
                raise node_error("text", "your prompt: prompt enhancement starts from it and scores renders against it")
            job.prompt = text
            job.renderer = self._renderer(model, clip, vae, render, content_image, denoise)
            job.pool = split_lines(initial)
            return
        job.pool = _pool_from_initial(initial)
        if name == "invert":
            job.target = target if target is not None else build_target(job.scorer_model, image, audio, text)
            return
        if target is not None:
            raise node_error("target", f"task invert (or auto) when a target embedding is connected, not {name}")
        job.media = target_media(image, audio, task=name)
        if job.media is None:
            wanted = "audio" if name == "audio_caption" else "image"
            raise node_error(wanted, f"an {wanted.upper()} to caption for task {name}")

    @staticmethod
    def _renderer(model, clip, vae, render, content_image=None, denoise=1.0):
        from .comfy_render import ComfyRenderer

        for name, value in (("model", model), ("clip", clip), ("vae", vae)):
            if value is None:
                raise node_error(name, "a connection: candidates are rendered with your MODEL, CLIP and VAE")
        return ComfyRenderer(model, clip, vae, content_image=content_image,
                             denoise=denoise if content_image is not None else 1.0, **render)

    # -- live feedback and outputs -------------------------------------------------------------

    def _progress(self, unique_id, task_name):
        bar = None
        curve: list[float] = []

        def on_step(rec, total_steps):
            nonlocal bar
            bar = bar or bridge.progress_bar(total_steps)
            curve.append(rec.best_score)
            bar.update_absolute(rec.step, total_steps)
            bridge.send_event(EVENT, {
                "node": unique_id, "task": task_name, "step": rec.step, "total": total_steps,
                "leaderboard": [{"score": s.score, "text": s.text} for s in rec.leaderboard[:10]],
                "curve": list(curve), "new": rec.new, "warnings": rec.warnings})

        return on_step

    def _outputs(self, done, image, clip):
        res, task_name, renderer = done.result, done.job.task, done.job.renderer
        top = res.leaderboard
        if renderer is not None:
            best_image = done.images([res.best_text])
        elif image is not None:
            best_image = image[:1]
        else:
            best_image = torch.zeros(1, 64, 64, 3)
        curve = score_curve_image(res.curve(), [h.mean_top_k for h in res.history],
                                  title=f"MILS {task_name}: best score per step")
        conditioning = None
        if clip is not None:
            conditioning = (renderer.conditioning(res.best_text) if renderer is not None
                            else clip.encode_from_tokens_scheduled(clip.tokenize(res.best_text)))
        board = [{"score": s.score, "text": s.text} for s in top]
        ui = {"text": [leaderboard_text(res)], "mils_leaderboard": board, "mils_curve": res.curve()}
        return {"ui": ui, "result": (res.best_text, [s.text for s in top], [s.score for s in top], best_image,
                                     curve, conditioning)}
