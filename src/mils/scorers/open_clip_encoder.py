"""open_clip models (CLIP, SigLIP, ...) as an ImageEncoder.

Images are preprocessed from ComfyUI tensors directly in torch, following the model's own
preprocess config (size, resize mode, interpolation, mean/std), without a round trip through PIL.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError, MilsError, ModelNotFoundError
from ..model_cache import load_cached
from . import _preprocess as pp
from ._module import TorchEncoder

log = logging.getLogger(__name__)

_PRECISION = {torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}
_CHECKPOINT_HELP = "an open_clip checkpoint file (.safetensors, .pt, .pth or .bin)"


class OpenClipEncoder(TorchEncoder):
    """Embeds texts and images with an open_clip model. Rows are L2-normalised float32 on the CPU."""

    modalities = frozenset({"image"})

    def __init__(self, model, tokenizer, preprocess_cfg: dict[str, Any], *, key: str, device: str,
                 input_dtype: torch.dtype = torch.float32, text_batch_size: int = 256, image_batch_size: int = 32):
        self.model = model
        self.tokenizer = tokenizer
        self.key = key
        self.input_dtype = input_dtype
        self.text_batch_size = text_batch_size
        self.image_batch_size = image_batch_size
        size = preprocess_cfg.get("size", 224)
        self.image_size: tuple[int, int] = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        self.mean = tuple(preprocess_cfg.get("mean", (0.48145466, 0.4578275, 0.40821073)))
        self.std = tuple(preprocess_cfg.get("std", (0.26862954, 0.26130258, 0.27577711)))
        self.interpolation = pp.interpolation_mode(preprocess_cfg.get("interpolation", "bicubic"))
        self.resize_mode = preprocess_cfg.get("resize_mode", "shortest")
        self.fill = float(preprocess_cfg.get("fill_color", 0)) / 255.0
        self._dim: int | None = None

    def _encode_text_chunk(self, chunk: list[str]) -> torch.Tensor:
        tokens = self.tokenizer(chunk).to(self.device)
        return pp.finish_embeddings(self.model.encode_text(tokens))

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """(B, H, W, C) in 0..1 -> the model's normalised (B, 3, h, w) input on its device."""
        return self._pixels(pp.check_images(images))

    def _pixels(self, checked: torch.Tensor) -> torch.Tensor:
        x = checked.permute(0, 3, 1, 2).to(self.device, torch.float32)
        x = pp.resize_to_model(x, self.image_size, resize_mode=self.resize_mode,
                               interpolation=self.interpolation, fill=self.fill)
        return pp.normalize_images(x, self.mean, self.std).to(self.input_dtype)

    @torch.inference_mode()
    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        checked = pp.check_images(images)  # validate the whole batch before any work

        def encode(chunk: torch.Tensor) -> torch.Tensor:
            return pp.finish_embeddings(self.model.encode_image(self._pixels(chunk)))

        return torch.cat(pp.encode_in_chunks(checked, self.image_batch_size, encode))


# --------------------------------------------------------------------------------------------
# Loading


@dataclass(frozen=True)
class _Source:
    """Where the weights come from: a tag, a local file, an hf-hub: repo or a local-dir: folder."""

    model_name: str
    pretrained: str | None   # what open_clip gets as ``pretrained``
    kind: str                # "tag", "file", "hf-hub", "local-dir"
    location: str            # tag, resolved file path, hub id or resolved folder


