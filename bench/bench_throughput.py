"""Feeding the LLM: parallel replies, lockstep searches, generator overhead, HTTP in flight, memory.

Each figure is a ratio against a baseline measured in this run (SmolLM2-135M-Instruct GGUF from a
PyPI wheel, loaded through transformers; the EfficientNet-Lite0 x MiniLM stand-in scorer):

1. one search, P=4 vs P=1 replies for the same N: seconds per step (goal >= 2x);
2. 8 searches in lockstep vs one at a time: images per minute (goal >= 3x), each in a fresh
   subprocess, which also gives 5. peak RSS of the batch of 8 vs the one-at-a-time run;
3. TransformersGenerator vs a raw ``model.generate`` loop at batch 1/4/8 (goal <= 10% overhead);
4. HTTP, at most 8 requests in flight vs 1 against a local batching server with 200 ms latency
   (goal >= 4x), after a warm-up batch that lets the adaptive window grow; and the window the
   backend settles at against a server that answers one request at a time (goal: about 1-2).

Run: python -m bench.bench_throughput [parallel|lockstep|overhead|http ...]. Short settings on purpose.
"""
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ._common import ROOT, report

STEPS = 1


def _llm():
    from devkit.real_models import smollm2_gguf_path
    from mils.generators.transformers_lm import load_transformers_generator

    return load_transformers_generator(smollm2_gguf_path(), device="cpu")


def _scorer(name="chelsea"):
    from devkit.real_models import photo, stand_in_encoder
    from mils.scorers.embedding import EmbeddingScorer
    from mils.targets import image_target

    enc = stand_in_encoder()
    return EmbeddingScorer(enc, image_target(enc, photo(name)), label="image")


def _pool(limit=200):
    from mils.pools import load_pool

    return load_pool("image", limit=limit)


def bench_parallel() -> float:
    from mils.search import SearchConfig, run_search
    from mils.tasks import TASKS

    llm, scorer, pool = _llm(), _scorer(), _pool()
    per_step, per_new = {}, {}
    for p in (1, 4):
        cfg = SearchConfig(keep=8, new_per_step=8, steps=STEPS, parallel=p, max_new_tokens=128, seed=0)
        res = run_search(llm, scorer, TASKS["image_caption"], pool, cfg)
        new = sum(h.new for h in res.history[1:])
        per_step[p] = sum(h.seconds for h in res.history[1:]) / STEPS
        per_new[p] = per_step[p] * STEPS / max(1, new)
        print(f"  P={p}: {per_step[p]:.1f} s/step, {new} new candidates ({per_new[p]:.1f} s each), "
              f"best {res.best_score:.3f} {res.best_text!r}", flush=True)
    ratio = per_step[1] / per_step[4]
    report("one search, P=4 vs P=1 (N=8)", ratio, "goal >= 2x", f"{per_step[1]:.1f} vs {per_step[4]:.1f} s/step")
    # a single long reply often stops short of N, so the time per new candidate is the fairer figure
    report("one search, P=4 vs P=1 (N=8), per new candidate", per_new[1] / per_new[4], "higher is better",
           f"{per_new[1]:.1f} vs {per_new[4]:.1f} s per new candidate")
    return ratio


LOCKSTEP_CHILD = r"""
import sys, json, resource, time
from bench.bench_throughput import _llm, _scorer, _pool
from mils.lockstep import SearchItem, run_searches
from mils.search import SearchConfig, run_search
from mils.tasks import TASKS
llm, pool = _llm(), _pool()
names = ["chelsea", "coffee", "rocket", "astronaut"] * 2
scorers = [_scorer(n) for n in names]
cfg = SearchConfig(keep=6, new_per_step=4, steps={steps}, parallel=2, max_new_tokens=64, seed=0)
task = TASKS["image_caption"]
for s in scorers[:1]:  # warm up (pool embeddings on disk, first-call costs) outside the timing
    run_search(llm, s, task, pool, SearchConfig(keep=6, new_per_step=2, steps=1, max_new_tokens=8))
t0 = time.perf_counter()
if {mode!r} == "lockstep":
    results = run_searches(llm, task, [SearchItem(s, pool) for s in scorers], cfg)
else:
    results = [run_search(llm, s, task, pool, cfg) for s in scorers]
secs = time.perf_counter() - t0
print(json.dumps({{"seconds": secs, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "best": [r.best_text for r in results]}}))
"""


