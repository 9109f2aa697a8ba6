"""The example workflows in workflows/: each editor (UI) file, its API twin and its thumbnail.

No ComfyUI needed. Our nodes' schemas come from the node classes; the core nodes' schemas from
tests/data/core_nodes.json, a trimmed copy of ComfyUI v0.8.0's /object_info for the core nodes the
examples use (tests/comfyui/test_workflows_run.py checks that a live server's core nodes still fit it,
tests/test_core_schema.py what that check accepts; regenerate it with ``write_core_nodes(object_info)``). Checked for every pair:

  * only our nodes and core nodes, no frontend-only nodes (notes, reroutes, primitives), none muted;
  * every API input exists in the node's schema, every required input is there, values have the right
    type and range, combo values are valid (model dropdowns must name a `mils download` preset, since
    they list the user's own folders);
  * links point at existing nodes and outputs, with matching types;
  * the UI file and its API twin have the same node ids, classes, titles and connections, and the UI's
    positional widgets_values equal the API values in schema order (skipping the frontend's
    control_after_generate entries and its trailing frontend-only widgets);
  * the layout has no overlapping nodes, and each workflow has a JPEG thumbnail next to it.

Why workflows/: ComfyUI lists every *.json directly inside a pack's example_workflows, example,
examples, workflow or workflows folder as a template (newer versions: any folder whose name contains
"example" or "workflow"), but serves files only from the first of those that exists; so workflows/ is
the only top-level folder with either word in its name (the CLI's media are in assets/) and the API
twins live one level down, in workflows/api/.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import mils_pack.nodes as nodes
import pytest

from mils import registry

ROOT = Path(__file__).resolve().parents[1]
WF_DIR = ROOT / "workflows"
API_DIR = WF_DIR / "api"
CORE_FILE = Path(__file__).parent / "data" / "core_nodes.json"

EXPECTED = ["audio_captioning", "embedding_arithmetic", "image_captioning", "prompt_enhancement",
            "prompt_enhancement_judge", "prompt_enhancement_vlm", "style_transfer", "text_encoder_prompt_enhancement",
            "video_captioning"]
CONTROL_VALUES = {"fixed", "increment", "decrement", "randomize"}
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
UI_ONLY_TYPES = {"Note", "MarkdownNote", "PrimitiveNode", "Reroute", "GetNode", "SetNode"}
# core combos listing files in the user's input/ and models/ folders: any file name is fine
FILE_COMBOS = {("LoadImage", "image"), ("LoadVideo", "file"), ("LoadAudio", "audio"),
               ("CheckpointLoaderSimple", "ckpt_name"), ("UNETLoader", "unet_name"), ("CLIPLoader", "clip_name"),
               ("VAELoader", "vae_name")}
# our combos listing the user's model folders: the examples name presets of MILS Download Model
PRESET_COMBOS = {("MILSLocalLLM", "model"): {"llm"},
                 ("MILSScorerLoader", "model"): {"open_clip", "pickscore", "clap", "vlm"},
                 ("MILSGramStyle", "features"): {"vgg19"}}
# the Renderer's sampler lists are ComfyUI's own (the pack falls back to a short list outside ComfyUI)
SAMPLER_COMBOS = {("MILSRenderer", "sampler_name"): ("KSampler", "sampler_name"),
                  ("MILSRenderer", "scheduler"): ("KSampler", "scheduler")}
# what each task needs connected on the Loop (one of each tuple)
TASK_LINKS = {"image_caption": ["llm", "scorer", "image"], "video_caption": ["llm", "scorer", ("video", "image")],
              "audio_caption": ["llm", "scorer", "audio"], "t2i_enhance": ["llm", "scorer", "renderer"],
              "style_transfer": ["llm", "style_scorer", "renderer"], "invert": ["llm", "scorer", "target"]}


def task_is_wired(task: str, linked: set[str]) -> bool:
    needs = TASK_LINKS.get(task)
    return needs is not None and all(bool(set(n if isinstance(n, tuple) else (n,)) & linked) for n in needs)


# --- schemas ---------------------------------------------------------------------------------------

def our_schema(cls) -> dict:
    """A node class's declaration in /object_info's shape (list-form combos)."""
    spec = cls.INPUT_TYPES()
    n = len(cls.RETURN_TYPES)
    sections = ("required", "optional")
    return {"input": {s: {k: list(v) for k, v in spec.get(s, {}).items()} for s in sections},
            "input_order": {s: list(spec.get(s, {})) for s in sections},
            "output": list(cls.RETURN_TYPES), "output_name": list(getattr(cls, "RETURN_NAMES", cls.RETURN_TYPES)),
            "output_is_list": list(getattr(cls, "OUTPUT_IS_LIST", [False] * n)),
            "output_node": bool(getattr(cls, "OUTPUT_NODE", False)), "python_module": "custom_nodes.mils_nodes"}


def core_data() -> dict:
    return json.loads(CORE_FILE.read_text())


def all_schemas() -> dict:
    schemas = dict(core_data()["nodes"])
    schemas.update({node_id: our_schema(cls) for node_id, cls in nodes.NODE_CLASS_MAPPINGS.items()})
    return schemas


def frontend_widgets(class_type: str) -> list[str]:
    """Widgets the editor adds after the schema's own (LoadImage's upload button, ...): their
    widgets_values entries are no inputs."""
    return core_data()["frontend_widgets"].get(class_type, [])


def _strip_tooltips(spec):
    if isinstance(spec, list) and len(spec) > 1 and isinstance(spec[1], dict):
        return [spec[0], {k: v for k, v in spec[1].items() if k != "tooltip"}, *spec[2:]]
    return spec


def core_entry(class_type: str, info: dict) -> dict:
    """The part of a core node's /object_info entry the tests rely on (no tooltips, no file lists)."""
    inputs = {}
    for section in ("required", "optional"):
        if section not in info["input"]:
            continue
        inputs[section] = {}
        for name, spec in info["input"][section].items():
            spec = _strip_tooltips(spec)
            if (class_type, name) in FILE_COMBOS:
                opts = spec[1] if len(spec) > 1 else {}   # VAELoader's vae_name has no options dict
                spec = [[], opts] if isinstance(spec[0], list) else [spec[0], {**opts, "options": []}]
            inputs[section][name] = spec
    keys = ("input_order", "output", "output_name", "output_is_list", "output_node", "python_module")
    return {"input": inputs, **{k: info[k] for k in keys if k in info}}


