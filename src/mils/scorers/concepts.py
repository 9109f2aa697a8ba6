"""Concept feedback for prompt enhancement with a VLM judge ("No Concept Left Behind", arXiv 2509.23457).

The user's prompt is split into its concepts ONCE per search, either
- ``parse``: a fixed parser for simple prompts: the pieces between commas, semicolons and the word
  "and" ("a red cube, a blue ball and a lamp" -> "a red cube", "a blue ball", "a lamp"); or
- ``llm``: the search's own LLM, asked with the instruction below (relations such as "left of"
  become concepts too); a reply with no list falls back to the parser.
Every render is then asked about each concept; its score is the mean P(yes) and its display names the
concepts the render lacks (P(yes) < 0.5), e.g. ``0.620 (missing: a red cube; left of)``. The search
shows that display in the LLM's "score: text" lines and on the leaderboard.
"""
from __future__ import annotations

import logging
import re
from typing import Sequence

from ..errors import InputError
from ..parsing import normalize, parse_candidates

log = logging.getLogger(__name__)

CONCEPT_MODES = ("off", "parse", "llm")
MAX_CONCEPTS = 8
MISSING_BELOW = 0.5
SPLIT_INSTRUCTION = (
    "Split this text-to-image prompt into the separate things a picture of it must show: each object with "
    "its attributes (colour, size, material, count), each relation between objects (position, action), the "
    "setting and the style. Write each as a short phrase in the prompt's own words, one per line as a "
    "numbered list, at most {max} lines, nothing else.\n\nPrompt: {prompt}")

_SEPARATORS = re.compile(r"\s*(?:[,;]|\band\b)\s*", re.I)


def check_mode(mode, name: str = "concepts") -> str:
    if mode not in CONCEPT_MODES:
        raise InputError(name, f"one of {', '.join(CONCEPT_MODES)}", repr(mode))
    return mode


def _unique(parts: Sequence[str]) -> list[str]:
    out, seen = [], set()
    for p in parts:
        p = p.strip().strip(".!").strip()
        if p and any(c.isalpha() for c in p) and normalize(p) not in seen:
            seen.add(normalize(p))
            out.append(p)
    return out[:MAX_CONCEPTS]


def parse_concepts(prompt: str) -> list[str]:
    """The fixed parser: the pieces between commas, semicolons and "and" (the whole prompt if none)."""
    return _unique(_SEPARATORS.split(prompt)) or _unique([prompt])


def llm_concepts(prompt: str, generator, *, seed: int = 0) -> list[str]:
    """The concepts the LLM lists for ``prompt`` (greedy, one reply); the parser's when it lists none."""
    from ..generators.base import GenerationParams

    reply = generator.generate(SPLIT_INSTRUCTION.format(prompt=prompt, max=MAX_CONCEPTS),
                               GenerationParams(temperature=0.0, max_new_tokens=256, seed=seed, num_replies=1))
    concepts = _unique(parse_candidates(reply[0] if reply else ""))
    if not concepts:
        log.warning("the LLM listed no concepts for %r; splitting it at commas and 'and' instead", prompt)
        return parse_concepts(prompt)
    return concepts


def split_concepts(prompt: str, mode: str, generator=None, *, seed: int = 0) -> list[str]:
    prompt = (prompt or "").strip()
    if not prompt:
        raise InputError("prompt", "a prompt to split into concepts")
    if check_mode(mode) == "llm":
        if generator is None:
            raise InputError("concepts", "an LLM to split the prompt with (or concepts=parse)", "llm without one")
        concepts = llm_concepts(prompt, generator, seed=seed)
    elif mode == "parse":
        concepts = parse_concepts(prompt)
    else:
        raise InputError("concepts", "parse or llm to split the prompt", repr(mode))
    log.info("concepts of %r: %s", prompt, "; ".join(concepts))
    return concepts


def missing(concepts: Sequence[str], probs: Sequence[float]) -> list[str]:
    return [c for c, p in zip(concepts, probs) if p < MISSING_BELOW]


def concept_display(value: float, concepts: Sequence[str], probs: Sequence[float]) -> str:
    """``0.620 (missing: a red cube; left of)``; only the number when nothing is missing."""
    lacking = missing(concepts, probs)
    return f"{value:.3f}" + (f" (missing: {'; '.join(lacking)})" if lacking else "")
