"""Folders beside the checkout change nothing: the repo root is a package (ComfyUI's entry point), and
pytest must not put the folder above it on sys.path, where a ``ray``, ``comfy`` or ``mils`` folder
would shadow the real packages (see [tool.pytest.ini_options] in pyproject.toml)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BESIDE = ("ray", "comfy", "mils")

PROBE_TEST = '''
import importlib, sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]


def test_the_real_packages_are_imported():
    import mils
    assert Path(mils.__file__).resolve() == CHECKOUT / "src" / "mils" / "__init__.py"
    assert str(CHECKOUT.parent) not in sys.path
    for name in ("ray", "comfy"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:   # not installed here: it must not come from beside the checkout either
            continue
        assert CHECKOUT.parent not in Path(module.__file__ or module.__path__[0]).resolve().parents
'''


def test_folders_named_like_packages_beside_the_checkout_change_nothing(tmp_path):
    checkout = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for folder in ("src", "nodes", "devkit"):
        shutil.copytree(ROOT / folder, checkout / folder, ignore=ignore)
    for name in ("pyproject.toml", "__init__.py", "tests/conftest.py", "tests/test_pack_import.py",
                 "tests/data/node_schemas.json"):
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, checkout / name)
    (checkout / "tests" / "test_probe_beside.py").write_text(PROBE_TEST)
    for name in BESIDE:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise RuntimeError('imported the {name} folder beside the checkout')\n")

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k",
                          "probe or mils-first or not-installed", "tests/test_probe_beside.py",
                          "tests/test_pack_import.py"], cwd=checkout, env=env, capture_output=True, text=True,
                         timeout=400)
    summary = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert summary.startswith("3 passed") and "skipped" not in summary and "error" not in summary, summary
