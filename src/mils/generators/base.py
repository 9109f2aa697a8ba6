"""The generator protocol: an LLM that answers one prompt with text.

Throughput API (optional members of a backend, declared on :class:`BatchGenerator` with their defaults
on :class:`GeneratorBase`; :func:`generate_many` falls back to a loop):

* ``default_parallel: int``: how many sampled replies a search step asks for when
  ``SearchConfig.parallel`` is None (the backend batches them; 1 where unknown).
* ``generate_batch(prompts, params_list) -> list[list[str] | Exception]``: several prompts at once
  (one padded batch, or requests in flight together). A failure is returned in its slot, never
  raised, so one failing prompt fails alone.
* Reply ``r`` of a request with seed ``s`` is sampled with seed :func:`row_seed` ``(s, r)``, so it
  equals reply 0 of the same request sent alone with that seed (where the backend is deterministic).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Protocol, Sequence, runtime_checkable

from ..cancel import is_cancel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationParams:
    """Sampling settings for one request. Defaults follow the paper (temperature 0.5, top-p 0.9)."""

    temperature: float = 0.5
    top_p: float = 0.9
    max_new_tokens: int = 1024
    seed: int = 0
    num_replies: int = 1
    # Stop a reply once it has written this many lines past the first (a list of max_items items
    # under a heading); None = until EOS / max_new_tokens. Backends that cannot stop early ignore it.
    max_items: int | None = None


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
        if self.max_items is not None and self.max_items < 1:
            raise InputError("max_items", "at least 1 or None", repr(self.max_items))
        return self

    def row_params(self) -> list["GenerationParams"]:
        """One single-reply request per reply, each with its own seed (see :func:`row_seed`)."""
        return [replace(self, seed=row_seed(self.seed, r), num_replies=1) for r in range(self.num_replies)]


def row_seed(seed: int, row: int) -> int:
    """The seed of reply ``row`` of a request seeded ``seed`` (row 0 keeps the request's seed)."""
    return (int(seed) + row) % (2**63 - 1)


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


@runtime_checkable
class BatchGenerator(Generator, Protocol):
    """A generator that answers several prompts at once and says how many replies per step suit it."""

    default_parallel: int

    def generate_batch(self, prompts: Sequence[str],
                       params_list: Sequence[GenerationParams]) -> list[list[str] | Exception]: ...


class GeneratorBase:
    """The defaults of a generator's optional members: one reply per step, prompts answered in turn."""

    default_parallel: int = 1

    def generate_batch(self, prompts: Sequence[str],
                       params_list: Sequence[GenerationParams]) -> list[list[str] | Exception]:
        return _one_by_one(self, prompts, params_list)  # type: ignore[arg-type]


def default_parallel(generator: Generator) -> int:
    """The generator's preferred replies per step (its ``default_parallel``), 1 when it has none."""
    value = getattr(generator, "default_parallel", GeneratorBase.default_parallel)
    try:
        value = int(value)
    except (TypeError, ValueError):
        return 1
    return max(1, value)


def generate_many(generator: Generator, prompts: Sequence[str],
                  params_list: Sequence[GenerationParams]) -> list[list[str] | Exception]:
    """Answer several prompts; one list of replies (or the exception that failed it) per prompt.

    Uses the backend's ``generate_batch`` when it has one, else calls ``generate`` in turn.
    """
    if len(prompts) != len(params_list):
        from ..errors import InputError

        raise InputError("params_list", f"one GenerationParams per prompt ({len(prompts)})", str(len(params_list)))
    if not prompts:
        return []
    if callable(getattr(generator, "generate_batch", None)):
        return list(generator.generate_batch(list(prompts), list(params_list)))  # type: ignore[attr-defined]
    return _one_by_one(generator, prompts, params_list)


def _one_by_one(generator: Generator, prompts: Sequence[str],
                params_list: Sequence[GenerationParams]) -> list[list[str] | Exception]:
    out: list[list[str] | Exception] = []
    for prompt, params in zip(prompts, params_list):
        try:
            out.append(generator.generate(prompt, params))
        except Exception as e:  # a failing prompt fails alone
            if is_cancel(e):
                raise
            log.warning("%s: generation failed for one prompt of %d: %s", getattr(generator, "key", "llm"),
                        len(prompts), e)
            out.append(e)
    return out
