"""The generator protocol: an LLM that answers one prompt with text."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class GenerationParams:
    """Sampling settings for one request. Defaults follow the paper (temperature 0.5, top-p 0.9)."""

    temperature: float = 0.5
    top_p: float = 0.9
    max_new_tokens: int = 1024
    seed: int = 0
    num_replies: int = 1

    def with_seed(self, seed: int) -> "GenerationParams":
        return replace(self, seed=seed)

    def validate(self) -> "GenerationParams":
        from ..errors import InputError

        if not 0.0 <= self.temperature <= 5.0:
            raise InputError("temperature", "a number between 0 and 5", repr(self.temperature))
        if not 0.0 < self.top_p <= 1.0:
            raise InputError("top_p", "a number in (0, 1]", repr(self.top_p))
        if self.max_new_tokens < 1:
            raise InputError("max_new_tokens", "at least 1", repr(self.max_new_tokens))
        if self.num_replies < 1:
            raise InputError("num_replies", "at least 1", repr(self.num_replies))
        return self


@runtime_checkable
class Generator(Protocol):
    """An LLM backend. ``key`` identifies model + backend (used in logs and cache keys)."""

    key: str

    def generate(self, prompt: str, params: GenerationParams) -> list[str]:
        """Answer ``prompt`` (one user turn) with ``params.num_replies`` replies.

        Deterministic for a given ``params.seed`` where the backend allows it. Raises
        GeneratorError when the backend fails.
        """
        ...
