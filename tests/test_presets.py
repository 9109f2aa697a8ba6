"""The current presets: Qwen3 (thinking off), SigLIP 2, HPSv2.1; each loads from a local folder, and a hub
download fails offline with a message that names the preset."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from devkit.tiny_models import _register_tiny_open_clip, _tiny_open_clip_state, _tiny_tokenizer
from mils import presets, registry
from mils.errors import ModelNotFoundError
from mils.generators.transformers_lm import load_transformers_generator

QWEN3_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} </s> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>"
    "{% if enable_thinking is defined and enable_thinking is false %} <think> </think> {% endif %}{% endif %}")


def test_defaults_are_current_models():
    assert presets.TASK_DEFAULTS["image_caption"] == {"llm": "qwen3-1.7b", "scorer": "siglip2-b16"}
    assert presets.PRESETS["siglip2-b16"].repo_id == "timm/ViT-B-16-SigLIP2"
    assert {"qwen2.5-1.5b-instruct", "siglip-b16", "pickscore"} <= set(presets.PRESETS)  # the older ones stay
    for name in presets.TASK_DEFAULTS.values():
        assert name["llm"] in presets.PRESETS and name["scorer"] in presets.PRESETS


def test_qwen3_architecture_loads_from_a_folder_with_thinking_off(tmp_path):
    from transformers import Qwen3Config, Qwen3ForCausalLM

    tok, vocab = _tiny_tokenizer(QWEN3_TEMPLATE)
    cfg = Qwen3Config(vocab_size=vocab, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1, head_dim=8, max_position_embeddings=128,
                      bos_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    folder = tmp_path / "LLM" / "qwen3-1.7b"
    Qwen3ForCausalLM(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    (folder / ".mils-complete").write_text("Qwen/Qwen3-1.7B\n")
    gen = registry.load_llm("qwen3-1.7b", models_dir=tmp_path, device="cpu")
    assert gen.format_prompt("describe").rstrip().endswith("<think> </think>")  # an empty reasoning block: off
    assert load_transformers_generator(str(folder), device="cpu") is gen  # one model cache entry


def test_hpsv21_checkpoint_preset_loads_as_open_clip(tmp_path, monkeypatch):
    name = _register_tiny_open_clip(tmp_path)
    preset = dataclasses.replace(presets.PRESETS["hpsv2.1"], architecture=name)  # tiny stand-in for ViT-H-14
    monkeypatch.setitem(presets.PRESETS, "hpsv2.1", preset)
    folder = tmp_path / "mils" / "hpsv2.1"
    folder.mkdir(parents=True)
    torch.save({"state_dict": _tiny_open_clip_state(0)}, folder / preset.checkpoint)  # HPS's file layout
    (folder / ".mils-complete").write_text(preset.repo_id + "\n")
    enc = registry.load_scorer_model("hpsv2.1", models_dir=tmp_path, device="cpu")
    emb = enc.encode_text(["a watercolor fox"])
    assert emb.shape[0] == 1 and torch.allclose(emb.norm(dim=-1), torch.ones(1), atol=1e-4)
    assert registry.load_scorer_model(str(folder), device="cpu") is enc  # the folder itself, as the node passes it
    from mils_pack.nodes.scorer import scorer_spec

    monkeypatch.setenv("MILS_MODELS_DIR", str(tmp_path))
    assert scorer_spec("hpsv2.1", "auto", "") == f"open_clip:{name}:{folder / preset.checkpoint}"


@pytest.mark.parametrize("name", ["qwen3-1.7b", "siglip2-b16", "hpsv2.1"])
def test_new_presets_fail_offline_naming_the_preset(name, tmp_path):
    with pytest.raises(ModelNotFoundError) as err:
        registry.download(name, tmp_path)
    msg = str(err.value)
    assert f"cannot download {name}" in msg and presets.PRESETS[name].repo_id in msg and "hf download" in msg
    assert not (tmp_path / presets.PRESETS[name].folder / name / ".mils-complete").exists()
