"""transformers CLAP as an AudioEncoder.

Audio is downmixed to mono, resampled to the feature extractor's rate (48 kHz for LAION CLAP) and
turned into features one clip at a time under a fixed numpy seed: ClapFeatureExtractor crops long
clips at random and, for fused models, flags a random clip of the batch as "longer", so per-clip
extraction with a fixed seed is what makes embeddings deterministic and independent of batching.
"""
from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from pathlib import Path

import torch

from ..errors import InputError
from ..model_cache import load_cached
from . import _preprocess as pp
from ._module import TorchEncoder
from .hf_clip import HFSource, features, load_hf_part, resolve_hf_source

log = logging.getLogger(__name__)

_NUMPY_SEED_LOCK = threading.Lock()


@contextmanager
def _fixed_numpy_seed(seed: int = 0):
    """Seed numpy's global RNG (which ClapFeatureExtractor uses) and restore it afterwards."""
    import numpy as np

    with _NUMPY_SEED_LOCK:
        state = np.random.get_state()
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(state)


class ClapEncoder(TorchEncoder):
    """Embeds texts and audio clips with a transformers CLAP model; L2-normalised float32 rows on the CPU."""

    modalities = frozenset({"audio"})

    def __init__(self, model, tokenizer, feature_extractor, *, key: str, device: str, dtype: torch.dtype,
                 text_batch_size: int = 256, audio_batch_size: int = 16):
        self.model = model
        self.tokenizer = tokenizer
        self.feature_extractor = feature_extractor
        self.key = key
        self.dtype = dtype
        self.text_batch_size = text_batch_size
        self.audio_batch_size = audio_batch_size
        self.sampling_rate = int(getattr(feature_extractor, "sampling_rate", 48_000))
        text_cfg = getattr(model.config, "text_config", model.config)
        limits = [n for n in (getattr(tokenizer, "model_max_length", None),
                              (getattr(text_cfg, "max_position_embeddings", 0) or 0) - 2) if n and 0 < n < 100_000]
        self.max_length = min(limits) if limits else 512
        self._dim: int | None = None

    def _encode_text_chunk(self, chunk: list[str]) -> torch.Tensor:
        tokens = self.tokenizer(chunk, padding=True, truncation=True, max_length=self.max_length,
                                return_tensors="pt")
        inputs = {k: tokens[k].to(self.device) for k in ("input_ids", "attention_mask") if k in tokens}
        return pp.finish_embeddings(features(self.model.get_text_features(**inputs)))

    def preprocess(self, waveform: torch.Tensor, sample_rate: int) -> dict[str, torch.Tensor]:
        """ComfyUI AUDIO -> stacked feature-extractor outputs (CPU), one row per clip."""
        mono, rate = pp.check_audio(waveform, sample_rate)
        mono = pp.resample(mono, rate, self.sampling_rate)
        parts: dict[str, list[torch.Tensor]] = {}
        for clip in mono:
            with _fixed_numpy_seed():
                out = self.feature_extractor(clip.numpy(), sampling_rate=self.sampling_rate, return_tensors="pt")
            for k, v in out.items():
                if isinstance(v, torch.Tensor):
                    parts.setdefault(k, []).append(v)
        return {k: torch.cat(v) for k, v in parts.items()}

    @torch.inference_mode()
    def encode_audio(self, waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        inputs = self.preprocess(waveform, sample_rate)
        n = next(iter(inputs.values())).shape[0]
        rows = []
        for start in range(0, n, self.audio_batch_size):
            chunk = {k: v[start:start + self.audio_batch_size].to(self.device) for k, v in inputs.items()}
            if "input_features" in chunk:
                chunk["input_features"] = chunk["input_features"].to(self.dtype)
            rows.append(pp.finish_embeddings(features(self.model.get_audio_features(**chunk))))
        return torch.cat(rows)


def load_clap(source: str | os.PathLike, *, processor_source: str | os.PathLike | None = None,
              device: str = "auto", dtype: str = "auto") -> ClapEncoder:
    """Load (or fetch from MODEL_CACHE) a transformers CLAP model folder or hub id (e.g. laion/clap-htsat-unfused)."""
    from transformers import AutoModel, AutoProcessor

    src = resolve_hf_source(source, "source", "CLAP model")
    proc_src = resolve_hf_source(processor_source, "processor_source", "processor") \
        if processor_source is not None else HFSource(src.location, src.local, "source")

    def load(dev: str, torch_dtype) -> ClapEncoder:
        model = load_hf_part(src, lambda loc: AutoModel.from_pretrained(loc, dtype=torch_dtype), what="CLAP model")
        if not (hasattr(model, "get_text_features") and hasattr(model, "get_audio_features")):
            raise InputError(src.arg, "a CLAP model with text and audio towers",
                             f"{src.location} ({getattr(model.config, 'model_type', type(model).__name__)})")
        processor = load_hf_part(proc_src, AutoProcessor.from_pretrained, what="CLAP processor",
                                 include='"*.json" "*.txt"')
        tokenizer = getattr(processor, "tokenizer", None)
        feature_extractor = getattr(processor, "feature_extractor", None)
        if tokenizer is None or feature_extractor is None:
            raise InputError(proc_src.arg, "a CLAP processor (feature extractor and tokenizer)",
                             f"{proc_src.location} ({type(processor).__name__})")
        ident = pp.folder_fingerprint(src.location) if src.local else src.location
        key = f"clap:{ident}" + (f"+{Path(proc_src.location).name}" if proc_src.location != src.location else "")
        log.info("CLAP %s ready on %s (%s)", key, dev, torch_dtype)
        return ClapEncoder(model.to(dev).eval(), tokenizer, feature_extractor, key=key, device=dev, dtype=torch_dtype)

    return load_cached("encoder", f"clap:{src.location}", load, device=device, dtype=dtype,
                       extra=f"processor={proc_src.location}" if proc_src.location != src.location else "")
