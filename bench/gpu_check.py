"""GPU check: each MILS model's dtype and device after use(), an eviction between rounds and the reload,
and 8 searches in lockstep vs one at a time.

    python -m bench.gpu_check                          # a CUDA machine: Qwen3-0.6B layout, random weights
    python -m bench.gpu_check --comfy /path/to/ComfyUI # also through ComfyUI's model management (eviction)
    python -m bench.gpu_check --cpu --tiny             # anywhere: a 2-layer Qwen3 on the CPU (checks the script)

Needs torch, transformers and this repo; nothing is downloaded. The LLM is a Qwen3ForCausalLM of
Qwen3-0.6B's architecture (28 layers, hidden 1024, 151,936-token vocabulary) with random weights and a
word-level tokenizer of the same vocabulary size made here (every id decodes to a word, so random
replies are lines of words that the search can score). The scorer is a tiny random transformers CLIP.
Random weights never write EOS, so every reply runs to max_new_tokens: the LLM work per step is fixed.

1. dtype / device: the LLM and the scorer loaded as the nodes load them (bridge.ManagedModel, dtype
   "auto"), printed after use();
2. eviction (with --comfy only): round 1, comfy.model_management.unload_all_models() (what ComfyUI
   does when the diffusion model needs the room), round 2: where the weights are after the eviction
   and after the next use(), and how often ComfyUI loaded them;
3. 8 image-caption searches (8 random target images) in lockstep (mils.lockstep.run_searches: one
   batched LLM call per step for all 8) vs one at a time (run_search each): images per minute (goal >= 8x
   on a GPU, where a batch of 16 rows costs about what 2 rows cost).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import torch

from ._common import ROOT, report

TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            head_dim=16)
CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
SPECIALS = ["<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def word_tokenizer(vocab_size: int):
    """A word-level tokenizer with ``vocab_size`` entries (ChatML specials, then w4, w5, ...)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(SPECIALS)}
    vocab.update({f"w{i}": i for i in range(len(SPECIALS), vocab_size)})
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece()
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<|im_end|>",
                                 pad_token="<|endoftext|>", additional_special_tokens=["<|im_start|>"])
    hf.chat_template = CHATML
    return hf


def make_llm(folder: Path, tiny: bool) -> Path:
    from devkit.tiny_text_encoders import random_qwen3_06b

    model = random_qwen3_06b(0, dtype=torch.bfloat16, **(TINY if tiny else {}))
    model.config.eos_token_id, model.config.pad_token_id = 3, 1
    model.generation_config.eos_token_id, model.generation_config.pad_token_id = 3, 1
    model.save_pretrained(folder)
    word_tokenizer(model.config.vocab_size).save_pretrained(folder)
    return folder


def weights(obj) -> torch.nn.Module | None:
    """The torch module behind a MILS model (generator.model, an encoder's model, ...)."""
    if isinstance(obj, torch.nn.Module):
        return obj
    for value in vars(obj).values():
        if isinstance(value, torch.nn.Module):
            return value
    return None


def where(obj) -> str:
    module = weights(obj)
    if module is None:
        return "no torch weights"
    kinds = sorted({(str(p.dtype).replace("torch.", ""), str(p.device)) for p in module.parameters()})
    return ", ".join(f"{d} on {dev}" for d, dev in kinds) + ("  <- SPLIT ACROSS DEVICES" if len(kinds) > 1 and
                                                            len({k[1] for k in kinds}) > 1 else "")


def import_comfy(comfy_dir: str, cpu: bool):
    sys.path.append(str(Path(comfy_dir).resolve()))
    from comfy.cli_args import args

    args.cpu = cpu
    import comfy.model_management as mm
    import folder_paths  # noqa: F401  (the bridge looks for it: then it works as inside ComfyUI)

    return mm


def check_use(bridge, registry, llm_dir: Path, clip_dir: Path, device: str):
    dev = bridge.load_device_for(device)
    llm = bridge.ManagedModel(lambda: registry.load_llm(str(llm_dir), device=dev, dtype="auto"), label="LLM")
    scorer = bridge.ManagedModel(lambda: registry.load_scorer_model(f"hf:{clip_dir}", device=dev, dtype="auto"),
                                 label="scorer")
    print(f"1. after use(): LLM    {where(llm.use())}", flush=True)
    print(f"   after use(): scorer {where(scorer.use())}", flush=True)
    return llm, scorer


