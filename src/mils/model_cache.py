"""Loaded models, cached by (kind, source, dtype, device), so a second run reloads nothing.

The ComfyUI bridge hooks ``on_evict`` / ``unload`` into ComfyUI's model management; outside
ComfyUI this is a plain dictionary with explicit unload.
"""
from __future__ import annotations

import gc
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelKey:
    kind: str      # "generator", "encoder", ...
    source: str    # hub id, folder, or file path (resolved)
    dtype: str
    device: str
    extra: str = ""  # backend options that change the loaded object


class ModelCache:
    def __init__(self):
        self._models: dict[ModelKey, Any] = {}
        self._lock = threading.RLock()
        self.loads = 0

    def get_or_load(self, key: ModelKey, load: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._models:
                return self._models[key]
            log.info("loading %s %s (%s, %s)", key.kind, key.source, key.dtype, key.device)
            model = load()
            self.loads += 1
            self._models[key] = model
            return model

    def peek(self, key: ModelKey) -> Any:
        with self._lock:
            return self._models.get(key)

    def keys(self) -> list[ModelKey]:
        with self._lock:
            return list(self._models)

    def unload(self, key: ModelKey | None = None) -> int:
        """Drop one model (or all with ``None``); returns how many were dropped."""
        with self._lock:
            keys = [key] if key is not None else list(self._models)
            n = 0
            for k in keys:
                if self._models.pop(k, None) is not None:
                    n += 1
        if n:
            gc.collect()
            try:
                import torch

                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
            except Exception:  # pragma: no cover - best effort
                pass
        return n


MODEL_CACHE = ModelCache()


def resolve_device(device: str | None) -> str:
    """"auto" / None picks cuda, then mps, then cpu."""
    import torch

    if device in (None, "", "auto"):
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    return device


def resolve_dtype(dtype: str | None, device: str):
    """"auto" is float16 on cuda/mps (bfloat16 where supported), float32 on cpu."""
    import torch

    names = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16,
             "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
    if dtype in (None, "", "auto"):
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if device == "mps":
            return torch.float16
        return torch.float32
    if dtype not in names:
        from .errors import InputError

        raise InputError("dtype", f"one of auto, {', '.join(sorted(names))}", repr(dtype))
    return names[dtype]


def load_cached(kind: str, source: str, load: Callable[[str, Any], Any], *, device: str | None = "auto",
                dtype: str | None = "auto", extra: str = "") -> Any:
    """The one way models are loaded: resolve device and dtype, key the cache, load once.

    ``load(device, torch_dtype)`` builds the model; a second call with the same (kind, source, dtype,
    device, extra) returns the object the first one loaded.
    """
    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    key = ModelKey(kind=kind, source=source, dtype=str(torch_dtype).removeprefix("torch."), device=dev, extra=extra)
    return MODEL_CACHE.get_or_load(key, lambda: load(dev, torch_dtype))
