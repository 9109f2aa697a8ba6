"""Shared helpers for the encoders: input checks, torch image/audio preprocessing, model-location errors.

Input checks turn ComfyUI tensors into what the models expect or raise ``InputError`` naming the
input:

- IMAGE: (B, H, W, C) float in 0..1. C=1 (grayscale) is repeated to RGB; C=4 (RGBA) is composited
  on white (``rgb * alpha + (1 - alpha)``), since transparent areas read as background; uint8
  tensors are divided by 255. NaN/inf is an error; values slightly outside 0..1 (within
  ``IMAGE_RANGE_SLACK``) are clamped with a warning, anything further out is an error.
- AUDIO: (B, C, T) float waveform and a positive integer sample rate; empty or silent
  (peak < ``SILENCE_PEAK``) items are errors. Channels are averaged to mono.

Model-location errors (``missing_local_model``, ``hub_model_unavailable``, ``invalid_model_file``)
say which file or folder to provide and the command that fetches it.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F

from ..errors import InputError, ModelNotFoundError
from ..presets import download_command, preset_for_source

log = logging.getLogger(__name__)

IMAGE_RANGE_SLACK = 0.1
SILENCE_PEAK = 1e-6

# --------------------------------------------------------------------------------------------
# Texts


def check_texts(texts: Sequence[str], name: str = "texts") -> list[str]:
    """A list of strings; a bare string is refused (it would be read as characters)."""
    if isinstance(texts, (str, bytes)):
        raise InputError(name, "a list of strings", "a single string (wrap it in a list)")
    try:
        items = list(texts)
    except TypeError:
        raise InputError(name, "a list of strings", type(texts).__name__) from None
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise InputError(f"{name}[{i}]", "a string", type(t).__name__)
    return items


# --------------------------------------------------------------------------------------------
# Images


def check_images(images, name: str = "image") -> torch.Tensor:
    """Validate a ComfyUI IMAGE and return it as (B, H, W, 3) float32 in 0..1 (on its device)."""
    if not isinstance(images, torch.Tensor):
        try:
            import numpy as np

            if isinstance(images, np.ndarray):
                images = torch.from_numpy(images)
        except ImportError:  # pragma: no cover
            pass
    if not isinstance(images, torch.Tensor):
        raise InputError(name, "a torch tensor of shape (B, H, W, C)", type(images).__name__)
    if images.ndim != 4:
        hint = " (add a batch dimension: image[None])" if images.ndim == 3 else ""
        raise InputError(name, f"a 4-D tensor (B, H, W, C){hint}", f"shape {tuple(images.shape)}")
    b, h, w, c = images.shape
    if b < 1:
        raise InputError(name, "at least one image in the batch", f"shape {tuple(images.shape)}")
    if h < 2 or w < 2:
        raise InputError(name, "height and width of at least 2 pixels", f"shape {tuple(images.shape)}")
    if c not in (1, 3, 4):
        raise InputError(name, "1 (gray), 3 (RGB) or 4 (RGBA) channels in the last dimension",
                         f"shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        images = images.float() / 255.0
    elif images.dtype.is_floating_point:
        images = images.float()
    else:
        raise InputError(name, "a float tensor in 0..1", f"dtype {images.dtype}")
    if not torch.isfinite(images).all():
        raise InputError(name, "finite values in 0..1", "contains NaN/inf")
    lo, hi = float(images.min()), float(images.max())
    if lo < 0.0 or hi > 1.0:
        if lo < -IMAGE_RANGE_SLACK or hi > 1.0 + IMAGE_RANGE_SLACK:
            raise InputError(name, "values in 0..1 (ComfyUI IMAGE layout)", f"values from {lo:.4g} to {hi:.4g}")
        log.warning("%s: values from %.4g to %.4g clamped to 0..1", name, lo, hi)
        images = images.clamp(0.0, 1.0)
    if c == 1:
        images = images.expand(-1, -1, -1, 3)
    elif c == 4:
        rgb, alpha = images[..., :3], images[..., 3:]
        images = rgb * alpha + (1.0 - alpha)  # composite on white
    return images.contiguous()


_INTERPOLATION = {"bicubic": "bicubic", "bilinear": "bilinear", "nearest": "nearest",
                  "lanczos": "bicubic", "box": "bilinear", "hamming": "bilinear"}
# PIL resample codes used by transformers image processors.
_PIL_RESAMPLE = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}


def interpolation_mode(value) -> str:
    """A torch interpolate mode from an open_clip name, a PIL resample code or enum."""
    if value is None:
        return "bicubic"
    if isinstance(value, str):
        return _INTERPOLATION.get(value.lower(), "bicubic")
    code = getattr(value, "value", value)
    if isinstance(code, int):
        return _INTERPOLATION[_PIL_RESAMPLE.get(code, "bicubic")]
    name = str(getattr(value, "name", value)).lower()  # torchvision InterpolationMode
    return _INTERPOLATION.get(name, "bicubic")


def _resize(x: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if mode == "nearest":
        return F.interpolate(x, size=size, mode="nearest")
    return F.interpolate(x, size=size, mode=mode, align_corners=False, antialias=True).clamp_(0.0, 1.0)


def center_crop_or_pad(x: torch.Tensor, size: tuple[int, int], fill: float = 0.0) -> torch.Tensor:
    """Centre-crop (B, C, H, W) to ``size``, padding with ``fill`` where the image is smaller."""
    th, tw = size
    h, w = x.shape[-2:]
    if h < th or w < tw:
        ph, pw = max(th - h, 0), max(tw - w, 0)
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=fill)
        h, w = x.shape[-2:]
    top, left = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
    return x[..., top:top + th, left:left + tw]


def resize_to_model(images_bchw: torch.Tensor, size: tuple[int, int], *, resize_mode: str = "shortest",
                    interpolation: str = "bicubic", fill: float = 0.0) -> torch.Tensor:
    """Resize a (B, 3, H, W) batch in 0..1 to ``size`` (h, w) the way open_clip/transformers do.

    ``shortest``: scale the shorter side to fit, centre-crop; ``squash``: resize to size ignoring
    aspect; ``longest``: scale the longer side to fit, pad with ``fill`` (0..1).
    """
    th, tw = size
    h, w = images_bchw.shape[-2:]
    if resize_mode == "squash":
        return _resize(images_bchw, (th, tw), interpolation)
    if resize_mode == "shortest" and th == tw:  # torchvision Resize(int): long side truncated
        new = (th, int(th * w / h)) if h <= w else (int(th * h / w), th)
    else:  # open_clip ResizeKeepRatio: both sides rounded
        ratio_h, ratio_w = h / th, w / tw
        ratio = max(ratio_h, ratio_w) if resize_mode == "longest" else min(ratio_h, ratio_w)
        new = (max(1, round(h / ratio)), max(1, round(w / ratio)))
    return center_crop_or_pad(_resize(images_bchw, new, interpolation), (th, tw), fill)


def normalize_images(images_bchw: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    mean_t = torch.tensor(mean, dtype=images_bchw.dtype, device=images_bchw.device).view(1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=images_bchw.dtype, device=images_bchw.device).view(1, -1, 1, 1)
    return (images_bchw - mean_t) / std_t


# --------------------------------------------------------------------------------------------
# Audio


def check_sample_rate(sample_rate, name: str = "sample_rate") -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int):
        try:
            import numpy as np

            if isinstance(sample_rate, np.integer):
                sample_rate = int(sample_rate)
        except ImportError:  # pragma: no cover
            pass
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise InputError(name, "a positive integer (Hz)", repr(sample_rate))
    return sample_rate


def check_audio(waveform, sample_rate, name: str = "audio") -> tuple[torch.Tensor, int]:
    """Validate a ComfyUI AUDIO waveform; return it as (B, T) float32 mono on the CPU and the rate."""
    rate = check_sample_rate(sample_rate, f"{name}.sample_rate")
    if not isinstance(waveform, torch.Tensor):
        raise InputError(name, "a torch tensor of shape (B, C, T)", type(waveform).__name__)
    if waveform.ndim != 3:
        hint = " (add a batch dimension: waveform[None])" if waveform.ndim == 2 else ""
        raise InputError(name, f"a 3-D waveform (B, C, T){hint}", f"shape {tuple(waveform.shape)}")
    b, c, t = waveform.shape
    if b < 1 or c < 1:
        raise InputError(name, "at least one clip with at least one channel", f"shape {tuple(waveform.shape)}")
    if t == 0:
        raise InputError(name, "a waveform with samples", "empty audio (T = 0)")
    if not waveform.dtype.is_floating_point:
        raise InputError(name, "a float waveform", f"dtype {waveform.dtype}")
    wave = waveform.detach().to("cpu", torch.float32)
    if not torch.isfinite(wave).all():
        raise InputError(name, "finite samples", "contains NaN/inf")
    peaks = wave.abs().amax(dim=(1, 2))
    for i, peak in enumerate(peaks.tolist()):
        if peak < SILENCE_PEAK:
            raise InputError(name, "audible audio", f"batch item {i} is silent (peak {peak:.3g})")
    return wave.mean(dim=1), rate


def resample(mono_bt: torch.Tensor, rate: int, target_rate: int) -> torch.Tensor:
    """Resample (B, T) audio; torchaudio's band-limited resampler when installed, else antialiased linear."""
    if rate == target_rate:
        return mono_bt
    try:
        from torchaudio.functional import resample as ta_resample
    except Exception:  # torchaudio missing or broken
        ta_resample = None
    if ta_resample is not None:
        return ta_resample(mono_bt, rate, target_rate)
    new_len = max(1, round(mono_bt.shape[-1] * target_rate / rate))
    x = mono_bt[:, None, None, :]
    return F.interpolate(x, size=(1, new_len), mode="bilinear", align_corners=False, antialias=True)[:, 0, 0]


