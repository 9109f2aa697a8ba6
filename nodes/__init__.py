"""ComfyUI node classes (thin wrappers over ``mils``). Filled in by the node-pack work."""
NODE_CLASS_MAPPINGS: dict = {}
NODE_DISPLAY_NAME_MAPPINGS: dict = {}
