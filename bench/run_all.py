"""Run every benchmark; each prints a ratio measured against a baseline in the same run.

    python -m bench.run_all        # from the repo root
"""
import runpy

for name in ("bench_pool_cache", "bench_text_scoring", "bench_loop", "bench_gram", "bench_render_cache",
             "bench_scorers", "bench_comfyui", "bench_throughput", "bench_quality", "bench_llama_cpp", "bench_ray"):
    print(f"== {name}", flush=True)
    runpy.run_module(f"bench.{name}", run_name="__main__")
