"""Run every benchmark; each prints a ratio measured against a baseline in the same run."""
import runpy
from pathlib import Path

HERE = Path(__file__).parent
for name in ("bench_pool_cache.py", "bench_text_scoring.py", "bench_loop.py", "bench_gram.py", "bench_render_cache.py",
             "bench_comfyui.py", "bench_throughput.py", "bench_llama_cpp.py"):
    print(f"== {name}", flush=True)
    runpy.run_path(str(HERE / name), run_name="__main__")
