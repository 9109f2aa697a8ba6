"""Named model presets, explicit downloads, and turning a model spec (name, path, hub id) into a model.

Nothing here downloads at import. ``download`` is the only function that reaches the network,
and the CLI calls it only for preset names (``mils download NAME`` or the first ``mils caption``).
"""
from __future__ import annotations

import importlib
import json
import logging
from pathlib import Path

from .errors import InputError, ModelNotFoundError
from .presets import (  # noqa: F401
    GRAM_KINDS,
    LLM_FOLDER,
    PRESETS,
    SCORER_FOLDER,
    TASK_DEFAULTS,
    Preset,
    default_models_dir,
    download_command,
    get_preset,
    is_downloaded,
    is_vlm_config,
    preset_dir,
)

log = logging.getLogger(__name__)

def _offline_error(preset: Preset, target: Path, exc: Exception) -> ModelNotFoundError:
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
    gated = " It is gated: accept its licence on the hub and set HF_TOKEN." if preset.gated else ""
    option = "--llm" if preset.kind == "llm" else "--scorer"
    return ModelNotFoundError(
        f"cannot download {preset.name} ({preset.repo_id}): {reason}.{gated}\n"
        f"  Put its files in {target} and an empty file named .mils-complete beside them: on a machine with "
        f"network run `mils download {preset.name} --models-dir DIR` and copy DIR/{preset.folder}/{preset.name}, "
        f"or `{download_command(preset.repo_id, preset.name)}`.\n"
        f"  Or use a model you already have: {option} PATH (a folder or file).")


def download(name: str, models_dir: Path | str | None = None) -> Path:
    """Fetch a preset into ``models_dir/<folder>/<name>`` (progress bar from huggingface_hub)."""
    from huggingface_hub import snapshot_download

    preset = get_preset(name)
    models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
    target = preset_dir(preset, models_dir)
    if is_downloaded(preset, models_dir):
        log.info("%s is already in %s", name, target)
        return target
    try:
        snapshot_download(preset.repo_id, local_dir=str(target), allow_patterns=list(preset.allow_patterns or ()) or None)
        if preset.processor_repo:
            snapshot_download(preset.processor_repo, local_dir=str(target / "processor"),
                              allow_patterns=["*.json", "*.txt"])
    except Exception as exc:  # offline, gated, or missing repo: one clear message
        raise _offline_error(preset, target, exc) from exc
    (target / ".mils-complete").write_text(preset.repo_id + "\n")
    return target


def _local_preset(name: str, models_dir, allow_download: bool) -> tuple[Preset, Path]:
    preset = get_preset(name)
    models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
    target = preset_dir(preset, models_dir)
    if is_downloaded(preset, models_dir):
        return preset, target
    if allow_download:
        return preset, download(name, models_dir)
    raise ModelNotFoundError(
        f"model {name} is not in {target}. Fetch it with `mils download {name} --models-dir {models_dir}` "
        f"(or put the files of {preset.repo_id} there yourself)")


LLM_BACKENDS = ("transformers", "llama_cpp")


def load_llm(spec: str, *, models_dir=None, device: str = "auto", dtype: str = "auto",
             allow_download: bool = False, backend: str = "transformers"):
    """A local LLM from a preset name, a folder, a .gguf file, a hub id, or ``py:module:function``.

    ``backend``: "transformers" (default; reads .gguf files too) or "llama_cpp" (a .gguf file run by
    llama.cpp in process; needs the ``llama-cpp`` extra, see mils.generators.llama_cpp).
    """
    from .generators.transformers_lm import load_transformers_generator

    if not spec or not str(spec).strip():
        raise InputError("llm", "a preset name, a model folder, a .gguf file or a hub id")
    if backend not in LLM_BACKENDS:
        raise InputError("backend", f"one of {', '.join(LLM_BACKENDS)}", repr(backend))
    spec = str(spec).strip()
    if backend == "llama_cpp" and not spec.startswith("py:"):
        from .generators.llama_cpp import load_llama_cpp_generator

        path = _local_preset(spec, models_dir, allow_download)[1] if spec in PRESETS else spec
        return load_llama_cpp_generator(str(path))
    if spec.startswith("py:"):
        return _load_factory(spec[3:], "llm")
    if spec in PRESETS:
        preset, path = _local_preset(spec, models_dir, allow_download)
        if preset.kind != "llm":
            raise InputError("llm", "an LLM preset", f"{spec} (a {preset.kind} scorer)")
        return load_transformers_generator(str(path), device=device, dtype=dtype)
    return load_transformers_generator(spec, device=device, dtype=dtype)


