"""X-CLIP (transformers ``XCLIPModel``): a video-text model, the scorer of video captioning.

X-CLIP's text embedding depends on the video: a prompt generator lets every text attend to the
video's frame tokens before the cosine. So it is not an embedding encoder with one target vector:
``XClipModel.caption_scorer`` binds it to one video (frames encoded once), and the scorer then
computes, per text, ``logit_scale * cos(video, text + prompts(text, video))`` exactly as
``XCLIPModel.forward``'s ``logits_per_video``. The video-independent part of each text (its
projected embedding) is cached per text, and on disk for the starting pool.

The model sees ``config.vision_config.num_frames`` frames (8 for microsoft/xclip-base-patch32),
taken at a uniform stride over the clip; a shorter clip repeats frames.
"""
from __future__ import annotations

import logging
import os
from typing import Sequence

import torch

from ..cache import PoolEmbeddingStore, TextEmbeddingCache
from ..errors import InputError
from ..keys import tensor_digest
from ..model_cache import load_cached
from . import _preprocess as pp
from .base import Direction
from .hf_clip import HFClipEncoder, _load_processor_parts, features, load_hf_part, resolve_hf_source

log = logging.getLogger(__name__)

XCLIP_MODEL = "microsoft/xclip-base-patch32"
_TORCH_PIXELS = ("CLIPImageProcessor", "VideoMAEImageProcessor")
_NO_IMAGE = ("a video (several frames) for the X-CLIP video-text scorer; for a single image use an "
             "image-text scorer such as siglip2-b16")


def sample_frames(frames: torch.Tensor, num_frames: int) -> torch.Tensor:
    """Exactly ``num_frames`` frames at a uniform stride over the clip (a short clip repeats frames)."""
    idx = torch.linspace(0, frames.shape[0] - 1, num_frames).round().long()
    return frames[idx]


