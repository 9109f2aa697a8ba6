"""A tiny random-weight Qwen3-VL (the real architecture, processor and chat format), built offline.

``make_tiny_qwen3_vl(folder) -> folder`` writes config + weights + processor (the real Qwen2-VL image
processor class with 4-pixel patches, a word-level tokenizer with the special tokens Qwen's processor
needs, and a Qwen-style chat template) for ``load_scorer_model("vlm:<folder>")``.
"""
from __future__ import annotations

from pathlib import Path

import torch

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
           "<|video_pad|>"]
WORDS = ("<unk> Yes No yes no Does this image show a an the red blue green cube ball cat dog lamp left right of "
         "on in photo Answer or user assistant \" ? . , :").split()
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def _tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", additional_special_tokens=SPECIAL)


def make_tiny_qwen3_vl(folder, *, seed: int = 0, hidden: int = 32, layers: int = 2) -> Path:
    """Qwen3-VL with ``layers`` text and vision layers of width ``hidden``; images of 16..32 px squared."""
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration
    from transformers.models.qwen2_vl import Qwen2VLImageProcessor
    from transformers.models.qwen3_vl import Qwen3VLProcessor
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    tok = _tokenizer()
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL}
    head = 16
    half = head // 2
    config = Qwen3VLConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=max(1, hidden // head), num_key_value_heads=1,
                         head_dim=head, max_position_embeddings=512,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                          "mrope_section": [half - 2 * (half // 3), half // 3, half // 3],
                                          "mrope_interleaved": True}),
        vision_config=dict(depth=layers, hidden_size=hidden, intermediate_size=2 * hidden,
                           num_heads=max(1, hidden // head), patch_size=4, spatial_merge_size=2,
                           temporal_patch_size=2, out_hidden_size=hidden, num_position_embeddings=16,
                           deepstack_visual_indexes=[0]),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen3VLForConditionalGeneration(config).eval()
    patches = dict(patch_size=4, merge_size=2, temporal_patch_size=2)
    processor = Qwen3VLProcessor(image_processor=Qwen2VLImageProcessor(min_pixels=16 * 16, max_pixels=32 * 32,
                                                                       **patches),
                                 tokenizer=tok, video_processor=Qwen3VLVideoProcessor(**patches),
                                 chat_template=CHAT_TEMPLATE)
    folder = Path(folder)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
