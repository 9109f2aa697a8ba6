"""What makes two runs "the same run": the identity of a job, in readable fields.

One answer for every place that resumes (the search checkpoint, dataset runs, the Loop node):

* ``job_identity(job)``: the fields that shape a job's result, each a short string: ``task``,
  ``llm`` (the generator's key), ``scorer`` (the scorer model's key; style transfer: the feature
  extractor's), ``renderer``, ``inputs`` (a digest of the media, prompt, target, style images and
  frames sampled), ``pool``, ``budget`` (the preset and every override but ``time_budget_s``, which
  is per run), ``seed`` (and ``render_seed`` where a renderer is used).
* ``search_identity(search)``: the same fields for a search built without a job
  (``mils.search.run_search(..., checkpoint=...)``): the scorer's key stands for scorer and target,
  ``inputs`` digests the start texts and the intent, ``budget`` the whole config.
* ``identity_digest(identity)``: a short stable digest (file names, equality).
* ``identity_difference(saved, current)``: which fields differ, as a phrase for a warning
  ("llm (a -> b), seed (0 -> 1)"); "" when they agree.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any, Mapping

import torch

from .keys import tensor_digest

__all__ = ["identity_difference", "identity_digest", "job_identity", "search_identity"]

PER_RUN = ("time_budget_s",)   # options that limit one run but do not change what it computes


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _tensor(t: torch.Tensor | None) -> str:
    return "" if t is None else tensor_digest(torch.as_tensor(t))


def _key(obj: Any) -> str:
    return "" if obj is None else str(getattr(obj, "key", None) or type(obj).__name__)


def _style(style: Any) -> tuple[str, dict]:
    """(the scorer model's key, the style inputs) of a StyleSpec or a GramStyleScorer already built."""
    if style is None:
        return "", {}
    if hasattr(style, "style_image"):   # a StyleSpec: what the Gram scorer will be built from
        return _key(style.extractor), {"style": _tensor(style.style_image), "content": _tensor(style.content_image),
                                       "weights": [style.style_weight, style.content_weight], "size": style.size}
    return _key(style), {}              # a GramStyleScorer: its key holds extractor, weights, size and images


def _media(media: Any) -> dict:
    if media is None:
        return {}
    return {"kind": media.kind, "images": _tensor(media.images), "waveform": _tensor(media.waveform),
            "sample_rate": media.sample_rate}


def _budget(preset: str, overrides: Mapping[str, Any]) -> str:
    kept = {k: v for k, v in sorted(overrides.items()) if v is not None and k not in PER_RUN}
    return preset + "".join(f" {k}={v}" for k, v in kept.items())


def job_identity(job: Any) -> dict[str, str]:
    """The identity of a ``mils.jobs.Job`` (see the module doc)."""
    extractor, style = _style(job.style)
    inputs = {"media": _media(job.media), "prompt": job.prompt.strip(), "target": _tensor(job.target), **style}
    if job.media is not None and job.media.kind == "video":
        inputs["frames"] = job.num_frames
    pool = job.pool if job.pool is None or isinstance(job.pool, str) else _digest(list(job.pool))
    identity = {"task": job.task, "llm": _key(job.generator), "scorer": _key(job.scorer_model) or extractor,
                "renderer": _key(job.renderer), "inputs": _digest(inputs), "pool": "" if pool is None else str(pool),
                "budget": _budget(job.preset, dict(job.overrides)), "seed": str(job.seed)}
    if job.renderer is not None:
        identity["render_seed"] = str(job.render_seed)
    return identity


def search_identity(search: Any) -> dict[str, str]:
    """The identity of a ``mils.search.Search`` made without a job (see the module doc)."""
    config = {k: v for k, v in asdict(search.config).items() if k not in PER_RUN and k != "seed"}
    return {"task": f"{search.task.name} {_digest(search.task.template)}", "llm": search.generator_key,
            "scorer": f"{search.scorer.key} {search.scorer.direction}", "renderer": "",
            "inputs": _digest({"start": list(search.start), "intent": search.intent}), "pool": "",
            "budget": _digest({**config, "replies": search.replies}), "seed": str(search.config.seed)}


def identity_digest(identity: Mapping[str, str]) -> str:
    """A short stable digest of an identity (equal identities, equal digests)."""
    return _digest(dict(identity))


def identity_difference(saved: Mapping[str, str] | None, current: Mapping[str, str]) -> str:
    """The fields in which ``saved`` differs from ``current``, e.g. "llm (a -> b), seed (0 -> 1)"; "" if none."""
    saved = dict(saved or {})
    names = sorted(set(saved) | set(current), key=lambda n: (list(current).index(n) if n in current else len(current)))
    return ", ".join(f"{n} ({saved.get(n, '-')!s} -> {current.get(n, '-')!s})" for n in names
                     if saved.get(n) != current.get(n))