def write_core_nodes(object_info: dict) -> None:  # pragma: no cover - maintenance helper
    """Refresh tests/data/core_nodes.json from a live server's /object_info (keeps frontend_widgets)."""
    data = core_data()
    used = sorted({n["class_type"] for name in EXPECTED for n in load_api(name).values()}
                  - set(nodes.NODE_CLASS_MAPPINGS))
    data["nodes"] = {t: core_entry(t, object_info[t]) for t in used}
    CORE_FILE.write_text(json.dumps(data, indent=1) + "\n")


# --- helpers shared with tests/comfyui/test_workflows_run.py -----------------------------------------

def load_ui(name: str) -> dict:
    return json.loads((WF_DIR / f"{name}.json").read_text())


def load_api(name: str) -> dict:
    return json.loads((API_DIR / f"{name}.json").read_text())


def input_spec(schema: dict, name: str):
    for section in ("required", "optional"):
        if name in schema["input"].get(section, {}):
            return schema["input"][section][name]
    return None


def spec_type(spec) -> str:
    return "COMBO" if isinstance(spec[0], list) else spec[0]


def spec_options(spec) -> dict:
    return spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}


def combo_choices(spec) -> list:
    return spec[0] if isinstance(spec[0], list) else spec_options(spec).get("options", [])


def widget_inputs(schema: dict) -> list[tuple[str, list]]:
    """The inputs the editor shows as widgets, in its order (required, then optional, as declared)."""
    out = []
    for section in ("required", "optional"):
        for name in schema.get("input_order", {}).get(section, list(schema["input"].get(section, {}))):
            spec = schema["input"][section][name]
            if spec_type(spec) in WIDGET_TYPES and not spec_options(spec).get("forceInput"):
                out.append((name, spec))
    return out


