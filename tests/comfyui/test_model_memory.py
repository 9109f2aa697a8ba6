"""The LLM and the scorer inside the real ComfyUI's model management, in-process (``--cpu``).

What tests/test_model_memory.py checks against a faked model management, here against ComfyUI's own:
the loaders register a ModelPatcher that ``loaded_models()`` lists; after ``unload_all_models()`` (what
a sampler short of memory does) the next generate / encode loads it back; ``release()`` (keep_loaded
off) takes it off the list through ComfyUI's public call where this version has one, and frees it.
"""
from __future__ import annotations

import gc
import weakref

import pytest
import torch

from mils.generators.base import GenerationParams

pytestmark = pytest.mark.comfyui


def listed(mm, patcher) -> bool:
    return any(m is patcher for m in mm.loaded_models())


@pytest.fixture
def models(comfy, tmp_path, monkeypatch):
    """(bridge, llm node, scorer node) with the tiny models' folders standing in for models/LLM, models/mils."""
    from devkit.tiny_models import make_tiny_hf_clip, make_tiny_llama
    from mils_pack.nodes import bridge
    from mils_pack.nodes.llm import MILSLocalLLM
    from mils_pack.nodes.scorer import USE_SOURCE, MILSScorerLoader

    llm_dir = make_tiny_llama(tmp_path / "tiny-llama")
    clip_dir = make_tiny_hf_clip(tmp_path)
    monkeypatch.setattr(bridge, "resolve_model", lambda key, name: llm_dir)

    def llm(keep_loaded):
        return MILSLocalLLM().load("tiny-llama", "", "auto", "auto", keep_loaded)[0]

    def scorer(keep_loaded):
        return MILSScorerLoader().load(USE_SOURCE, "auto", str(clip_dir), "auto", "auto", keep_loaded)[0]

    return bridge, llm, scorer


def test_auto_dtype_is_comfyuis_choice_for_the_cpu(comfy, models, monkeypatch):
    from mils_pack.nodes.model_memory import compute_dtype

    assert compute_dtype("auto") == "float32"
    monkeypatch.setattr(comfy.args, "bf16_text_enc", True)   # ComfyUI's --bf16-text-enc
    assert compute_dtype("auto") == "bfloat16"


@pytest.mark.parametrize("which", ["llm", "scorer"])
def test_loaded_back_after_an_eviction_and_freed_on_release(comfy, models, monkeypatch, which):
    mm = comfy.mm
    _, make_llm, make_scorer = models
    handle = make_llm(False) if which == "llm" else make_scorer(False)
    patcher = handle.patcher
    assert patcher is not None and listed(mm, patcher)
    assert {p.dtype for p in handle.obj.model.parameters()} == {torch.float32}

    model = handle.use()
    mm.unload_all_models()
    assert not listed(mm, patcher)
    if which == "llm":
        reply = model.generate("a cat", GenerationParams(max_new_tokens=4, seed=1))
        assert len(reply) == 1
    else:
        assert model.encode_text(["a cat", "a dog"]).shape[0] == 2
    assert listed(mm, patcher)   # made resident again before the call

    public = []
    if hasattr(mm, "unload_model_and_clones"):   # newer ComfyUI: released through its public call
        real = mm.unload_model_and_clones
        monkeypatch.setattr(mm, "unload_model_and_clones", lambda m, **kw: public.append(id(m)) or real(m, **kw))
    weights = weakref.ref(handle.obj.model)
    handle.release()
    assert not listed(mm, patcher) and handle.obj is None
    assert public == ([id(patcher)] if hasattr(mm, "unload_model_and_clones") else [])
    del model, patcher
    gc.collect()
    assert weights() is None, "the released model is still in memory"


def test_keep_loaded_keeps_it(comfy, models):
    _, make_llm, _ = models
    handle = make_llm(True)
    handle.use()
    handle.release()
    assert handle.obj is not None and listed(comfy.mm, handle.patcher)
