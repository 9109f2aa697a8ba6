"""The COCO caption metrics through pycocoevalcap: BLEU-1..4, METEOR, ROUGE-L, CIDEr, SPICE.

METEOR, SPICE and pycocoevalcap's PTBTokenizer run Java. Without Java the text is tokenized by
``simple_tokenize`` (below) and METEOR and SPICE are reported as unavailable, with the reason; SPICE
also needs Stanford CoreNLP 3.6.0, which pycocoevalcap downloads on first use: offline, it is
reported as unavailable with the command that fetches it. Nothing here downloads anything.
"""
from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

log = logging.getLogger(__name__)

METRICS = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr", "SPICE")
SPICE_FETCH = ("python -c \"from pycocoevalcap.spice.get_stanford_models import get_stanford_models; "
               "get_stanford_models()\"  (downloads Stanford CoreNLP 3.6.0, about 400 MB, once)")
# what pycocoevalcap's PTBTokenizer drops after tokenizing
_PUNCTUATION = {"''", "'", "``", "`", ".", "?", "!", ",", ":", "-", "--", "...", ";"}
_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|[^\sa-z0-9]")


@dataclass
class MetricScores:
    """Corpus-level scores (None when unavailable, see ``unavailable``) and how the text was tokenized."""

    scores: dict[str, float | None]
    tokenizer: str
    unavailable: dict[str, str] = field(default_factory=dict)


def java_available() -> bool:
    return shutil.which("java") is not None


def simple_tokenize(text: str) -> str:
    """The fallback tokenizer (no Java): lower case, words (with inner - and ') and punctuation split
    apart, then the punctuation PTBTokenizer removes is dropped. Close to PTBTokenizer on plain
    captions; it does not split clitics ("dog's" stays one token)."""
    return " ".join(t for t in _TOKEN.findall(text.lower().replace("\n", " ")) if t not in _PUNCTUATION)


def tokenize(captions: dict[str, list[str]], use_java: bool) -> dict[str, list[str]]:
    if use_java:
        from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

        return PTBTokenizer().tokenize({k: [{"caption": c} for c in v] for k, v in captions.items()})
    return {k: [simple_tokenize(c) for c in v] for k, v in captions.items()}


def spice_missing_reason() -> str | None:
    """Why SPICE cannot run here, or None."""
    if not java_available():
        return "needs Java (install default-jre-headless)"
    from pycocoevalcap.spice import get_stanford_models as gsm

    jar = Path(gsm.SPICEDIR) / gsm.SPICELIB / f"{gsm.JAR}.jar"
    if not jar.exists():
        return f"Stanford CoreNLP models are not installed ({jar} is missing); fetch them once with: {SPICE_FETCH}"
    return None


def compute_caption_metrics(refs: dict[str, list[str]], captions: dict[str, str], *, java: bool | None = None,
                            spice: bool = True) -> MetricScores:
    """Score ``captions`` (id -> text) against ``refs`` (id -> texts) on the same ids.

    ``java``: None = use it when installed. ``spice=False`` skips SPICE (slow: it starts CoreNLP).
    """
    return score_systems(refs, {"": captions}, java=java, spice=spice)[""]


def score_systems(refs: dict[str, list[str]], systems: dict[str, dict[str, str]], *, java: bool | None = None,
                  spice: bool = True) -> dict[str, MetricScores]:
    """``compute_caption_metrics`` for several systems (name -> captions) on the same references.

    One tokenizer run and one METEOR process serve them all (each Java start costs seconds).
    """
    try:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.rouge.rouge import Rouge
    except ImportError:
        raise InputError("metrics", "pycocoevalcap installed (pip install pycocoevalcap, or the `eval` extra)",
                         "not installed") from None
    for name, captions in systems.items():
        if not captions or set(captions) != set(refs):
            raise InputError(f"captions {name}".strip(), "the same non-empty set of ids as the references",
                             f"{len(captions)} captions, {len(refs)} references")
    use_java = java_available() if java is None else java
    every = {(None, k): v for k, v in refs.items()}
    every.update({(name, k): [v] for name, captions in systems.items() for k, v in captions.items()})
    tokens = tokenize(every, use_java)
    gts = {k: tokens[(None, k)] for k in refs}
    tokenizer = "PTBTokenizer (Stanford CoreNLP, Java)" if use_java else "simple Python tokenizer (no Java)"
    no_java = "needs Java (install default-jre-headless)"
    spice_reason = "skipped on request (--no-spice / spice=False)" if not spice else \
        spice_missing_reason() if use_java else no_java
    java_scorers = {"METEOR": _java_scorer("METEOR") if use_java else no_java,
                    "SPICE": spice_reason or _java_scorer("SPICE")}
    out = {}
    for name in systems:
        res = {k: tokens[(name, k)] for k in refs}
        scores: dict[str, float | None] = dict.fromkeys(METRICS)
        bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
        scores.update({f"BLEU-{i}": float(b) for i, b in enumerate(bleu, 1)})
        scores["ROUGE-L"] = float(Rouge().compute_score(gts, res)[0])
        scores["CIDEr"] = float(Cider().compute_score(gts, res)[0])
        unavailable = {}
        for metric, scorer in java_scorers.items():
            if isinstance(scorer, str):
                unavailable[metric] = scorer
            else:
                scores[metric] = _run_java_metric(metric, scorer, gts, res, unavailable)
        out[name] = MetricScores(scores, tokenizer, unavailable)
    return out


def _java_scorer(name: str):
    """pycocoevalcap's METEOR or SPICE scorer, or why it cannot start."""
    try:
        if name == "METEOR":
            from pycocoevalcap.meteor.meteor import Meteor

            return Meteor()
        from pycocoevalcap.spice.spice import Spice

        return Spice()
    except Exception as exc:  # a Java failure must not cost the other metrics
        log.warning("%s could not start: %s", name, exc)
        return f"failed to start: {exc}"


def _run_java_metric(name: str, scorer, gts, res, unavailable: dict[str, str]) -> float | None:
    try:
        return float(scorer.compute_score(gts, res)[0])
    except Exception as exc:
        log.warning("%s failed: %s", name, exc)
        unavailable[name] = f"failed: {exc}"
        return None
