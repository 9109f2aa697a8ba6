"""Shared set-up for the benchmarks: import paths and a fresh cache folder per run."""
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MILS_CACHE_DIR", tempfile.mkdtemp(prefix="mils-bench-"))


@contextmanager
def timer(out: dict, key: str):
    t = time.perf_counter()
    yield
    out[key] = time.perf_counter() - t


def report(name: str, ratio: float, goal: str, detail: str) -> str:
    line = f"{name}: {ratio:.1f}x ({goal}) | {detail}"
    print(line, flush=True)
    return line
