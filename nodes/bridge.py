"""ComfyUI's services for the nodes: model folders, progress, interrupt, UI events, model management,
sampler names.

The ComfyUI seam: only two modules of the pack import ComfyUI, this one (services) and
``comfy_render`` (sampling on the user's MODEL / CLIP / VAE). Every other module goes through them.
Each function here imports ComfyUI lazily and degrades to a no-op (or a plain default) outside it,
so the node classes run in tests without ComfyUI.
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

import torch

from mils import errors, registry
from mils.cancel import CancelCheck
from mils.model_cache import MODEL_CACHE
from mils.presets import LLM_FOLDER, SCORER_FOLDER, download_command

log = logging.getLogger(__name__)

_MODEL_EXTENSIONS = {".gguf", ".safetensors", ".pt", ".pth", ".bin"}


def in_comfyui() -> bool:
    return "folder_paths" in sys.modules and "comfy.model_management" in sys.modules


# --- model folders ---------------------------------------------------------------------------

def register_model_folders() -> None:
    """models/LLM (community convention) and models/mils, plus whatever extra_model_paths.yaml adds."""
    if "folder_paths" not in sys.modules:
        return
    import folder_paths

    for key in (LLM_FOLDER, SCORER_FOLDER):
        folder_paths.add_model_folder_path(key, os.path.join(folder_paths.models_dir, key))


def model_folders(key: str) -> list[Path]:
    """The folders ComfyUI searches for ``key``; outside ComfyUI, MILS_MODELS_DIR/<key>."""
    if "folder_paths" in sys.modules:
        import folder_paths

        try:
            return [Path(p) for p in folder_paths.get_folder_paths(key)]
        except KeyError:
            return []
    return [registry.default_models_dir() / key]


def list_models(key: str) -> list[str]:
    """Entries of a model folder usable as a model: sub-folders (a model per folder) and model files."""
    out: set[str] = set()
    for root in model_folders(key):
        if not root.is_dir():
            continue
        for entry in sorted(root.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                out.add(entry.name)
                out.update(f"{entry.name}/{f.name}" for f in entry.glob("*.gguf"))
            elif entry.suffix.lower() in _MODEL_EXTENSIONS:
                out.add(entry.name)
    return sorted(out)


def resolve_model(key: str, name: str) -> Path | None:
    for root in model_folders(key):
        p = root / name
        if p.exists():
            return p
    return None


def _looks_like_hub_id(source: str) -> bool:
    s = source.removeprefix("hf-hub:")
    return s.count("/") == 1 and not Path(s).exists() and not s.startswith((".", "/", "~"))


def require_local(source: str, input_name: str, marker: str = "config.json") -> None:
    """Nodes never download: a Hugging Face id must already be in the local HF cache.

    Local paths pass through; open_clip "name:pretrained" tags are checked through the repo
    open_clip would fetch them from.
    """
    from huggingface_hub import try_to_load_from_cache

    repo = None
    if _looks_like_hub_id(source):
        repo = source.removeprefix("hf-hub:")
        if source.startswith("hf-hub:"):
            marker = "open_clip_config.json"
    elif source.count(":") == 1 and not Path(source).exists():
        name, tag = source.split(":")
        try:
            import open_clip

            repo = (open_clip.get_pretrained_cfg(name, tag) or {}).get("hf_hub", "").strip("/") or None
        except Exception:
            repo = None
        marker = "open_clip_config.json" if repo else marker
    if repo is None:
        return
    cached = try_to_load_from_cache(repo, marker)
    if not isinstance(cached, str):
        raise errors.InputError(
            input_name, f"a model already on this machine: {repo} is not in the Hugging Face cache. Fetch it "
                        f"explicitly (MILS Download Model, `mils download`, or `{download_command(repo)}`)")


def default_download_dir() -> Path:
    """ComfyUI's models folder (downloads land in models/LLM and models/mils); outside, MILS_MODELS_DIR."""
    if "folder_paths" in sys.modules:
        import folder_paths

        return Path(folder_paths.models_dir)
    return registry.default_models_dir()


