"""ComfyUI entry point of the MILS node pack.

ComfyUI imports this file as a package named after the pack's folder. Outside ComfyUI (pytest
imports it while collecting, pip users import ``mils`` directly) it must import cleanly and
register nothing, so everything ComfyUI-specific sits behind the ``folder_paths`` check:
ComfyUI imports ``folder_paths`` long before it loads custom nodes.

The nodes import the engine relatively (``<pack>.mils``). So that a pip-installed or already
imported ``mils`` and the pack never hold two engine copies (two model caches, two sets of error
classes), the two names are made one module tree here, before any node module loads: when
``mils`` is already imported, ``<pack>.mils.*`` resolves to it; otherwise ``mils.*`` resolves to
the pack's copy.
"""
import importlib
import importlib.abc
import importlib.util
import logging
import sys

NODE_CLASS_MAPPINGS: dict = {}
NODE_DISPLAY_NAME_MAPPINGS: dict = {}
WEB_DIRECTORY = "./web"


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of ``alias`` and ``alias.<sub>`` return the modules named ``target`` and ``target.<sub>``."""

    def __init__(self, alias: str, target: str):
        self.alias, self.target = alias, target

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.alias and not fullname.startswith(self.alias + "."):
            return None
        module = importlib.import_module(self.target + fullname[len(self.alias):])
        spec = importlib.util.spec_from_loader(fullname, self, is_package=hasattr(module, "__path__"))
        spec.loader_state = (module, module.__spec__)
        return spec

    def create_module(self, spec):
        return spec.loader_state[0]

    def exec_module(self, module):
        spec = module.__spec__
        if spec.loader is self:  # the import system gave it the alias spec: the module keeps its own
            module.__spec__ = spec.loader_state[1]


def _share_engine(pack: str) -> None:
    ours = pack + ".mils"
    if ours in sys.modules or any(getattr(f, "alias", None) in (ours, "mils") for f in sys.meta_path):
        return
    if "mils" in sys.modules:
        engine, ours_version = sys.modules["mils"], _pack_version()
        if getattr(engine, "__version__", None) != ours_version:
            logging.getLogger(__name__).warning(
                "MILS: the imported mils %s (%s) is not the pack's version %s; the pack uses the imported one",
                getattr(engine, "__version__", "?"), getattr(engine, "__file__", "?"), ours_version)
        sys.meta_path.insert(0, _Alias(ours, "mils"))
    else:
        sys.meta_path.insert(0, _Alias("mils", ours))


def _pack_version() -> str:
    import os
    import re

    with open(os.path.join(os.path.dirname(__file__), "mils", "__init__.py"), encoding="utf-8") as f:
        m = re.search(r'^__version__ = "([^"]+)"', f.read(), re.M)
    return m.group(1) if m else "?"


if __package__:
    _share_engine(__package__)
    if "folder_paths" in sys.modules:
        from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS  # noqa: F401,F811

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
