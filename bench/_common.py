"""Shared helpers for the benchmarks: timing and reporting."""
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def timer(out: dict, key: str):
    t = time.perf_counter()
    yield
    out[key] = time.perf_counter() - t


def report(name: str, ratio: float, goal: str, detail: str) -> str:
    line = f"{name}: {ratio:.1f}x ({goal}) | {detail}"
    print(line, flush=True)
    return line
