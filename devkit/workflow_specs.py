"""The example workflows, as data: nodes, links and layout blocks; devkit/build_workflows.py builds them.

Each: nodes (ids 1..n in this order), links (from id, output name, to id, input name) and blocks
(one group each; blocks with the same "row" go left to right, rows top to bottom; inside a block,
columns of node ids top to bottom). Widget values are set by name.
"""
from __future__ import annotations

LLM_MODEL = "qwen3-1.7b"       # `mils download` / MILS Download Model preset names
CHECKPOINT = "v1-5-pruned-emaonly.safetensors"
VLM_MODEL = "qwen3-vl-2b-instruct"
PLACEHOLDER_MODELS = [f"LLM/{LLM_MODEL}", "mils/siglip2-b16", "mils/pickscore", "mils/clap-htsat", "mils/vgg19",
                      f"mils/{VLM_MODEL}"]
# Z-Image Turbo's files as ComfyUI's examples name them (models/<folder>/<file>)
ZIMAGE_UNET, ZIMAGE_TE, ZIMAGE_VAE = "z_image_turbo_bf16.safetensors", "qwen_3_4b.safetensors", "ae.safetensors"
PLACEHOLDER_FILES = {"checkpoints": [CHECKPOINT], "diffusion_models": [ZIMAGE_UNET], "text_encoders": [ZIMAGE_TE],
                     "vae": [ZIMAGE_VAE]}

LLM = {"type": "MILSLocalLLM", "values": {"model": LLM_MODEL, "hub_id": "", "dtype": "auto", "device": "auto",
                                          "keep_loaded": True}}
CKPT = {"type": "CheckpointLoaderSimple", "values": {"ckpt_name": CHECKPOINT}}
LATENT = {"type": "EmptyLatentImage", "values": {"width": 512, "height": 512, "batch_size": 1}}
DECODE = {"type": "VAEDecode", "size": [200, 50]}
NEGATIVE = "blurry, low quality"


def scorer(model):
    return {"type": "MILSScorerLoader", "values": {"model": model, "kind": "auto", "source": "", "dtype": "auto",
                                                   "device": "auto", "keep_loaded": True}}


def loop(task, title, **values):
    v = {"task": task, "budget": "preview", "keep": 0, "new_per_step": 0, "steps": 0, "parallel": 0, "patience": 0,
         "seed": 0, "control_after_generate": "fixed", "resume": True, "text": "", "initial": "", "judge": False,
         "judge_timeout": 60}
    v.update(values)
    return {"type": "MILSLoop", "title": title, "values": v}


def renderer(title="MILS Renderer (previews)", **values):
    v = {"sampler_name": "euler", "scheduler": "normal", "steps": 8, "cfg": 7.0, "width": 256, "height": 256,
         "negative": "", "batch": 4, "denoise": 0.6}
    v.update(values)
    return {"type": "MILSRenderer", "title": title, "values": v}


def text_preview(title):
    return {"type": "PreviewAny", "title": title, "size": [360, 160]}


def curve_preview():
    return {"type": "PreviewImage", "title": "Score per step", "size": [360, 300]}


