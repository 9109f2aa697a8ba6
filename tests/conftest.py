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


@pytest.fixture(scope="module")
def tiny_pipelines(tmp_path_factory):
    """devkit.tiny_diffusers' folders: a text-to-image SD pipeline, an InstructPix2Pix pipeline, a tiny HF CLIP."""
    pytest.importorskip("diffusers")
    from devkit.tiny_diffusers import make_tiny_pipelines

    return make_tiny_pipelines(tmp_path_factory.mktemp("diffusers"))
