"""The pack inside a real ComfyUI server (runs only with COMFY_DIR set; see devkit/comfy_server.py).

(a) Re-queueing a MILS Loop graph with a new seed vs the first queue: the loaders come from ComfyUI's
    cache and no model is loaded again (model loads counted from the engine's INFO "loading ..." log
    lines, and the nodes ComfyUI reports in execution_cached).
(b) Rendering N=8 candidates for prompt enhancement as one batch vs one at a time (the MILS Loop's
    render_batch input), with the tiny SD1.5 checkpoint; needs nodes/comfy_render.py.

Times are ComfyUI's own (execution_start to the last status message of the prompt), on whatever the
server runs on: --cpu here.

    COMFY_DIR=/path/to/ComfyUI /path/to/comfy-venv/bin/python -m bench.bench_comfyui   # from the repo root
"""
import re
import tempfile
import time
from pathlib import Path

from devkit import comfy_server as cs
from devkit import api_graphs

from ._common import report

N_RENDER = 8


def run(srv, graph, label, timeout=300):
    offset = srv.log_offset()
    t = time.perf_counter()
    hist = srv.run(graph, timeout=timeout)
    wall = time.perf_counter() - t
    if hist["status"]["status_str"] != "success":
        errs = cs.messages(hist, "execution_error")
        msg = (f"{errs[0]['node_type']}: {errs[0]['exception_type']}: {errs[0]['exception_message']}\n"
               + "".join(errs[0].get("traceback", [])[-4:])) if errs else str(hist["status"])[:2000]
        raise RuntimeError(f"{label} failed: {msg}")
    log = srv.log_since(offset)
    return {"hist": hist, "wall": wall, "secs": cs.run_seconds(hist), "loads": cs.count_model_loads(log),
            "comfy_loads": len(re.findall(r"^Requested to load", log, re.M)), "cached": sorted(cs.cached_nodes(hist)),
            "text": hist["outputs"].get("4", {}).get("text", [""])[0]}


def bench_requeue(srv) -> float:
    first = run(srv, api_graphs.caption_graph(seed=1, save_curve=False), "first queue")
    second = run(srv, api_graphs.caption_graph(seed=2, save_curve=False), "second queue")
    ratio = first["secs"] / second["secs"]
    report("ComfyUI requeue with a new seed vs first queue", ratio, "loads on 2nd: 0 expected",
           f"first {first['secs']:.2f} s ({first['loads']} MILS model loads, {first['comfy_loads']} ComfyUI "
           f"'Requested to load'), second {second['secs']:.2f} s ({second['loads']} MILS model loads, "
           f"{second['comfy_loads']} 'Requested to load', cached nodes {second['cached']})")
    if second["loads"]:
        print("  WARNING: the second queue loaded a model again", flush=True)
    return ratio


def bench_render_batch(srv) -> float | None:
    if not cs.renderer_available():
        print("render batch: skipped (nodes/comfy_render.py not available)", flush=True)
        return None
    # N candidates in the starting pool: the prompt plus N-1 rewrites, all rendered in step 0.
    initial = "\n".join(f"a red apple on a table, variation {i}" for i in range(1, N_RENDER))
    common = dict(keep=2, new_per_step=1, steps=1, preview_size=64, render_steps=2, initial=initial,
                  downstream=False)
    run(srv, api_graphs.t2i_graph(seed=7, render_batch=4, **common), "warm-up")  # loads the checkpoint once
    # Interleaved repeats (a new seed each round, or ComfyUI would serve the cached result); the best
    # of each mode, so a burst of load from another process does not decide the ratio.
    batched, single = [], []
    for seed in (8, 9):
        batched.append(run(srv, api_graphs.t2i_graph(seed=seed, render_batch=N_RENDER, **common), "batched"))
        single.append(run(srv, api_graphs.t2i_graph(seed=seed, render_batch=1, **common), "one at a time"))
    b = min(r["secs"] for r in batched)
    o = min(r["secs"] for r in single)
    renders = re.search(r"(\d+) renders", batched[0]["text"])
    ratio = o / b
    report(f"ComfyUI render {N_RENDER} candidates as one batch vs one at a time", ratio, "higher is better",
           f"render_batch={N_RENDER}: {b:.2f} s, render_batch=1: {o:.2f} s (best of 2 each; "
           f"{renders.group(1) if renders else '?'} renders per run at 64 px, 2 steps, incl. one LLM call; "
           f"all runs: {[round(r['secs'], 1) for r in batched]} vs {[round(r['secs'], 1) for r in single]})")
    return ratio


def main():
    reason = cs.skip_reason()
    if reason:
        print(f"bench_comfyui: skipped ({reason})", flush=True)
        return
    paths = cs.comfy_paths()
    with tempfile.TemporaryDirectory(prefix="mils-comfy-bench-") as tmp:
        base = cs.prepare_base(Path(tmp), paths)
        t = time.perf_counter()
        with cs.start_server(base, paths) as srv:
            print(f"server up in {time.perf_counter() - t:.1f} s on port {srv.port} "
                  f"({paths.comfy_dir}, {paths.python})", flush=True)
            failed = cs.import_failures(srv.log_text())
            if failed:
                raise SystemExit(f"the pack failed to import:\n{srv.log_tail(60)}")
            bench_requeue(srv)
            bench_render_batch(srv)


if __name__ == "__main__":
    main()