def check_eviction(mm, llm, prompt: str) -> None:
    from mils.generators.base import GenerationParams

    loads = []
    original = mm.load_models_gpu

    def counting(models, *a, **kw):
        loads.append(len(models))
        return original(models, *a, **kw)

    mm.load_models_gpu = counting
    try:
        params = GenerationParams(max_new_tokens=8, seed=0)
        gen = llm.use()
        gen.generate(prompt, params)
        print(f"2. round 1: LLM {where(gen)}; ComfyUI lists {len(mm.loaded_models())} loaded model(s)", flush=True)
        mm.unload_all_models()
        print(f"   evicted (unload_all_models): LLM {where(gen)}; ComfyUI lists {len(mm.loaded_models())}",
              flush=True)
        gen = llm.use()
        print(f"   round 2 after use(): LLM {where(gen)}; ComfyUI lists {len(mm.loaded_models())}", flush=True)
        gen.generate(prompt, params)
        print(f"   load_models_gpu calls: {len(loads)} (one per use())", flush=True)
    finally:
        mm.load_models_gpu = original


def check_lockstep(gen, encoder, tiny: bool) -> float:
    from mils.lockstep import SearchItem, run_searches
    from mils.pools import load_pool
    from mils.scorers.embedding import EmbeddingScorer
    from mils.search import SearchConfig, run_search
    from mils.targets import image_target
    from mils.tasks import TASKS

    task, pool = TASKS["image_caption"], load_pool("image", limit=200)
    images = [torch.rand((1, 32, 32, 3), generator=torch.Generator().manual_seed(i)) for i in range(8)]
    scorers = [EmbeddingScorer(encoder, image_target(encoder, img), label="image") for img in images]
    cfg = SearchConfig(keep=6, new_per_step=4, steps=1 if tiny else 2, parallel=2,
                       max_new_tokens=16 if tiny else 64, seed=0)
    run_search(gen, scorers[0], task, pool, SearchConfig(keep=6, new_per_step=2, steps=1, max_new_tokens=4))  # warm up
    t0 = time.perf_counter()
    alone = [run_search(gen, s, task, pool, cfg) for s in scorers]
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    together = run_searches(gen, task, [SearchItem(s, pool) for s in scorers], cfg)
    lock = time.perf_counter() - t0
    failed = [r for r in together if isinstance(r, Exception)]
    assert not failed, failed
    calls = (sum(r.llm_calls for r in alone), sum(r.llm_calls for r in together))
    print(f"3. one at a time: {one:.1f} s, lockstep: {lock:.1f} s for 8 images "
          f"({calls[0]} vs {calls[1]} LLM requests, {cfg.steps} step(s), P=2, {cfg.max_new_tokens} tokens)", flush=True)
    return report("8 searches in lockstep vs one at a time", one / lock, "goal >= 8x on a GPU",
                  f"{60 * 8 / lock:.1f} vs {60 * 8 / one:.1f} images/min")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cpu", action="store_true", help="run on the CPU (default: CUDA, which must be there)")
    ap.add_argument("--tiny", action="store_true", help="a 2-layer Qwen3 (same vocabulary) instead of 0.6B")
    ap.add_argument("--comfy", metavar="DIR", help="a ComfyUI source tree: also check its model management")
    ap.add_argument("--no-lockstep", action="store_true", help="skip part 3 (the timing)")
    opts = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not opts.cpu and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --cpu (and --tiny) to check the script on a CPU")
    device = "cpu" if opts.cpu else "cuda"
    mm = import_comfy(opts.comfy, opts.cpu) if opts.comfy else None
    sys.path.insert(0, str(ROOT))
    from devkit.pack import pack_nodes
    from devkit.tiny_models import make_tiny_hf_clip

    bridge = sys.modules[pack_nodes().__name__ + ".bridge"]
    from mils import registry

    print(f"device: {torch.cuda.get_device_name(0) if device == 'cuda' else 'CPU'}; torch {torch.__version__}; "
          f"LLM: {'tiny 2-layer' if opts.tiny else 'Qwen3-0.6B'} layout, random weights; "
          f"ComfyUI: {opts.comfy or 'not used'}", flush=True)
    with tempfile.TemporaryDirectory(prefix="mils-gpu-check-") as tmp:
        t0 = time.perf_counter()
        llm_dir, clip_dir = make_llm(Path(tmp) / "qwen3", opts.tiny), make_tiny_hf_clip(Path(tmp))
        print(f"made the models in {time.perf_counter() - t0:.0f} s", flush=True)
        llm, scorer = check_use(bridge, registry, llm_dir, clip_dir, device)
        if mm is not None:
            check_eviction(mm, llm, "Write 4 captions of a photo.")
        else:
            print("2. eviction: skipped (needs --comfy DIR: it is ComfyUI's model management that evicts)",
                  flush=True)
        line = None if opts.no_lockstep else check_lockstep(llm.use(), scorer.use(), opts.tiny)
    return {"lockstep": line}


if __name__ == "__main__":
    print(json.dumps(main()))