class XClipModel(HFClipEncoder):
    """A loaded X-CLIP model: the pixels and tokens of transformers' processor, the model's own layers."""

    modalities = frozenset({"video"})

    def __init__(self, model, tokenizer, image_processor, *, key: str, device: str, dtype: torch.dtype):
        super().__init__(model, tokenizer, image_processor, key=key, device=device, dtype=dtype)
        self.num_frames = int(model.config.vision_config.num_frames)
        # the hub's X-CLIP repos name VideoMAE's processor: resize, centre crop and normalise, as CLIP's
        self.torch_preprocessing = type(image_processor).__name__.startswith(_TORCH_PIXELS)
        self.logit_scale = float(model.logit_scale.detach().exp())
        self.text_cache = TextEmbeddingCache(self.text_projections, batch_size=64)

    # X-CLIP has no video-independent joint space: refuse the embedding-encoder uses by name
    def encode_text(self, texts) -> torch.Tensor:
        raise InputError("scorer", "an embedding model (CLIP, SigLIP, CLAP) for a target embedding; X-CLIP "
                                   "scores texts against a video only (task video_caption)", self.key)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        raise InputError("scorer", "an image-text scorer to embed images; X-CLIP scores videos (task "
                                   "video_caption)", self.key)

    def prompt_image_scorer(self, prompt: str, *, generator=None, seed: int = 0):
        raise InputError("scorer", "an image-text scorer to rate renders (e.g. pickscore, hpsv2.1, siglip2-b16); "
                                   "X-CLIP scores videos", self.key)

    @torch.inference_mode()
    def text_projections(self, texts: Sequence[str]) -> torch.Tensor:
        """Each text's projected embedding before the video prompts: (N, D) float32 on the CPU, not normalised."""
        items = pp.check_texts(texts)
        out = []
        for i in range(0, len(items), self.text_batch_size):
            tokens = self.tokenizer(items[i:i + self.text_batch_size], padding=True, truncation=True,
                                    max_length=self.max_length, return_tensors="pt")
            out.append(features(self.model.get_text_features(
                input_ids=tokens["input_ids"].to(self.device),
                attention_mask=tokens["attention_mask"].to(self.device))).float().cpu())
        return torch.cat(out) if out else torch.zeros((0, self.model.config.projection_dim))

    @torch.inference_mode()
    def video_features(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(video embedding (1, D), frame tokens for the prompt generator (1, P, D)) of one clip."""
        clip = sample_frames(pp.check_images(frames, "video"), self.num_frames)
        m = self.model
        pixels = self._inputs(clip)["pixel_values"]
        vision = m.vision_model(pixel_values=pixels.reshape(-1, *pixels.shape[-3:]))   # a video processor adds (1, F)
        per_frame = m.visual_projection(vision[1]).view(1, self.num_frames, -1)
        video = m.mit(per_frame)[1]
        tokens = m.prompts_visual_layernorm(vision[0][:, 1:, :]) @ m.prompts_visual_projection
        tokens = tokens.view(1, self.num_frames, -1, video.shape[-1]).mean(dim=1)
        return video, tokens

    @torch.inference_mode()
    def logits(self, video: torch.Tensor, tokens: torch.Tensor, projections: torch.Tensor) -> list[float]:
        """``logits_per_video`` of one clip for texts given by their ``text_projections``."""
        m = self.model
        out = []
        for i in range(0, projections.shape[0], self.text_batch_size):
            text = projections[i:i + self.text_batch_size].to(video.device, video.dtype).unsqueeze(0)
            text = text + m.prompts_generator(text, tokens)
            text = text / text.norm(p=2, dim=-1, keepdim=True)
            v = video / video.norm(p=2, dim=-1, keepdim=True)
            out.append(torch.einsum("bd,bkd->bk", v, m.logit_scale.exp() * text)[0].float().cpu())
        return torch.cat(out).tolist() if out else []

    def caption_scorer(self, media, *, num_frames: int = 8):
        """The scorer of a caption job: the video's frames as the model takes them (``num_frames`` is the
        frame count for image models; X-CLIP takes its own)."""
        if media.kind == "audio":
            raise InputError("audio", _NO_IMAGE, "a sound")
        if media.kind != "video" or media.images is None or media.images.shape[0] < 2:
            raise InputError(media.kind, _NO_IMAGE, "a single image")
        if media.images.shape[0] < self.num_frames:
            log.warning("the video has %d frames and X-CLIP takes %d: frames repeat (read more, e.g. --frames %d)",
                        media.images.shape[0], self.num_frames, self.num_frames)
        return XClipVideoScorer(self, media.images)


class XClipVideoScorer:
    """score(text) = X-CLIP's logits_per_video for one video; maximised; shown with two decimals.

    The logits are logit_scale (about 100 when trained) times a cosine, so two decimals show what
    100 x cosine shows for the image scorers.
    """

    direction: Direction = "maximize"

    def __init__(self, model: XClipModel, frames: torch.Tensor, *, pool_store: PoolEmbeddingStore | None = None):
        self.model = model
        self.video, self.tokens = model.video_features(frames)
        self.key = f"{model.key}|video:{tensor_digest(self.video.float().cpu().flatten())}"
        self.text_cache = model.text_cache
        self.pool_store = pool_store if pool_store is not None else PoolEmbeddingStore()
        self.score_scale = (0.0, 0.5 * model.logit_scale)   # a cosine of 0.5 is a very good match

    def score(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        return self.model.logits(self.video, self.tokens, self.text_cache.get(list(texts)))

    def score_pool(self, texts: Sequence[str]) -> list[float]:
        """Score a large fixed pool; its text projections come from the on-disk cache after the first video."""
        if not texts:
            return []
        proj = self.pool_store.get_or_compute(f"{self.model.key}|text-projection", texts,
                                              self.model.text_projections)
        return self.model.logits(self.video, self.tokens, proj)

    @property
    def encodes(self) -> int:
        return self.text_cache.encoded

    def format_score(self, score: float) -> str:
        return f"{score:.2f}"


def load_xclip(source: str | os.PathLike = XCLIP_MODEL, *, device: str = "auto", dtype: str = "auto") -> XClipModel:
    """An X-CLIP folder or hub id (weights, tokenizer and image processor, as microsoft/xclip-base-patch32)."""
    from transformers import XCLIPModel

    src = resolve_hf_source(source, "source", "X-CLIP model")

    def load(dev: str, torch_dtype) -> XClipModel:
        model = load_hf_part(src, lambda loc: XCLIPModel.from_pretrained(loc, dtype=torch_dtype),
                             what="X-CLIP model")
        tokenizer, image_processor = _load_processor_parts(src)
        key = f"xclip:{pp.folder_fingerprint(src.location) if src.local else src.location}"
        log.info("X-CLIP %s ready on %s (%s), %d frames per clip", key, dev, torch_dtype,
                 model.config.vision_config.num_frames)
        return XClipModel(model.to(dev).eval(), tokenizer, image_processor, key=key, device=dev, dtype=torch_dtype)

    return load_cached("encoder", f"xclip:{src.location}", load, device=device, dtype=dtype)
