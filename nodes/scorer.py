"""Scorer nodes: load a multimodal scorer, and score texts or images against a target."""
from __future__ import annotations

import torch

from mils import errors, registry, targets
from mils.scorers.binding import media_target
from mils.media import Media
from mils.scorers.embedding import EmbeddingScorer
from mils.scorers.render import CosineImageScorer
from . import bridge, model_memory
from .common import (CATEGORY, SCORER_TYPE, audio_input, device_input, dtype_input, image_input, keep_loaded_input,
                     node_error, split_lines)
from .vlm import vlm_scores

USE_SOURCE = "(use source below)"
KINDS = ["auto", "open_clip", "transformers CLIP/SigLIP", "PickScore", "CLAP", "X-CLIP (video)", "VLM judge"]
_KIND_PREFIX = {"open_clip": "open_clip", "transformers CLIP/SigLIP": "hf", "PickScore": "pickscore", "CLAP": "clap",
                "X-CLIP (video)": "xclip",
                "VLM judge": "vlm"}


def scorer_spec(model: str, kind: str, source: str) -> str:
    """The registry spec for the loader's widgets (see registry.load_scorer_model)."""
    source = source.strip()
    if model == USE_SOURCE:
        if not source:
            raise node_error("source", "a scorer source when model is '(use source below)', e.g. an open_clip "
                                       "name:pretrained pair or a Hugging Face id")
        bridge.require_local(source.split(":", 1)[1] if source.startswith(("open_clip:", "hf:", "pickscore:",
                                                                            "clap:", "xclip:", "vlm:")) else source, "source")
        if kind == "auto":
            return source
        return f"{_KIND_PREFIX[kind]}:{source}"
    path = bridge.resolve_model(bridge.SCORER_FOLDER, model)
    if path is None:
        raise node_error("model", f"a scorer in models/{bridge.SCORER_FOLDER}; {model!r} is not there any more")
    if kind in ("auto", "open_clip") and registry.checkpoint_spec(path):
        return f"open_clip:{registry.checkpoint_spec(path)}"
    if kind == "auto":
        kind_key = registry.detect_scorer_kind(path)
    else:
        kind_key = _KIND_PREFIX[kind]
    if kind_key == "open_clip":
        if path.is_dir():
            return f"open_clip:local-dir:{path}"
        if not source:
            raise node_error("source", f"the open_clip architecture of the checkpoint file {path.name} "
                                       f"(e.g. ViT-B-32)")
        return f"open_clip:{source}:{path}"
    return f"{kind_key}:{path}"


def scorer_entries() -> list[str]:
    """models/mils entries a scorer can load: VGG19 Gram features (MILS Gram Style's) are left out."""
    out = []
    for name in bridge.list_models(bridge.SCORER_FOLDER):
        path = bridge.resolve_model(bridge.SCORER_FOLDER, name)
        try:
            kind = registry.detect_scorer_kind(path) if path is not None else None
        except errors.InputError:
            kind = None  # unknown layout: listed, the user may know its kind
        if kind not in registry.GRAM_KINDS:
            out.append(name)
    return out


class MILSScorerLoader:
    DESCRIPTION = ("Loads the model that scores candidates: open_clip CLIP/SigLIP, transformers CLIP/SigLIP, "
                   "PickScore (image vs prompt preference), CLAP (audio), X-CLIP (video) or a VLM judge (asks a "
                   "vision-language model whether a render shows the prompt). From models/mils or a source string.")
    CATEGORY = f"{CATEGORY}/Scorer"
    RETURN_TYPES = (SCORER_TYPE,)
    RETURN_NAMES = ("scorer",)
    OUTPUT_TOOLTIPS = ("The scorer, for MILS Score and MILS Loop.",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": ([USE_SOURCE] + scorer_entries(),
                      {"tooltip": "A folder or checkpoint in models/mils (get one with MILS Download Model)."}),
            "kind": (KINDS, {"default": "auto", "tooltip": "Which library loads it; auto detects it from the folder. "
                             "VLM judge: a vision-language model (Qwen3-VL ...) asked 'does this image show <prompt>?'; "
                             "its source may be an OpenAI-compatible server that returns logprobs: "
                             "http://host:port/v1#model (API key in $MILS_VLM_API_KEY)."}),
            "source": ("STRING", {"default": "", "tooltip": "With '(use source below)': e.g. ViT-B-32:laion2b_s34b_b79k "
                                  "(open_clip), hf-hub:timm/ViT-B-16-SigLIP, or a folder path. For a bare open_clip "
                                  "checkpoint file in models/mils: its architecture, e.g. ViT-B-32."}),
            "dtype": dtype_input(),
            "device": device_input(),
            "keep_loaded": keep_loaded_input(),
        }}

    def load(self, model, kind, source, dtype, device, keep_loaded):
        spec = scorer_spec(model, kind, source)
        dev = model_memory.load_device_for(device)
        dtype = model_memory.compute_dtype(dtype, device)
        handle = model_memory.ManagedModel(lambda: registry.load_scorer_model(spec, device=dev, dtype=dtype),
                                     label=f"scorer {spec}", keep_loaded=keep_loaded)
        handle.use()
        return (handle,)


