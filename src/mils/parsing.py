"""Turn an LLM reply into candidate texts.

Real LLMs write lists in many shapes ("1.", "1)", "**1.**", "- ", "* ", "•"), wrap them in
code fences, think aloud in <think> blocks, and echo the "score: text" lines they were shown.
The reference parser only accepts "1. " and silently drops the rest; this one accepts them all.
"""
from __future__ import annotations

import re

_REASONING = re.compile(r"<(think|thinking|reasoning)>.*?(</\1>|\Z)", re.S | re.I)
_FENCE = re.compile(r"^\s*```[\w-]*\s*$")
_COUNTER = re.compile(
    r"""^\s*
    (?:\*\*|__)?                      # opening bold
    (?:
        \(?\d{1,4}\s*[.):\]]          # 1.  1)  (1)  1:  1]
      | [-*•+–]                       # bullets
      | [a-z][.)]                     # a.  a)
    )
    (?:\*\*|__)?                      # closing bold after the counter
    \s+""",
    re.X,
)
_LEADING_SCORE = re.compile(r"^\s*\(?[-+]?\d+(?:\.\d+)?(?:\s*,\s*[-+]?\d+(?:\.\d+)?)*\)?\s*[:|-]\s+")
_TRAILING_SCORE = re.compile(r"\s*[\(\[]\s*(?:score|scored|est\.?|estimated)?[^()\[\]]*\d[^()\[\]]*[\)\]]\s*$", re.I)
_QUOTES = "\"'“”‘’`"
_PREAMBLE = re.compile(r"^(here (are|is)|sure|okay|certainly|i (have|will|'ll))\b.*:\s*$", re.I)
# replies about the task instead of candidates: refusals, apologies, questions back, talk about itself
_NOT_A_CANDIDATE = re.compile(
    r"^(i'?m sorry|sorry\b|i apologi[sz]e|unfortunately\b|as an (ai|a\.i\.|language model)"
    r"|i (cannot|can't|can not|won't|will not|am unable|am not able|do not|don't) "
    r"|i'?m (unable|not able|not sure)|please (provide|share|give|send)|could you|can you|would you like)", re.I)


def strip_reasoning(reply: str) -> str:
    """Drop <think>…</think>-style blocks (unterminated ones run to the end of the reply)."""
    return _REASONING.sub("", reply)


def _clean(text: str) -> str:
    text = text.strip()
    for _ in range(2):
        text = _LEADING_SCORE.sub("", text)
        text = _TRAILING_SCORE.sub("", text)
        text = re.sub(r"^(\*\*|__)(.*)(\*\*|__)$", r"\2", text).strip()
        text = text.strip(_QUOTES).strip()
    text = re.sub(r"\*\*|__", "", text)
    return re.sub(r"\s+", " ", text).strip()


def parse_candidates(reply: str, *, max_words: int | None = None) -> list[str]:
    """Return the candidate texts in ``reply`` in order, without duplicates.

    Lines that look like list items are candidates. If the reply has no list items at all,
    plain non-empty lines are taken instead (small models often drop the counters), except
    lines that read like a preamble ("Here are 10 descriptions:") and questions. Headings
    ("Description:"), refusals and talk about the task ("I cannot help with that.", "As an AI ...",
    "Could you ...") are never candidates.
    """
    lines = [ln for ln in strip_reasoning(reply).splitlines() if not _FENCE.match(ln)]
    items = []
    for ln in lines:
        m = _COUNTER.match(ln)
        if m:
            items.append(ln[m.end():])
    if not items:
        items = [ln for ln in lines if ln.strip() and not _PREAMBLE.match(ln.strip()) and not ln.strip().endswith("?")]
    out, seen = [], set()
    for raw in items:
        text = _clean(raw)
        if not text or not any(c.isalpha() for c in text) or _NOT_A_CANDIDATE.match(text) or text.endswith(":"):
            continue   # empty, no words, talk about the task, or a heading ("Description:", "New captions:")
        if max_words is not None and len(text.split()) > max_words:
            text = " ".join(text.split()[:max_words])
        key = normalize(text)
        if key not in seen:
            seen.add(key)
            out.append(text)
    return out


def normalize(text: str) -> str:
    """The identity used for deduplication: case, spacing and end punctuation do not count."""
    return re.sub(r"\s+", " ", text.lower()).strip(" .,;:!?\"'")