def has_control_widget(name: str, spec) -> bool:
    """The frontend adds a control_after_generate combo after this widget: when the schema says so,
    else for an INT named seed or noise_seed."""
    opts = spec_options(spec)
    if opts.get("control_after_generate") is not None:
        return bool(opts["control_after_generate"])
    return spec_type(spec) == "INT" and name in ("seed", "noise_seed")


def widget_slots(node: dict, schema: dict) -> dict[str, int]:
    """Input name -> index in the UI node's widgets_values (raises when the list does not fit)."""
    values = node.get("widgets_values") or []
    slots, i = {}, 0
    for name, spec in widget_inputs(schema):
        if i >= len(values):
            raise AssertionError(f"node {node['id']} {node['type']}: no widget value for {name}: {values}")
        slots[name] = i
        i += 1
        if has_control_widget(name, spec):
            if i >= len(values) or values[i] not in CONTROL_VALUES:
                raise AssertionError(f"node {node['id']} {node['type']}: no control_after_generate after {name}")
            i += 1
    extra = frontend_widgets(node["type"])
    if len(values) - i != len(extra):
        raise AssertionError(f"node {node['id']} {node['type']}: {len(values) - i} widget values after the inputs' "
                             f"{i} ({values[i:]}), expected {len(extra)} for the frontend's {extra}")
    return slots