# --- sampling settings ------------------------------------------------------------------------

FALLBACK_SAMPLERS = ["euler", "euler_ancestral", "dpmpp_2m"]
FALLBACK_SCHEDULERS = ["normal", "karras", "simple"]


def sampler_choices() -> tuple[list[str], list[str]]:
    """ComfyUI's sampler and scheduler names for the widgets; a short default list outside ComfyUI."""
    try:
        import comfy.samplers
    except ImportError:
        return list(FALLBACK_SAMPLERS), list(FALLBACK_SCHEDULERS)
    return list(comfy.samplers.KSampler.SAMPLERS), list(comfy.samplers.KSampler.SCHEDULERS)


# --- progress, interrupt, UI events ----------------------------------------------------------

class _NoProgress:
    def update_absolute(self, value, total=None, preview=None):
        pass


def progress_bar(total: int):
    if not in_comfyui():
        return _NoProgress()
    import comfy.utils

    return comfy.utils.ProgressBar(max(1, total))


def interrupt_requested() -> bool:
    if not in_comfyui():
        return False
    import comfy.model_management as mm

    return mm.processing_interrupted()


def interrupt_check() -> CancelCheck:
    """The engine's cancel check: ComfyUI's interrupt flag, and its interrupt exception wherever it is raised
    inside the search (a sampler, a progress bar) even after ComfyUI has cleared the flag."""
    errors: tuple[type[BaseException], ...] = ()
    if in_comfyui():
        import comfy.model_management as mm

        errors = (mm.InterruptProcessingException,)
    return CancelCheck(lambda: interrupt_requested(), errors=errors)


def raise_interrupted() -> None:
    """ComfyUI's own interrupt exception, so the queue marks the run as interrupted (never as an error);
    outside ComfyUI nothing (the caller returns what the cancelled search found)."""
    if in_comfyui():
        import comfy.model_management as mm

        mm.throw_exception_if_processing_interrupted()   # clears the flag where it is still set
        raise mm.InterruptProcessingException()


def is_interrupt(exc: BaseException) -> bool:
    """True if ``exc`` is ComfyUI's interrupt. Its progress-bar hook raises it from inside a model call
    (CLIP.generate) and clears the flag as it raises, so the exception itself is the only sign left."""
    if not in_comfyui():
        return False
    import comfy.model_management as mm

    return isinstance(exc, mm.InterruptProcessingException)


def state_dir() -> Path:
    """Where interrupted searches keep their state: ComfyUI's temp folder (emptied at each start), else the
    system's temp folder."""
    if in_comfyui():
        import folder_paths

        return Path(folder_paths.get_temp_directory()) / "mils-states"
    return Path(tempfile.gettempdir()) / "mils-node-states"


def send_event(event: str, data: dict) -> None:
    """A websocket event to the editor (the pack's JS listens); nothing outside ComfyUI."""
    if "server" not in sys.modules:
        return
    try:
        from server import PromptServer

        server = PromptServer.instance
        if server is not None:
            # only the editor that queued the run (as ComfyUI does for its own progress events)
            server.send_sync(event, data, sid=getattr(server, "client_id", None))
    except Exception as exc:  # the UI is optional; a failed event must not fail the run
        log.debug("could not send %s: %s", event, exc)


def current_prompt_id() -> str | None:
    """The id of the prompt ComfyUI is executing (what the editor steers a run by); None outside ComfyUI."""
    if "server" not in sys.modules:
        return None
    try:
        from server import PromptServer

        return getattr(PromptServer.instance, "last_prompt_id", None)
    except Exception:
        return None


