"""Binding a loaded scorer model to what a job scores against: a medium to caption, or a prompt to render.

An embedding encoder (CLIP, SigLIP, PickScore, HPSv2.1, CLAP) is bound through one target vector: the
cosine to the image, the averaged frames of a video, the sound, or the prompt's text embedding. A
model that scores some other way declares it with optional methods, used here when present:

- ``caption_scorer(media, *, num_frames)`` -> a Scorer of texts against that medium (X-CLIP: a video);
- ``prompt_image_scorer(prompt, *, generator, seed)`` -> an ImageScorer rating renders against the
  prompt (a weighted mix of scorers: its parts rate the same render; a VLM judge: P(yes) per concept of
  the prompt, which it may split once with the job's LLM, ``generator``, seeded with ``seed``).
"""
from __future__ import annotations

import torch

from .. import targets
from ..errors import InputError
from .embedding import EmbeddingScorer
from .render import CosineImageScorer, RenderedTextScorer, RenderScorer


def media_target(encoder, media, *, num_frames: int = 8, name: str | None = None) -> torch.Tensor:
    """The target of a caption job: the image, the pooled frames of a video, or the sound."""
    if media.kind == "image":
        return targets.image_target(encoder, media.images, name=name or "image")
    if media.kind == "video":
        return targets.video_target(encoder, media.images, num_frames=num_frames, name=name or "video")
    if media.kind == "audio":
        return targets.audio_target(encoder, media.waveform, media.sample_rate, name=name or "audio")
    raise InputError("media", "an image, a video or a sound", repr(media.kind))


def caption_scorer(model, media, *, num_frames: int = 8):
    """Texts scored against ``media`` (an image, a video's frames, a sound)."""
    own = getattr(model, "caption_scorer", None)
    if own is not None:
        return own(media, num_frames=num_frames)
    return EmbeddingScorer(model, media_target(model, media, num_frames=num_frames), label=media.kind)


def prompt_image_scorer(model, prompt: str, *, generator=None, seed: int = 0):
    """Renders rated against ``prompt``."""
    own = getattr(model, "prompt_image_scorer", None)
    if own is not None:
        return own(prompt, generator=generator, seed=seed)
    return CosineImageScorer(model, targets.text_target(model, prompt, name="prompt"))


def render_scorer(model, renderer, prompt: str, *, seed: int, batch_size: int, generator=None,
                  llm_seed: int = 0) -> RenderedTextScorer:
    """Texts scored by rendering them (with render ``seed``) and rating each render against ``prompt``
    (rendered once per text); ``generator`` and ``llm_seed`` go to a model that asks the LLM (concepts)."""
    if getattr(model, "prompt_image_scorer", None) is None:
        return RenderScorer(renderer, model, targets.text_target(model, prompt, name="prompt"), seed=seed,
                            batch_size=batch_size)
    return RenderedTextScorer(renderer, model.prompt_image_scorer(prompt, generator=generator, seed=llm_seed),
                              seed=seed, batch_size=batch_size)