def ksampler(title):
    return {"type": "KSampler", "title": title,
            "values": {"seed": 0, "control_after_generate": "randomize", "steps": 20, "cfg": 7.0,
                       "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0}}


def clip_text(title, text=""):
    return {"type": "CLIPTextEncode", "title": title, "values": {"text": text}, "size": [400, 160]}


def save(prefix):
    return {"type": "SaveImage", "values": {"filename_prefix": prefix}, "size": [320, 340]}


def load_image(image, title=None):
    return {"type": "LoadImage", "title": title, "values": {"image": image}, "size": [300, 330]}


WORKFLOWS: dict[str, dict] = {}

WORKFLOWS["image_captioning"] = {
    "nodes": [
        load_image("example.png"),                                   # 1
        LLM,                                                         # 2
        scorer("siglip2-b16"),                                        # 3
        loop("image_caption", "MILS Loop (image caption)"),          # 4
        text_preview("Best caption"),                                # 5
        curve_preview(),                                             # 6
    ],
    "links": [(2, "llm", 4, "llm"), (3, "scorer", 4, "scorer"), (1, "IMAGE", 4, "image"),
              (4, "best_prompt", 5, "source"), (4, "score_curve", 6, "images")],
    "blocks": [
        {"title": "Image to caption", "columns": [[1]]},
        {"title": "MILS: the LLM proposes captions, SigLIP scores them against the image", "columns": [[2, 3], [4]]},
        {"title": "Result", "columns": [[5, 6]]},
    ],
}

WORKFLOWS["video_captioning"] = {
    "nodes": [
        {"type": "LoadVideo", "values": {"file": "example.mp4"}, "size": [300, 300]},   # 1
        LLM,                                                                             # 2
        scorer("siglip2-b16"),                                                           # 3
        loop("video_caption", "MILS Loop (video caption)"),                              # 4
        text_preview("Best caption"),                                                    # 5
        curve_preview(),                                                                 # 6
    ],
    "links": [(1, "VIDEO", 4, "video"), (2, "llm", 4, "llm"), (3, "scorer", 4, "scorer"),
              (4, "best_prompt", 5, "source"), (4, "score_curve", 6, "images")],
    "blocks": [
        {"title": "Video to caption (a short clip: every frame is decoded)", "columns": [[1]]},
        {"title": "MILS: the LLM proposes captions, SigLIP 2 scores them against the frames", "columns": [[2, 3], [4]]},
        {"title": "Result", "columns": [[5, 6]]},
    ],
}

WORKFLOWS["audio_captioning"] = {
    "nodes": [
        {"type": "LoadAudio", "values": {"audio": "example.wav"}, "size": [300, 140]},  # 1
        LLM,                                                                             # 2
        scorer("clap-htsat"),                                                            # 3
        loop("audio_caption", "MILS Loop (audio caption)"),                              # 4
        text_preview("Best caption"),                                                    # 5
        curve_preview(),                                                                 # 6
    ],
    "links": [(2, "llm", 4, "llm"), (3, "scorer", 4, "scorer"), (1, "AUDIO", 4, "audio"),
              (4, "best_prompt", 5, "source"), (4, "score_curve", 6, "images")],
    "blocks": [
        {"title": "Sound to caption", "columns": [[1]]},
        {"title": "MILS: the LLM proposes captions, CLAP scores them against the sound", "columns": [[2, 3], [4]]},
        {"title": "Result", "columns": [[5, 6]]},
    ],
}

WORKFLOWS["prompt_enhancement"] = {
    "nodes": [
        CKPT,                                                                            # 1
        LLM,                                                                             # 2
        scorer("pickscore"),                                                             # 3
        renderer(negative=NEGATIVE),                                                     # 4
        loop("t2i_enhance", "MILS Loop (prompt enhancement)", text="a lighthouse on a cliff at sunset"),  # 5
        text_preview("Best prompt"),                                                     # 6
        {"type": "PreviewImage", "title": "Best preview render", "size": [300, 300]},    # 7
        clip_text("CLIP Text Encode (best prompt)"),                                     # 8
        clip_text("CLIP Text Encode (negative)", NEGATIVE),                              # 9
        LATENT,                                                                          # 10
        ksampler("KSampler (best prompt)"),                                              # 11
        DECODE,                                                                          # 12
        save("MILS_enhanced"),                                                           # 13
        ksampler("KSampler (Loop's conditioning)"),                                      # 14
        DECODE,                                                                          # 15
        save("MILS_enhanced_cond"),                                                      # 16
    ],
    "links": [(1, "MODEL", 4, "model"), (1, "CLIP", 4, "clip"), (1, "VAE", 4, "vae"),
              (2, "llm", 5, "llm"), (3, "scorer", 5, "scorer"), (4, "renderer", 5, "renderer"),
              (5, "best_prompt", 6, "source"), (5, "best_image", 7, "images"),
              (5, "best_prompt", 8, "text"), (1, "CLIP", 8, "clip"), (1, "CLIP", 9, "clip"),
              (1, "MODEL", 11, "model"), (8, "CONDITIONING", 11, "positive"), (9, "CONDITIONING", 11, "negative"),
              (10, "LATENT", 11, "latent_image"), (11, "LATENT", 12, "samples"), (1, "VAE", 12, "vae"),
              (12, "IMAGE", 13, "images"),
              (1, "MODEL", 14, "model"), (5, "conditioning", 14, "positive"), (9, "CONDITIONING", 14, "negative"),
              (10, "LATENT", 14, "latent_image"), (14, "LATENT", 15, "samples"), (1, "VAE", 15, "vae"),
              (15, "IMAGE", 16, "images")],
    "blocks": [
        {"title": "MILS: rewrites of your prompt are rendered with your checkpoint and scored by PickScore",
         "columns": [[1, 4], [2, 3], [5], [6, 7]]},
        {"title": "Stock txt2img with the best prompt (or with the Loop's conditioning output)",
         "columns": [[8, 9, 10], [11, 14], [12, 15], [13, 16]]},
    ],
}

# the same search with the artist as the judge: after each round the Loop waits (up to judge_timeout) for a pick
# or ranking clicked on its node; the rows show each candidate's render
WORKFLOWS["prompt_enhancement_judge"] = {
    "nodes": [
        CKPT,                                                                            # 1
        LLM,                                                                             # 2
        scorer("pickscore"),                                                             # 3
        renderer(negative=NEGATIVE),                                                     # 4
        loop("t2i_enhance", "MILS Loop (I am the judge)", text="a lighthouse on a cliff at sunset", judge=True,
             judge_timeout=120),                                                         # 5
        text_preview("Best prompt"),                                                     # 6
        {"type": "PreviewImage", "title": "Best preview render", "size": [300, 300]},    # 7
        curve_preview(),                                                                 # 8
    ],
    "links": [(1, "MODEL", 4, "model"), (1, "CLIP", 4, "clip"), (1, "VAE", 4, "vae"),
              (2, "llm", 5, "llm"), (3, "scorer", 5, "scorer"), (4, "renderer", 5, "renderer"),
              (5, "best_prompt", 6, "source"), (5, "best_image", 7, "images"), (5, "score_curve", 8, "images")],
    "blocks": [
        {"title": "MILS, you judge: after each round click the renders you prefer on the Loop (best first) and "
                  "Send; pin, ban, edit or add any time",
         "columns": [[1, 4], [2, 3], [5], [6, 7, 8]]},
    ],
}

WORKFLOWS["style_transfer"] = {
    "nodes": [
        load_image("example.png", "Content image"),                                     # 1
        load_image("style.jpg", "Style image"),                                         # 2
        CKPT,                                                                            # 3
        LLM,                                                                             # 4
        {"type": "MILSGramStyle", "values": {"features": "vgg19", "style_weight": 1000.0, "content_weight": 1.0,
                                             "size": 256}},                              # 5
        renderer("MILS Renderer (edits of the photo)"),                                  # 6
        loop("style_transfer", "MILS Loop (style transfer)"),                            # 7
        save("MILS_style"),                                                              # 8
        text_preview("Best edit instruction"),                                           # 9
    ],
    "links": [(2, "IMAGE", 5, "style_image"), (1, "IMAGE", 5, "content_image"),
              (3, "MODEL", 6, "model"), (3, "CLIP", 6, "clip"), (3, "VAE", 6, "vae"), (1, "IMAGE", 6, "content_image"),
              (4, "llm", 7, "llm"), (5, "scorer", 7, "style_scorer"), (6, "renderer", 7, "renderer"),
              (7, "best_image", 8, "images"), (7, "best_prompt", 9, "source")],
    "blocks": [
        {"title": "Your photo and the style", "columns": [[1, 2]]},
        {"title": "MILS: the LLM writes edits, your checkpoint applies them, VGG19 Gram style loss ranks them",
         "columns": [[3, 6], [4, 5], [7]]},
        {"title": "Result", "columns": [[8, 9]]},
    ],
}

WORKFLOWS["embedding_arithmetic"] = {
    "nodes": [
        load_image("example.png"),                                                       # 1
        LLM,                                                                             # 2
        scorer("siglip2-b16"),                                                           # 3
        {"type": "MILSArithmeticTerm", "title": "MILS Arithmetic Term (the photo)",
         "values": {"weight": 1.0, "text": ""}},                                         # 4
        {"type": "MILSEmbeddingArithmetic",
         "values": {"text_terms": "-1 a photo\n+1 a watercolor painting"}},              # 5
        loop("invert", "MILS Loop (embedding to prompt)"),                               # 6
        text_preview("Best prompt"),                                                     # 7
        CKPT,                                                                            # 8
        clip_text("CLIP Text Encode (best prompt)"),                                     # 9
        clip_text("CLIP Text Encode (negative)", NEGATIVE),                              # 10
        LATENT,                                                                          # 11
        ksampler("KSampler"),                                                            # 12
        DECODE,                                                                          # 13
        save("MILS_arithmetic"),                                                         # 14
    ],
    "links": [(1, "IMAGE", 4, "image"), (4, "terms", 5, "terms"), (3, "scorer", 5, "scorer"),
              (2, "llm", 6, "llm"), (3, "scorer", 6, "scorer"), (5, "target", 6, "target"),
              (6, "best_prompt", 7, "source"),
              (6, "best_prompt", 9, "text"), (8, "CLIP", 9, "clip"), (8, "CLIP", 10, "clip"),
              (8, "MODEL", 12, "model"), (9, "CONDITIONING", 12, "positive"), (10, "CONDITIONING", 12, "negative"),
              (11, "LATENT", 12, "latent_image"), (12, "LATENT", 13, "samples"), (8, "VAE", 13, "vae"),
              (13, "IMAGE", 14, "images")],
    "blocks": [
        {"title": "The photo - 'a photo' + 'a watercolor painting', in SigLIP 2's space",
         "columns": [[1], [3, 4], [5]]},
        {"title": "MILS: the LLM searches a prompt with that embedding", "columns": [[2], [6], [7]]},
        {"title": "Stock txt2img with that prompt", "columns": [[8], [9, 10, 11], [12], [13, 14]]},
    ],
}

WORKFLOWS["prompt_enhancement_vlm"] = {
    "nodes": [
        CKPT,                                                                            # 1
        LLM,                                                                             # 2
        scorer(VLM_MODEL),                                                               # 3
        {"type": "MILSVLMJudge", "values": {"question": 'Does this image show "{}"? Answer yes or no.',
                                            "concepts": "llm"}, "size": [360, 130]},     # 4
        renderer(negative=NEGATIVE),                                                     # 5
        loop("t2i_enhance", "MILS Loop (prompt enhancement, VLM judge)",
             text="a red cube to the left of a blue ball on a wooden table"),            # 6
        text_preview("Best prompt"),                                                     # 7
        {"type": "PreviewImage", "title": "Best preview render", "size": [300, 300]},    # 8
        clip_text("CLIP Text Encode (best prompt)"),                                     # 9
        clip_text("CLIP Text Encode (negative)", NEGATIVE),                              # 10
        LATENT,                                                                          # 11
        ksampler("KSampler (best prompt)"),                                              # 12
        DECODE,                                                                          # 13
        save("MILS_enhanced_vlm"),                                                       # 14
    ],
    "links": [(1, "MODEL", 5, "model"), (1, "CLIP", 5, "clip"), (1, "VAE", 5, "vae"),
              (3, "scorer", 4, "scorer"),
              (2, "llm", 6, "llm"), (4, "scorer", 6, "scorer"), (5, "renderer", 6, "renderer"),
              (6, "best_prompt", 7, "source"), (6, "best_image", 8, "images"),
              (6, "best_prompt", 9, "text"), (1, "CLIP", 9, "clip"), (1, "CLIP", 10, "clip"),
              (1, "MODEL", 12, "model"), (9, "CONDITIONING", 12, "positive"), (10, "CONDITIONING", 12, "negative"),
              (11, "LATENT", 12, "latent_image"), (12, "LATENT", 13, "samples"), (1, "VAE", 13, "vae"),
              (13, "IMAGE", 14, "images")],
    "blocks": [
        {"title": "MILS: a VLM judge asks each render about every concept of your prompt; the LLM is told "
                  "which ones are missing", "columns": [[1, 5], [2, 3, 4], [6], [7, 8]]},
        {"title": "Stock txt2img with the best prompt", "columns": [[9, 10, 11], [12], [13], [14]]},
    ],
}


WORKFLOWS["text_encoder_prompt_enhancement"] = {
    "nodes": [
        {"type": "UNETLoader", "values": {"unet_name": ZIMAGE_UNET, "weight_dtype": "default"}},          # 1
        {"type": "CLIPLoader", "values": {"clip_name": ZIMAGE_TE, "type": "lumina2", "device": "default"}},  # 2
        {"type": "VAELoader", "values": {"vae_name": ZIMAGE_VAE}},                                       # 3
        {"type": "MILSTextEncoderLLM", "values": {"top_k": 0, "repetition_penalty": 1.0}},               # 4
        scorer("pickscore"),                                                                             # 5
        renderer(steps=8, cfg=1.0, width=512, height=512, batch=2, scheduler="simple"),                  # 6
        loop("t2i_enhance", "MILS Loop (prompt enhancement)", text="a lighthouse on a cliff at sunset"),  # 7
        text_preview("Best prompt"),                                                                     # 8
        {"type": "PreviewImage", "title": "Best preview render", "size": [300, 300]},                    # 9
        clip_text("CLIP Text Encode (best prompt)"),                                                     # 10
        clip_text("CLIP Text Encode (empty negative: cfg 1)"),                                           # 11
        {"type": "EmptyLatentImage", "values": {"width": 1024, "height": 1024, "batch_size": 1}},        # 12
        {"type": "KSampler", "title": "KSampler (best prompt)",
         "values": {"seed": 0, "control_after_generate": "randomize", "steps": 8, "cfg": 1.0,
                    "sampler_name": "euler", "scheduler": "simple", "denoise": 1.0}},                   # 13
        DECODE,                                                                                          # 14
        save("MILS_text_encoder_enhanced"),                                                              # 15
    ],
    "links": [(2, "CLIP", 4, "clip"), (1, "MODEL", 6, "model"), (2, "CLIP", 6, "clip"), (3, "VAE", 6, "vae"),
              (4, "llm", 7, "llm"), (5, "scorer", 7, "scorer"), (6, "renderer", 7, "renderer"),
              (7, "best_prompt", 8, "source"), (7, "best_image", 9, "images"),
              (7, "best_prompt", 10, "text"), (2, "CLIP", 10, "clip"), (2, "CLIP", 11, "clip"),
              (1, "MODEL", 13, "model"), (10, "CONDITIONING", 13, "positive"), (11, "CONDITIONING", 13, "negative"),
              (12, "LATENT", 13, "latent_image"), (13, "LATENT", 14, "samples"), (3, "VAE", 14, "vae"),
              (14, "IMAGE", 15, "images")],
    "blocks": [
        {"title": "Z-Image Turbo: its Qwen3 4B text encoder also writes the rewrites (no second LLM in memory)",
         "columns": [[1, 2, 3], [4, 5, 6], [7], [8, 9]]},
        {"title": "Stock txt2img with the best prompt", "columns": [[10, 11, 12], [13], [14, 15]]},
    ],
}
