"""The MILS Renderer node: your MODEL, CLIP and VAE plus sampling settings, as one renderer socket."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from mils.scorers.gram import check_single_image
from . import bridge
from .common import CATEGORY, RENDERER_TYPE, node_error


@dataclass(frozen=True)
class RendererSettings:
    """What the renderer socket carries; ``build()`` makes the ComfyUI renderer a search uses.

    Building is deferred to the Loop so that the seed, and for style transfer the content image of
    MILS Gram Style, can still be supplied there.
    """

    model: Any
    clip: Any
    vae: Any
    sampler_name: str = "euler"
    scheduler: str = "normal"
    steps: int = 8
    cfg: float = 7.0
    width: int = 256
    height: int = 256
    negative: str = ""
    batch_size: int = 4
    content_image: Any = None
    denoise: float = 0.6

    def __repr__(self) -> str:
        mode = f"edit, denoise {self.denoise}" if self.content_image is not None else "text to image"
        return f"<MILS renderer {self.sampler_name}/{self.scheduler}, {self.steps} steps, {self.width}x{self.height}, {mode}>"

    def with_content(self, content_image) -> RendererSettings:
        return replace(self, content_image=content_image)

    def build(self):
        from .comfy_render import ComfyRenderer

        edit = self.content_image is not None
        return ComfyRenderer(self.model, self.clip, self.vae, sampler_name=self.sampler_name,
                             scheduler=self.scheduler, steps=self.steps, cfg=self.cfg, width=self.width,
                             height=self.height, negative=self.negative, batch_size=self.batch_size,
                             content_image=self.content_image, denoise=self.denoise if edit else 1.0)


class MILSRenderer:
    DESCRIPTION = ("Your checkpoint as the Loop's renderer: every candidate prompt is rendered with this MODEL, CLIP "
                   "and VAE (one fixed seed, the Loop's) and the picture is scored. Used by prompt enhancement, and "
                   "with a content image by edit mode and style transfer (img2img).")
    CATEGORY = CATEGORY
    RETURN_TYPES = (RENDERER_TYPE,)
    RETURN_NAMES = ("renderer",)
    OUTPUT_TOOLTIPS = ("The renderer, for MILS Loop's renderer input.",)
    FUNCTION = "make"

    @classmethod
    def INPUT_TYPES(cls):
        samplers, schedulers = bridge.sampler_choices()
        return {"required": {
            "model": ("MODEL", {"tooltip": "Your checkpoint's MODEL: renders every candidate."}),
            "clip": ("CLIP", {"tooltip": "Your checkpoint's CLIP: encodes every candidate, and the best prompt for "
                              "the Loop's conditioning output. Its tokenizer sets the prompt's token budget."}),
            "vae": ("VAE", {"tooltip": "Your checkpoint's VAE, to decode the renders (and encode content_image)."}),
            "sampler_name": (samplers, {"default": "euler", "tooltip": "Sampler of the preview renders. Stochastic "
                                        "samplers (ancestral, sde) render one candidate per call."}),
            "scheduler": (schedulers, {"default": "normal", "tooltip": "Scheduler of the preview renders."}),
            "steps": ("INT", {"default": 8, "min": 1, "max": 100, "tooltip": "Sampling steps per preview."}),
            "cfg": ("FLOAT", {"default": 7.0, "min": 0.0, "max": 30.0, "step": 0.1, "tooltip": "CFG of the previews."}),
            "width": ("INT", {"default": 256, "min": 64, "max": 2048, "step": 8,
                              "tooltip": "Width of the previews the scorer sees (small is fast)."}),
            "height": ("INT", {"default": 256, "min": 64, "max": 2048, "step": 8,
                               "tooltip": "Height of the previews the scorer sees."}),
            "negative": ("STRING", {"multiline": True, "default": "", "tooltip": "Negative prompt of the previews."}),
            "batch": ("INT", {"default": 4, "min": 1, "max": 64, "tooltip": "Candidates rendered per sampler call "
                              "(halved automatically when memory runs out)."}),
        }, "optional": {
            "content_image": ("IMAGE", {"tooltip": "Edit mode: every candidate is applied to this image as img2img "
                                        "instead of rendering from noise. Style transfer uses MILS Gram Style's "
                                        "content image when this is not connected."}),
            "denoise": ("FLOAT", {"default": 0.6, "min": 0.05, "max": 1.0, "step": 0.05, "tooltip": "Edit mode: "
                                  "how much of the content image is repainted (1.0 = nothing kept)."}),
        }}

    def make(self, model, clip, vae, sampler_name, scheduler, steps, cfg, width, height, negative, batch,
             content_image=None, denoise=0.6):
        for name, value in (("model", model), ("clip", clip), ("vae", vae)):
            if value is None:
                raise node_error(name, "a connection: candidates are rendered with your MODEL, CLIP and VAE")
        if content_image is not None:
            content_image = check_single_image(content_image, "content_image")
        return (RendererSettings(model, clip, vae, sampler_name=sampler_name, scheduler=scheduler, steps=int(steps),
                                 cfg=float(cfg), width=int(width), height=int(height), negative=negative or "",
                                 batch_size=int(batch), content_image=content_image, denoise=float(denoise)),)