def target_media(image=None, audio=None) -> Media | None:
    """The connected IMAGE or AUDIO as Media; an IMAGE batch of more than one is a video's frames."""
    if image is not None:
        image = image_input(image)
        return Media("video" if image.shape[0] > 1 else "image", images=image)
    if audio is not None:
        audio = audio_input(audio)
        return Media("audio", waveform=audio["waveform"], sample_rate=audio["sample_rate"])
    return None


def build_target(encoder, image=None, audio=None, text: str = "", *, num_frames: int = 8) -> torch.Tensor:
    """The target from whichever input is connected: IMAGE (a batch of >1 counts as video frames), AUDIO, or text."""
    given = [n for n, v in (("image", image), ("audio", audio)) if v is not None] + (["text"] if text.strip() else [])
    if not given:
        raise node_error("image", "a target: connect an IMAGE, an AUDIO, or write a text")
    if len(given) > 1:
        raise node_error(given[1], f"one target only; {' and '.join(given)} are all set")
    media = target_media(image, audio)
    if media is None:
        return targets.text_target(encoder, text, name="text")
    return media_target(encoder, media, num_frames=num_frames, name=given[0])


def bound_scores(model, texts, images, target_image, target_audio, target_text: str):
    """(scores, labels) from a model that binds to its target itself (X-CLIP, a mix of scorers; see
    mils.scorers.binding), or None for an embedding encoder."""
    if images is not None and hasattr(model, "prompt_image_scorer"):
        if target_image is not None or target_audio is not None or not target_text.strip():
            raise node_error("target_text", f"the text the images should match ({model!r} rates images against a text)")
        images = image_input(images, "images")
        labels = [f"image {i + 1}" for i in range(images.shape[0])]
        return [float(v) for v in model.prompt_image_scorer(target_text.strip()).image_scores(images)], labels
    if images is None and hasattr(model, "caption_scorer"):
        media = target_media(target_image, target_audio)
        if media is None:
            raise node_error("target_image", f"an IMAGE (several: a video's frames) or AUDIO target; {model!r} "
                                             "scores texts against media")
        labels = split_lines(texts)
        if not labels:
            raise node_error("texts", "at least one candidate line")
        return [float(v) for v in model.caption_scorer(media).score(labels)], labels
    return None


class MILSScore:
    DESCRIPTION = ("Scores candidate texts (one per line) or an IMAGE batch against a target: an IMAGE, an "
                   "AUDIO, or a text. Outputs the scores, the texts ranked best first, and the best one.")
    CATEGORY = f"{CATEGORY}/Scorer"
    RETURN_TYPES = ("FLOAT", "STRING", "STRING")
    RETURN_NAMES = ("scores", "ranked", "best")
    OUTPUT_IS_LIST = (True, True, False)
    OUTPUT_TOOLTIPS = ("One score per candidate, in input order (cosine similarity; higher is better).",
                       "The candidates, best first (images are named 'image 1', 'image 2', ...).",
                       "The best candidate.")
    FUNCTION = "score"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "scorer": (SCORER_TYPE, {"tooltip": "From MILS Scorer Loader."}),
            "texts": ("STRING", {"multiline": True, "default": "a photo of a cat\na photo of a dog",
                                 "tooltip": "Candidates, one per line. Ignored when 'images' is connected."}),
        }, "optional": {
            "images": ("IMAGE", {"tooltip": "Score these images instead of the texts (e.g. renders vs a prompt)."}),
            "target_image": ("IMAGE", {"tooltip": "Target: an image (several = video frames, averaged)."}),
            "target_audio": ("AUDIO", {"tooltip": "Target: a sound (needs a CLAP scorer)."}),
            "target_text": ("STRING", {"multiline": True, "default": "", "forceInput": True,
                                       "tooltip": "Target: a text, e.g. the prompt the images should match."}),
        }}

    def score(self, scorer, texts, images=None, target_image=None, target_audio=None, target_text=""):
        encoder = scorer.use()
        try:
            vlm = hasattr(encoder, "yes_probs")   # a VLM judge: P(yes) to a question, no embeddings
            bound = None if vlm else bound_scores(encoder, texts, images, target_image, target_audio, target_text or "")
            if vlm:
                labels, scores = vlm_scores(encoder, texts, images, target_image, target_text or "")
            elif bound is not None:
                scores, labels = bound
            elif images is not None:
                target = build_target(encoder, target_image, target_audio, target_text or "")
                images = image_input(images, "images")
                if "image" not in encoder.modalities:
                    raise node_error("images", f"a scorer that embeds images; {encoder.key} does not")
                labels = [f"image {i + 1}" for i in range(images.shape[0])]
                scores = CosineImageScorer(encoder, target).image_scores(images)
            else:
                target = build_target(encoder, target_image, target_audio, target_text or "")
                labels = split_lines(texts)
                if not labels:
                    raise node_error("texts", "at least one candidate line")
                scores = EmbeddingScorer(encoder, target).score(labels)
        finally:
            scorer.release()
        ranked = [t for _, t in sorted(zip(scores, labels), key=lambda p: -p[0])]
        table = "\n".join(f"{s:.4f}  {t}" for s, t in sorted(zip(scores, labels), key=lambda p: -p[0]))
        return {"ui": {"text": [table]}, "result": (scores, ranked, ranked[0])}
