"""Rendering MILS candidates with diffusers pipelines (text-to-image, instruction edit, image-to-image).

``DiffusersRenderer`` implements the engine's ``Renderer`` protocol (``mils.scorers.render``) over
any diffusers text-to-image pipeline: texts in, ``(B, H, W, 3)`` float32 0..1 CPU images out,
deterministic under the seed. ``DiffusersEditRenderer`` does the same for edit instructions applied
to one content image, with an InstructPix2Pix-style pipeline or an image-to-image pipeline.

Every candidate starts from the same noise (the paper's one fixed seed for every candidate): the
initial latents are drawn once for a batch of one from a CPU ``torch.Generator`` seeded with
``seed`` and repeated over the batch (passed as ``latents=``), and each batch position gets its own
generator seeded with ``seed`` for whatever the pipeline draws later (ancestral / SDE scheduler
steps, the VAE sample of an image-to-image start). So a text renders the same whether it is
alone in a pipeline call or one of several, and two identical texts in one call give the same
picture. Pipelines whose latent layout is not the UNet one (transformer / packed latents) get the
per-position generators only, which diffusers turns into the same per-candidate noise.

Pipelines are loaded by ``mils.renderers.diffusers_loading`` (through the model cache, kind
``"renderer"``); diffusers is imported lazily, so the rest of the package works without it.
"""
from __future__ import annotations

import inspect
import logging
import os
from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F

from ..checks import check_float, check_int, check_size
from ..errors import Cancelled, InputError, MilsError
from ..keys import digest
from ..scorers import _preprocess as pp
from .base import BatchLimit
from .diffusers_loading import first_line, load_diffusers_pipeline

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Rendering


def _clip_budget(pipe) -> tuple[int | None, Any]:
    """The prompt budget in tokens when every text encoder of the pipeline is CLIP (they cut at
    ``model_max_length``, 77 for SD 1.x/2.x/SDXL); None when one reads long text (T5 in SD3 / FLUX)."""
    tokenizers = [t for t in (getattr(pipe, n, None) for n in ("tokenizer", "tokenizer_2", "tokenizer_3")) if t]
    if not tokenizers or any("CLIP" not in type(t).__name__ for t in tokenizers):
        return None, None
    limit = getattr(tokenizers[0], "model_max_length", None)
    return (int(limit), tokenizers[0]) if isinstance(limit, int) and 2 < limit < 100_000 else (None, None)


def _cancel_callback(pipe, step, timestep, callback_kwargs):
    from ..cancel import requested

    if requested():
        raise Cancelled("rendering cancelled")
    return callback_kwargs