def add_json_route(method: str, path: str, handler) -> bool:
    """A JSON route on ComfyUI's server: ``handler(body) -> (status, dict)`` with the parsed body (None when it is
    not JSON). Plain Python handlers stay testable without ComfyUI; False outside it."""
    if "server" not in sys.modules:
        return False
    try:
        from aiohttp import web
        from server import PromptServer

        server = PromptServer.instance
        if server is None:
            return False
    except Exception as exc:
        log.debug("no ComfyUI server for %s: %s", path, exc)
        return False

    async def route(request):
        try:
            body = await request.json()
        except Exception:
            body = None
        try:
            status, payload = handler(body)
        except Exception as exc:  # a bug in a handler answers 500 and never takes the server down
            log.exception("%s %s failed", method, path)
            status, payload = 500, {"error": f"{type(exc).__name__}: {exc}"}
        return web.json_response(payload, status=status)

    server.routes.route(method, path)(route)
    return True


# --- memory ------------------------------------------------------------------------------------

def load_device_for(device: str) -> str:
    """Models are loaded on ComfyUI's offload device; ComfyUI moves them to the GPU when used."""
    if not in_comfyui() or device not in ("auto", ""):
        return device
    import comfy.model_management as mm

    return str(mm.unet_offload_device())


_PRECISIONS = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def compute_dtype(dtype: str, device: str = "auto") -> str:
    """The precision a MILS model loads in, as a dtype widget value.

    Inside ComfyUI, "auto" is what ComfyUI picks for a text encoder on the device the model COMPUTES on
    (not the offload device it is loaded on): bfloat16, else float16, on a GPU that supports it, float32
    on the CPU; --fp32-text-enc / --fp16-text-enc / --bf16-text-enc override it as for ComfyUI's own
    encoders. An explicit precision the compute device cannot run is an error naming ``dtype``.
    Outside ComfyUI the value is passed on (the engine resolves "auto").
    """
    if dtype not in ("auto", "") and dtype not in _PRECISIONS:
        raise errors.InputError("dtype", f"one of auto, {', '.join(_PRECISIONS)}", repr(dtype))
    if not in_comfyui():
        return dtype
    import comfy.model_management as mm

    dev = mm.get_torch_device() if device in ("auto", "") else torch.device(device)
    supported = [name for name in _PRECISIONS if _supports(mm, dev, name)]
    if dtype in ("auto", ""):
        forced = _forced_text_encoder_dtype(mm)
        if forced in supported:
            return forced
        if mm.is_device_cpu(dev):
            return "float32"
        for name, ask in (("bfloat16", mm.should_use_bf16), ("float16", mm.should_use_fp16)):
            if ask(dev, prioritize_performance=False):
                return name
        return "float32"
    if dtype not in supported:
        raise errors.InputError("dtype", f"a precision {dev} supports ({', '.join(['auto'] + supported)})", dtype)
    return dtype


def _supports(mm, dev, name: str) -> bool:
    """Whether ``dev`` computes in ``name`` at all (ComfyUI's answer when casting manually)."""
    if name == "float32" or mm.is_device_cpu(dev):
        return True
    ask = mm.should_use_bf16 if name == "bfloat16" else mm.should_use_fp16
    return bool(ask(dev, prioritize_performance=False, manual_cast=True))


def _forced_text_encoder_dtype(mm) -> str | None:
    args = getattr(mm, "args", None)
    for flag, name in (("fp32_text_enc", "float32"), ("fp16_text_enc", "float16"), ("bf16_text_enc", "bfloat16")):
        if getattr(args, flag, False):
            return name
    return None


class _Holder(torch.nn.Module):
    """A plain container ComfyUI's ModelPatcher can set attributes on."""

    def __init__(self, module):
        super().__init__()
        self.inner = module


