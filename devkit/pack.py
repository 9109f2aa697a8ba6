"""The repo root imported as a custom-node package, the way ComfyUI loads a pack folder."""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACK = "mils_pack"


def load_pack(name: str = PACK, root: Path = ROOT):
    """The pack package (its ``__init__`` run, nodes not yet imported); ``import_module(name + ".nodes")`` next."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, root / "__init__.py", submodule_search_locations=[str(root)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def pack_nodes(name: str = PACK):
    """The pack's ``nodes`` package, imported through the pack."""
    return importlib.import_module(load_pack(name).__name__ + ".nodes")