def is_link(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def same_value(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def value_problems(class_type: str, name: str, spec, value, schemas: dict) -> list[str]:
    where = f"{class_type}.{name}={value!r}"
    t, opts = spec_type(spec), spec_options(spec)
    if t in ("INT", "FLOAT"):
        ok = isinstance(value, int) if t == "INT" else isinstance(value, (int, float))
        if not ok or isinstance(value, bool):
            return [f"{where}: not an {t}"]
        if ("min" in opts and value < opts["min"]) or ("max" in opts and value > opts["max"]):
            return [f"{where}: outside [{opts.get('min')}, {opts.get('max')}]"]
        return []
    if t == "BOOLEAN":
        return [] if isinstance(value, bool) else [f"{where}: not a BOOLEAN"]
    if t == "STRING":
        return [] if isinstance(value, str) else [f"{where}: not a STRING"]
    if t == "COMBO":
        if not isinstance(value, str) or not value:
            return [f"{where}: not a combo value"]
        if (class_type, name) in FILE_COMBOS:
            return []
        if (class_type, name) in PRESET_COMBOS:
            preset = registry.PRESETS.get(value)
            kinds = PRESET_COMBOS[(class_type, name)]
            return [] if preset is not None and preset.kind in kinds else [f"{where}: not a preset of kind {kinds}"]
        if (class_type, name) in SAMPLER_COMBOS:
            core_type, core_name = SAMPLER_COMBOS[(class_type, name)]
            choices = combo_choices(input_spec(schemas[core_type], core_name))
        else:
            choices = combo_choices(spec)
        return [] if value in choices else [f"{where}: not one of {choices}"]
    return [f"{where}: a value for a {t} socket (needs a link)"]


# --- the checks --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def schemas():
    return all_schemas()


def test_the_examples_are_all_there_with_thumbnails():
    from PIL import Image

    ui = sorted(p.stem for p in WF_DIR.glob("*.json"))
    assert ui == EXPECTED
    assert sorted(p.stem for p in API_DIR.glob("*.json")) == EXPECTED
    for name in EXPECTED:
        thumb = WF_DIR / f"{name}.jpg"   # the template browser asks for <name>.jpg
        assert thumb.read_bytes()[:3] == b"\xff\xd8\xff", f"{thumb.name} is not a JPEG"
        with Image.open(thumb) as img:
            assert img.format == "JPEG" and 400 <= max(img.size) <= 2048, (name, img.size)
        assert thumb.stat().st_size < 400_000, f"{thumb.name} is {thumb.stat().st_size} bytes"


def test_no_other_folder_would_be_listed_as_templates():
    """ComfyUI serves a pack's templates from the first folder named like a workflow folder: only workflows/."""
    named = sorted(d.name for d in ROOT.iterdir() if d.is_dir() and not d.name.startswith(".")
                   and ("example" in d.name.lower() or "workflow" in d.name.lower()))
    assert named == ["workflows"], named


def test_core_node_file_holds_core_nodes_only():
    data = core_data()
    assert data["comfyui_version"] and data["frontend_version"]
    for class_type, info in data["nodes"].items():
        assert class_type not in nodes.NODE_CLASS_MAPPINGS
        assert not info["python_module"].startswith("custom_nodes"), class_type
    assert set(data["frontend_widgets"]) <= set(data["nodes"])


@pytest.mark.parametrize("name", EXPECTED)
def test_api_twin_matches_the_node_schemas(name, schemas):
    api = load_api(name)
    assert api and all(k.isdigit() for k in api), list(api)
    problems = []
    for node_id, node in api.items():
        ct = node["class_type"]
        assert ct in schemas, f"node {node_id}: {ct} is neither ours nor in tests/data/core_nodes.json"
        schema = schemas[ct]
        required = set(schema["input"].get("required", {}))
        missing = required - set(node["inputs"])
        if missing:
            problems.append(f"node {node_id} {ct}: required inputs missing: {sorted(missing)}")
        for input_name, value in node["inputs"].items():
            spec = input_spec(schema, input_name)
            if spec is None:
                problems.append(f"node {node_id} {ct}: no input {input_name!r} in the schema")
                continue
            if not is_link(value):
                problems += [f"node {node_id}: {p}" for p in value_problems(ct, input_name, spec, value, schemas)]
                continue
            src_id, slot = value
            if src_id not in api:
                problems.append(f"node {node_id}.{input_name}: link from missing node {src_id}")
                continue
            outputs = schemas[api[src_id]["class_type"]]["output"]
            if not 0 <= slot < len(outputs):
                problems.append(f"node {node_id}.{input_name}: {api[src_id]['class_type']} has no output {slot}")
                continue
            want, got = spec_type(spec), outputs[slot]
            if not (want == got or "*" in (want, got)):
                problems.append(f"node {node_id}.{input_name} ({want}) fed a {got}")
        if ct == "MILSLoop":
            task = node["inputs"]["task"]
            linked = {k for k, v in node["inputs"].items() if is_link(v)}
            if not task_is_wired(task, linked):
                problems.append(f"node {node_id}: task {task} needs {TASK_LINKS.get(task)} connected, has {linked}")
            if task == "t2i_enhance" and not node["inputs"].get("text", "").strip():
                problems.append(f"node {node_id}: prompt enhancement without a prompt")
    assert any(schemas[n["class_type"]].get("output_node") for n in api.values()), "no output node"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", EXPECTED)
def test_ui_file_matches_its_api_twin(name, schemas):
    ui, api = load_ui(name), load_api(name)
    assert ui["version"] == 0.4 and isinstance(ui["id"], str) and len(ui["id"]) == 36
    assert "ds" not in ui.get("extra", {}), "a saved view: without one the editor fits the graph to the window"
    nodes_by_id = {n["id"]: n for n in ui["nodes"]}
    assert ui["last_node_id"] == max(nodes_by_id)
    assert ui["last_link_id"] >= max((link[0] for link in ui["links"]), default=0)
    assert sorted(str(i) for i in nodes_by_id) == sorted(api), "the UI file and its API twin have other nodes"
    problems = []
    for node_id, node in nodes_by_id.items():
        a = api[str(node_id)]
        ct = node["type"]
        assert ct not in UI_ONLY_TYPES and node.get("mode", 0) == 0, f"node {node_id}: {ct} mode {node.get('mode')}"
        assert ct == a["class_type"], (node_id, ct, a["class_type"])
        assert node.get("title", a["_meta"]["title"]) == a["_meta"]["title"], f"node {node_id}: titles differ"
        schema = schemas[ct]
        assert [o["type"] for o in node["outputs"]] == schema["output"], f"node {node_id} {ct}: outputs differ"
        for inp in node["inputs"]:
            spec = input_spec(schema, inp["name"])
            if spec is None:
                assert inp["name"] in frontend_widgets(ct), f"node {node_id} {ct}: unknown UI input {inp['name']}"
            else:
                assert inp["type"] in (spec_type(spec), "*"), f"node {node_id}.{inp['name']}: {inp['type']}"
        # widget values, positionally, against the API values
        slots = widget_slots(node, schema)
        linked_in_ui = {inp["name"] for inp in node["inputs"] if inp.get("link") is not None}
        for input_name, idx in slots.items():
            ui_value = node["widgets_values"][idx]
            if input_name in linked_in_ui:
                continue
            if input_name not in a["inputs"]:
                problems.append(f"node {node_id} {ct}: widget {input_name}={ui_value!r} missing in the API twin")
            elif not same_value(ui_value, a["inputs"][input_name]):
                problems.append(f"node {node_id} {ct}: {input_name} is {ui_value!r} in the UI file, "
                                f"{a['inputs'][input_name]!r} in the API twin")
        for input_name, value in a["inputs"].items():
            if not is_link(value) and input_name not in slots:
                problems.append(f"node {node_id} {ct}: API input {input_name} has no widget in the UI file")
            if is_link(value) != (input_name in linked_in_ui):
                problems.append(f"node {node_id} {ct}: {input_name} is linked in one file only")
    # links
    api_links = {(str(t), name): v for t, n in api.items() for name, v in n["inputs"].items() if is_link(v)}
    seen = set()
    for link_id, src, src_slot, dst, dst_slot, typ in ui["links"]:
        s, d = nodes_by_id[src], nodes_by_id[dst]
        out, inp = s["outputs"][src_slot], d["inputs"][dst_slot]
        assert inp.get("link") == link_id and link_id in (out.get("links") or []), f"link {link_id} is dangling"
        assert typ == out["type"] == schemas[s["type"]]["output"][src_slot], f"link {link_id} type {typ}"
        key = (str(dst), inp["name"])
        if api_links.get(key) != [str(src), src_slot]:
            problems.append(f"link {link_id} {src}.{src_slot} -> {dst}.{inp['name']}: API twin has {api_links.get(key)}")
        seen.add(key)
    if set(api_links) - seen:
        problems.append(f"API links without a UI link: {sorted(set(api_links) - seen)}")
    for node in ui["nodes"]:
        for inp in node["inputs"]:
            if inp.get("link") is not None:
                assert any(link[0] == inp["link"] for link in ui["links"]), f"node {node['id']}: unknown link"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", EXPECTED)
def test_ui_layout_is_tidy(name):
    """No node covers another (title bars included), and every node sits in a group."""
    ui = load_ui(name)
    title = 30
    boxes = {n["id"]: (n["pos"][0], n["pos"][1] - title, n["pos"][0] + n["size"][0], n["pos"][1] + n["size"][1])
             for n in ui["nodes"]}
    ids = sorted(boxes)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            p, q = boxes[a], boxes[b]
            assert not (p[0] < q[2] and q[0] < p[2] and p[1] < q[3] and q[1] < p[3]), f"nodes {a} and {b} overlap"
    groups = [g["bounding"] for g in ui.get("groups", [])]
    for node_id, (x0, y0, x1, y1) in boxes.items():
        assert any(gx <= x0 and gy <= y0 and x1 <= gx + gw and y1 <= gy + gh for gx, gy, gw, gh in groups), \
            f"node {node_id} is outside every group"


def test_defaults_are_preview_sized():
    """The examples run in about a minute on a CPU with the default models: budget preview, preset sizes."""
    for name in EXPECTED:
        for node in load_api(name).values():
            if node["class_type"] == "MILSLoop":
                i = node["inputs"]
                assert i["budget"] == "preview" and i["keep"] == i["new_per_step"] == i["steps"] == 0, name
