"""The MILS Loop node: the search. LLM + scorer + what to match in; the best prompt (and its render) out."""
from __future__ import annotations

from mils.judge_handoff import JudgeHandoff
from . import bridge
from .common import CATEGORY, GRAM_TYPE, LLM_TYPE, RENDERER_TYPE, SCORER_TYPE, TARGET_TYPE, seed_input
from .loop_inputs import TASK_CHOICES, TASK_TOOLTIP
from .loop_run import LoopRun

BUDGETS = ["preview", "balanced", "paper"]


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
    # where ComfyUI's executor awaits coroutine nodes, judge mode waits for the artist without holding up
    # other branches of the graph (run_async); elsewhere the same search, blocking (run)
    FUNCTION = "run_async" if bridge.runs_async_nodes() else "run"
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
        run = LoopRun(locals())
        try:
            done = run.search()
        finally:
            run.end()
        return run.outputs(done)

    async def run_async(self, **inputs):
        """``run`` (the same inputs), except that in judge mode the waits for the artist are awaits: other branches
        of the graph run meanwhile, while the search itself still holds the executor when it computes
        (mils.judge_handoff)."""
        if not inputs.get("judge"):
            return self.run(**inputs)
        handoff = JudgeHandoff()
        run = LoopRun(inputs, handoff.steering, bridge.interrupt_check(also=lambda: handoff.abandoned))
        try:
            done = await handoff.run(run.search)
        finally:
            run.end()
        return run.outputs(done)
