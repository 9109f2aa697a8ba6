"""Tiny random-weight models with real architectures, built offline and saved to disk.

Each builder writes under ``tmp_path`` and returns what the matching loader takes, so tests load
them through the same functions users call:

- ``make_tiny_open_clip(tmp_path) -> (model_name, checkpoint_path)`` for
  ``load_open_clip(model_name, pretrained=str(checkpoint_path))``;
- ``make_tiny_open_clip_dir(tmp_path) -> model_name`` ("local-dir:<folder>") for ``load_open_clip(model_name)``;
- ``make_tiny_hf_clip(tmp_path) -> folder`` for ``load_hf_clip(folder)`` (``with_processor=False``
  writes only config + weights, for ``processor_source`` / PickScore-style loading);
- ``make_tiny_hf_siglip(tmp_path) -> folder`` for ``load_hf_clip(folder)``;
- ``make_tiny_clap(tmp_path) -> folder`` for ``load_clap(folder)``;
- ``make_tiny_xclip(tmp_path) -> folder`` for ``load_xclip(folder)`` (X-CLIP, video-text).

Tokenizers are built in code: byte-level BPE vocabularies (every byte a token, a few merges) for
CLIP and CLAP/RoBERTa, a word-level tokenizer for SigLIP (whose real tokenizer needs
sentencepiece). open_clip uses its bundled CLIP BPE vocabulary.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

TINY_OPEN_CLIP_NAME = "mils-tiny-clip"
TINY_OPEN_CLIP_CONFIG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}
TINY_EMBED_DIM = 16


def _byte_alphabet() -> list[str]:
    from tokenizers.pre_tokenizers import ByteLevel

    return sorted(ByteLevel.alphabet())


def _save_safetensors(state_dict: dict[str, torch.Tensor], path: Path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.detach().contiguous().clone() for k, v in state_dict.items()}, str(path))


# --------------------------------------------------------------------------------------------
# open_clip


def _register_tiny_open_clip(tmp_path: Path) -> str:
    import open_clip

    if TINY_OPEN_CLIP_NAME not in open_clip.list_models():
        cfg_dir = Path(tmp_path) / "open_clip_configs"
        cfg_dir.mkdir(parents=True, exist_ok=True)
        cfg_file = cfg_dir / f"{TINY_OPEN_CLIP_NAME}.json"
        cfg_file.write_text(json.dumps(TINY_OPEN_CLIP_CONFIG))
        open_clip.add_model_config(cfg_file)
    return TINY_OPEN_CLIP_NAME


def _tiny_open_clip_state(seed: int) -> dict[str, torch.Tensor]:
    import open_clip

    torch.manual_seed(seed)
    model = open_clip.create_model(TINY_OPEN_CLIP_NAME)  # random init, logs "No pretrained weights"
    return model.state_dict()


def make_tiny_open_clip(tmp_path: Path, *, seed: int = 0) -> tuple[str, Path]:
    """Register the tiny architecture with open_clip and save random weights as .safetensors."""
    name = _register_tiny_open_clip(tmp_path)
    out = Path(tmp_path) / "open_clip"
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / "tiny.safetensors"
    _save_safetensors(_tiny_open_clip_state(seed), checkpoint)
    return name, checkpoint


def make_tiny_open_clip_dir(tmp_path: Path, *, seed: int = 0) -> str:
    """A local-dir: folder (open_clip_config.json + open_clip_model.safetensors), SigLIP-style preprocessing."""
    _register_tiny_open_clip(tmp_path)
    folder = Path(tmp_path) / "open_clip_dir"
    folder.mkdir(parents=True, exist_ok=True)
    preprocess = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "interpolation": "bilinear",
                  "resize_mode": "squash"}
    (folder / "open_clip_config.json").write_text(
        json.dumps({"model_cfg": TINY_OPEN_CLIP_CONFIG, "preprocess_cfg": preprocess}))
    _save_safetensors(_tiny_open_clip_state(seed), folder / "open_clip_model.safetensors")
    return f"local-dir:{folder}"


# --------------------------------------------------------------------------------------------
# transformers CLIP / SigLIP


def _tiny_clip_tokenizer():
    from transformers import CLIPTokenizer

    vocab: dict[str, int] = {}
    for c in _byte_alphabet():
        vocab[c] = len(vocab)
    for c in _byte_alphabet():
        vocab[c + "</w>"] = len(vocab)
    merges = [("c", "a"), ("ca", "t</w>"), ("d", "o"), ("do", "g</w>")]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=16), vocab


def make_tiny_hf_clip(tmp_path: Path, *, with_processor: bool = True, seed: int = 0,
                      name: str = "hf_clip") -> Path:
    """A transformers CLIP folder: 2 layers, width 32, 32 px images with 8 px patches, 16-d embeddings."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    tokenizer, vocab = _tiny_clip_tokenizer()
    eos = vocab["<|endoftext|>"]
    config = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=16, bos_token_id=vocab["<|startoftext|>"],
                         eos_token_id=eos, pad_token_id=eos),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8),
        projection_dim=TINY_EMBED_DIM)
    torch.manual_seed(seed)
    folder = Path(tmp_path) / name
    CLIPModel(config).eval().save_pretrained(folder)
    if with_processor:
        image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
        CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def _tiny_siglip_tokenizer():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = ["<pad>", "</s>", "<unk>"] + "a an the cat dog photo of big small red blue green sky sea".split()
    vocab = {w: i for i, w in enumerate(words)}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tk.normalizer = normalizers.Lowercase()
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tk.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", vocab["</s>"])])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", eos_token="</s>",
                                        unk_token="<unk>", model_max_length=16)
    return tokenizer, vocab