class _DiffusersBase:
    """Shared batching, seeding, cancellation and output handling of the diffusers renderers."""

    task = "text2image"

    def __init__(self, pipeline, *, width: int, height: int, steps: int, guidance_scale: float | None,
                 negative_prompt: str, batch_size: int, call_kwargs: Mapping[str, Any] | None,
                 device: str, dtype: str):
        if isinstance(pipeline, (str, os.PathLike)):
            pipeline = load_diffusers_pipeline(pipeline, device, dtype, task=self.task)
        if pipeline is None or not callable(pipeline) or not hasattr(pipeline, "components"):
            raise InputError("pipeline", "a diffusers pipeline, its folder or a hub id", type(pipeline).__name__)
        self.pipe = pipeline
        self.width, self.height = check_size("width", width), check_size("height", height)
        self.steps = check_int("steps", steps, 1)
        self.guidance_scale = None if guidance_scale is None else check_float("guidance_scale", guidance_scale, 0.0)
        if not isinstance(negative_prompt, str):
            raise InputError("negative_prompt", "a string", type(negative_prompt).__name__)
        self.negative_prompt = negative_prompt
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.limit = BatchLimit(batch_size, label="diffusers render")
        self.call_kwargs = dict(call_kwargs or {})
        self.pipeline_calls = 0
        self._params = inspect.signature(pipeline.__call__).parameters
        if negative_prompt and "negative_prompt" not in self._params:
            raise InputError("negative_prompt", f"no negative prompt: {type(pipeline).__name__} takes none",
                             repr(negative_prompt))
        ident = getattr(pipeline, "_mils_ident", None) or \
            f"{type(pipeline).__name__}:{getattr(pipeline, 'name_or_path', '')}#{id(pipeline):x}"
        self._ident = ident
        self.token_budget, self._tokenizer = _clip_budget(pipeline)

    def fit_text(self, text: str) -> str:
        """``text`` as the text encoder reads it: whole words kept while they fit in ``token_budget`` tokens."""
        if self.token_budget is None or len(self._tokenizer(text)["input_ids"]) <= self.token_budget:
            return text
        words = text.split()
        lo, hi = 0, len(words)  # the longest prefix of words that fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if len(self._tokenizer(" ".join(words[:mid]))["input_ids"]) <= self.token_budget:
                lo = mid
            else:
                hi = mid - 1
        return " ".join(words[:lo])

    # -- pieces the subclasses fill in ---------------------------------------------------------

    def _latent_channels(self) -> int | None:
        return None

    def _task_kwargs(self, n: int) -> dict[str, Any]:
        return {}

    # -- seeding -------------------------------------------------------------------------------

    def _model_dtype(self) -> torch.dtype:
        for name in ("unet", "transformer", "vae"):
            module = getattr(self.pipe, name, None)
            if module is not None and hasattr(module, "dtype"):
                return module.dtype
        return torch.float32

    def latent_shape(self) -> tuple[int, ...] | None:
        """The (1, C, h, w) start-noise shape for UNet-latent pipelines, else None (generators only)."""
        if "latents" not in self._params:
            return None
        if getattr(self.pipe, "unet", None) is None or getattr(self.pipe, "vae", None) is None:
            return None
        factor = getattr(self.pipe, "vae_scale_factor", None)
        prepare = getattr(self.pipe, "prepare_latents", None)
        channels = self._latent_channels()
        if not isinstance(factor, int) or factor < 1 or prepare is None or not isinstance(channels, int):
            return None
        names = list(inspect.signature(prepare).parameters)[:4]
        if names != ["batch_size", "num_channels_latents", "height", "width"]:
            return None
        return (1, channels, self.height // factor, self.width // factor)

    def initial_latents(self, seed: int, n: int) -> torch.Tensor | None:
        """The start noise of batch 1 from a CPU generator seeded with ``seed``, repeated ``n`` times."""
        shape = self.latent_shape()
        if shape is None:
            return None
        g = torch.Generator("cpu").manual_seed(int(seed))
        noise = torch.randn(shape, generator=g, dtype=torch.float32)
        return noise.to(self._model_dtype()).repeat(n, *([1] * (len(shape) - 1)))

    # -- calls ---------------------------------------------------------------------------------

    def _call(self, texts: list[str], seed: int) -> torch.Tensor:
        from ..cancel import requested

        if requested():
            raise Cancelled("rendering cancelled")
        n = len(texts)
        kwargs: dict[str, Any] = dict(self.call_kwargs)
        kwargs.update(prompt=list(texts), num_inference_steps=self.steps, output_type="np",
                      generator=[torch.Generator("cpu").manual_seed(int(seed)) for _ in range(n)])
        if self.guidance_scale is not None and "guidance_scale" in self._params:
            kwargs["guidance_scale"] = self.guidance_scale
        if self.negative_prompt:
            kwargs["negative_prompt"] = [self.negative_prompt] * n
        latents = self.initial_latents(seed, n)
        if latents is not None:
            kwargs["latents"] = latents
        if "callback_on_step_end" in self._params:
            kwargs["callback_on_step_end"] = _cancel_callback
        kwargs.update(self._task_kwargs(n))
        self.pipeline_calls += 1
        try:
            with torch.inference_mode():
                out = self.pipe(**kwargs)
        except (MilsError, torch.cuda.OutOfMemoryError):
            raise
        except ValueError as exc:  # diffusers' check_inputs: sizes, prompt lengths, ...
            raise InputError("pipeline", f"settings {type(self.pipe).__name__} accepts", first_line(exc)) from exc
        images = out.images if hasattr(out, "images") else out[0]
        if not torch.is_tensor(images):
            import numpy as np

            images = torch.from_numpy(np.stack([np.asarray(im, dtype=np.float32) for im in images])
                                      if isinstance(images, list) else np.asarray(images))
        images = images.detach().to("cpu", torch.float32)
        if images.ndim != 4 or images.shape[0] != n:
            raise RuntimeError(f"{type(self.pipe).__name__} returned images of shape {tuple(images.shape)} "
                               f"for {n} prompts")
        if images.shape[-1] not in (1, 3, 4) and images.shape[1] in (1, 3, 4):
            images = images.movedim(1, -1)
        if images.shape[-1] == 1:
            images = images.expand(-1, -1, -1, 3)
        return images[..., :3].clamp(0.0, 1.0).contiguous()

    def render(self, texts: Sequence[str], seed: int) -> torch.Tensor:
        """``(len(texts), height, width, 3)`` float32 CPU images in 0..1; the same ``seed`` noise for every text."""
        texts = pp.check_texts(texts, "texts")
        if not texts:
            return torch.zeros(0, self.height, self.width, 3)
        seed = int(seed)
        out = self.limit.run(texts, lambda chunk: self._call(chunk, seed))
        return torch.stack(out)


    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key}>"


