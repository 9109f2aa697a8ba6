"""The pack and ``import mils`` share one engine: one model cache, one set of error classes, module
names that do not depend on which is imported first, and no import hook."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

LOAD_PACK = r"""
def load_pack(root, name="ComfyUI-MILS"):
    spec = importlib.util.spec_from_file_location(name, root + "/__init__.py", submodule_search_locations=[root])
    pack = importlib.util.module_from_spec(spec)
    sys.modules[name] = pack
    spec.loader.exec_module(pack)
    return pack
"""

PROBE = r"""
import importlib.util, json, os, sys
root, order = sys.argv[1], sys.argv[2]
sys.modules["folder_paths"] = type(sys)("folder_paths")   # as inside ComfyUI: the pack registers its nodes
sys.modules["folder_paths"].models_dir = root
sys.modules["folder_paths"].folder_names_and_paths = {}
sys.modules["folder_paths"].add_model_folder_path = lambda name, path, is_default=False: (
    sys.modules["folder_paths"].folder_names_and_paths.setdefault(name, ([], set()))[0].append(path))
if order == "not-installed":   # as in a ComfyUI venv: no mils anywhere but in the pack
    sys.path[:] = [p for p in sys.path if not os.path.isfile(os.path.join(p or ".", "mils", "__init__.py"))]
    sys.meta_path[:] = [f for f in sys.meta_path
                        if f.__module__.startswith(("_frozen", "importlib")) or f.find_spec("mils", None) is None]
    importlib.invalidate_caches()
    assert importlib.util.find_spec("mils") is None, "mils is still importable"
if order == "mils-first":
    import mils.model_cache
hooks = list(sys.meta_path)
pack = load_pack(root)
import mils, mils.errors, mils.jobs, mils.model_cache
loop = sys.modules["ComfyUI-MILS.nodes.loop_run"]
bridge = sys.modules["ComfyUI-MILS.nodes.bridge"]
memory = sys.modules["ComfyUI-MILS.nodes.model_memory"]
files = {}
for name, mod in list(sys.modules.items()):
    f = getattr(mod, "__file__", None)
    if f and "/mils/" in f.replace("\\", "/"):
        files.setdefault(f, set()).add(name)
print(json.dumps({
    "nodes": len(pack.NODE_CLASS_MAPPINGS),
    "same_cache": memory.MODEL_CACHE is mils.model_cache.MODEL_CACHE,
    "same_errors": bridge.errors.InputError is mils.errors.InputError,
    "loop_uses_engine": loop.run_jobs is mils.jobs.run_jobs,
    "module_names": sorted({n for names in files.values() for n in names if not n.startswith("mils")}),
    "copies": max(len(names) for names in files.values()),
    "engine": mils.__file__,
    "names": [mils.__name__, loop.Job.__module__, type(mils.model_cache.MODEL_CACHE).__module__],
    "hooks_added": [repr(f) for f in sys.meta_path if f not in hooks],
    "folders": sorted(sys.modules["folder_paths"].folder_names_and_paths),
}))
"""


def _probe(code: str, *args: str, pythonpath: str | None) -> tuple[dict, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run([sys.executable, "-c", "import importlib.util, sys\n" + LOAD_PACK + code, str(ROOT), *args],
                         capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


@pytest.mark.parametrize("order", ["mils-first", "pack-first", "not-installed"])
def test_pack_and_mils_share_one_engine(order):
    # "installed": this checkout's engine importable as mils, as after `pip install -e .`
    got, _ = _probe(PROBE, order, pythonpath=None if order == "not-installed" else str(ROOT / "src"))
    expected = len(json.loads((ROOT / "tests" / "data" / "node_schemas.json").read_text()))
    assert got["nodes"] == expected, f"the {expected} node classes of tests/data/node_schemas.json registered"
    assert got["same_cache"] and got["same_errors"] and got["loop_uses_engine"]
    assert got["copies"] == 1 and got["module_names"] == [], "an engine module was loaded twice or under another name"
    assert Path(got["engine"]).resolve() == ROOT / "src" / "mils" / "__init__.py"
    assert got["names"] == ["mils", "mils.jobs", "mils.model_cache"], "module names depend on the import order"
    assert got["hooks_added"] == [], "the pack must not add import hooks"
    assert got["folders"] == ["LLM", "mils"]


def test_an_installed_mils_of_another_version_is_used_and_named(tmp_path):
    """Outside ComfyUI (no folder_paths) the pack only decides which engine ``import mils`` gives."""
    (tmp_path / "mils").mkdir()
    (tmp_path / "mils" / "__init__.py").write_text('__version__ = "0.0.1-other"\n')
    code = r"""
import logging
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
hooks, path_before = list(sys.meta_path), list(sys.path)
load_pack(sys.argv[1])
import mils
print(json.dumps({"version": mils.__version__, "pack_src_added": [p for p in sys.path if p not in path_before],
                  "hooks_added": len(sys.meta_path) - len(hooks)}))
"""
    got, log = _probe("import json\n" + code, pythonpath=str(tmp_path))
    assert got == {"version": "0.0.1-other", "pack_src_added": [], "hooks_added": 0}
    assert "0.0.1-other" in log and "WARNING" in log and str(tmp_path) in log, log