def _resolve_source(model_name: str, pretrained: str | None, checkpoint: str | os.PathLike | None) -> _Source:
    import open_clip
    from open_clip.factory import parse_model_name

    if not isinstance(model_name, str) or not model_name.strip():
        raise InputError("model_name", "an open_clip model name such as 'ViT-B-32'", repr(model_name))
    if checkpoint is not None and pretrained is not None:
        raise InputError("checkpoint", "either pretrained or checkpoint, not both",
                         f"pretrained={pretrained!r}, checkpoint={str(checkpoint)!r}")
    weights = str(checkpoint) if checkpoint is not None else (str(pretrained) if pretrained is not None else None)
    arg = "checkpoint" if checkpoint is not None else "pretrained"
    schema, ident = parse_model_name(model_name)
    if schema == "hf-hub":
        return _Source(model_name, None, "hf-hub", ident)
    if schema == "local-dir":
        folder = Path(ident).expanduser()
        if not folder.is_dir():
            raise pp.missing_local_model(folder, what="open_clip model folder",
                                         provide="a folder with open_clip_config.json and the weights")
        return _Source(f"local-dir:{folder.resolve()}", None, "local-dir", str(folder.resolve()))

    name = model_name.replace("/", "-")
    if name not in open_clip.list_models():
        import difflib

        close = difflib.get_close_matches(name, open_clip.list_models(), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise InputError("model_name", "an open_clip architecture from open_clip.list_models(), "
                         f"'hf-hub:<repo>' or 'local-dir:<folder>'{hint}", repr(model_name))
    if weights is None:
        tags = open_clip.list_pretrained_tags_by_model(name)
        raise InputError("pretrained", f"a pretrained tag ({', '.join(tags) or 'none known'}) "
                         f"or {_CHECKPOINT_HELP}", "None")
    path = Path(weights).expanduser()
    if path.is_file():
        return _Source(name, str(path.resolve()), "file", str(path.resolve()))
    if path.is_dir():
        raise InputError(arg, f"{_CHECKPOINT_HELP}; for a folder with open_clip_config.json use "
                         f"model_name='local-dir:{path}'", f"the folder {path}")
    if checkpoint is None and open_clip.get_pretrained_cfg(name, weights):
        return _Source(name, weights, "tag", weights)
    if checkpoint is not None or pp.looks_like_path(weights):
        raise pp.missing_local_model(path, what="open_clip checkpoint", provide=_CHECKPOINT_HELP)
    tags = open_clip.list_pretrained_tags_by_model(name)
    raise InputError("pretrained", f"a pretrained tag for {name} ({', '.join(tags) or 'none known'}) "
                     f"or {_CHECKPOINT_HELP}", repr(weights))


def _download_error(src: _Source, cause: BaseException) -> ModelNotFoundError:
    import open_clip

    if src.kind == "hf-hub":
        return pp.hub_model_unavailable(src.location, what="open_clip model", cause=cause,
                                        pass_as="model_name='local-dir:{path}'")
    cfg = open_clip.get_pretrained_cfg(src.model_name, src.location) or {}
    hub = (cfg.get("hf_hub") or "").strip("/")
    if hub:
        repo = "/".join(hub.split("/")[:2])
        return pp.hub_model_unavailable(
            repo, what=f"open_clip weights {src.model_name}/{src.location} from", cause=cause, include='"open_clip_*"',
            preset_keys=(f"{src.model_name}:{src.location}",),
            pass_as=(f"load_open_clip('{src.model_name}', pretrained='{{path}}/open_clip_model.safetensors') "
                     "(or the open_clip_pytorch_model.bin it fetched)"))
    url = cfg.get("url", "")
    return ModelNotFoundError(
        f"open_clip weights {src.model_name}/{src.location} cannot be downloaded here ({cause}). "
        f"Download {url} on a machine with network access and pass "
        f"load_open_clip('{src.model_name}', pretrained='<path to the downloaded file>').")


def _tokenizer_error(src: _Source, cause: BaseException) -> MilsError:
    import open_clip

    cfg = open_clip.get_model_config(src.model_name) if src.kind in ("tag", "file") else None
    hub_id = ((cfg or {}).get("text_cfg") or {}).get("hf_tokenizer_name") or ""
    if hub_id and pp.is_download_failure(cause):
        # open_clip looks this tokenizer up by hub id, so it has to be in the Hugging Face cache.
        return pp.hub_model_unavailable(hub_id, what=f"tokenizer of {src.model_name}", cause=cause,
                                        include='"*.json" "*.txt" "*.model"')
    if "sentencepiece" in str(cause).lower():
        return MilsError(f"The tokenizer of {src.model_name} needs the sentencepiece package: pip install sentencepiece")
    return MilsError(f"Could not build the tokenizer of open_clip model {src.model_name}: {cause}")


def _create(src: _Source, precision: str, device: str):
    import open_clip

    cfg = open_clip.get_pretrained_cfg(src.model_name, src.location) if src.kind == "tag" else {}
    try:
        model = open_clip.create_model(src.model_name, pretrained=src.pretrained, precision=precision,
                                       device=device, force_quick_gelu=bool((cfg or {}).get("quick_gelu")))
    except MilsError:
        raise
    except Exception as e:
        if src.kind == "file":
            raise pp.invalid_model_file(src.location, name="pretrained",
                                        expected=f"{_CHECKPOINT_HELP} matching {src.model_name}", cause=e) from e
        if src.kind == "local-dir":
            raise pp.invalid_model_file(src.location, name="model_name",
                                        expected="a local-dir: folder with open_clip_config.json and weights",
                                        cause=e) from e
        if pp.is_download_failure(e) or "download" in str(e).lower() or "hf hub" in str(e).lower():
            raise _download_error(src, e) from e
        raise
    return model.eval()


def _fingerprint(src: _Source) -> str:
    if src.kind == "file":
        return pp.file_fingerprint(src.location)
    if src.kind == "local-dir":
        return pp.folder_fingerprint(src.location)
    return src.location if src.kind == "tag" else ""


def load_open_clip(model_name: str, pretrained: str | None = None, *, checkpoint: str | os.PathLike | None = None,
                   device: str = "auto", dtype: str = "auto") -> OpenClipEncoder:
    """Load (or fetch from MODEL_CACHE) an open_clip model as an encoder.

    ``model_name``: an open_clip architecture ("ViT-B-32", "ViT-SO400M-14-SigLIP"), "hf-hub:<repo>"
    or "local-dir:<folder>". ``pretrained``: a tag ("laion2b_s34b_b79k", "webli") or a local
    checkpoint file; ``checkpoint`` is the same as a file given as ``pretrained``.
    """
    import open_clip

    src = _resolve_source(model_name, pretrained, checkpoint)

    def load(dev: str, torch_dtype) -> OpenClipEncoder:
        precision = _PRECISION[torch_dtype]
        model = _create(src, precision, dev)
        try:
            tokenizer = open_clip.get_tokenizer(src.model_name)
        except Exception as e:
            raise _tokenizer_error(src, e) from e
        ident = _fingerprint(src)
        key = f"open_clip:{src.model_name}" + (f":{ident}" if ident else "")
        input_dtype = open_clip.get_input_dtype(precision) or torch.float32
        log.info("open_clip %s ready on %s (%s)", key, dev, precision)
        return OpenClipEncoder(model, tokenizer, open_clip.get_model_preprocess_cfg(model), key=key,
                               device=dev, input_dtype=input_dtype)

    return load_cached("encoder", f"open_clip:{src.model_name}:{src.location}", load, device=device, dtype=dtype)