class DiffusersRenderer(_DiffusersBase):
    """Renders texts with a diffusers text-to-image pipeline (SD 1.x/2.x, SDXL, SD3, FLUX, PixArt, ...).

    ``pipeline``: a loaded pipeline, or a folder / hub id (loaded through ``load_diffusers_pipeline``
    with ``device`` and ``dtype``). ``steps`` is num_inference_steps, ``guidance_scale`` is passed
    when the pipeline takes one (None: the pipeline's default), ``negative_prompt`` when not empty,
    ``call_kwargs`` go to every pipeline call as they are (e.g. ``max_sequence_length``). Up to
    ``batch_size`` texts go through one pipeline call (halved after an out-of-memory error).
    """

    task = "text2image"

    def __init__(self, pipeline, *, width: int = 256, height: int = 256, steps: int = 4,
                 guidance_scale: float | None = 7.0, negative_prompt: str = "", batch_size: int = 4,
                 call_kwargs: Mapping[str, Any] | None = None, device: str = "auto", dtype: str = "auto"):
        super().__init__(pipeline, width=width, height=height, steps=steps, guidance_scale=guidance_scale,
                         negative_prompt=negative_prompt, batch_size=batch_size, call_kwargs=call_kwargs,
                         device=device, dtype=dtype)
        if any(p in self._params for p in ("strength", "image_guidance_scale", "mask_image")):
            raise InputError("pipeline", "a text-to-image pipeline",
                             f"{type(self.pipe).__name__}, which edits an input image (use DiffusersEditRenderer)")
        extra = digest(repr(sorted(self.call_kwargs.items())).encode()) if self.call_kwargs else "none"
        cfg = "default" if self.guidance_scale is None else f"{self.guidance_scale:g}"
        self.key = (f"diffusers({self._ident},size={self.width}x{self.height},steps={self.steps},cfg={cfg},"
                    f"neg={digest(self.negative_prompt.encode())},kwargs={extra})")

    def _latent_channels(self) -> int | None:
        channels = getattr(getattr(self.pipe.unet, "config", None), "in_channels", None)
        return channels if isinstance(channels, int) else None

    def _task_kwargs(self, n: int) -> dict[str, Any]:
        kw = {}
        if "height" in self._params:
            kw["height"] = self.height
        if "width" in self._params:
            kw["width"] = self.width
        return kw


def _content_image(image) -> torch.Tensor:
    """A PIL image, or a (H, W, C) / (1, H, W, C) tensor in 0..1, as (1, H, W, 3) float32."""
    try:
        from PIL import Image

        if isinstance(image, Image.Image):
            import numpy as np

            image = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.uint8).copy())
    except ImportError:  # pragma: no cover
        pass
    if torch.is_tensor(image) and image.ndim == 3:
        image = image[None]
    image = pp.check_images(image, "image")
    if image.shape[0] != 1:
        raise InputError("image", "one content image (batch of 1)", f"shape {tuple(image.shape)}")
    return image.to("cpu", torch.float32)