def make_tiny_hf_siglip(tmp_path: Path, *, seed: int = 0) -> Path:
    """A transformers SigLIP folder: 2 layers, width 32, 32 px images (squash resize), 32-d embeddings."""
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipProcessor

    tokenizer, vocab = _tiny_siglip_tokenizer()
    config = SiglipConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=16, pad_token_id=vocab["<pad>"],
                         eos_token_id=vocab["</s>"], bos_token_id=None),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8))
    torch.manual_seed(seed)
    folder = Path(tmp_path) / "hf_siglip"
    SiglipModel(config).eval().save_pretrained(folder)
    SiglipProcessor(image_processor=SiglipImageProcessor(size={"height": 32, "width": 32}),
                    tokenizer=tokenizer).save_pretrained(folder)
    return folder


# --------------------------------------------------------------------------------------------
# CLAP


def make_tiny_clap(tmp_path: Path, *, seed: int = 0, truncation: str = "rand_trunc") -> Path:
    """A transformers CLAP folder at 48 kHz with 16-d embeddings.

    ``truncation="rand_trunc"`` (like laion/clap-htsat-unfused): 16 mel bins, 2 s windows;
    ``"fusion"`` (like laion/clap-htsat-fused): 64 mel bins, 1 s windows, fusion layers.
    """
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, RobertaTokenizer

    vocab = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])}
    for c in _byte_alphabet():
        vocab[c] = len(vocab)
    tokenizer = RobertaTokenizer(vocab=vocab, merges=[], model_max_length=32)
    fused = truncation == "fusion"
    # transformers' fusion path hard-codes 64 mel bins; unfused models get by with 16.
    mel_bins, spec_size, window_s = (64, 128, 1) if fused else (16, 64, 2)
    feature_extractor = ClapFeatureExtractor(feature_size=mel_bins, max_length_s=window_s, truncation=truncation,
                                             padding="repeatpad")
    config = ClapConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=40, pad_token_id=1, bos_token_id=0,
                         eos_token_id=2, type_vocab_size=1),
        audio_config=dict(num_mel_bins=mel_bins, spec_size=spec_size, window_size=4, depths=[1, 1], num_attention_heads=[1, 2],
                          patch_embeds_hidden_size=8, hidden_size=16, num_hidden_layers=2, enable_fusion=fused,
                          fusion_type="aff_2d" if fused else None, projection_dim=TINY_EMBED_DIM),
        projection_dim=TINY_EMBED_DIM)
    torch.manual_seed(seed)
    folder = Path(tmp_path) / f"clap_{truncation}"
    ClapModel(config).eval().save_pretrained(folder)
    ClapProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


# --- a tiny Llama with a word-level tokenizer and a chat template (no pad token on purpose) ---

WORDS = ("a the cat dog sits sleeps on mat sofa red blue photo of in image small big grey window near "
         "zebra quokka").split()
SPECIAL = ["<unk>", "<s>", "</s>", "<|user|>", "<|assistant|>"]
CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} </s> {% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def _tiny_tokenizer(chat_template: str | None):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(SPECIAL + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece()
    # No pad token on purpose: the generator must fall back to EOS.
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                 extra_special_tokens=["<|user|>", "<|assistant|>"])
    if chat_template:
        hf.chat_template = chat_template
    return hf, len(vocab)


def make_tiny_llama(folder, chat_template: str | None = CHAT_TEMPLATE):
    from transformers import LlamaConfig, LlamaForCausalLM

    tok, vocab_size = _tiny_tokenizer(chat_template)
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
                      bos_token_id=1, eos_token_id=2)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = LlamaForCausalLM(cfg)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


