"""`mils caption FOLDER --ray`: 2 workers against 1 on the same folder, on a local Ray with 2 CPUs.

Toy models (tests/toys.py) whose LLM also spends about BUSY_SECONDS per call, so an input costs
seconds like a real one, in two kinds: "cpu" (single-threaded matrix work, calibrated on this
machine: a local LLM; the ratio is bounded by the cores the machine really has free) and "wait"
(a sleep: an LLM server such as vLLM answering; the ratio shows what the Ray layer itself adds or
loses). Baselines measured in the same run: the local batch (no Ray) and
one Ray worker. Driver overhead per input = (wall - worker compute / workers) / inputs, where worker
compute is the searches' own time (seconds_total of each result); it includes starting the actors.
"""
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from devkit.toys import ToyLLM
from mils.cli import main

from ._common import ROOT, report

INPUTS = 8
BUSY_SECONDS = 2.0
ITERS_ENV = "MILS_BENCH_BUSY_ITERS"
KIND_ENV = "MILS_BENCH_WORK"
SEARCH = ["--scorer", "py:devkit.toys:toy_encoder", "--keep", "4", "--new", "5", "--steps", "3", "--pool", "image",
          "--quiet", "--llm", "py:bench.bench_ray:busy_llm"]


def _busy(iters: int) -> None:
    a = torch.full((192, 192), 0.5)
    for _ in range(iters):
        a = torch.tanh(a @ a)


def busy_llm():
    """The toy LLM plus a fixed cost per call: CPU work (one thread, like a worker with one CPU) or a wait."""
    torch.set_num_threads(1)
    iters, kind = int(os.environ[ITERS_ENV]), os.environ.get(KIND_ENV, "cpu")

    class Busy(ToyLLM):
        def generate(self, prompt, params):
            _busy(iters) if kind == "cpu" else time.sleep(BUSY_SECONDS)
            return super().generate(prompt, params)

    return Busy()


def _calibrate() -> int:
    torch.set_num_threads(1)
    t = time.perf_counter()
    _busy(200)
    return max(1, int(200 * BUSY_SECONDS / (time.perf_counter() - t)))


def _run(folder: Path, out: Path, *extra) -> tuple[float, float]:
    """(wall seconds, summed search seconds) of one caption run."""
    t = time.perf_counter()
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        rc = main(["caption", str(folder), "--out", str(out), *SEARCH, *extra])
    wall = time.perf_counter() - t
    assert rc == 0, f"caption run failed ({rc})"
    results = [json.loads(p.read_text()) for p in out.glob("*.mils.json")]
    assert len(results) == INPUTS
    return wall, sum(r["seconds_total"] for r in results)


def main_bench() -> None:
    import ray

    work = Path(tempfile.mkdtemp(prefix="mils-bench-ray-"))
    folder = work / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(INPUTS):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(folder / f"img{i}.png")
    os.environ[ITERS_ENV] = str(_calibrate())
    path = os.pathsep.join([str(ROOT), str(ROOT / "src")])
    for kind in ("cpu", "wait"):
        os.environ[KIND_ENV] = kind
        env = {"PYTHONPATH": path, ITERS_ENV: os.environ[ITERS_ENV], KIND_ENV: kind,
               "MILS_CACHE_DIR": str(work / "cache")}
        ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", runtime_env={"env_vars": env})
        try:
            runs = {"local": (_run(folder, work / f"{kind}-local"), 1),
                    "1 worker": (_run(folder, work / f"{kind}-ray1", "--ray", "--workers", "1"), 1),
                    "2 workers": (_run(folder, work / f"{kind}-ray2", "--ray", "--workers", "2"), 2)}
        finally:
            ray.shutdown()
        _report(kind, runs)


def _report(kind: str, runs: dict) -> None:
    per_min = {name: 60 * INPUTS / wall for name, ((wall, _), _) in runs.items()}
    print(f"[{kind}] {INPUTS} inputs, ~{BUSY_SECONDS:.0f} s of LLM {kind} per call; images/minute: "
          + ", ".join(f"{k} {v:.1f}" for k, v in per_min.items()))
    print(f"[{kind}] search seconds per input: "
          + ", ".join(f"{k} {compute / INPUTS:.2f}" for k, ((_, compute), _) in runs.items())
          + "; driver overhead per input (wall - compute/workers): "
          + ", ".join(f"{k} {(wall - compute / n) / INPUTS:.2f} s" for k, ((wall, compute), n) in runs.items()))
    report(f"[{kind}] ray 2 workers vs 1", per_min["2 workers"] / per_min["1 worker"], "goal >= 1.6x",
           f"2 workers vs the local batch: {per_min['2 workers'] / per_min['local']:.2f}x")

if __name__ == "__main__":
    sys.exit(main_bench())
