"""Targets: what the search aims at, as one unit vector in an encoder's joint space."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from .errors import InputError
from .scorers.base import Encoder


def _require(encoder: Encoder, modality: str, name: str) -> None:
    if modality not in getattr(encoder, "modalities", frozenset()):
        hint = {"audio": "an audio-text scorer such as CLAP", "image": "an image-text scorer such as CLIP or SigLIP"}
        raise InputError(name, f"a target the scorer can embed: {encoder.key} does not embed {modality}; "
                               f"use {hint.get(modality, 'another scorer')}")


def _pooled(rows: torch.Tensor) -> torch.Tensor:
    return F.normalize(rows.float().mean(0), dim=-1)


def uniform_frames(frames: torch.Tensor, num_frames: int) -> torch.Tensor:
    """``num_frames`` frames at a uniform stride over the clip (the paper uses 8)."""
    if num_frames < 1:
        raise InputError("num_frames", "at least 1", repr(num_frames))
    if frames.shape[0] <= num_frames:
        return frames
    idx = torch.linspace(0, frames.shape[0] - 1, num_frames).round().long()
    return frames[idx]


def image_target(encoder: Encoder, images: torch.Tensor, name: str = "image") -> torch.Tensor:
    """One image (or several, pooled) as a target."""
    _require(encoder, "image", name)
    return _pooled(encoder.encode_image(images))


def video_target(encoder: Encoder, frames: torch.Tensor, num_frames: int = 8, name: str = "video") -> torch.Tensor:
    """Frame embeddings of an image-text encoder, averaged (mean pooling, then normalised)."""
    _require(encoder, "image", name)
    return _pooled(encoder.encode_image(uniform_frames(frames, num_frames)))


def audio_target(encoder: Encoder, waveform: torch.Tensor, sample_rate: int, name: str = "audio") -> torch.Tensor:
    _require(encoder, "audio", name)
    return _pooled(encoder.encode_audio(waveform, sample_rate))


def text_target(encoder: Encoder, text: str, name: str = "text") -> torch.Tensor:
    if not text or not text.strip():
        raise InputError(name, "a non-empty text")
    return _pooled(encoder.encode_text([text.strip()]))


def combine(terms: Sequence[tuple[float, torch.Tensor]], name: str = "terms") -> torch.Tensor:
    """Normalised weighted sum of unit targets: "image + sound - 'photo' + 'watercolor'"."""
    if not terms:
        raise InputError(name, "at least one weighted term")
    dims = {t.shape[-1] for _, t in terms}
    if len(dims) != 1:
        raise InputError(name, "embeddings from one scorer (all the same size)", f"sizes {sorted(dims)}")
    total = sum(float(w) * F.normalize(t.float().flatten(), dim=-1) for w, t in terms)
    if total.norm() < 1e-6:
        raise InputError(name, "terms that do not cancel out (their weighted sum is zero)")
    return F.normalize(total, dim=-1)
