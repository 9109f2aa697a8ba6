"""ComfyUI's model management for the pack's own models: where they load, in which precision, and a
``ManagedModel`` that asks ComfyUI to make the weights resident before every use (and lets it evict them).

Imports ComfyUI lazily, like ``bridge``; outside ComfyUI the models are plain and the precision passes on.
"""
from __future__ import annotations

import torch

from mils import errors
from mils.model_cache import MODEL_CACHE
from .bridge import in_comfyui


def load_device_for(device: str) -> str:
    """Models are loaded on ComfyUI's offload device; ComfyUI moves them to the GPU when used."""
    if not in_comfyui() or device not in ("auto", ""):
        return device
    import comfy.model_management as mm

    return str(mm.unet_offload_device())


_PRECISIONS = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def compute_dtype(dtype: str, device: str = "auto") -> str:
    """The precision a MILS model loads in, as a dtype widget value.

    Inside ComfyUI, "auto" is what ComfyUI picks for a text encoder on the device the model COMPUTES on
    (not the offload device it is loaded on): bfloat16, else float16, on a GPU that supports it, float32
    on the CPU; --fp32-text-enc / --fp16-text-enc / --bf16-text-enc override it as for ComfyUI's own
    encoders. An explicit precision the compute device cannot run is an error naming ``dtype``.
    Outside ComfyUI the value is passed on (the engine resolves "auto").
    """
    if dtype not in ("auto", "") and dtype not in _PRECISIONS:
        raise errors.InputError("dtype", f"one of auto, {', '.join(_PRECISIONS)}", repr(dtype))
    if not in_comfyui():
        return dtype
    import comfy.model_management as mm

    dev = mm.get_torch_device() if device in ("auto", "") else torch.device(device)
    supported = [name for name in _PRECISIONS if _supports(mm, dev, name)]
    if dtype in ("auto", ""):
        forced = _forced_text_encoder_dtype(mm)
        if forced in supported:
            return forced
        if mm.is_device_cpu(dev):
            return "float32"
        for name, ask in (("bfloat16", mm.should_use_bf16), ("float16", mm.should_use_fp16)):
            if ask(dev, prioritize_performance=False):
                return name
        return "float32"
    if dtype not in supported:
        raise errors.InputError("dtype", f"a precision {dev} supports ({', '.join(['auto'] + supported)})", dtype)
    return dtype


def _supports(mm, dev, name: str) -> bool:
    """Whether ``dev`` computes in ``name`` at all (ComfyUI's answer when casting manually)."""
    if name == "float32" or mm.is_device_cpu(dev):
        return True
    ask = mm.should_use_bf16 if name == "bfloat16" else mm.should_use_fp16
    return bool(ask(dev, prioritize_performance=False, manual_cast=True))


def _forced_text_encoder_dtype(mm) -> str | None:
    args = getattr(mm, "args", None)
    for flag, name in (("fp32_text_enc", "float32"), ("fp16_text_enc", "float16"), ("bf16_text_enc", "bfloat16")):
        if getattr(args, flag, False):
            return name
    return None


class _Holder(torch.nn.Module):
    """A plain container ComfyUI's ModelPatcher can set attributes on."""

    def __init__(self, module):
        super().__init__()
        self.inner = module


class _Resident:
    """The loaded model as the engine sees it: each generate* / encode* / score* / preprocess / layers call
    first makes the weights resident (ComfyUI may have evicted them, or partly, for the sampler since the
    last call); preprocess puts its inputs where the weights are. Every other attribute is the model's own."""

    _CALLS = ("generate", "encode", "score", "preprocess", "layers")

    def __init__(self, obj, ensure):
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_ensure", ensure)

    def __getattr__(self, name):
        value = getattr(self._obj, name)
        if not (callable(value) and name.startswith(self._CALLS)):
            return value
        ensure = self._ensure

        def resident(*args, **kwargs):
            ensure()
            return value(*args, **kwargs)

        resident.__name__ = name
        resident.__doc__ = getattr(value, "__doc__", None)
        return resident

    def __setattr__(self, name, value):
        setattr(self._obj, name, value)

    def __repr__(self) -> str:
        return repr(self._obj)


class ManagedModel:
    """A MILS model behind a node socket, loaded lazily and known to ComfyUI's model management.

    ``use()`` loads it (once; MODEL_CACHE shares it between nodes and queue runs) and returns it wrapped
    so that inside ComfyUI every generate / encode / score call first asks model management to make the
    weights resident on the compute device, loaded fully (the modules are plain torch modules, which
    ComfyUI cannot run split across devices), evicting other models if VRAM is short. "Unload models",
    VRAM pressure or a sampler between two calls move them back to the offload device. ``release()``
    (keep_loaded off) unloads and drops the model after the run.
    """

    def __init__(self, load, *, label: str, keep_loaded: bool = True):
        self._load = load
        self.label = label
        self.keep_loaded = keep_loaded
        self.obj = None
        self._patcher = None
        self._resident = None
        self.loads = 0   # how many times model management was asked to make it resident

    def __repr__(self) -> str:
        return f"<MILS model {self.label}>"

    @property
    def patcher(self):
        """The ModelPatcher ComfyUI's model management knows the model by (None outside ComfyUI)."""
        return self._patcher

    def _wrap(self, obj) -> None:
        module = getattr(obj, "model", None)
        if in_comfyui() and module is not None and hasattr(module, "parameters"):
            import comfy.model_management as mm
            import comfy.model_patcher

            # ModelPatcher sets attributes such as ``device`` on the module it manages; transformers
            # models expose ``device`` as a read-only property, so hand it a plain container instead.
            self._patcher = comfy.model_patcher.ModelPatcher(_Holder(module), load_device=mm.get_torch_device(),
                                                              offload_device=mm.unet_offload_device())

    def make_resident(self) -> None:
        """Put the whole model on the compute device now (a no-op when it is there, or outside ComfyUI)."""
        if self._patcher is None:
            return
        import comfy.model_management as mm

        # force_full_load: a plain module partly loaded would have its layers on two devices
        mm.load_models_gpu([self._patcher], force_full_load=True)
        self.loads += 1

    def use(self):
        if self.obj is None:
            self.obj = self._load()
            self._wrap(self.obj)
            self._resident = _Resident(self.obj, self.make_resident) if self._patcher is not None else self.obj
        self.make_resident()
        return self._resident

    def release(self) -> None:
        if self.keep_loaded or self.obj is None:
            return
        if self._patcher is not None:
            unload_from_comfyui(self._patcher)
        for key in MODEL_CACHE.keys():
            if MODEL_CACHE.peek(key) is self.obj:
                MODEL_CACHE.unload(key)
        self.obj, self._patcher, self._resident = None, None, None


def unload_from_comfyui(patcher) -> None:
    """Unload one model from ComfyUI's model management: through its public ``unload_model_and_clones``
    where this ComfyUI has it (v0.28 does), else (v0.8) by taking it off model management's loaded list."""
    import comfy.model_management as mm

    if hasattr(mm, "unload_model_and_clones"):
        if any(m is patcher for m in mm.loaded_models()):
            mm.unload_model_and_clones(patcher, unload_additional_models=False)
    else:
        for i in range(len(mm.current_loaded_models) - 1, -1, -1):
            if mm.current_loaded_models[i].model is patcher:
                mm.current_loaded_models.pop(i).model_unload()
    mm.soft_empty_cache()
