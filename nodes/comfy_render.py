"""Rendering MILS candidates with ComfyUI's own sampling, on the user's MODEL / CLIP / VAE.

``ComfyRenderer`` implements the engine's ``Renderer`` protocol (``mils.scorers.render``): texts in,
``(B, H, W, 3)`` float 0..1 CPU images out, deterministic under the seed. It does what the stock
graph ``CLIPTextEncode -> EmptyLatentImage (or VAEEncode) -> KSampler -> VAEDecode`` does, through
``comfy.sample`` and the objects ComfyUI passes to MODEL / CLIP / VAE sockets, so every checkpoint
family ComfyUI loads works. A one-candidate render equals that stock graph at the same seed.

Every candidate gets the same initial noise (the MILS paper's fixed seed): the noise is made for a
batch of one with ``comfy.sample.prepare_noise`` and repeated. Candidates whose conditionings can be
stacked along the batch dimension go through one sampler call (ComfyUI keeps a conditioning whose
batch equals the latent batch as one cond per sample). Samplers that draw fresh noise at every step
(ancestral, SDE, ...) would give each batch position different step noise, so under them every
candidate is rendered on its own: the result then neither depends on batch composition nor
differs from a single render.

No token budget (``token_budget`` is None): ComfyUI's CLIP text encoding splits a long prompt into
77-token windows and concatenates them, so the model reads the whole prompt.

ComfyUI is imported lazily (at construction and render time), like the rest of the pack.
"""
from __future__ import annotations

import inspect
import logging
import math
import uuid
import weakref
from collections import OrderedDict
from typing import Sequence

import torch

from mils import errors
from mils.checks import check_int
from mils.keys import digest, tensor_digest
from mils.renderers.base import BatchLimit, is_out_of_memory

log = logging.getLogger(__name__)

# Samplers whose function takes a ``noise_sampler`` but never draws from it with default settings.
_NOISE_ARG_BUT_DETERMINISTIC = frozenset({"res_multistep", "res_multistep_cfg_pp"})
_SCALARS = (bool, int, float, str, bytes, type(None))

# A stable token per live object: ids of freed objects are reused, tokens are not.
_TOKENS: dict[int, tuple[object, str]] = {}


def _token(obj) -> str:
    entry = _TOKENS.get(id(obj))
    if entry is not None:
        ref, tok = entry
        if (ref() if isinstance(ref, weakref.ref) else ref) is obj:
            return tok
    tok = f"{type(obj).__name__}#{uuid.uuid4().hex[:12]}"
    try:
        ref = weakref.ref(obj, lambda _r, i=id(obj): _TOKENS.pop(i, None))
    except TypeError:  # not weak-referenceable: the token is only valid while the id is
        return f"{type(obj).__name__}@{id(obj):x}"
    _TOKENS[id(obj)] = (ref, tok)
    return tok


# --- sampler and conditioning helpers ------------------------------------------------------------

def sampler_is_stochastic(sampler_name: str) -> bool:
    """True when the sampler injects fresh noise at every step (ancestral, SDE, LCM, ...).

    Under such a sampler a batched render is not the same as one-at-a-time renders (the step noise
    is drawn for the whole batch), so ``ComfyRenderer`` renders candidates one by one. Unknown
    samplers count as stochastic (correct, only slower).
    """
    if sampler_name in _NOISE_ARG_BUT_DETERMINISTIC:
        return False
    import comfy.samplers

    try:
        fn = getattr(comfy.samplers.sampler_object(sampler_name), "sampler_function", None)
        params = inspect.signature(fn).parameters if fn is not None else None
    except Exception:  # noqa: BLE001 - any failure means "don't know": play safe
        return True
    if params is None:
        return True
    return "noise_sampler" in params


