"""Whether a ComfyUI's core nodes still fit what the example workflows rely on.

tests/data/core_nodes.json keeps the /object_info entries (``tests/test_workflows.core_entry`` shape) of
the core nodes the examples use, taken from the oldest ComfyUI the pack supports. A newer ComfyUI may
add to a node what no saved workflow can notice: outputs after the existing ones, optional inputs,
widgets after the existing widgets, combo options, wider ranges, new defaults or tooltips. It must not
take away or change what the workflows use: an input or output, a type, a combo option, a widget's
position (the editor's files store widget values by position), or make a new input required.
"""
from __future__ import annotations

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}


def _type(spec) -> tuple[str, list | None]:
    """(type, combo options): list-form combos and V3 ``["COMBO", {"options": [...]}]`` alike."""
    if isinstance(spec[0], list):
        return "COMBO", list(spec[0])
    if spec[0] == "COMBO":
        return "COMBO", list((spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}).get("options", []))
    return str(spec[0]), None


def _inputs(entry: dict) -> dict[str, tuple[str, list]]:
    """name -> (section, spec), required first, each section in its input_order."""
    out = {}
    for section in ("required", "optional"):
        specs = entry.get("input", {}).get(section, {})
        order = entry.get("input_order", {}).get(section) or list(specs)
        for name in order:
            if name in specs:
                out[name] = (section, specs[name])
    return out


def _widgets(inputs: dict[str, tuple[str, list]]) -> list[str]:
    return [n for n, (_, spec) in inputs.items() if _type(spec)[0] in WIDGET_TYPES]


def _range_problems(where: str, old: dict, new: dict) -> list[str]:
    out = []
    if "min" in old and "min" in new and new["min"] > old["min"]:
        out.append(f"{where}: min went up from {old['min']} to {new['min']}")
    if "max" in old and "max" in new and new["max"] < old["max"]:
        out.append(f"{where}: max went down from {old['max']} to {new['max']}")
    return out


def compat_problems(class_type: str, stored: dict, live: dict) -> list[str]:
    """What ``live`` (this ComfyUI's entry, same shape as ``stored``) changed that the workflows rely on."""
    problems = []
    old_in, new_in = _inputs(stored), _inputs(live)
    for name, (section, spec) in old_in.items():
        where = f"{class_type}.{name}"
        if name not in new_in:
            problems.append(f"{where}: input removed")
            continue
        new_section, new_spec = new_in[name]
        (old_t, old_opts), (new_t, new_opts) = _type(spec), _type(new_spec)
        if old_t != new_t:
            problems.append(f"{where}: type changed from {old_t} to {new_t}")
            continue
        if section == "optional" and new_section == "required":
            problems.append(f"{where}: optional input became required")
        missing = [o for o in (old_opts or []) if o not in (new_opts or [])]
        if missing:
            problems.append(f"{where}: combo options removed: {missing}")
        old_cfg = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
        new_cfg = new_spec[1] if len(new_spec) > 1 and isinstance(new_spec[1], dict) else {}
        problems += _range_problems(where, old_cfg, new_cfg)
    for name, (section, spec) in new_in.items():
        if name not in old_in and section == "required":
            problems.append(f"{class_type}.{name}: new required input")
    old_w, new_w = _widgets(old_in), _widgets(new_in)
    if new_w[:len(old_w)] != old_w and not any("input removed" in p or "type changed" in p for p in problems):
        problems.append(f"{class_type}: widgets moved: {old_w} are now {new_w} (saved widget values are positional)")
    for key in ("output", "output_is_list"):
        old, new = list(stored.get(key, [])), list(live.get(key, []))
        if new[:len(old)] != old:
            problems.append(f"{class_type}: {key} changed from {old} to {new} (links name outputs by position)")
    if bool(stored.get("output_node")) != bool(live.get("output_node")):
        problems.append(f"{class_type}: output_node changed to {live.get('output_node')}")
    return problems