# --------------------------------------------------------------------------------------------
# Model files and locations

def looks_like_path(source: str) -> bool:
    """True for strings meant as a file system path rather than a hub id ("org/name")."""
    s = str(source)
    if s.startswith(("/", "./", "../", "~", "\\")) or os.path.isabs(s) or (len(s) > 1 and s[1] == ":"):
        return True
    if s.count("/") > 1 or "\\" in s:
        return True
    return s.lower().endswith((".pt", ".pth", ".bin", ".safetensors", ".npz", ".ckpt"))


def file_fingerprint(path: str | os.PathLike) -> str:
    """Cheap identity of a weights file: name, size and a hash of its first and last MiB."""
    p = Path(path)
    size = p.stat().st_size
    h = hashlib.sha256()
    chunk = 1 << 20
    with open(p, "rb") as f:
        h.update(f.read(chunk))
        if size > chunk:
            f.seek(max(chunk, size - chunk))
            h.update(f.read(chunk))
    return f"{p.name}@{size}:{h.hexdigest()[:12]}"


def folder_fingerprint(folder: str | os.PathLike) -> str:
    """Fingerprint of the weights and config files in a model folder."""
    p = Path(folder)
    files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix in (".safetensors", ".bin", ".json", ".pt"))
    h = hashlib.sha256()
    for f in files:
        h.update(file_fingerprint(f).encode())
    return f"{p.name}:{h.hexdigest()[:12]}"


