"""Tiny random diffusers pipelines built from configs, saved with ``save_pretrained`` for ``load_diffusers_pipeline``.

Like diffusers' own pipeline tests: a 2-level UNet2DConditionModel, a 2-level AutoencoderKL (so the VAE
scale factor is 2), a 2-layer CLIPTextModel with the tiny offline CLIP tokenizer of devkit.tiny_models.
Needs the ``diffusers`` extra (imported when called).
"""
from __future__ import annotations

from pathlib import Path

import torch

from .tiny_models import _tiny_clip_tokenizer, make_tiny_hf_clip

PREVIEW = 32   # the preview size `mils enhance` runs use with these pipelines


def unet(in_channels: int):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=16, in_channels=in_channels, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, norm_num_groups=2, attention_head_dim=2)


def components(seed: int = 0) -> dict:
    """The parts of a text-to-image StableDiffusionPipeline, seeded."""
    from diffusers import AutoencoderKL, DDIMScheduler
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer, vocab = _tiny_clip_tokenizer()
    eos = vocab["<|endoftext|>"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet4 = unet(4)
        vae = AutoencoderKL(block_out_channels=[4, 8], in_channels=3, out_channels=3, latent_channels=4,
                            down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                            norm_num_groups=2)
        text_encoder = CLIPTextModel(CLIPTextConfig(
            vocab_size=len(vocab), hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
            max_position_embeddings=16, bos_token_id=vocab["<|startoftext|>"], eos_token_id=eos, pad_token_id=eos))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    return dict(vae=vae.eval(), text_encoder=text_encoder.eval(), tokenizer=tokenizer, unet=unet4.eval(),
                scheduler=scheduler, safety_checker=None, feature_extractor=None, requires_safety_checker=False)


def make_tiny_pipelines(root: Path) -> dict[str, Path]:
    """Folders under ``root``: a text-to-image SD pipeline ("sd"), an InstructPix2Pix pipeline ("ip2p"), a
    tiny HF CLIP scorer ("clip"); "root" is ``root``."""
    from diffusers import (
        EulerAncestralDiscreteScheduler,
        StableDiffusionInstructPix2PixPipeline,
        StableDiffusionPipeline,
    )

    root = Path(root)
    parts = components()
    StableDiffusionPipeline(**parts).save_pretrained(root / "sd")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        unet8 = unet(8).eval()  # InstructPix2Pix: noise latents + content-image latents
    # an ancestral scheduler draws fresh noise every step: batched == one-at-a-time must hold anyway
    ip2p = StableDiffusionInstructPix2PixPipeline(**{**parts, "unet": unet8, "scheduler":
                                                     EulerAncestralDiscreteScheduler.from_config(parts["scheduler"].config)})
    ip2p.save_pretrained(root / "ip2p")
    clip = make_tiny_hf_clip(root)
    return {"sd": root / "sd", "ip2p": root / "ip2p", "clip": clip, "root": root}


def enhance_args(models: dict, out, *extra: str) -> list[str]:
    """`mils enhance` arguments for a tiny, quick run on ``make_tiny_pipelines``' folders, writing to ``out``."""
    return ["enhance", "a red cat on a sofa", "--pipeline", str(models["sd"]), "--llm", "py:devkit.toys:toy_llm",
            "--scorer", str(models["clip"]), "--device", "cpu", "--keep", "2", "--new", "3", "--steps", "2",
            "--preview-size", str(PREVIEW), "--preview-steps", "2", "--final-size", "64x48", "--final-steps", "2",
            "--guidance", "4.0", "--out", str(out), "--quiet", *extra]
