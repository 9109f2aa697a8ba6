"""Media files in, tensors out, in ComfyUI's layouts.

IMAGE: (B, H, W, 3) float32 in 0..1. AUDIO: waveform (B, C, T) float32 plus a sample rate.
Video: its frames as an IMAGE batch.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import InputError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".opus"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".gif"}
CAPTION_TASKS = {"image": "image_caption", "video": "video_caption", "audio": "audio_caption"}


@dataclass
class Media:
    """What to caption: ``kind`` is "image", "video" or "audio"."""

    kind: str
    images: torch.Tensor | None = None        # (B, H, W, 3): one image, or the frames of a video
    waveform: torch.Tensor | None = None      # (B, C, T)
    sample_rate: int | None = None

    @property
    def task_name(self) -> str:
        try:
            return CAPTION_TASKS[self.kind]
        except KeyError:
            raise InputError("media", "an image, a video or a sound", repr(self.kind)) from None


def media_kind(path: str | Path) -> str:
    """"image", "audio" or "video" from the file name; an error names the file otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    if suffix in VIDEO_SUFFIXES - {".gif"}:
        return "video"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    raise InputError("input", f"an image ({', '.join(sorted(IMAGE_SUFFIXES))}), video "
                     f"({', '.join(sorted(VIDEO_SUFFIXES))}) or audio ({', '.join(sorted(AUDIO_SUFFIXES))}) file",
                     str(path))


def _existing(path: str | Path, name: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise InputError(name, "an existing file", str(p))
    return p


def load_image(path: str | Path, name: str = "image") -> torch.Tensor:
    """One image file as a (1, H, W, 3) tensor; alpha is composited on white, grey becomes RGB."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = _existing(path, name)
    try:
        with Image.open(p) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                im = im.convert("RGBA")
                bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(bg, im)
            arr = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(name, "a readable image file", f"{p} ({exc})") from exc
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise InputError(name, "an image of at least 2x2 pixels", f"{arr.shape[1]}x{arr.shape[0]} in {p}")
    return torch.from_numpy(arr)[None]


def load_video(path: str | Path, num_frames: int = 8, name: str = "video") -> torch.Tensor:
    """``num_frames`` frames at a uniform stride over the whole clip, as (F, H, W, 3)."""
    import av

    p = _existing(path, name)
    if num_frames < 1:
        raise InputError("num_frames", "at least 1", repr(num_frames))
    try:
        with av.open(str(p)) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    except (av.error.FFmpegError, ValueError, IndexError) as exc:
        raise InputError(name, "a readable video file", f"{p} ({exc})") from exc
    if not frames:
        raise InputError(name, "a video with at least one frame", str(p))
    idx = np.linspace(0, len(frames) - 1, num=min(num_frames, len(frames))).round().astype(int)
    return torch.from_numpy(np.stack([frames[i] for i in idx]).astype(np.float32) / 255.0)


def load_audio(path: str | Path, name: str = "audio") -> tuple[torch.Tensor, int]:
    """An audio file as ((1, C, T) waveform, sample_rate). soundfile first, PyAV for other codecs."""
    p = _existing(path, name)
    try:
        import soundfile as sf

        data, sr = sf.read(str(p), dtype="float32", always_2d=True)  # (T, C)
        wav = torch.from_numpy(data.T.copy())
    except Exception:
        wav, sr = _load_audio_av(p, name)
    if wav.numel() == 0:
        raise InputError(name, "audio with at least one sample", f"an empty file {p}")
    return wav[None], int(sr)


def _load_audio_av(p: Path, name: str) -> tuple[torch.Tensor, int]:
    import av

    try:
        with av.open(str(p)) as container:
            stream = container.streams.audio[0]
            sr = stream.rate
            chunks = [f.to_ndarray() for f in container.decode(audio=0)]
    except (av.error.FFmpegError, IndexError, ValueError) as exc:
        raise InputError(name, "a readable audio file", f"{p} ({exc})") from exc
    if not chunks:
        return torch.zeros(1, 0), sr
    arr = np.concatenate(chunks, axis=-1).astype(np.float32)
    if arr.ndim == 1:
        arr = arr[None]
    if np.issubdtype(chunks[0].dtype, np.integer):
        arr /= float(np.iinfo(chunks[0].dtype).max)
    return torch.from_numpy(arr), sr


def load_media(path: str | Path, num_frames: int = 8) -> Media:
    """A media file as ``Media``: its kind from the file name, video as ``num_frames`` uniform frames."""
    kind = media_kind(path)
    if kind == "image":
        return Media("image", images=load_image(path))
    if kind == "video":
        return Media("video", images=load_video(path, num_frames))
    wav, sr = load_audio(path)
    return Media("audio", waveform=wav, sample_rate=sr)
