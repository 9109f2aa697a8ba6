"""Shared socket types, widget definitions and helpers for the node classes."""
from __future__ import annotations

from mils import errors
from mils.scorers._preprocess import check_images

LLM_TYPE = "MILS_LLM"
SCORER_TYPE = "MILS_SCORER"
TARGET_TYPE = "MILS_TARGET"
GRAM_TYPE = "MILS_STYLE_SCORER"   # MILS Gram Style: a style (+ content) scorer for style transfer
RENDERER_TYPE = "MILS_RENDERER"   # MILS Renderer: MODEL, CLIP, VAE and sampling settings
TERMS_TYPE = "MILS_TERMS"         # MILS Arithmetic Term: weighted images, sounds and texts
CATEGORY = "MILS"

DTYPES = ["auto", "float32", "float16", "bfloat16"]
DEVICES = ["auto", "cpu", "cuda", "mps"]
SEED_MAX = 0xFFFFFFFFFFFFFFFF


def seed_input(tooltip: str = "Seed: the same seed gives the same result; change it for new candidates."):
    return ("INT", {"default": 0, "min": 0, "max": SEED_MAX, "tooltip": tooltip})


def dtype_input():
    return (DTYPES, {"default": "auto", "tooltip": "Weights' precision. auto: what ComfyUI picks for a text encoder on its "
                                                  "device: bfloat16/float16 on a GPU that supports it, float32 on CPU."})


def device_input():
    return (DEVICES, {"default": "auto", "tooltip": "auto follows ComfyUI's device (and its --cpu flag)."})


def keep_loaded_input():
    return ("BOOLEAN", {"default": True, "tooltip": "Keep the model in memory between runs. Off: free it after "
                                                     "each run (slower, leaves VRAM to your diffusion model)."})


def node_error(input_name: str, message: str) -> errors.InputError:
    """An error that names the node input; ComfyUI shows it in the editor and keeps running."""
    return errors.InputError(input_name, message)


def image_input(image, name: str = "image"):
    """A connected IMAGE checked by the engine (B >= 1, 0..1; gray and RGBA become RGB): (B, H, W, 3)."""
    return check_images(image, name)


def audio_input(audio, name: str = "audio") -> dict:
    """A connected AUDIO: ComfyUI's {'waveform': (B, C, T), 'sample_rate': int}."""
    if not isinstance(audio, dict) or "waveform" not in audio or "sample_rate" not in audio:
        raise node_error(name, "an AUDIO value ({'waveform': (B, C, T), 'sample_rate'})")
    return audio


def split_lines(text: str | None) -> list[str]:
    return [ln.strip() for ln in (text or "").splitlines() if ln.strip() and not ln.strip().startswith("#")]
