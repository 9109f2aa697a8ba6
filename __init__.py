"""ComfyUI entry point of the MILS node pack.

ComfyUI imports this file as a package named after the pack's folder. Outside ComfyUI (pytest
imports it while collecting, pip users import ``mils`` directly) it must import cleanly and
register nothing, so everything ComfyUI-specific sits behind the ``folder_paths`` check:
ComfyUI imports ``folder_paths`` long before it loads custom nodes.

The engine is the top-level package ``mils`` (``src/mils`` in this folder), and the nodes import
it by that name, so the pack and ``import mils`` always share one engine copy (one model cache, one
set of error classes) and module names never depend on which is imported first. An importable
``mils`` (e.g. ``pip install mils-nodes``, or ``pip install -e .`` of this folder) is used as is;
only when there is none is ``src`` appended to ``sys.path``, and ``src`` holds nothing but ``mils``.
"""
import importlib.util
import logging
import os
import re
import sys

NODE_CLASS_MAPPINGS: dict = {}
NODE_DISPLAY_NAME_MAPPINGS: dict = {}
WEB_DIRECTORY = "./web"

_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "src")


def _version_in(init_file) -> str:
    try:
        with open(init_file, encoding="utf-8") as f:
            m = re.search(r'^__version__ = "([^"]+)"', f.read(), re.M)
    except OSError:
        return "?"
    return m.group(1) if m else "?"


def _use_engine() -> None:
    """Make ``import mils`` work: the importable one if any, else this pack's ``src/mils``."""
    try:
        spec = importlib.util.find_spec("mils")
    except (ImportError, ValueError):   # a broken or spec-less module named mils
        spec = None
    if spec is None or spec.origin is None:   # none, or only a namespace folder named mils
        if _SRC not in sys.path:
            sys.path.append(_SRC)
        return
    ours = os.path.join(_SRC, "mils", "__init__.py")
    if os.path.normcase(os.path.realpath(spec.origin)) == os.path.normcase(os.path.realpath(ours)):
        return
    engine = sys.modules.get("mils")
    theirs = getattr(engine, "__version__", None) or _version_in(spec.origin)
    if theirs != _version_in(ours):
        logging.getLogger(__name__).warning(
            "MILS: the installed mils %s (%s) is not this pack's version %s; the pack uses the installed one",
            theirs, spec.origin, _version_in(ours))


if __package__:
    _use_engine()
    if "folder_paths" in sys.modules:
        from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS  # noqa: F401,F811

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