def default_model_folder(hub_id: str) -> Path:
    from ..cache import default_cache_dir

    return default_cache_dir() / "models" / hub_id.replace("/", "--")


def missing_local_model(path: str | os.PathLike, *, what: str, provide: str) -> ModelNotFoundError:
    """The user named a local file or folder that is not there."""
    return ModelNotFoundError(f"{what} not found: {path} does not exist. Provide {provide} at that path, "
                              "or pass a hub id to download it.")


def hub_model_unavailable(hub_id: str, *, what: str, cause: BaseException | str, pass_as: str | None = None,
                          include: str | None = None, preset_keys: Sequence[str] = ()) -> ModelNotFoundError:
    """A hub model is neither in the local cache nor downloadable here (offline, no network, gated).

    ``pass_as`` is how to give a local copy back, with ``{path}`` for the download folder; without
    it only the Hugging Face cache route is offered. ``include`` is the (already quoted) glob
    patterns for ``--include``. ``preset_keys`` are further hub ids whose preset to name.
    """
    reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    command = download_command(hub_id, include=include)
    preset = next(filter(None, (preset_for_source(k) for k in (hub_id, *preset_keys))), None)
    lines = [f"{what} '{hub_id}' is not in the local Hugging Face cache and cannot be downloaded here ({reason})."]
    if preset:
        lines.append(f"Fetch it with `mils download {preset}`, or")
    if pass_as:
        folder = default_model_folder(hub_id)
        lines.append(f"{'d' if preset else 'D'}ownload {hub_id} into {folder} with "
                     f"`{download_command(hub_id, folder, include)}` "
                     f"and pass {pass_as.format(path=folder)};")
        lines.append(f"or run `{command}` to fill the Hugging Face cache, which is then used without network.")
    else:
        lines.append(f"{'r' if preset else 'R'}un `{command}` to fill the Hugging Face cache, "
                     "which is then used without network.")
    lines.append("(With huggingface_hub older than 1.0 the command is `huggingface-cli download`.)")
    if "gated" in reason.lower() or "401" in reason or "403" in reason:
        lines.append("The repository is gated: accept its licence on huggingface.co and run `hf auth login`.")
    return ModelNotFoundError(" ".join(lines))


def invalid_model_file(path: str | os.PathLike, *, name: str, expected: str, cause: BaseException) -> InputError:
    """A local file or folder exists but cannot be loaded as the expected model."""
    detail = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return InputError(name, expected,
                      f"{path}, which is not a valid model file ({type(cause).__name__}: {detail[:300]})")


def is_download_failure(exc: BaseException) -> bool:
    """True for errors meaning "could not fetch from the hub" (offline, no network, missing repo)."""
    try:
        from huggingface_hub import errors as hub_errors

        hub_types: tuple[type, ...] = tuple(
            t for t in (getattr(hub_errors, n, None) for n in (
                "LocalEntryNotFoundError", "EntryNotFoundError", "RepositoryNotFoundError",
                "RevisionNotFoundError", "GatedRepoError", "HfHubHTTPError", "OfflineModeIsEnabled"))
            if isinstance(t, type))
    except ImportError:  # pragma: no cover
        hub_types = ()
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, hub_types) or isinstance(exc, (OSError, ConnectionError, TimeoutError)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def encode_in_chunks(items, chunk_size: int, encode) -> list[torch.Tensor]:
    """Apply ``encode`` to consecutive slices of a list or tensor."""
    return [encode(items[i:i + chunk_size]) for i in range(0, len(items), chunk_size)]


def finish_embeddings(x: torch.Tensor) -> torch.Tensor:
    """L2-normalised float32 rows on the CPU."""
    x = x.detach().float()
    return F.normalize(x, dim=-1).cpu()
