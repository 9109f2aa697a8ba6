"""ComfyUI entry point of the MILS node pack.

ComfyUI imports this file as a package named after the pack's folder. Outside ComfyUI (pytest
imports it while collecting, pip users import ``mils`` directly) it must import cleanly and
register nothing, so everything ComfyUI-specific sits behind the ``folder_paths`` check:
ComfyUI imports ``folder_paths`` long before it loads custom nodes.
"""
import sys

NODE_CLASS_MAPPINGS: dict = {}
NODE_DISPLAY_NAME_MAPPINGS: dict = {}
WEB_DIRECTORY = "./web"

if "folder_paths" in sys.modules and __package__:
    from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS  # noqa: F401,F811

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
