"""Model presets (names, hub repos, sizes), the model folders, and how to tell users to fetch a model.

Data and small lookups only: loaders at every level name the preset and the one download command in
their "not found" messages from here, and ``mils.registry`` loads and downloads.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

LLM_FOLDER = "LLM"            # ComfyUI community convention: models/LLM
SCORER_FOLDER = "mils"        # models/mils for the pack's scorers


@dataclass(frozen=True)
class Preset:
    name: str
    kind: str                  # "llm", "open_clip", "hf_clip", "pickscore", "clap", "xclip", "vlm", "vgg19" (Gram features)
    repo_id: str
    description: str
    size: str
    allow_patterns: tuple[str, ...] | None = None
    processor_repo: str | None = None     # PickScore takes its processor from another repo
    gated: bool = False
    checkpoint: str | None = None         # open_clip weights as one file of the repo (no open_clip_config.json) ...
    architecture: str | None = None       # ... for this open_clip architecture (HPSv2.1: ViT-H-14)

    @property
    def folder(self) -> str:
        return LLM_FOLDER if self.kind == "llm" else SCORER_FOLDER


_HF_LM = ("*.json", "*.safetensors", "tokenizer*", "*.model", "*.txt", "*.jinja")
_OPEN_CLIP = ("open_clip_config.json", "open_clip_model.safetensors", "open_clip_pytorch_model.bin", "*.txt",
              "*.model", "tokenizer*", "special_tokens_map.json")
_HF_CLIP = ("*.json", "*.safetensors", "*.txt")
_HF_VLM = ("*.json", "*.safetensors", "*.txt", "*.jinja", "tokenizer*")

PRESETS: dict[str, Preset] = {p.name: p for p in [
    Preset("qwen3-1.7b", "llm", "Qwen/Qwen3-1.7B",
           "default LLM: Qwen3 1.7B, thinking off (Apache-2.0)", "4.1 GB", _HF_LM),
    Preset("qwen3-4b-instruct", "llm", "Qwen/Qwen3-4B-Instruct-2507",
           "Qwen3 4B instruct (no thinking mode; Apache-2.0); GPU recommended", "8.1 GB", _HF_LM),
    Preset("qwen2.5-1.5b-instruct", "llm", "Qwen/Qwen2.5-1.5B-Instruct",
           "small LLM that follows list formats well (Apache-2.0)", "3.1 GB", _HF_LM),
    Preset("smollm2-360m-instruct", "llm", "HuggingFaceTB/SmolLM2-360M-Instruct",
           "fast preview LLM for CPUs (Apache-2.0)", "0.7 GB", _HF_LM),
    Preset("qwen2.5-7b-instruct", "llm", "Qwen/Qwen2.5-7B-Instruct",
           "paper-class 7B LLM (Apache-2.0); wants a GPU", "15 GB", _HF_LM),
    Preset("llama-3.1-8b-instruct", "llm", "meta-llama/Llama-3.1-8B-Instruct",
           "the paper's LLM; gated: accept the licence on the hub and set HF_TOKEN", "16 GB", _HF_LM, gated=True),
    Preset("siglip2-b16", "open_clip", "timm/ViT-B-16-SigLIP2",
           "default image/video scorer: SigLIP 2 ViT-B/16 (WebLI)", "1.5 GB", _OPEN_CLIP),
    Preset("siglip2-so400m", "open_clip", "timm/ViT-SO400M-14-SigLIP2",
           "large image scorer: SigLIP 2 SO400M/14 (WebLI)", "4.5 GB", _OPEN_CLIP),
    Preset("siglip-b16", "open_clip", "timm/ViT-B-16-SigLIP",
           "SigLIP ViT-B/16 (WebLI)", "0.8 GB", _OPEN_CLIP),
    Preset("siglip-so400m", "open_clip", "timm/ViT-SO400M-14-SigLIP",
           "the paper's image scorer: SigLIP SO400M/14 (WebLI)", "3.5 GB", _OPEN_CLIP),
    Preset("clip-vit-b32", "open_clip", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
           "small CLIP ViT-B/32 (LAION-2B)", "0.6 GB", _OPEN_CLIP),
    Preset("pickscore", "pickscore", "yuvalkirstain/PickScore_v1",
           "human-preference scorer for text-to-image (the paper's)", "3.9 GB", _HF_CLIP,
           processor_repo="laion/CLIP-ViT-H-14-laion2B-s32B-b79K"),
    Preset("hpsv2.1", "open_clip", "xswu/HPSv2",
           "human-preference scorer for text-to-image: HPS v2.1 (an open_clip ViT-H-14 checkpoint)", "2.0 GB",
           ("HPS_v2.1_compressed.pt",), checkpoint="HPS_v2.1_compressed.pt", architecture="ViT-H-14"),
    Preset("xclip-b32", "xclip", "microsoft/xclip-base-patch32",
           "video-text scorer for video captioning: X-CLIP ViT-B/32, 8 frames (Kinetics-400; MIT)", "0.8 GB",
           _HF_CLIP),
    Preset("clap-htsat", "clap", "laion/clap-htsat-unfused",
           "default audio scorer: CLAP HTSAT (LAION-Audio-630K)", "0.6 GB", _HF_CLIP),
    Preset("vgg19", "vgg19", "timm/vgg19.tv_in1k",
           "style-transfer scorer: VGG19 ImageNet features for the Gram-matrix style loss (the paper's)", "0.6 GB",
           ("*.safetensors", "*.json")),
    Preset("qwen3-vl-2b-instruct", "vlm", "Qwen/Qwen3-VL-2B-Instruct",
           "VLM judge: Qwen3-VL 2B instruct asked 'does this image show <prompt>?' (Apache-2.0)", "4.3 GB", _HF_VLM),
    Preset("qwen3-vl-8b-instruct", "vlm", "Qwen/Qwen3-VL-8B-Instruct",
           "larger VLM judge: Qwen3-VL 8B instruct (Apache-2.0); wants a GPU", "17.5 GB", _HF_VLM),
]}

GRAM_KINDS = frozenset({"vgg19"})   # feature extractors for the Gram style scorer, not text-image encoders


DEFAULT_LLM = "qwen3-1.7b"
TASK_DEFAULTS: dict[str, dict[str, str]] = {
    "image_caption": {"llm": DEFAULT_LLM, "scorer": "siglip2-b16"},
    "video_caption": {"llm": DEFAULT_LLM, "scorer": "siglip2-b16"},
    "audio_caption": {"llm": DEFAULT_LLM, "scorer": "clap-htsat"},
    "t2i_enhance": {"llm": DEFAULT_LLM, "scorer": "pickscore"},
    "invert": {"llm": DEFAULT_LLM, "scorer": "siglip2-b16"},
    "style_transfer": {"llm": DEFAULT_LLM, "scorer": "vgg19"},
}


def default_models_dir() -> Path:
    """MILS_MODELS_DIR, else ~/.cache/mils/models. ComfyUI passes its own models folder instead."""
    env = os.environ.get("MILS_MODELS_DIR")
    return Path(env) if env else Path(os.path.expanduser("~")) / ".cache" / "mils" / "models"


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError("preset", f"one of {', '.join(PRESETS)}", repr(name)) from None


def preset_dir(preset: Preset, models_dir: Path | str) -> Path:
    return Path(models_dir) / preset.folder / preset.name


def is_downloaded(preset: Preset, models_dir: Path | str) -> bool:
    d = preset_dir(preset, models_dir)
    return (d / ".mils-complete").is_file()


def is_vlm_config(config) -> bool:
    """Whether a transformers config.json (a dict) describes an image-text-to-text model (a VLM, not a CLIP)."""
    if not isinstance(config, dict):
        return False
    archs = config.get("architectures") or []
    generative = any(str(a).endswith(("ForConditionalGeneration", "ForImageTextToText")) for a in archs)
    return bool(generative and "vision_config" in config)


def preset_for_source(source: str) -> str | None:
    """The preset name whose hub repo is ``source`` (a hub id, optionally "hf-hub:" prefixed), if any."""
    repo = str(source).removeprefix("hf-hub:")
    return next((p.name for p in PRESETS.values() if p.repo_id == repo), None)


def download_command(hub_id: str, local_dir: str | os.PathLike | None = None, include: str | None = None) -> str:
    """The shell command that fetches a hub repo (huggingface_hub's ``hf`` CLI), spelled one way everywhere."""
    parts = ["hf download", hub_id]
    if include:
        parts.append(f"--include {include}")
    if local_dir is not None:
        parts.append(f"--local-dir {local_dir}")
    return " ".join(parts)