def _load_factory(ref: str, name: str = "scorer"):
    """``module:function``: a user's own backend, built by calling the function with no arguments."""
    mod_name, _, attr = ref.partition(":")
    if not attr:
        raise InputError(name, "py:<module>:<function> naming a function that builds the model", ref)
    try:
        return getattr(importlib.import_module(mod_name), attr)()
    except (ImportError, AttributeError) as exc:
        raise InputError(name, f"an importable function {ref}", str(exc)) from exc


def detect_scorer_kind(path: Path) -> str:
    """Which loader a local scorer folder or file needs."""
    if path.is_file():
        return "open_clip"
    if (path / "open_clip_config.json").is_file():
        return "open_clip"
    cfg = path / "config.json"
    if cfg.is_file():
        try:
            config = json.loads(cfg.read_text())
        except (OSError, ValueError):
            config = {}
        model_type = config.get("model_type", "") if isinstance(config, dict) else ""
        if model_type == "clap":
            return "clap"
        if model_type == "xclip":
            return "xclip"
        if isinstance(config, dict) and str(config.get("architecture", "")).startswith("vgg"):
            return "vgg19"  # timm's vgg19.tv_in1k: Gram features, refused by the encoder loaders
        if is_vlm_config(config):
            return "vlm"
        if (path / "processor").is_dir():
            return "pickscore"
        return "hf_clip"
    raise InputError("scorer", "a folder with open_clip_config.json or a transformers config.json", str(path))


def checkpoint_spec(folder: Path) -> str | None:
    """``ARCH:FILE`` for a folder that holds a preset's single open_clip checkpoint (HPSv2.1), else None."""
    for preset in PRESETS.values():
        if preset.checkpoint and folder.is_dir() and (folder / preset.checkpoint).is_file():
            return f"{preset.architecture}:{folder / preset.checkpoint}"
    return None


def load_scorer_model(spec: str, *, models_dir=None, device: str = "auto", dtype: str = "auto",
                      allow_download: bool = False):
    """An encoder from a preset, a local folder/file, ``kind:source`` or ``py:module:factory``.

    Kinds: ``open_clip:<model name>[:<pretrained tag or checkpoint file>]``, ``open_clip:hf-hub:org/repo``,
    ``open_clip:local-dir:/folder``, ``hf:<folder or hub id>`` (transformers CLIP/SigLIP),
    ``pickscore:<folder or hub id>``, ``clap:<folder or hub id>``, ``xclip:<folder or hub id>`` (video-text),
    ``vlm:<preset, folder, hub id or server>`` (a VLM judge, mils.scorers.vlm_judge; a server as
    ``vlm:http://host:port/v1[#model]``),
    ``mix:0.7*SPEC,0.3*SPEC`` (a weighted mix of scorers, see mils.scorers.mix).
    """
    if not spec or not str(spec).strip():
        raise InputError("scorer", "a preset name, a model folder, or kind:source")
    spec = str(spec).strip()
    if spec.startswith("vlm:") and spec[4:] in PRESETS:
        spec = spec[4:]
    if spec.startswith("mix:"):
        from .scorers.mix import load_mix

        return load_mix(spec, lambda part: load_scorer_model(part, models_dir=models_dir, device=device, dtype=dtype,
                                                             allow_download=allow_download), presets=list(PRESETS))
    if spec in PRESETS:
        if PRESETS[spec].kind in GRAM_KINDS:
            raise InputError("scorer", "a text-image or text-audio encoder preset",
                             f"{spec} (VGG19 features for the Gram style scorer: load them with "
                             f"load_gram_features or the MILS Gram Style node)")
        preset, path = _local_preset(spec, models_dir, allow_download)
        if preset.kind == "llm":
            raise InputError("scorer", "a scorer preset", f"{spec} (an LLM)")
        kind, source = preset.kind, str(path)
        if kind == "open_clip":
            source = f"{preset.architecture}:{path / preset.checkpoint}" if preset.checkpoint else f"local-dir:{path}"
    elif spec.startswith("py:"):
        return _load_factory(spec[3:])
    elif Path(spec).exists() and checkpoint_spec(Path(spec)):
        kind, source = "open_clip", checkpoint_spec(Path(spec))
    elif Path(spec).exists():
        kind, source = detect_scorer_kind(Path(spec)), spec
        if kind == "open_clip" and Path(spec).is_dir():
            source = f"local-dir:{spec}"
    else:
        kind, _, source = spec.partition(":")
        if not source:
            raise ModelNotFoundError(
                f"scorer {spec!r} is neither a preset "
                f"({', '.join(n for n, p in PRESETS.items() if p.kind != 'llm' and p.kind not in GRAM_KINDS)}), "
                f"nor an existing file or folder, nor kind:source")
    return _load_kind(kind, source, device=device, dtype=dtype)


