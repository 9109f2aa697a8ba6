"""Loop overhead (wall time outside model calls / total, goal <= 5%) and peak RSS of a caption run.

SmolLM2-135M-Instruct (GGUF, from a PyPI wheel) proposes; the scorer is the real EfficientNet x MiniLM
stand-in for the overhead figure, and a tiny random open_clip model for the memory figure. The RSS run
is a fresh subprocess (``python -m bench.bench_loop --rss-child``) so that it measures one captioning
job alone.
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from devkit.real_models import photo, smollm2_gguf_path, stand_in_encoder
from devkit.tiny_models import make_tiny_open_clip
from mils.generators.transformers_lm import load_transformers_generator
from mils.jobs import Job, Media, run_job
from mils.scorers.open_clip_encoder import load_open_clip

from ._common import ROOT


def overhead() -> float:
    llm = load_transformers_generator(smollm2_gguf_path())
    res = run_job(Job("image_caption", llm, stand_in_encoder(), media=Media("image", images=photo("chelsea")),
                      preset="preview", pool="image",
                      overrides=dict(keep=10, new_per_step=10, steps=3, max_new_tokens=200))).result
    frac = res.overhead_fraction
    print(f"loop overhead: {100 * frac:.2f}% of wall time (goal <= 5%) | total {res.seconds_total:.1f} s, "
          f"LLM {res.seconds_llm:.1f} s, scoring {res.seconds_scoring:.1f} s, {res.llm_calls} LLM calls, "
          f"{res.encodes} encodes", flush=True)
    return frac


def rss_child() -> None:
    """One caption job, then its peak RSS as a JSON line on stdout."""
    llm = load_transformers_generator(smollm2_gguf_path())
    name, ckpt = make_tiny_open_clip(Path(tempfile.mkdtemp()))
    enc = load_open_clip(name, ckpt)
    res = run_job(Job("image_caption", llm, enc, media=Media("image", images=photo("chelsea")), preset="preview",
                      pool="image", overrides=dict(keep=10, new_per_step=10, steps=2, max_new_tokens=200))).result
    print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "best": res.best_text}))


def peak_rss() -> float:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-m", "bench.bench_loop", "--rss-child"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"peak RSS of a caption run (SmolLM2-135M + tiny open_clip, preview): {data['peak_rss_mb']:.0f} MB",
          flush=True)
    return data["peak_rss_mb"]


if __name__ == "__main__":
    if sys.argv[1:] == ["--rss-child"]:
        rss_child()
    else:
        overhead()
        peak_rss()
