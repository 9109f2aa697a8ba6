"""Loading diffusers pipelines (text-to-image, instruction edit, image-to-image) through the model cache.

diffusers is imported lazily, so the rest of the package works without it
(``pip install "mils-nodes[diffusers]"``).
"""
from __future__ import annotations

import hashlib
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, MilsError
from ..model_cache import load_cached
from ..presets import download_command
from ..scorers import _preprocess as pp

log = logging.getLogger(__name__)

INSTALL_HINT = 'pip install "mils-nodes[diffusers]"'
_PIPELINE_EXPECTED = "a diffusers pipeline folder (with model_index.json) or a hub id"
_TASKS = ("text2image", "edit")
_FINGERPRINT_SUFFIXES = (".json", ".safetensors", ".bin", ".txt", ".model", ".pt", ".ckpt", ".gguf")


class MissingDependencyError(MilsError, ImportError):
    """An optional dependency (here diffusers) is not installed; the message says how to install it."""


def _require_diffusers():
    try:
        import diffusers  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            f"rendering with diffusers pipelines needs the diffusers package: {INSTALL_HINT} "
            f"(or pip install 'diffusers>=0.30'); import failed: {exc}") from exc
    return diffusers


# --------------------------------------------------------------------------------------------
# Loading


@dataclass(frozen=True)
class _Source:
    location: str   # resolved folder or hub id
    local: bool


def _resolve_source(source) -> _Source:
    if source is None or not str(source).strip():
        raise InputError("pipeline", _PIPELINE_EXPECTED, repr(source))
    raw = str(source).strip()
    path = Path(raw).expanduser()
    if path.exists():
        if not path.is_dir():
            raise InputError("pipeline", _PIPELINE_EXPECTED,
                             f"{path}, a file: single-file checkpoints are not pipelines; load it with diffusers' "
                             f"from_single_file and save_pretrained the pipeline to a folder")
        folder = path.resolve()
        if not (folder / "model_index.json").is_file():
            what = ("it holds a single model (config.json), not a whole pipeline"
                    if (folder / "config.json").is_file() else "there is no model_index.json in it")
            raise InputError("pipeline", _PIPELINE_EXPECTED, f"the folder {folder}, which is not a pipeline: {what}")
        return _Source(str(folder), True)
    if pp.looks_like_path(raw):
        raise pp.missing_local_model(
            path, what="diffusers pipeline folder",
            provide="a diffusers pipeline folder (model_index.json and its component folders, as written by "
                    f"save_pretrained or `{download_command('<hub id>', '<folder>')}`)")
    return _Source(raw, False)


def _fingerprint(folder: Path) -> str:
    """Identity of a pipeline folder: its config and weight files (name, size, head and tail hash)."""
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*")):
        rel = f.relative_to(folder)
        if len(rel.parts) <= 2 and f.is_file() and f.suffix in _FINGERPRINT_SUFFIXES:
            h.update(str(rel.as_posix()).encode())
            h.update(pp.file_fingerprint(f).encode())
    return f"{folder.name}:{h.hexdigest()[:12]}"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def _auto_load(auto_cls, diffusers, location: str, kwargs: dict):
    """An AutoPipeline, or the folder's own pipeline class when the AutoPipeline has no mapping for it."""
    try:
        return auto_cls.from_pretrained(location, **kwargs)
    except ValueError as exc:
        if "can't find" not in str(exc):
            raise
        log.info("%s has no mapping for %s; loading the folder's own pipeline class", auto_cls.__name__, location)
        return diffusers.DiffusionPipeline.from_pretrained(location, **kwargs)


def _from_pretrained(src: _Source, task: str, torch_dtype):
    diffusers = _require_diffusers()
    kwargs: dict[str, Any] = {"torch_dtype": torch_dtype}
    if src.local:
        kwargs["local_files_only"] = True
    auto = diffusers.AutoPipelineForText2Image if task == "text2image" else diffusers.AutoPipelineForImage2Image
    try:
        with warnings.catch_warnings():
            # torch_dtype works from diffusers 0.30 on; newer releases prefer dtype and say so
            warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
            return _auto_load(auto, diffusers, src.location, kwargs)
    except MilsError:
        raise
    except Exception as exc:
        if src.local:
            raise InputError("pipeline", "a loadable diffusers pipeline folder",
                             f"the folder {src.location}, which failed to load as a pipeline "
                             f"({type(exc).__name__}: {first_line(exc)})") from exc
        if pp.is_download_failure(exc):
            raise pp.hub_model_unavailable(src.location, what="diffusers pipeline", cause=exc,
                                           pass_as="pipeline='{path}'") from exc
        raise InputError("pipeline", "a loadable diffusers pipeline",
                         f"{src.location} ({type(exc).__name__}: {first_line(exc)})") from exc


def load_diffusers_pipeline(source: str | os.PathLike, device: str = "auto", dtype: str = "auto", *,
                            task: str = "text2image"):
    """Load (or fetch from MODEL_CACHE) a diffusers pipeline from a folder or a hub id.

    ``task="text2image"`` goes through AutoPipelineForText2Image, ``"edit"`` through
    AutoPipelineForImage2Image (which turns a text-to-image folder into its image-to-image
    pipeline); a pipeline class neither knows (InstructPix2Pix, community pipelines) loads as
    itself through DiffusionPipeline. The pipeline is moved to ``device`` ("auto": cuda, mps, cpu)
    in ``dtype`` ("auto": bf16/fp16 on GPUs, fp32 on the CPU), with its progress bar off.

    Raises InputError (naming ``pipeline``) for a folder that is not a loadable pipeline,
    ModelNotFoundError for a missing path or a hub id that is neither cached nor downloadable, and
    MissingDependencyError when diffusers is not installed.
    """
    if task not in _TASKS:
        raise InputError("task", f"one of {', '.join(_TASKS)}", repr(task))
    src = _resolve_source(source)
    _require_diffusers()

    def load(dev: str, torch_dtype):
        pipe = _from_pretrained(src, task, torch_dtype)
        pipe = pipe.to(dev)
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        ident = _fingerprint(Path(src.location)) if src.local else src.location
        pipe._mils_ident = f"{ident}:{type(pipe).__name__}"
        log.info("diffusers %s ready on %s (%s)", pipe._mils_ident, dev, torch_dtype)
        return pipe

    return load_cached("renderer", f"diffusers:{src.location}", load, device=device, dtype=dtype, extra=f"task={task}")