class _Resident:
    """The loaded model as the engine sees it: each generate* / encode* / score* / preprocess / layers call
    first makes the weights resident (ComfyUI may have evicted them, or partly, for the sampler since the
    last call); preprocess puts its inputs where the weights are. Every other attribute is the model's own."""

    _CALLS = ("generate", "encode", "score", "preprocess", "layers")

    def __init__(self, obj, ensure):
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_ensure", ensure)

    def __getattr__(self, name):
        value = getattr(self._obj, name)
        if not (callable(value) and name.startswith(self._CALLS)):
            return value
        ensure = self._ensure

        def resident(*args, **kwargs):
            ensure()
            return value(*args, **kwargs)

        resident.__name__ = name
        resident.__doc__ = getattr(value, "__doc__", None)
        return resident

    def __setattr__(self, name, value):
        setattr(self._obj, name, value)

    def __repr__(self) -> str:
        return repr(self._obj)


class ManagedModel:
    """A MILS model behind a node socket, loaded lazily and known to ComfyUI's model management.

    ``use()`` loads it (once; MODEL_CACHE shares it between nodes and queue runs) and returns it wrapped
    so that inside ComfyUI every generate / encode / score call first asks model management to make the
    weights resident on the compute device, loaded fully (the modules are plain torch modules, which
    ComfyUI cannot run split across devices), evicting other models if VRAM is short. "Unload models",
    VRAM pressure or a sampler between two calls move them back to the offload device. ``release()``
    (keep_loaded off) unloads and drops the model after the run.
    """

    def __init__(self, load, *, label: str, keep_loaded: bool = True):
        self._load = load
        self.label = label
        self.keep_loaded = keep_loaded
        self.obj = None
        self._patcher = None
        self._resident = None
        self.loads = 0   # how many times model management was asked to make it resident

    def __repr__(self) -> str:
        return f"<MILS model {self.label}>"

    @property
    def patcher(self):
        """The ModelPatcher ComfyUI's model management knows the model by (None outside ComfyUI)."""
        return self._patcher

    def _wrap(self, obj) -> None:
        module = getattr(obj, "model", None)
        if in_comfyui() and module is not None and hasattr(module, "parameters"):
            import comfy.model_management as mm
            import comfy.model_patcher

            # ModelPatcher sets attributes such as ``device`` on the module it manages; transformers
            # models expose ``device`` as a read-only property, so hand it a plain container instead.
            self._patcher = comfy.model_patcher.ModelPatcher(_Holder(module), load_device=mm.get_torch_device(),
                                                              offload_device=mm.unet_offload_device())

    def make_resident(self) -> None:
        """Put the whole model on the compute device now (a no-op when it is there, or outside ComfyUI)."""
        if self._patcher is None:
            return
        import comfy.model_management as mm

        # force_full_load: a plain module partly loaded would have its layers on two devices
        mm.load_models_gpu([self._patcher], force_full_load=True)
        self.loads += 1

    def use(self):
        if self.obj is None:
            self.obj = self._load()
            self._wrap(self.obj)
            self._resident = _Resident(self.obj, self.make_resident) if self._patcher is not None else self.obj
        self.make_resident()
        return self._resident

    def release(self) -> None:
        if self.keep_loaded or self.obj is None:
            return
        if self._patcher is not None:
            unload_from_comfyui(self._patcher)
        for key in MODEL_CACHE.keys():
            if MODEL_CACHE.peek(key) is self.obj:
                MODEL_CACHE.unload(key)
        self.obj, self._patcher, self._resident = None, None, None


def unload_from_comfyui(patcher) -> None:
    """Unload one model from ComfyUI's model management: through its public ``unload_model_and_clones``
    where this ComfyUI has it (v0.28 does), else (v0.8) by taking it off model management's loaded list."""
    import comfy.model_management as mm

    if hasattr(mm, "unload_model_and_clones"):
        if any(m is patcher for m in mm.loaded_models()):
            mm.unload_model_and_clones(patcher, unload_additional_models=False)
    else:
        for i in range(len(mm.current_loaded_models) - 1, -1, -1):
            if mm.current_loaded_models[i].model is patcher:
                mm.current_loaded_models.pop(i).model_unload()
    mm.soft_empty_cache()