class DiffusersEditRenderer(_DiffusersBase):
    """Applies each text as an edit instruction to one content image.

    With an instruction-edit pipeline (StableDiffusionInstructPix2PixPipeline: ``mode == "instruct"``)
    the text is the instruction and ``image_guidance_scale`` weighs the content image; with an
    image-to-image pipeline (AutoPipelineForImage2Image: ``mode == "img2img"``) the text is the
    prompt and ``strength`` says how far from the content image to go. The content image is resized
    to ``width`` x ``height`` (default: its own size, rounded down to multiples of 8).
    """

    task = "edit"

    def __init__(self, pipeline, image, *, width: int | None = None, height: int | None = None, steps: int = 20,
                 guidance_scale: float | None = 7.0, image_guidance_scale: float = 1.5, strength: float = 0.75,
                 negative_prompt: str = "", batch_size: int = 4, call_kwargs: Mapping[str, Any] | None = None,
                 device: str = "auto", dtype: str = "auto"):
        img = _content_image(image)
        h, w = img.shape[1:3]
        width = width if width is not None else max(8, w // 8 * 8)
        height = height if height is not None else max(8, h // 8 * 8)
        super().__init__(pipeline, width=width, height=height, steps=steps, guidance_scale=guidance_scale,
                         negative_prompt=negative_prompt, batch_size=batch_size, call_kwargs=call_kwargs,
                         device=device, dtype=dtype)
        if "image" not in self._params:
            raise InputError("pipeline", "an instruction-edit (InstructPix2Pix) or image-to-image pipeline",
                             f"{type(self.pipe).__name__}, which takes no input image")
        if "image_guidance_scale" in self._params:
            self.mode = "instruct"
        elif "strength" in self._params:
            self.mode = "img2img"
        else:
            raise InputError("pipeline", "an instruction-edit (InstructPix2Pix) or image-to-image pipeline",
                             f"{type(self.pipe).__name__} (takes neither image_guidance_scale nor strength)")
        self.image_guidance_scale = check_float("image_guidance_scale", image_guidance_scale, 0.0)
        self.strength = check_float("strength", strength, 0.0, 1.0, open_lo=True)
        if self.mode == "img2img" and int(self.steps * self.strength) < 1:
            raise InputError("strength", f"steps x strength of at least 1 (steps={self.steps})", repr(strength))
        x = img.movedim(-1, 1)
        if (h, w) != (self.height, self.width):
            x = F.interpolate(x, size=(self.height, self.width), mode="bilinear", align_corners=False,
                              antialias=self.height < h or self.width < w).clamp(0.0, 1.0)
        self.image = x.contiguous()    # (1, 3, H, W) float32 0..1 on the CPU
        knob = f"igs={self.image_guidance_scale:g}" if self.mode == "instruct" else f"strength={self.strength:g}"
        extra = digest(repr(sorted(self.call_kwargs.items())).encode()) if self.call_kwargs else "none"
        cfg = "default" if self.guidance_scale is None else f"{self.guidance_scale:g}"
        content = digest(self.image.numpy().tobytes())
        self.key = (f"diffusers-edit({self._ident},{self.mode},size={self.width}x{self.height},steps={self.steps},"
                    f"cfg={cfg},{knob},neg={digest(self.negative_prompt.encode())},content={content},"
                    f"kwargs={extra})")

    def _latent_channels(self) -> int | None:
        if self.mode != "instruct":
            return None  # img2img starts from the noised content image: per-position generators
        channels = getattr(getattr(self.pipe.vae, "config", None), "latent_channels", None)
        return channels if isinstance(channels, int) else None

    def _task_kwargs(self, n: int) -> dict[str, Any]:
        kw: dict[str, Any] = {"image": self.image.repeat(n, 1, 1, 1)}
        if self.mode == "instruct":
            kw["image_guidance_scale"] = self.image_guidance_scale
        else:
            kw["strength"] = self.strength
        for name, value in (("height", self.height), ("width", self.width)):
            if name in self._params:
                kw[name] = value
        return kw


__all__ = ["DiffusersEditRenderer", "DiffusersRenderer"]
