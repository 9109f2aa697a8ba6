"""Random-weight LLMs in the real layout of Qwen3-0.6B, the smallest text encoder ComfyUI can generate with.

``qwen3_06b_config`` is Qwen3-0.6B's published config (transformers' Qwen3Config, tied embeddings);
``save_qwen3_06b_text_encoder`` writes its random weights as one .safetensors file in the key layout
ComfyUI's CLIPLoader reads ("model.embed_tokens.weight", "model.layers.N...", "model.norm.weight"):
ComfyUI detects Qwen3 0.6B from the shapes (hidden size 1024 with q_norm) and builds a 28-layer model
whatever the file holds, so the file has the full size (about 1.2 GB in float16). No download: the
weights are made here; the tokenizer is the one ComfyUI ships (comfy/text_encoders/qwen25_tokenizer).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

STOP_TOKEN = 151645   # <|im_end|>, the end of an assistant turn


def qwen3_06b_config(**overrides):
    from transformers import Qwen3Config

    values = dict(vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                  num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
                  rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True, bos_token_id=151643,
                  eos_token_id=STOP_TOKEN, hidden_act="silu", attention_bias=False)
    values.update(overrides)
    return Qwen3Config(**values)


def random_qwen3_06b(seed: int = 0, dtype=torch.float32, device: str = "cpu", **overrides):
    """A Qwen3ForCausalLM of Qwen3-0.6B's architecture with random weights (seeded)."""
    from transformers import Qwen3ForCausalLM

    cfg = qwen3_06b_config(**overrides)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with torch.device(device):
            model = Qwen3ForCausalLM(cfg)
    return model.to(dtype).eval()


def save_qwen3_06b_text_encoder(path: str | os.PathLike, seed: int = 0, stop_logit: float | None = None,
                                dtype=torch.float32) -> Path:
    """Random Qwen3-0.6B weights in ComfyUI's text-encoder layout, written atomically.

    ``stop_logit``: make the random model end its turn early, so that tests on a CPU stay short. Every
    embedding row then shares one large component (the final hidden state points along it whatever the
    input), with a small random part, so the next-token distribution is nearly uniform over the
    vocabulary (the layers' output projections are scaled down, so the stream stays the embedding); the
    end-of-turn row gets ``stop_logit`` more along that component. At temperature T a
    reply then ends after each token with probability about e^(stop_logit/T) / (151936 + e^(stop_logit/T)),
    e.g. 15 % for 5.1 at T = 0.5 (the search's temperature). float32 by default: ComfyUI keeps a text
    encoder in its file's dtype, and float16 weights on a CPU are cast for every token (many times slower).
    """
    from safetensors.torch import save_file

    path = Path(path)
    model = random_qwen3_06b(seed)
    if stop_logit is not None:
        with torch.no_grad():
            for name, p in model.named_parameters():   # the layers add next to nothing to the residual stream
                if name.endswith(("o_proj.weight", "down_proj.weight")):
                    p.mul_(1e-3)
            emb = model.model.embed_tokens.weight
            gen = torch.Generator().manual_seed(seed + 1)
            common = torch.randn(emb.shape[1], generator=gen)
            common = common / common.norm()
            scale = emb.shape[1] ** 0.5          # |RMSNorm(x)| with unit norm weights
            emb.copy_(common * 4.0 + torch.randn(emb.shape, generator=gen) * (0.1 / scale))
            emb[STOP_TOKEN] += common * (stop_logit / scale)
    sd = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()
          if not k.startswith("lm_head.")}
    del model
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    save_file(sd, str(tmp))
    os.replace(tmp, path)
    return path
