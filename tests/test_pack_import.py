"""The pack and ``import mils`` share one engine: one model cache, one set of error classes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import importlib.util, json, sys
root, order = sys.argv[1], sys.argv[2]
sys.modules["folder_paths"] = type(sys)("folder_paths")   # as inside ComfyUI: the pack registers its nodes
sys.modules["folder_paths"].models_dir = root
sys.modules["folder_paths"].folder_names_and_paths = {}
sys.modules["folder_paths"].add_model_folder_path = lambda name, path, is_default=False: (
    sys.modules["folder_paths"].folder_names_and_paths.setdefault(name, ([], set()))[0].append(path))
if order == "mils-first":
    import mils.model_cache
spec = importlib.util.spec_from_file_location("ComfyUI-MILS", root + "/__init__.py", submodule_search_locations=[root])
pack = importlib.util.module_from_spec(spec)
sys.modules["ComfyUI-MILS"] = pack
spec.loader.exec_module(pack)
import mils.errors, mils.jobs, mils.model_cache
loop = sys.modules["ComfyUI-MILS.nodes.loop"]
files = {}
for name, mod in list(sys.modules.items()):
    f = getattr(mod, "__file__", None)
    if f and "/mils/" in f.replace("\\", "/"):
        files.setdefault(f, set()).add(id(mod))
print(json.dumps({
    "nodes": len(pack.NODE_CLASS_MAPPINGS),
    "same_cache": importlib.import_module("ComfyUI-MILS.mils.model_cache").MODEL_CACHE is mils.model_cache.MODEL_CACHE,
    "same_errors": importlib.import_module("ComfyUI-MILS.mils.errors").InputError is mils.errors.InputError,
    "loop_uses_engine": loop.run_jobs is mils.jobs.run_jobs,
    "copies": max(len(ids) for ids in files.values()),
    "folders": sorted(sys.modules["folder_paths"].folder_names_and_paths),
}))
"""


@pytest.mark.parametrize("order", ["mils-first", "pack-first"])
def test_pack_and_mils_share_one_engine(order):
    out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT), order], capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    expected = len(json.loads((ROOT / "tests" / "data" / "node_schemas.json").read_text()))
    assert got["nodes"] == expected, f"the {expected} node classes of tests/data/node_schemas.json registered"
    assert got["same_cache"] and got["same_errors"] and got["loop_uses_engine"]
    assert got["copies"] == 1, "an engine module was loaded twice"
    assert got["folders"] == ["LLM", "mils"]
