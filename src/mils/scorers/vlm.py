"""VLM judge backends: P("Yes") that an image shows a text, asked of a vision-language model (VQAScore).

The question is a template with ``{}`` or ``<text>`` where the text goes (default
``Does this image show "{}"? Answer yes or no.``). The model reads the image and the question as one
user turn of its chat template; the probability of its first answer token decides:

    P(yes) = sum of p(t) over the "yes" tokens / sum of p(t) over the "yes" and "no" tokens

("yes" tokens: the first token of "Yes" and of "yes"; "no" likewise), i.e. normalised over the two
answers, so a model that would rather start with something else still gives a usable number.

Two backends with the same ``yes_probs(images, questions)``:
- ``TransformersVLM``: a local image-text-to-text model (Qwen2-VL, Qwen2.5-VL, Qwen3-VL, or any model
  transformers loads with AutoModelForImageTextToText + AutoProcessor and a chat template), batched;
- ``mils.scorers.vlm_server.ServerVLM``: an OpenAI-compatible server that returns logprobs.
"""
from __future__ import annotations

import inspect
import json
import logging
import math
import os
from pathlib import Path
from typing import Sequence

import torch

from ..errors import InputError
from ..model_cache import load_cached
from ..presets import is_vlm_config
from . import _preprocess as pp
from .hf_clip import load_hf_part, resolve_hf_source

log = logging.getLogger(__name__)

DEFAULT_QUESTION = 'Does this image show "{}"? Answer yes or no.'
YES_WORDS = ("Yes", "yes")
NO_WORDS = ("No", "no")


def check_question(template, name: str = "question") -> str:
    """The question template, refused unless it has a place for the text (``{}`` or ``<text>``)."""
    if not isinstance(template, str) or ("{}" not in template and "<text>" not in template):
        raise InputError(name, 'a question with {} or <text> where the text goes, e.g. '
                               f'{DEFAULT_QUESTION!r}', repr(template))
    return template


def ask(template: str, text: str) -> str:
    """The question about ``text`` (plain replacement: braces in the text stay as they are)."""
    return template.replace("<text>", text) if "<text>" in template else template.replace("{}", text, 1)


def yes_share(yes: Sequence[float], no: Sequence[float]) -> float:
    """P(yes) normalised over the two answers, from the log-probabilities of their tokens."""
    if not yes and not no:
        raise ValueError("no yes/no tokens")
    top = max([*yes, *no])
    py = sum(math.exp(v - top) for v in yes)
    pn = sum(math.exp(v - top) for v in no)
    return py / (py + pn)


def to_pil(images: torch.Tensor, name: str = "images") -> list:
    """ComfyUI IMAGE (B, H, W, 3) float 0..1 as RGB PIL images."""
    from PIL import Image

    arr = (pp.check_images(images, name).detach().cpu() * 255.0).round().to(torch.uint8).numpy()
    return [Image.fromarray(a, "RGB") for a in arr]


def _answer_ids(tokenizer, words: Sequence[str]) -> list[int]:
    ids = []
    for w in words:
        toks = tokenizer.encode(w, add_special_tokens=False)
        if toks and toks[0] != getattr(tokenizer, "unk_token_id", None) and toks[0] not in ids:
            ids.append(toks[0])
    return ids


class TransformersVLM:
    """A local VLM; ``yes_probs`` runs ``batch_size`` (image, question) pairs per forward pass."""

    def __init__(self, model, processor, *, key: str, batch_size: int = 8):
        self.model, self.processor, self.key = model, processor, key
        self.batch_size = batch_size
        tok = processor.tokenizer
        tok.padding_side = "left"        # the next-token logits of every row sit in the last column
        self.yes_ids, self.no_ids = _answer_ids(tok, YES_WORDS), _answer_ids(tok, NO_WORDS)
        if not self.yes_ids or not self.no_ids or set(self.yes_ids) & set(self.no_ids):
            raise InputError("vlm", "a tokenizer with distinct tokens for the answers Yes and No", key)
        accepts = inspect.signature(model.forward).parameters
        # only the last position's logits, and no KV cache: a (batch, length, vocabulary) tensor is not needed
        self._forward_args = {k: v for k, v in (("logits_to_keep", 1), ("use_cache", False)) if k in accepts}

    def __repr__(self) -> str:
        return f"TransformersVLM({self.key!r})"

    def chat(self, question: str) -> str:
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
        return self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    @torch.inference_mode()
    def yes_probs(self, images: torch.Tensor, questions: Sequence[str]) -> list[float]:
        """P(yes) for each (images[i], questions[i]) pair."""
        pil = to_pil(images)
        if len(pil) != len(questions):
            raise InputError("questions", f"one question per image ({len(pil)})", str(len(questions)))
        out: list[float] = []
        for i in range(0, len(pil), self.batch_size):
            out += self._chunk(pil[i:i + self.batch_size], list(questions[i:i + self.batch_size]))
        return out

    def _chunk(self, images: list, questions: list[str]) -> list[float]:
        device = next(self.model.parameters()).device
        dtype = next(self.model.parameters()).dtype
        enc = self.processor(text=[self.chat(q) for q in questions], images=images, return_tensors="pt",
                             padding=True)
        enc = {k: (v.to(device, dtype) if v.is_floating_point() else v.to(device)) if torch.is_tensor(v) else v
               for k, v in enc.items()}
        logits = self.model(**enc, **self._forward_args).logits[:, -1].float()
        logp = torch.log_softmax(logits, dim=-1).cpu()
        return [yes_share(row[self.yes_ids].tolist(), row[self.no_ids].tolist()) for row in logp]


def _read_config(folder: Path) -> dict:
    try:
        cfg = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    return cfg if isinstance(cfg, dict) else {}


def load_vlm(source: str | os.PathLike, *, device: str = "auto", dtype: str = "auto",
             batch_size: int = 8) -> TransformersVLM:
    """A local VLM folder or hub id, through the model cache; anything that is not a VLM is refused."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    src = resolve_hf_source(source, "vlm", "vision-language model")
    if src.local:
        cfg = _read_config(Path(src.location))
        if not is_vlm_config(cfg):
            raise InputError("vlm", "a vision-language model folder (an image-text-to-text model such as "
                                    "Qwen3-VL: config.json with a vision_config and a ...ForConditionalGeneration "
                                    "architecture)",
                             f"{src.location} (model_type {cfg.get('model_type', 'unknown')!r})")

    def load(dev: str, torch_dtype) -> TransformersVLM:
        model = load_hf_part(src, lambda loc: AutoModelForImageTextToText.from_pretrained(loc, dtype=torch_dtype),
                             what="vision-language model")
        processor = load_hf_part(src, AutoProcessor.from_pretrained, what="processor")
        if not getattr(processor, "chat_template", None) or not hasattr(processor, "tokenizer"):
            raise InputError("vlm", "a VLM folder whose processor has a tokenizer and a chat template",
                             f"{src.location} ({type(processor).__name__})")
        ident = pp.folder_fingerprint(src.location) if src.local else src.location
        log.info("VLM judge %s ready on %s (%s)", ident, dev, torch_dtype)
        return TransformersVLM(model.to(dev).eval(), processor, key=f"vlm:{ident}", batch_size=batch_size)

    return load_cached("vlm", f"vlm:{src.location}", load, device=device, dtype=dtype)
