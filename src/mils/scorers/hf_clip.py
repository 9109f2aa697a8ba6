"""transformers CLIP-like models (CLIP, SigLIP, PickScore) as an ImageEncoder.

CLIP and SigLIP image processors (resize, centre crop, rescale, normalise) are reproduced in torch
straight from the ComfyUI tensors; other processors get uint8 arrays through the HF processor.
SigLIP is trained with texts padded to the full length, so its texts are padded to max_length
(and, like the reference pipeline, no attention mask is passed).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from ..errors import InputError, MilsError, ModelNotFoundError
from ..model_cache import load_cached
from ..presets import download_command
from . import _preprocess as pp
from ._module import TorchEncoder

log = logging.getLogger(__name__)

PICKSCORE_MODEL = "yuvalkirstain/PickScore_v1"
PICKSCORE_PROCESSOR = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
_TORCH_PREPROCESSED = ("CLIPImageProcessor", "SiglipImageProcessor", "ChineseCLIPImageProcessor")


# --------------------------------------------------------------------------------------------
# Shared transformers loading helpers (also used by clap.py)


@dataclass(frozen=True)
class HFSource:
    """A transformers model location: a resolved local folder or a hub id."""

    location: str
    local: bool
    arg: str  # the argument that named it, for error messages


def resolve_hf_source(source: str | os.PathLike, arg: str = "source", what: str = "model") -> HFSource:
    if source is None or not str(source).strip():
        raise InputError(arg, "a local model folder or a Hugging Face hub id", repr(source))
    path = Path(str(source)).expanduser()
    if path.exists():
        if not path.is_dir():
            raise InputError(arg, f"a {what} folder (config.json and weights), not a file", str(path))
        return HFSource(str(path.resolve()), True, arg)
    if pp.looks_like_path(str(source)):
        raise pp.missing_local_model(path, what=f"{what} folder",
                                     provide="a transformers model folder (config.json, model.safetensors, "
                                             "tokenizer and preprocessor files)")
    return HFSource(str(source), False, arg)


def load_hf_part(src: HFSource, load: Callable[[str], Any], *, what: str, include: str | None = None) -> Any:
    """Run ``load(location)`` and turn failures into ModelNotFoundError / InputError with directions."""
    try:
        return load(src.location)
    except MilsError:
        raise
    except Exception as e:
        if "sentencepiece" in str(e).lower() or (isinstance(e, ImportError) and "sentencepiece" in repr(e).lower()):
            raise MilsError(f"The tokenizer in {src.location} needs the sentencepiece package: "
                            "pip install sentencepiece") from e
        if src.local:
            folder = Path(src.location)
            if not (folder / "config.json").is_file() and not any(folder.glob("*_config.json")):
                raise ModelNotFoundError(
                    f"{folder} is not a transformers {what} folder (no config.json). Download the model into it, "
                    f"e.g. `{download_command('<hub id>', folder)}`, and pass {src.arg}='{folder}'.") from e
            if "processor" in what or "tokenizer" in what:
                raise ModelNotFoundError(
                    f"{folder} has no usable {what} files ({type(e).__name__}: {str(e).strip()[:200]}). "
                    "Add the tokenizer and preprocessor files to it, or pass processor_source=<a folder or hub id "
                    "holding them> (PickScore uses laion/CLIP-ViT-H-14-laion2B-s32B-b79K).") from e
            raise pp.invalid_model_file(folder, name=src.arg, expected=f"a transformers {what} folder",
                                        cause=e) from e
        if pp.is_download_failure(e):
            raise pp.hub_model_unavailable(src.location, what=what, cause=e, include=include,
                                           pass_as=f"{src.arg}='{{path}}'") from e
        raise


def features(output) -> torch.Tensor:
    """The projected embedding from get_*_features (a tensor before transformers 5, an output object after)."""
    if isinstance(output, torch.Tensor):
        return output
    for name in ("pooler_output", "text_embeds", "image_embeds", "audio_embeds"):
        value = getattr(output, name, None)
        if isinstance(value, torch.Tensor):
            return value
    return output[0]


def size_field(size, name: str):
    if size is None:
        return None
    if isinstance(size, dict):
        return size.get(name)
    return getattr(size, name, None)


# --------------------------------------------------------------------------------------------
# Encoder


class HFClipEncoder(TorchEncoder):
    """Embeds texts and images with a transformers CLIP/SigLIP model; L2-normalised float32 rows on the CPU."""

    modalities = frozenset({"image"})

    def __init__(self, model, tokenizer, image_processor, *, key: str, device: str, dtype: torch.dtype,
                 text_batch_size: int = 256, image_batch_size: int = 32):
        self.model = model
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.key = key
        self.dtype = dtype
        self.text_batch_size = text_batch_size
        self.image_batch_size = image_batch_size
        model_type = getattr(model.config, "model_type", "")
        self.pad_to_max_length = "siglip" in model_type
        text_cfg = getattr(model.config, "text_config", model.config)
        limits = [n for n in (getattr(tokenizer, "model_max_length", None),
                              getattr(text_cfg, "max_position_embeddings", None)) if n and n < 100_000]
        self.max_length = min(limits) if limits else 77
        self.torch_preprocessing = type(image_processor).__name__.startswith(_TORCH_PREPROCESSED)
        self._dim: int | None = None

    def _encode_text_chunk(self, chunk: list[str]) -> torch.Tensor:
        tokens = self.tokenizer(chunk, padding="max_length" if self.pad_to_max_length else True,
                                truncation=True, max_length=self.max_length, return_tensors="pt")
        inputs = {"input_ids": tokens["input_ids"].to(self.device)}
        if not self.pad_to_max_length and "attention_mask" in tokens:
            inputs["attention_mask"] = tokens["attention_mask"].to(self.device)
        return pp.finish_embeddings(features(self.model.get_text_features(**inputs)))

    def preprocess(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, H, W, C) in 0..1 -> keyword inputs of get_image_features, on the model's device."""
        return self._inputs(pp.check_images(images))

    def _inputs(self, checked: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.torch_preprocessing:
            return {"pixel_values": self._torch_pixels(checked)}
        arrays = [(img * 255.0).round().to(torch.uint8).cpu().numpy() for img in checked]
        batch = self.image_processor(images=arrays, return_tensors="pt")
        return {k: (v.to(self.device, self.dtype) if v.is_floating_point() else v.to(self.device))
                for k, v in batch.items() if isinstance(v, torch.Tensor)}

    def _torch_pixels(self, checked: torch.Tensor) -> torch.Tensor:
        """The CLIP/SigLIP image processor steps in torch: resize, centre crop, normalise."""
        ip = self.image_processor
        x = checked.permute(0, 3, 1, 2).to(self.device, torch.float32)
        mode = pp.interpolation_mode(getattr(ip, "resample", 3))
        size = getattr(ip, "size", None)
        if getattr(ip, "do_resize", True) and size is not None:
            shortest = size_field(size, "shortest_edge")
            if shortest:  # shorter side to `shortest`, longer side scaled and truncated like transformers
                h, w = x.shape[-2:]
                target = (shortest, int(shortest * w / h)) if h <= w else (int(shortest * h / w), shortest)
            else:
                target = (int(size_field(size, "height")), int(size_field(size, "width")))
            x = pp.resize_to_model(x, target, resize_mode="squash", interpolation=mode)
        crop = getattr(ip, "crop_size", None)
        if getattr(ip, "do_center_crop", False) and size_field(crop, "height"):
            x = pp.center_crop_or_pad(x, (int(size_field(crop, "height")), int(size_field(crop, "width"))))
        if getattr(ip, "do_normalize", True):
            x = pp.normalize_images(x, ip.image_mean, ip.image_std)
        return x.to(self.dtype)

    @torch.inference_mode()
    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        checked = pp.check_images(images)

        def encode(chunk: torch.Tensor) -> torch.Tensor:
            return pp.finish_embeddings(features(self.model.get_image_features(**self._inputs(chunk))))

        return torch.cat(pp.encode_in_chunks(checked, self.image_batch_size, encode))


# --------------------------------------------------------------------------------------------
# Loading


def _load_processor_parts(src: HFSource):
    """(tokenizer, image_processor) from one folder/repo, through AutoProcessor or the separate auto classes."""
    from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer

    include = '"*.json" "*.txt" "*.model"'
    proc = load_hf_part(src, AutoProcessor.from_pretrained, what="processor", include=include)
    tokenizer = getattr(proc, "tokenizer", None)
    image_processor = getattr(proc, "image_processor", None)
    if tokenizer is None:
        tokenizer = proc if callable(getattr(proc, "batch_decode", None)) else \
            load_hf_part(src, AutoTokenizer.from_pretrained, what="tokenizer", include=include)
    if image_processor is None:
        image_processor = load_hf_part(src, AutoImageProcessor.from_pretrained, what="image processor",
                                       include=include)
    return tokenizer, image_processor


def load_hf_clip(source: str | os.PathLike, *, processor_source: str | os.PathLike | None = None,
                 device: str = "auto", dtype: str = "auto") -> HFClipEncoder:
    """Load (or fetch from MODEL_CACHE) a transformers CLIP/SigLIP model folder or hub id as an encoder.

    ``processor_source``: where the tokenizer and image processor come from when the weights repo
    lacks them (PickScore's processor is laion/CLIP-ViT-H-14-laion2B-s32B-b79K).
    """
    from transformers import AutoModel

    src = resolve_hf_source(source, "source", "CLIP/SigLIP model")
    proc_src = resolve_hf_source(processor_source, "processor_source", "processor") \
        if processor_source is not None else HFSource(src.location, src.local, "source")

    def load(dev: str, torch_dtype) -> HFClipEncoder:
        model = load_hf_part(src, lambda loc: AutoModel.from_pretrained(loc, dtype=torch_dtype),
                             what="CLIP/SigLIP model")
        if not (hasattr(model, "get_text_features") and hasattr(model, "get_image_features")):
            raise InputError(src.arg, "a CLIP-like model with text and image towers (CLIP, SigLIP, PickScore)",
                             f"{src.location} ({getattr(model.config, 'model_type', type(model).__name__)})")
        tokenizer, image_processor = _load_processor_parts(proc_src)
        ident = pp.folder_fingerprint(src.location) if src.local else src.location
        key = f"hf_clip:{ident}" + (f"+{Path(proc_src.location).name}" if proc_src.location != src.location else "")
        log.info("transformers %s ready on %s (%s)", key, dev, torch_dtype)
        return HFClipEncoder(model.to(dev).eval(), tokenizer, image_processor, key=key, device=dev,
                             dtype=torch_dtype)

    return load_cached("encoder", f"hf_clip:{src.location}", load, device=device, dtype=dtype,
                       extra=f"processor={proc_src.location}" if proc_src.location != src.location else "")


def load_pickscore(source: str | os.PathLike = PICKSCORE_MODEL, *,
                   processor_source: str | os.PathLike = PICKSCORE_PROCESSOR,
                   device: str = "auto", dtype: str = "auto") -> HFClipEncoder:
    """PickScore: a CLIP-H fine-tune whose processor lives in the LAION CLIP-H repository."""
    return load_hf_clip(source, processor_source=processor_source, device=device, dtype=dtype)
