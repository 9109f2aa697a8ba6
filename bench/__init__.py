"""Benchmarks that print ratios against a baseline measured in the same run.

Run from the repo root: ``python -m bench.run_all``, or one of them, e.g. ``python -m bench.bench_loop``.
The environment is set here, in the package, so it holds before any benchmark imports a model library
(huggingface_hub reads HF_HUB_OFFLINE when it is imported).
"""
import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MILS_CACHE_DIR", tempfile.mkdtemp(prefix="mils-bench-"))