def _values_batchable(a, b) -> bool:
    if a is b:
        return True
    if torch.is_tensor(a) or torch.is_tensor(b):
        if not (torch.is_tensor(a) and torch.is_tensor(b)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype or a.device != b.device:
            return False
        if a.ndim >= 1 and a.shape[0] == 1:
            return True  # per-sample: concatenated along the batch
        return bool(torch.equal(a, b))  # shared: must be the same
    if isinstance(a, _SCALARS) and isinstance(b, _SCALARS):
        return type(a) is type(b) and a == b
    return False


def conditionings_batchable(a, b) -> bool:
    """Whether two batch-1 CONDITIONINGs can be stacked into one batch-2 CONDITIONING.

    Same number of entries; per entry the same cond tensor shape (so the same token length) and
    the same extras keys, with per-sample tensors of equal shape and every other value equal.
    """
    if not isinstance(a, (list, tuple)) or not isinstance(b, (list, tuple)) or len(a) != len(b) or not a:
        return False
    for ea, eb in zip(a, b):
        ca, da = ea[0], ea[1]
        cb, db = eb[0], eb[1]
        if not (torch.is_tensor(ca) and torch.is_tensor(cb)):
            return False
        if ca.ndim < 1 or ca.shape[0] != 1 or ca.shape != cb.shape or ca.dtype != cb.dtype or ca.device != cb.device:
            return False
        if not isinstance(da, dict) or not isinstance(db, dict) or da.keys() != db.keys():
            return False
        if not all(_values_batchable(da[k], db[k]) for k in da):
            return False
    return True


def batch_conditionings(conds: Sequence) -> list | None:
    """Stack batch-1 CONDITIONINGs into one CONDITIONING of batch ``len(conds)``; None if they don't stack."""
    conds = list(conds)
    if not conds:
        return None
    if len(conds) == 1:
        return [[c, dict(d)] for c, d in conds[0]]
    if not all(conditionings_batchable(conds[0], c) for c in conds[1:]):
        return None
    out = []
    for entries in zip(*conds):
        cond = torch.cat([e[0] for e in entries], dim=0)
        extras = {}
        for k, v in entries[0][1].items():
            if torch.is_tensor(v) and v.ndim >= 1 and v.shape[0] == 1:
                extras[k] = torch.cat([e[1][k] for e in entries], dim=0)
            else:
                extras[k] = v
        out.append([cond, extras])
    return out


def _is_oom(exc: BaseException) -> bool:
    import comfy.model_management as mm

    if isinstance(exc, mm.InterruptProcessingException):
        return False
    return is_out_of_memory(exc, extra_types=[t for t in (getattr(mm, "OOM_EXCEPTION", None),) if isinstance(t, type)])


def _free_memory() -> None:
    import comfy.model_management as mm

    mm.soft_empty_cache()


# --- the renderer ----------------------------------------------------------------------------

class ComfyRenderer:
    """Renders texts with ComfyUI sampling on the user's MODEL, CLIP and VAE.

    ``render(texts, seed)`` returns ``(len(texts), height, width, 3)`` float32 images in 0..1 on the
    CPU. ``conditioning(text)`` is the stock
    CLIPTextEncode CONDITIONING of a text (LRU-cached per renderer, ``cond_cache_size`` texts).
    With ``content_image`` and ``denoise < 1`` the start latent is the VAE-encoded content image
    (stretched to width x height, no crop), i.e. img2img; otherwise an empty latent shaped for the
    model (its latent format's channels, the VAE's downscale factor).

    Attributes worth reading: ``key`` (the render-cache identity), ``batched`` (False under a
    stochastic sampler or ``batch_size=1``: one candidate per sampler call), ``limit.max_batch`` (the
    candidates per sampler call now; halved for good after an out-of-memory error) and
    ``sampler_calls``.
    """

    def __init__(self, model, clip, vae, *, sampler_name: str = "euler", scheduler: str = "normal",
                 steps: int = 8, cfg: float = 7.0, width: int = 256, height: int = 256, negative: str = "",
                 content_image: torch.Tensor | None = None, denoise: float = 1.0, batch_size: int = 4,
                 cond_cache_size: int = 64):
        for name, obj, needs in (("model", model, ("get_model_object", "model_options", "load_device")),
                                 ("clip", clip, ("tokenize", "encode_from_tokens_scheduled")),
                                 ("vae", vae, ("encode", "decode", "spacial_compression_encode"))):
            if obj is None:
                raise errors.InputError(name, f"a {name.upper()} connection (e.g. from Load Checkpoint)", "None")
            if not all(hasattr(obj, a) for a in needs):
                raise errors.InputError(name, f"a ComfyUI {name.upper()} object", type(obj).__name__)
        for name, value in (("width", width), ("height", height)):
            check_int(name, value, 64)
            if value % 8:
                raise errors.InputError(name, "a multiple of 8", repr(value))
        check_int("steps", steps, 1)
        check_int("batch_size", batch_size, 1)
        check_int("cond_cache_size", cond_cache_size, 1)
        if isinstance(cfg, bool) or not isinstance(cfg, (int, float)) or not math.isfinite(cfg) or cfg < 0:
            raise errors.InputError("cfg", "a finite number >= 0", repr(cfg))
        if isinstance(denoise, bool) or not isinstance(denoise, (int, float)) or not (0.0 < denoise <= 1.0):
            raise errors.InputError("denoise", "a number in (0, 1]", repr(denoise))
        if not isinstance(negative, str):
            raise errors.InputError("negative", "a string", type(negative).__name__)
        if content_image is not None:
            if (not torch.is_tensor(content_image) or content_image.ndim != 4 or content_image.shape[0] != 1
                    or content_image.shape[-1] != 3 or min(content_image.shape[1:3]) < 1):
                got = tuple(content_image.shape) if torch.is_tensor(content_image) else type(content_image).__name__
                raise errors.InputError("content_image", "an IMAGE tensor of shape (1, H, W, 3)", repr(got))

        import comfy.samplers

        if sampler_name not in comfy.samplers.KSampler.SAMPLERS:
            raise errors.InputError("sampler_name", "one of ComfyUI's samplers (" +
                                    ", ".join(comfy.samplers.KSampler.SAMPLERS) + ")", repr(sampler_name))
        if scheduler not in comfy.samplers.KSampler.SCHEDULERS:
            raise errors.InputError("scheduler", "one of ComfyUI's schedulers (" +
                                    ", ".join(comfy.samplers.KSampler.SCHEDULERS) + ")", repr(scheduler))

        latent_format = model.get_model_object("latent_format")
        self.latent_channels = int(latent_format.latent_channels)
        self.latent_dimensions = int(getattr(latent_format, "latent_dimensions", 2))
        if self.latent_dimensions not in (2, 3):
            raise errors.InputError("model", "an image (or video) diffusion model",
                                    f"a model with {self.latent_dimensions}-D latents ({type(latent_format).__name__})")
        self.downscale = int(vae.spacial_compression_encode())
        for name, value in (("width", width), ("height", height)):
            if value % self.downscale:
                raise errors.InputError(name, f"a multiple of {self.downscale} for this VAE", repr(value))
        vae_channels = getattr(vae, "latent_channels", None)
        if isinstance(vae_channels, int) and vae_channels != self.latent_channels:
            log.warning("MILS render: the VAE makes %d-channel latents but the model expects %d; "
                        "is the VAE meant for this model?", vae_channels, self.latent_channels)

        self.model, self.clip, self.vae = model, clip, vae
        self.sampler_name, self.scheduler = sampler_name, scheduler
        self.steps, self.cfg = steps, float(cfg)
        self.width, self.height = width, height
        self.negative, self.denoise = negative, float(denoise)
        self.content_image = content_image
        self.img2img = content_image is not None and self.denoise < 1.0
        self.batch_size = batch_size
        self.limit = BatchLimit(batch_size, label="MILS render", is_oom=_is_oom, free=_free_memory)
        self.stochastic = sampler_is_stochastic(sampler_name)
        self.batched = batch_size > 1 and not self.stochastic
        self.sampler_calls = 0
        self.token_budget = None
        self._cond_cache: OrderedDict[str, list] = OrderedDict()
        self._cond_cache_size = cond_cache_size
        self._negative_cond = None
        self._start = None

        content = tensor_digest(content_image) if self.img2img else "none"
        self.key = (f"comfy(model={_token(model)},clip={_token(clip)},vae={_token(vae)},"
                    f"sampler={sampler_name},scheduler={scheduler},steps={steps},cfg={self.cfg:g},"
                    f"size={width}x{height},neg={digest(negative.encode())},denoise={self.denoise:g},"
                    f"content={content})")

    def __repr__(self) -> str:
        return f"<ComfyRenderer {self.key}>"

    # -- conditioning --------------------------------------------------------------------------

    def _encode(self, text: str):
        # Exactly what the stock CLIPTextEncode node does.
        with torch.inference_mode():
            tokens = self.clip.tokenize(text)
            return self.clip.encode_from_tokens_scheduled(tokens)

    def _cond(self, text: str):
        cond = self._cond_cache.get(text)
        if cond is None:
            cond = self._encode(text)
            self._cond_cache[text] = cond
            while len(self._cond_cache) > self._cond_cache_size:
                self._cond_cache.popitem(last=False)
        else:
            self._cond_cache.move_to_end(text)
        return cond

    def conditioning(self, text: str):
        """The CONDITIONING of ``text``, as the stock CLIPTextEncode node makes it (a fresh list each call)."""
        if not isinstance(text, str):
            raise errors.InputError("text", "a string", type(text).__name__)
        return [[c, dict(d)] for c, d in self._cond(text)]

    def _negative(self):
        if self._negative_cond is None:
            self._negative_cond = self._encode(self.negative)
        return self._negative_cond

    # -- latents -------------------------------------------------------------------------------

    def start_latent(self) -> torch.Tensor:
        """The batch-1 latent every candidate starts from (empty, or the encoded content image)."""
        if self._start is None:
            import comfy.model_management as mm
            import comfy.sample
            import comfy.utils

            with torch.inference_mode():
                if self.img2img:
                    img = self.content_image[..., :3].to(torch.float32)
                    h, w = img.shape[1:3]
                    if (h, w) != (self.height, self.width):
                        method = "area" if h >= self.height and w >= self.width else "bilinear"
                        img = comfy.utils.common_upscale(img.movedim(-1, 1), self.width, self.height,
                                                         method, "disabled").movedim(1, -1)
                    latent = self.vae.encode(img)
                else:
                    h, w = self.height // self.downscale, self.width // self.downscale
                    shape = [1, self.latent_channels] + ([1] if self.latent_dimensions == 3 else []) + [h, w]
                    latent = torch.zeros(shape, device=mm.intermediate_device())
                self._start = comfy.sample.fix_empty_latent_channels(self.model, latent)
        return self._start

    # -- rendering -----------------------------------------------------------------------------

    def _groups(self, conds: list) -> list[list[int]]:
        """Indices of candidates that can share a sampler call (in order of first appearance)."""
        if not self.batched:
            return [[i] for i in range(len(conds))]
        groups: list[list[int]] = []
        for i, c in enumerate(conds):
            for g in groups:
                if conditionings_batchable(conds[g[0]], c):
                    g.append(i)
                    break
            else:
                groups.append([i])
        return groups

    @staticmethod
    def _check_interrupt(step, x0, x, total_steps):
        import comfy.model_management as mm

        mm.throw_exception_if_processing_interrupted()

    def _sample(self, conds: list, seed: int) -> torch.Tensor:
        import comfy.sample
        import comfy.utils

        n = len(conds)
        self.sampler_calls += 1
        with torch.inference_mode():
            positive = conds[0] if n == 1 else batch_conditionings(conds)
            start = self.start_latent()
            # One noise for every candidate: made for batch 1 (as KSampler does for a batch-1 latent), repeated.
            noise = comfy.utils.repeat_to_batch_size(comfy.sample.prepare_noise(start, seed), n)
            latent = comfy.utils.repeat_to_batch_size(start, n)
            samples = comfy.sample.sample(self.model, noise, self.steps, self.cfg, self.sampler_name, self.scheduler,
                                          positive, self._negative(), latent, denoise=self.denoise,
                                          callback=self._check_interrupt, disable_pbar=True, seed=seed)
        return self._decode(samples)

    def _decode(self, samples: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            images = self.vae.decode(samples)
        if images.ndim == 5:  # video VAEs: (B, frames, H, W, C); one latent frame -> keep the first
            images = images[:, 0]
        if images.shape[-1] > 3:
            images = images[..., :3]
        elif images.shape[-1] == 1:
            images = images.expand(*images.shape[:-1], 3)
        return images.to("cpu", torch.float32).clamp(0.0, 1.0).contiguous()


    def render(self, texts: Sequence[str], seed: int) -> torch.Tensor:
        """``(len(texts), height, width, 3)`` float32 CPU images in 0..1; the same ``seed`` noise for every text."""
        texts = list(texts)
        for t in texts:
            if not isinstance(t, str):
                raise errors.InputError("texts", "strings", type(t).__name__)
        if not texts:
            return torch.zeros(0, self.height, self.width, 3)
        seed = int(seed)
        conds = [self._cond(t) for t in texts]
        out: list[torch.Tensor | None] = [None] * len(texts)
        for group in self._groups(conds):
            rendered = self.limit.run(group, lambda chunk: self._sample([conds[j] for j in chunk], seed))
            for j, image in zip(group, rendered):
                out[j] = image
        return torch.stack(out)
