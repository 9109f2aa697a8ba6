"""MILS Text Encoder LLM: the text encoder the user already loaded (a CLIP socket) as the search's LLM.

Current image models condition on an LLM (Qwen3 for Z-Image and Flux.2 Klein, Gemma for Lumina 2 and
LTX-2, ...), and ComfyUI >= 0.15 can sample text with it: ``CLIP.generate(tokens, ...)`` then
``CLIP.decode(ids)`` (its TextGenerate node). :class:`ClipGenerator` puts that behind the engine's
Generator protocol. It uses the CLIP object it is given, so the user's CLIPTextEncode and the search
share one copy of the weights; ``CLIP.generate`` makes them resident through the CLIP's own
``load_model()`` before every call, so ComfyUI may evict them between rounds. No ComfyUI import here:
everything goes through the CLIP object's methods and ``bridge``.
"""
from __future__ import annotations

import logging
import re

from mils import cancel, errors
from mils.generators.base import GenerationParams, row_seed
from . import bridge, model_memory
from .common import CATEGORY, LLM_TYPE, node_error

log = logging.getLogger(__name__)

MIN_COMFYUI = "0.15.0"   # CLIP.generate / CLIP.decode appeared in v0.15.0 (Ministral 3B in v0.19.1)
WORKING_ENCODERS = ("Qwen3 0.6B / 4B / 8B (Anima, Z-Image, Flux.2 Klein), Qwen2.5-VL 7B (Qwen-Image, Hunyuan "
                    "Image), Qwen3-VL, Qwen3.5, Gemma 2 / 3 / 4 (Lumina 2, NewBie, LTX-2), Ministral 3B (ERNIE)")

# One user turn in each family's chat format, ending where the model's reply starts. Qwen3 (and the
# Qwen3-VL / Qwen3.5 encoders) get the empty think block its template writes for enable_thinking=False.
CHAT_TEMPLATES = {
    "qwen3": "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
    "chatml": "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n",
    "gemma": "<start_of_turn>user\n{}<end_of_turn>\n<start_of_turn>model\n",
    "gemma4": "<|turn>user\n{}<turn|>\n<|turn>model\n",
    "mistral": "[INST]{}[/INST]",
}
# The generating module's class name (ComfyUI's comfy/text_encoders) -> chat family; first match wins.
_FAMILIES = [(re.compile(p, re.I), f) for p, f in (
    (r"^qwen3|^qwen35", "qwen3"), (r"^qwen", "chatml"), (r"^gemma4", "gemma4"), (r"^gemma", "gemma"),
    (r"mistral|ministral", "mistral"))]
_THINK = re.compile(r"<think>.*?(</think>|$)", re.S)


def chat_family(name: str) -> str | None:
    for pattern, family in _FAMILIES:
        if pattern.search(name):
            return family
    return None


def strip_thinking(text: str) -> str:
    """The reply without its <think>...</think> blocks (an unclosed one runs to the end)."""
    return _THINK.sub("", text).replace("</think>", "").strip()


def escape_weights(text: str) -> str:
    """ComfyUI's tokenizers read "(word:1.2)" as a prompt weight; the backslash keeps parentheses literal."""
    return text.replace("(", "\\(").replace(")", "\\)")


def generating_module(clip):
    """The module of the CLIP's text encoder that can sample tokens (ComfyUI's BaseGenerate), or None."""
    model = getattr(clip, "cond_stage_model", None)
    modules = getattr(model, "modules", None)
    if modules is None:
        return None
    for m in modules():
        if any(c.__name__ == "BaseGenerate" for c in type(m).__mro__):
            return m
    return None


def describe_encoder(clip) -> str:
    model = getattr(clip, "cond_stage_model", None)
    if model is None:
        return type(clip).__name__
    names = sorted({type(m).__name__ for m in model.children()}) if hasattr(model, "children") else []
    return f"{type(model).__name__}({', '.join(names)})" if names else type(model).__name__


def check_clip(clip, input_name: str = "clip"):
    """The CLIP's generating module and chat family; a clear error naming the input when it cannot generate."""
    works = f"Text encoders that generate: {WORKING_ENCODERS}."
    if clip is None or not hasattr(clip, "tokenize"):
        raise node_error(input_name, f"a CLIP (from CLIPLoader, DualCLIPLoader or a checkpoint loader). {works}")
    if not callable(getattr(clip, "generate", None)) or not callable(getattr(clip, "decode", None)):
        raise node_error(input_name, f"a CLIP that can generate text: this ComfyUI has no CLIP.generate; text "
                                     f"generation with text encoders needs ComfyUI {MIN_COMFYUI} or newer "
                                     f"(update ComfyUI, or use MILS Local LLM). {works}")
    module = generating_module(clip)
    if module is None:
        raise node_error(input_name, f"a text encoder that can generate text; {describe_encoder(clip)} cannot "
                                     f"(CLIP-L/G, T5 and other encoder-only models only encode). {works}")
    name = type(module).__name__
    family = chat_family(name)
    if family is None:
        log.warning("MILS Text Encoder LLM: no chat format known for %s; using its tokenizer's own template", name)
    return module, family