# --- a tiny random SD1.5-layout checkpoint for ComfyUI's CheckpointLoaderSimple (needs ComfyUI) ---

_TINY_SD15_SCRIPT = r'''
import sys, torch
comfy_dir, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, comfy_dir)
sys.argv = [sys.argv[0], "--cpu"]
import comfy.options
comfy.options.enable_args_parsing()          # else model_management probes CUDA
import comfy.ops, comfy.taesd.taesd, comfy.sd1_clip, comfy.model_detection
from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel
from safetensors.torch import save_file

torch.manual_seed(0)
def rand_init(m):                            # ComfyUI's ops skip weight init
    for n, p in m.named_parameters():
        with torch.no_grad():
            if p.ndim == 1 and ("norm" in n or "ln" in n) and n.endswith("weight"):
                p.fill_(1.0)
            elif p.ndim == 1:
                p.zero_()
            else:
                p.normal_(0.0, 0.02)
    return m
unet = rand_init(UNetModel(image_size=32, in_channels=4, out_channels=4, model_channels=320, num_res_blocks=[1],
    channel_mult=[1], transformer_depth=[1], transformer_depth_output=[1, 1], transformer_depth_middle=1,
    context_dim=768, num_heads=8, use_spatial_transformer=True, use_linear_in_transformer=False, legacy=False,
    adm_in_channels=None, use_temporal_resblock=False, use_temporal_attention=False, device="cpu",
    operations=comfy.ops.disable_weight_init))
sd = {"model.diffusion_model." + k: v for k, v in unet.state_dict().items()}
sd.update({"first_stage_model." + k: v for k, v in rand_init(comfy.taesd.taesd.TAESD(latent_channels=4)).state_dict().items()})
clip = rand_init(comfy.sd1_clip.SD1ClipModel(device="cpu", dtype=torch.float32))
sd.update({"cond_stage_model." + k[len("clip_l."):]: v for k, v in clip.state_dict().items() if k.startswith("clip_l.")})
sd = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in sd.items()}
assert type(comfy.model_detection.model_config_from_unet(sd, "model.diffusion_model.")).__name__ == "SD15"
save_file(sd, out)
'''


def make_tiny_sd15(comfy_dir, out, *, python: str | None = None, timeout: float = 300) -> Path:
    """A random-weight SD1.5-layout checkpoint (UNet at SD1.5 widths but one level, TAESD VAE, full-size
    random CLIP-L: 304 MB, a few seconds) that ComfyUI detects as SD15. Runs ComfyUI's own classes in a
    subprocess of ``python`` (the ComfyUI venv's), so the key layout is exactly what its loader expects."""
    import subprocess
    import sys

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([python or sys.executable, "-c", _TINY_SD15_SCRIPT, str(comfy_dir), str(out)],
                       timeout=timeout, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"making the tiny SD1.5 checkpoint failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return out


# --------------------------------------------------------------------------------------------
# X-CLIP (video-text)


def make_tiny_xclip(tmp_path: Path, *, seed: int = 0, num_frames: int = 4, name: str = "xclip") -> Path:
    """A transformers X-CLIP folder laid out like microsoft/xclip-base-patch32 (a CLIP tokenizer, VideoMAE's image
    processor): 2 layers, width 32, 32 px frames with 8 px patches, ``num_frames`` frames, 16-d embeddings."""
    from transformers import XCLIPConfig, XCLIPModel

    tokenizer, vocab = _tiny_clip_tokenizer()
    eos = vocab["<|endoftext|>"]
    config = XCLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=16, bos_token_id=vocab["<|startoftext|>"],
                         eos_token_id=eos, pad_token_id=eos),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8, num_frames=num_frames, mit_hidden_size=16,
                           mit_intermediate_size=32, mit_num_hidden_layers=1, mit_num_attention_heads=2),
        projection_dim=TINY_EMBED_DIM, prompt_layers=1, prompt_num_attention_heads=2)
    torch.manual_seed(seed)
    model = XCLIPModel(config).eval()
    with torch.no_grad():   # random init leaves the prompts' alpha small: make the video's part of the score visible
        model.prompts_generator.alpha.fill_(1.0)
    folder = Path(tmp_path) / name
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    # the layout of microsoft/xclip-base-patch32's preprocessor_config.json (VideoMAE's processor), at 32 px
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "do_center_crop": True, "do_normalize": True, "do_resize": True,
        "feature_extractor_type": "VideoMAEFeatureExtractor", "image_mean": [0.485, 0.456, 0.406],
        "image_std": [0.229, 0.224, 0.225], "processor_class": "XCLIPProcessor", "resample": 2, "size": 32,
        "crop_size": 32}))
    return folder
