import logging
import os
from pathlib import Path

import pytest

import mils  # noqa: F401  (first, as a pip user has it: the pack then shares this engine)
from devkit.pack import load_pack  # noqa: E402

load_pack()  # test modules import the node classes as mils_pack.nodes.*

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
logging.getLogger("httpx").setLevel(logging.WARNING)


RAY_CRASH_DIR_ENV = "MILS_TEST_RAY_CRASH_DIR"


@pytest.fixture(scope="module")
def ray_session(tmp_path_factory):
    """A local Ray (2 CPUs) whose workers import the tests, devkit and the engine; yields a folder the tests'
    LLMs read markers from (test_ray_cli.crashing_llm)."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    if not hasattr(ray, "init"):
        pytest.skip(f"`import ray` finds a folder named ray ({list(ray.__path__)}), not the package")
    crash_dir = tmp_path_factory.mktemp("crash")
    tests = Path(__file__).resolve().parent
    root = tests.parent
    path = [str(tests), str(root), str(root / "src"), os.environ.get("PYTHONPATH", "")]  # src: a src layout's engine
    env = {"PYTHONPATH": os.pathsep.join(path),
           "MILS_CACHE_DIR": str(tmp_path_factory.mktemp("worker-cache")), RAY_CRASH_DIR_ENV: str(crash_dir)}
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"env_vars": env}, logging_level="ERROR")
    yield crash_dir
    ray.shutdown()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own MILS cache dir so disk caches never leak between tests."""
    monkeypatch.setenv("MILS_CACHE_DIR", str(tmp_path / "mils-cache"))


@pytest.fixture
def empty_model_cache():
    """No model loaded by an earlier test is shared with this one (and none it loads outlives it)."""
    from mils.model_cache import MODEL_CACHE

    MODEL_CACHE.unload()
    yield
    MODEL_CACHE.unload()


@pytest.fixture(scope="module")
def tiny_pipelines(tmp_path_factory):
    """devkit.tiny_diffusers' folders: a text-to-image SD pipeline, an InstructPix2Pix pipeline, a tiny HF CLIP."""
    pytest.importorskip("diffusers")
    from devkit.tiny_diffusers import make_tiny_pipelines

    return make_tiny_pipelines(tmp_path_factory.mktemp("diffusers"))