class ClipGenerator:
    """A ComfyUI CLIP that can generate, as a MILS generator: one sampled reply per ``CLIP.generate`` call.

    Reply ``r`` of a request seeded ``s`` is sampled with seed ``row_seed(s, r)``; the CLIP's sampler is
    seeded per call, so a reply does not depend on the others. Between replies it stops on Cancel
    (ComfyUI's interrupt, or the search's cancel) and returns empty replies for the rest.
    """

    default_parallel = 1   # one reply at a time (CLIP.generate samples a batch of one): P costs P calls

    def __init__(self, clip, *, top_k: int = 0, min_p: float = 0.0, repetition_penalty: float = 1.0,
                 input_name: str = "clip"):
        module, family = check_clip(clip, input_name)
        self.clip = clip
        self.family = family
        self.top_k, self.min_p, self.repetition_penalty = top_k, min_p, repetition_penalty
        size = sum(p.numel() for p in module.parameters()) if hasattr(module, "parameters") else 0
        self.key = f"text-encoder:{type(module).__name__}:{size}"

    def __repr__(self) -> str:
        return f"ClipGenerator({self.key!r})"

    def format_prompt(self, prompt: str) -> str:
        """The text the encoder sees: one user turn in its chat format, thinking off."""
        template = CHAT_TEMPLATES.get(self.family or "")
        return template.format(prompt) if template else prompt

    def _tokens(self, prompt: str):
        text = escape_weights(self.format_prompt(prompt))
        if self.family is None:  # unknown family: the tokenizer's own template, as TextGenerate uses it
            return self.clip.tokenize(text, min_length=1)
        # The text is already the whole chat turn: llama_template "{}" and skip_template keep the tokenizers
        # that would wrap it from wrapping it again (those that see their own start marker skip anyway).
        return self.clip.tokenize(text, llama_template="{}", skip_template=True, min_length=1)

    def _one(self, tokens, params: GenerationParams, seed: int) -> str:
        greedy = params.temperature <= 0
        ids = self.clip.generate(tokens, do_sample=not greedy, max_length=params.max_new_tokens,
                                 temperature=max(params.temperature, 1e-4), top_k=self.top_k, top_p=params.top_p,
                                 min_p=self.min_p, repetition_penalty=self.repetition_penalty, seed=int(seed))
        return strip_thinking(self.clip.decode(ids))

    @staticmethod
    def _cancelled() -> bool:
        return cancel.requested() or bridge.interrupt_requested()

    def generate(self, prompt: str, params: GenerationParams) -> list[str]:
        """``params.num_replies`` replies, one generate call each; reply r with seed row_seed(seed, r)."""
        params = params.validate()
        if not isinstance(prompt, str):
            raise errors.InputError("prompt", "a string", type(prompt).__name__)
        tokens = self._tokens(prompt)
        replies: list[str] = []
        for r in range(params.num_replies):
            if self._cancelled():
                log.info("%s: cancelled after %d of %d replies", self.key, r, params.num_replies)
                return replies + [""] * (params.num_replies - r)
            if params.temperature <= 0 and replies:  # greedy: the same answer however often it is asked
                replies.append(replies[0])
                continue
            try:
                replies.append(self._one(tokens, params, row_seed(params.seed, r)))
            except Exception as e:
                # ComfyUI's interrupt, raised inside the token loop: itself, so the run ends as interrupted
                if bridge.is_interrupt(e) or self._cancelled():
                    raise
                raise errors.GeneratorError(f"{self.key}: generation failed: {type(e).__name__}: {e}") from e
        return replies

    def generate_batch(self, prompts: list[str], params_list: list[GenerationParams]) -> list[list[str] | Exception]:
        """Each prompt in turn (the encoder samples one sequence at a time); a failure stays in its slot,
        a cancel ends the batch."""
        out: list[list[str] | Exception] = []
        for prompt, params in zip(prompts, params_list):
            try:
                out.append(self.generate(prompt, params))
            except Exception as e:
                if bridge.is_interrupt(e) or self._cancelled():
                    raise
                out.append(e)
        return out


class MILSTextEncoderLLM:
    DESCRIPTION = ("Uses the text encoder you already loaded for your image model as the LLM: the CLIP output of "
                   "CLIPLoader, DualCLIPLoader or a checkpoint loader, when it is a language model that can write "
                   "(Qwen3 for Z-Image and Flux.2 Klein, Qwen2.5-VL, Gemma, Ministral ...). No second model in "
                   "memory: the same weights encode your prompt. Needs ComfyUI " + MIN_COMFYUI + " or newer.")
    CATEGORY = f"{CATEGORY}/LLM"
    RETURN_TYPES = (LLM_TYPE,)
    RETURN_NAMES = ("llm",)
    OUTPUT_TOOLTIPS = ("The text encoder as the generator, for MILS LLM Generate and MILS Loop.",)
    FUNCTION = "wrap"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "clip": ("CLIP", {"tooltip": "Your model's text encoder (CLIPLoader, DualCLIPLoader or a checkpoint "
                                         "loader). It must be able to generate: " + WORKING_ENCODERS + "."}),
            "top_k": ("INT", {"default": 0, "min": 0, "max": 1000, "tooltip": "Sample from the k most likely "
                              "tokens only; 0 = off (top_p and temperature come from the Loop or LLM Generate)."}),
            "repetition_penalty": ("FLOAT", {"default": 1.0, "min": 1.0, "max": 2.0, "step": 0.01,
                                             "tooltip": "Above 1 discourages repeating tokens; 1 = off."}),
        }}

    def wrap(self, clip, top_k, repetition_penalty):
        gen = ClipGenerator(clip, top_k=top_k, repetition_penalty=repetition_penalty)
        return (model_memory.ManagedModel(lambda: gen, label=f"LLM {gen.key}"),)
