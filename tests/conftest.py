import logging
import os

import pytest

import mils  # noqa: F401  (first, as a pip user has it: the pack then shares this engine)
from devkit.pack import load_pack  # noqa: E402

load_pack()  # test modules import the node classes as mils_pack.nodes.*

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
logging.getLogger("httpx").setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own MILS cache dir so disk caches never leak between tests."""
    monkeypatch.setenv("MILS_CACHE_DIR", str(tmp_path / "mils-cache"))
