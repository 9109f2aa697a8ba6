"""The explicit download node: the only way the pack fetches a model."""
from __future__ import annotations

from mils import registry
from . import bridge
from .common import CATEGORY


class MILSDownloadModel:
    DESCRIPTION = ("Downloads a model preset into ComfyUI's models folder (LLMs into models/LLM, scorers into "
                   "models/mils), with progress in the console. Nothing else in the pack downloads. Refresh the "
                   "editor (R) afterwards to see it in the loaders.")
    CATEGORY = f"{CATEGORY}/Models"
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("path",)
    OUTPUT_TOOLTIPS = ("Where the model now is.",)
    OUTPUT_NODE = True
    FUNCTION = "download"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "preset": (list(registry.PRESETS), {"tooltip": "; ".join(f"{p.name}: {p.description} ({p.size})"
                                                                     for p in registry.PRESETS.values())}),
        }}

    def download(self, preset):
        path = registry.download(preset, bridge.default_download_dir())
        return {"ui": {"text": [f"{preset}: {path}"]}, "result": (str(path),)}