def _load_kind(kind: str, source: str, *, device: str, dtype: str):
    if kind == "open_clip":
        from .scorers.open_clip_encoder import load_open_clip

        if source.startswith(("local-dir:", "hf-hub:")):
            return load_open_clip(source, device=device, dtype=dtype)
        name, _, pretrained = source.partition(":")
        return load_open_clip(name, pretrained or None, device=device, dtype=dtype)
    if kind in ("hf", "hf_clip"):
        from .scorers.hf_clip import load_hf_clip

        return load_hf_clip(source, device=device, dtype=dtype)
    if kind == "pickscore":
        from .scorers.hf_clip import load_pickscore

        proc = Path(source) / "processor"
        return load_pickscore(source, processor_source=str(proc) if proc.is_dir() else None, device=device, dtype=dtype)
    if kind == "clap":
        from .scorers.clap import load_clap

        return load_clap(source, device=device, dtype=dtype)
    if kind == "xclip":
        from .scorers.xclip import load_xclip

        return load_xclip(source, device=device, dtype=dtype)
    if kind == "vlm":
        from .scorers.vlm_judge import load_vlm_judge

        return load_vlm_judge(source, device=device, dtype=dtype)
    if kind in GRAM_KINDS:
        raise InputError("scorer", "a text-image or text-audio encoder",
                         f"{source} (VGG19 features for the Gram style scorer: use load_gram_features)")
    raise InputError("scorer", "kind open_clip, hf, pickscore, clap, xclip, vlm, mix or py", repr(kind))


def load_gram_features(spec: str, *, models_dir=None, device: str = "auto", dtype: str = "float32",
                       allow_download: bool = False):
    """Feature extractor for the Gram style scorer (``mils.scorers.gram``).

    ``spec``: the preset ``vgg19`` (downloaded into ``models_dir/mils/vgg19`` by `mils download vgg19`),
    a local VGG19 weights file or folder (torchvision ``vgg19-*.pth`` or timm ``model.safetensors``),
    ``vgg19:<path>``, or ``py:module:function`` returning any ``FeatureExtractor``.
    """
    from .scorers.gram_features import load_vgg19

    if not spec or not str(spec).strip():
        raise InputError("features", "vgg19, a VGG19 weights file or folder, or py:module:function")
    spec = str(spec).strip()
    if spec.startswith("py:"):
        return _load_factory(spec[3:], "features")
    if spec in PRESETS:
        if PRESETS[spec].kind not in GRAM_KINDS:
            raise InputError("features", "a Gram feature preset (vgg19)", f"{spec} (a {PRESETS[spec].kind} model)")
        _, path = _local_preset(spec, models_dir, allow_download)
        return load_vgg19(path, device=device, dtype=dtype)
    if spec.startswith("vgg19:"):
        spec = spec[len("vgg19:"):]
    return load_vgg19(spec, device=device, dtype=dtype)
