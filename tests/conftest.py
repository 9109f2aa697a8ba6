import importlib.util
import logging
import os
import sys
from pathlib import Path

import pytest

import mils  # noqa: F401  (first, as a pip user has it: the pack then shares this engine)

ROOT = Path(__file__).resolve().parents[1]
PACK = "mils_pack"


def load_pack(name: str = PACK):
    """The repo root imported as a custom-node package, the way ComfyUI loads a pack folder."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "__init__.py",
                                                      submodule_search_locations=[str(ROOT)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


load_pack()  # test modules import the node classes as mils_pack.nodes.*

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
logging.getLogger("httpx").setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own MILS cache dir so disk caches never leak between tests."""
    monkeypatch.setenv("MILS_CACHE_DIR", str(tmp_path / "mils-cache"))
