"""The renderer protocol and the one batched-render loop that every renderer uses.

Two implementations: ``mils.renderers.DiffusersRenderer`` / ``DiffusersEditRenderer`` (diffusers
pipelines, CLI and library) and the pack's ``ComfyRenderer`` (ComfyUI sampling on the user's
MODEL / CLIP / VAE, inside a graph).
"""
from __future__ import annotations

import logging
from typing import Callable, Protocol, Sequence, TypeVar, runtime_checkable

import torch

log = logging.getLogger(__name__)
T = TypeVar("T")


@runtime_checkable
class Renderer(Protocol):
    """Turns texts into images: (B, H, W, 3) float 0..1 on the CPU, one per text, deterministic under ``seed``.

    ``key`` identifies everything that changes the picture (it keys the render cache). Optional: a
    renderer whose text encoder reads only a prefix of a prompt is a :class:`BudgetedRenderer`
    (``token_budget`` in tokens, None when unlimited, and ``fit_text(text)``, the text as the encoder
    reads it); :class:`RendererBase` gives both their defaults (no budget, text unchanged).
    """

    key: str

    def render(self, texts: Sequence[str], seed: int) -> torch.Tensor: ...


@runtime_checkable
class BudgetedRenderer(Renderer, Protocol):
    """A renderer whose text encoder reads at most ``token_budget`` tokens (None: no limit)."""

    token_budget: int | None

    def fit_text(self, text: str) -> str: ...


class RendererBase:
    """The defaults of a renderer's optional members: no token budget, texts read whole."""

    token_budget: int | None = None

    def fit_text(self, text: str) -> str:
        return text


def fit_text(renderer: Renderer, text: str) -> str:
    """``text`` as ``renderer``'s text encoder reads it (unchanged for renderers without a token budget)."""
    if isinstance(renderer, BudgetedRenderer) and renderer.token_budget:
        return renderer.fit_text(text)
    return text


def token_budget(renderer: Renderer) -> int | None:
    """The renderer's token budget, None when it has none."""
    return renderer.token_budget if isinstance(renderer, BudgetedRenderer) else None


def is_out_of_memory(exc: BaseException, extra_types: Sequence[type] = ()) -> bool:
    """Whether ``exc`` is an accelerator out-of-memory error (torch's classes, or a RuntimeError saying so)."""
    types = tuple(t for t in (getattr(torch, "OutOfMemoryError", None), getattr(torch.cuda, "OutOfMemoryError", None),
                              *extra_types)
                  if isinstance(t, type) and t not in (Exception, BaseException))
    if types and isinstance(exc, types):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def _empty_cuda_cache() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class BatchLimit:
    """Items per call, starting at ``batch_size`` and halved for good after a call runs out of memory.

    ``run(items, call)`` calls ``call`` on consecutive chunks and returns the concatenated results in
    order; a chunk that runs out of memory is retried at half the size (down to one item, whose OOM
    is re-raised). ``free`` runs after an OOM, once the exception and the tensors it held are gone.
    """

    def __init__(self, batch_size: int, *, label: str = "render",
                 is_oom: Callable[[BaseException], bool] = is_out_of_memory,
                 free: Callable[[], None] = _empty_cuda_cache):
        self.max_batch = batch_size
        self.label, self._is_oom, self._free = label, is_oom, free

    def run(self, items: Sequence[T], call: Callable[[list[T]], Sequence]) -> list:
        items = list(items)
        out: list = []
        i = 0
        while i < len(items):
            n = min(self.max_batch, len(items) - i)
            out_of_memory = False
            try:
                results = call(items[i:i + n])
            except Exception as exc:
                if n > 1 and self._is_oom(exc):
                    out_of_memory = True  # handled below, once the exception (and its tensors) are gone
                else:
                    raise
            if out_of_memory:
                self.max_batch = max(1, n // 2)
                log.warning("%s: out of memory with %d images per call; retrying with %d", self.label, n,
                            self.max_batch)
                self._free()
                continue
            out.extend(results)
            i += n
        return out
