"""GGUF models at llama.cpp speed, in process, through ``llama-cpp-python`` (optional extra ``llama-cpp``).

``load_llama_cpp_generator(path, n_ctx=4096, n_threads=None, n_gpu_layers=0)`` loads a ``.gguf``
file (or a folder holding exactly one) as a :class:`LlamaCppGenerator`, through ``MODEL_CACHE``.
The chat template comes from the GGUF metadata. Sampling is nucleus only, as in the paper
(``top_k=0``, ``min_p=0``, no repeat penalty). Reply ``r`` of a request is sampled with seed
``row_seed(seed, r)``; replies are generated one after another (llama-cpp-python's high-level API
runs one sequence at a time), so ``default_parallel`` is 1.

Select it with ``mils.registry.load_llm(spec, backend="llama_cpp")``; the default backend for
``.gguf`` files stays transformers. Without the package every entry point raises GeneratorError
naming the extra: ``pip install "mils-nodes[llama-cpp]"``.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import Any

from ..errors import GeneratorError, InputError
from ..model_cache import MODEL_CACHE, ModelKey
from .base import GenerationParams, row_seed
from .transformers_lm import _check_gguf_file, _resolve_source

log = logging.getLogger(__name__)

__all__ = ["LlamaCppGenerator", "llama_cpp_available", "load_llama_cpp_generator"]

INSTALL_HINT = 'pip install "mils-nodes[llama-cpp]"'


def llama_cpp_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def _require_llama_cpp():
    if not llama_cpp_available():
        raise GeneratorError(f"the llama_cpp backend needs the llama-cpp-python package: {INSTALL_HINT} "
                             f"(or use backend='transformers', which reads .gguf files too)")
    import llama_cpp

    return llama_cpp


class LlamaCppGenerator:
    """A llama.cpp model answering one user turn per request."""

    default_parallel = 1

    def __init__(self, llama: Any, key: str):
        self.llama = llama
        self.key = key
        self._lock = threading.Lock()  # one llama.cpp context: one request at a time

    def __repr__(self) -> str:
        return f"LlamaCppGenerator({self.key!r})"

    def _one(self, prompt: str, params: GenerationParams, seed: int) -> str:
        from ..cancel import requested

        kwargs = dict(messages=[{"role": "user", "content": prompt}], max_tokens=params.max_new_tokens,
                      temperature=float(params.temperature), top_p=float(params.top_p), top_k=0, min_p=0.0,
                      repeat_penalty=1.0, seed=int(seed) % (2**31 - 1), stream=True)
        pieces: list[str] = []
        lines = 0
        for chunk in self.llama.create_chat_completion(**kwargs):
            piece = chunk["choices"][0].get("delta", {}).get("content") or ""
            pieces.append(piece)
            lines += piece.count("\n")
            if requested():  # the search was cancelled: stop this reply here
                break
            if params.max_items is not None and lines >= params.max_items + 1:  # the list is complete
                break
        return "".join(pieces).strip()

    def generate(self, prompt: str, params: GenerationParams) -> list[str]:
        if not isinstance(prompt, str):
            raise InputError("prompt", "a string", type(prompt).__name__)
        params = params.validate()
        greedy = params.temperature <= 0
        seeds = [params.seed] if greedy else [row_seed(params.seed, r) for r in range(params.num_replies)]
        try:
            with self._lock:
                replies = [self._one(prompt, params, s) for s in seeds]
        except (InputError, GeneratorError):
            raise
        except Exception as e:
            raise GeneratorError(f"{self.key}: generation failed: {type(e).__name__}: {e}") from e
        return replies * params.num_replies if greedy else replies


def load_llama_cpp_generator(path: str | os.PathLike, *, n_ctx: int = 4096, n_threads: int | None = None,
                             n_gpu_layers: int = 0) -> LlamaCppGenerator:
    """Load (or fetch from MODEL_CACHE) a ``.gguf`` model through llama.cpp.

    Raises GeneratorError naming the extra when llama-cpp-python is missing, ModelNotFoundError
    when nothing is at ``path``, InputError when it is not a GGUF file or the options are bad.
    """
    folder, gguf_name, is_local = _resolve_source(path, None)
    if gguf_name is None or not is_local:
        raise InputError("model", "a local .gguf file (or a folder holding one) for the llama_cpp backend", repr(path))
    file = Path(folder) / gguf_name
    _check_gguf_file(file)
    if not isinstance(n_ctx, int) or n_ctx < 256:
        raise InputError("n_ctx", "an integer context size of at least 256 tokens", repr(n_ctx))
    if n_threads is not None and (not isinstance(n_threads, int) or n_threads < 1):
        raise InputError("n_threads", "a positive integer or None (all cores)", repr(n_threads))
    llama_cpp = _require_llama_cpp()
    key = f"llama_cpp:{file}"
    mkey = ModelKey(kind="generator", source=str(file), dtype="gguf", device="cpu" if not n_gpu_layers else "gpu",
                    extra=f"llama_cpp:n_ctx={n_ctx}:threads={n_threads}:gpu_layers={n_gpu_layers}")

    def load() -> LlamaCppGenerator:
        try:
            llama = llama_cpp.Llama(model_path=str(file), n_ctx=n_ctx, n_threads=n_threads,
                                    n_gpu_layers=n_gpu_layers, verbose=False)
        except Exception as e:
            raise InputError("model", "a GGUF model llama.cpp can load",
                             f"{str(file)!r}, which failed to load: {type(e).__name__}: {e}") from e
        log.info("loaded %s through llama.cpp (n_ctx=%d)", file, n_ctx)
        return LlamaCppGenerator(llama, key)

    return MODEL_CACHE.get_or_load(mkey, load)