def bench_lockstep() -> None:
    runs = {}
    for mode in ("one_at_a_time", "lockstep"):
        code = LOCKSTEP_CHILD.format(steps=STEPS, mode=mode)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
        if out.returncode:
            print(out.stderr[-3000:])
            raise SystemExit(f"lockstep child ({mode}) failed")
        runs[mode] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  {mode}: {runs[mode]['seconds']:.1f} s for 8 images, peak RSS {runs[mode]['peak_rss_mb']:.0f} MB",
              flush=True)
    one, lock = runs["one_at_a_time"], runs["lockstep"]
    report("8 searches in lockstep vs one at a time", one["seconds"] / lock["seconds"], "goal >= 3x",
           f"{60 * 8 / lock['seconds']:.1f} vs {60 * 8 / one['seconds']:.1f} images/min")
    print(f"peak RSS, batch of 8 vs one at a time: {lock['peak_rss_mb'] / one['peak_rss_mb']:.2f}x "
          f"({lock['peak_rss_mb']:.0f} vs {one['peak_rss_mb']:.0f} MB)", flush=True)


def bench_overhead(tokens: int = 16, reps: int = 2) -> None:
    import torch

    from mils.generators.base import GenerationParams

    gen = _llm()
    model, tok = gen.model, gen.tokenizer
    prompt = "Write 5 short captions for a photo of a cat, as a numbered list."
    ids = torch.tensor([gen._encode(prompt)])
    gc = model.generation_config
    old_min = getattr(gc, "min_new_tokens", None)
    gc.min_new_tokens = tokens  # both sides generate exactly `tokens` tokens per row
    try:
        for batch in (1, 4, 8):
            raw_t, ours_t = [], []
            for rep in range(reps):
                t0 = time.perf_counter()
                with torch.inference_mode():
                    torch.manual_seed(rep)
                    model.generate(input_ids=ids.repeat(batch, 1), attention_mask=torch.ones_like(ids).repeat(batch, 1),
                                   do_sample=True, temperature=0.5, top_p=0.9, top_k=0, max_new_tokens=tokens,
                                   min_new_tokens=tokens, pad_token_id=gen._pad_token_id)
                raw_t.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                gen.generate(prompt, GenerationParams(temperature=0.5, top_p=0.9, max_new_tokens=tokens, seed=rep,
                                                      num_replies=batch))
                ours_t.append(time.perf_counter() - t0)
            raw, ours = min(raw_t), min(ours_t)
            print(f"generator overhead at batch {batch}: {100 * (ours / raw - 1):+.1f}% (goal <= 10%) | "
                  f"{ours:.2f} vs raw model.generate {raw:.2f} s for {tokens} tokens, "
                  f"{batch * tokens / ours:.1f} tok/s", flush=True)
    finally:
        gc.min_new_tokens = old_min
    del tok


class _SlowServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, latency: float, one_slot: bool = False):
        super().__init__(("127.0.0.1", 0), _SlowHandler)
        self.latency = latency
        self.slot = threading.Lock() if one_slot else None


class _SlowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        if self.server.slot is not None:
            with self.server.slot:
                time.sleep(self.server.latency)
        else:
            time.sleep(self.server.latency)
        data = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant",
                                                                "content": f"1. a cat {body['seed']}"}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _serve(latency: float, one_slot: bool = False) -> tuple[_SlowServer, str]:
    srv = _SlowServer(latency, one_slot)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/v1"


def bench_http(requests: int = 16, latency: float = 0.2) -> None:
    from mils.generators.base import GenerationParams
    from mils.generators.openai_http import OpenAICompatibleGenerator

    batch = (["a", "b"], [GenerationParams(seed=0, num_replies=requests // 2)] * 2)
    srv, url = _serve(latency)
    secs, windows = {}, {}
    try:
        for flight in (1, 8):
            with OpenAICompatibleGenerator(url, "m", max_in_flight=flight, timeout=30) as gen:
                gen.generate_batch(*batch)  # warm-up: the window grows to what the server sustains
                t0 = time.perf_counter()
                out = gen.generate_batch(*batch)
                secs[flight] = time.perf_counter() - t0
                windows[flight] = gen.limit.window
                assert all(isinstance(o, list) for o in out), out
    finally:
        srv.shutdown()
        srv.server_close()
    report(f"HTTP, 8 in flight vs 1 ({requests} requests, {1000 * latency:.0f} ms each)", secs[1] / secs[8],
           "goal >= 4x", f"{secs[8]:.2f} vs {secs[1]:.2f} s, window {windows[8]} of 8")

    srv, url = _serve(latency, one_slot=True)
    try:
        with OpenAICompatibleGenerator(url, "m", max_in_flight=8, timeout=30) as gen:
            seen = []
            for _ in range(3):
                gen.generate_batch(*batch)
                seen.append(gen.limit.window)
    finally:
        srv.shutdown()
        srv.server_close()
    print(f"HTTP window against a one-slot server ({1000 * latency:.0f} ms each, at most 8): "
          f"{seen} after each batch of {requests} (goal: about 1-2, far below 8), peak {gen.limit.peak}", flush=True)


SECTIONS = {"parallel": bench_parallel, "lockstep": bench_lockstep, "overhead": bench_overhead, "http": bench_http}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(SECTIONS):
        print(f"-- {name}", flush=True)
        SECTIONS[name]()
