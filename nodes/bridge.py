"""ComfyUI's services for the nodes: model folders, progress, interrupt, UI events, routes, sampler names.

The ComfyUI seam: only three modules of the pack import ComfyUI, this one (services), ``model_memory``
(model management for the pack's own models) and ``comfy_render`` (sampling on the user's MODEL / CLIP /
VAE). Every other module goes through them.
Each function here imports ComfyUI lazily and degrades to a no-op (or a plain default) outside it,
so the node classes run in tests without ComfyUI.
"""
from __future__ import annotations

import inspect
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable

from mils import errors, registry
from mils.cancel import CancelCheck
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


def interrupt_check(also: Callable[[], bool] | None = None) -> CancelCheck:
    """The engine's cancel check: ComfyUI's interrupt flag (or ``also()``), and its interrupt exception wherever
    it is raised inside the search (a sampler, a progress bar) even after ComfyUI has cleared the flag."""
    errors: tuple[type[BaseException], ...] = ()
    if in_comfyui():
        import comfy.model_management as mm

        errors = (mm.InterruptProcessingException,)
    return CancelCheck(lambda: interrupt_requested() or bool(also and also()), errors=errors)


def runs_async_nodes() -> bool:
    """Whether this ComfyUI's executor awaits a node whose function is a coroutine (its executor is a
    coroutine itself, as in v0.8.0 and later); older versions would take the coroutine for the output."""
    execution = sys.modules.get("execution")
    return execution is not None and inspect.iscoroutinefunction(getattr(execution, "get_output_data", None))


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
    not JSON; for GET the query parameters). Plain Python handlers stay testable without ComfyUI; False outside
    it."""
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
            body = dict(request.query) if method == "GET" else await request.json()
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
