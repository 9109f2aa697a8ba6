"""Fixtures for the opt-in tests against a real ComfyUI source tree.

The in-process fixtures here (``comfy``, ``stock_nodes``, ``tiny_checkpoint``, ``sd15``) import
ComfyUI into the test process itself; they are only set up by tests that ask for them. Run with
ComfyUI's own venv (it has torch, torchvision and ComfyUI's requirements; add the pack's deps and
pytest to it):

    COMFY_DIR=/path/to/ComfyUI /path/to/comfy-venv/bin/python -m pytest tests/comfyui -m comfyui -q

Without COMFY_DIR every test using these fixtures is skipped. ComfyUI is not on PyPI and its code
never goes into this repo: it is only put on sys.path, always with ``--cpu`` (``args.cpu = True``).

Checkpoint: MILS_TINY_SD15 (a file), else a ``*tiny*sd15*.safetensors`` in ComfyUI's checkpoints
folders (COMFY_BASE is used as ComfyUI's --base-directory when set), else a tiny random-weight
SD1.5-layout checkpoint is generated into the session's temp folder (about 300 MB, a few seconds).
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

HOW = ("set COMFY_DIR to a ComfyUI source tree and run pytest with ComfyUI's venv python "
       "(e.g. COMFY_DIR=~/ComfyUI ~/ComfyUI/venv/bin/python -m pytest tests/comfyui -m comfyui)")


def _comfy_dir() -> Path:
    value = os.environ.get("COMFY_DIR")
    if not value:
        pytest.skip(f"ComfyUI tests: {HOW}")
    d = Path(value).expanduser().resolve()
    if not (d / "comfy" / "sample.py").is_file() or not (d / "folder_paths.py").is_file():
        pytest.skip(f"ComfyUI tests: COMFY_DIR={value} is not a ComfyUI source tree (no comfy/sample.py)")
    return d


@pytest.fixture(scope="session")
def comfy(tmp_path_factory):
    """ComfyUI imported in-process on the CPU; returns its modules."""
    d = _comfy_dir()
    # Appended, not prepended: ComfyUI's top-level nodes.py must not shadow the pack's ``nodes`` package.
    if str(d) not in sys.path:
        sys.path.append(str(d))
    try:
        from comfy.cli_args import args

        args.cpu = True  # before comfy.model_management is imported, or it probes CUDA
        base = os.environ.get("COMFY_BASE")
        base = Path(base).expanduser().resolve() if base else tmp_path_factory.mktemp("comfy-base")
        args.base_directory = str(base)
        import comfy.model_management as mm
        import comfy.sample
        import comfy.samplers
        import comfy.sd
        import comfy.utils
        import folder_paths  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"ComfyUI tests: cannot import ComfyUI from {d} ({exc}); {HOW}")
    return SimpleNamespace(dir=d, args=args, folder_paths=folder_paths, mm=mm, sample=comfy.sample,
                           samplers=comfy.samplers, sd=comfy.sd, utils=comfy.utils)


@pytest.fixture(scope="session")
def stock_nodes(comfy):
    """ComfyUI's own nodes.py, imported under another name (``nodes`` is this pack's package)."""
    spec = importlib.util.spec_from_file_location("comfyui_stock_nodes", comfy.dir / "nodes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_checkpoint(comfy, tmp_path_factory) -> Path:
    explicit = os.environ.get("MILS_TINY_SD15")
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_file():
            pytest.fail(f"MILS_TINY_SD15={explicit} is not a file")
        return p
    fp = comfy.folder_paths
    for name in fp.get_filename_list("checkpoints"):
        low = name.lower()
        if "tiny" in low and "sd15" in low.replace("-", "").replace("_", "") and low.endswith(".safetensors"):
            return Path(fp.get_full_path("checkpoints", name))
    from devkit.tiny_models import make_tiny_sd15

    return make_tiny_sd15(_comfy_dir(), tmp_path_factory.mktemp("ckpt") / "tiny_sd15_random.safetensors")


@pytest.fixture(scope="session")
def sd15(comfy, tiny_checkpoint):
    """(MODEL, CLIP, VAE) exactly as CheckpointLoaderSimple returns them."""
    out = comfy.sd.load_checkpoint_guess_config(
        str(tiny_checkpoint), output_vae=True, output_clip=True,
        embedding_directory=comfy.folder_paths.get_folder_paths("embeddings"))
    model, clip, vae = out[:3]
    assert model is not None and clip is not None and vae is not None
    return model, clip, vae


@pytest.fixture(scope="module")
def browser_server(tmp_path_factory):
    """ComfyUI with the pack linked in and the tiny random LLM and CLIP (no checkpoint), for the editor
    suites; the media and model names the example workflows use are there, as a user who opens them has them."""
    from devkit import comfy_server
    from devkit.build_workflows import write_inputs, write_placeholders

    paths = comfy_server.comfy_paths()
    base = comfy_server.prepare_base(tmp_path_factory.mktemp("comfy_browser_base"), paths, checkpoint=False)
    write_inputs(base / "input")
    write_placeholders(base / "models")
    srv = comfy_server.start_server(base, paths)
    try:
        failures = comfy_server.import_failures(srv.log_text())
        assert not failures, failures
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def fake_llm_url():
    """A fake OpenAI-compatible LLM (numbered captions, different each call) on 127.0.0.1."""
    from devkit.editor import FakeLLM, serving

    with serving(FakeLLM) as url:
        yield url
