"""Every example workflow through `comfy run` against a real ComfyUI server (opt-in: needs COMFY_DIR).

    COMFY_DIR=/path/to/ComfyUI /path/to/comfy-venv/bin/python -m pytest tests/comfyui/test_workflows_run.py -m comfyui -q

One server for the module (devkit/comfy_server.py: main.py --cpu on 127.0.0.1, this checkout
linked as custom_nodes/mils_nodes, tiny random models). The real models the examples name are not
needed: each API twin is run with the tiny ones put in their place (models/LLM/tiny-llama,
models/mils/tiny-clip for SigLIP and PickScore, models/mils/tiny-clap for CLAP, models/mils/tiny-vlm (a
tiny Qwen3-VL) for the VLM judge, a random VGG19 trunk in models/mils/vgg19-tiny, the tiny SD1.5 checkpoint) and tiny sizes (64 px, 2 sampling steps, one
MILS step), with assets/cat.jpg, assets/coffee.jpg, a generated WAV and a generated MP4 as the
inputs the files name. Also checked here: the server's core nodes still fit the stored schemas
(tests/data/core_nodes.json, from v0.8.0; devkit/core_schema.py: what newer versions add is fine,
what the examples use must not change), ComfyUI lists the examples as the pack's templates and serves their thumbnails,
comfy-cli turns every UI file into exactly its API twin, and a UI file runs through `comfy run` too.
About two minutes on 2 CPU cores.
"""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
import urllib.request
from pathlib import Path

import pytest
import test_workflows as tw

from devkit import comfy_server as cs
from devkit.build_workflows import write_mp4, write_wav
from devkit.core_schema import compat_problems

pytestmark = [pytest.mark.comfyui,
              pytest.mark.skipif(cs.skip_reason() is not None, reason=cs.skip_reason() or "")]

RUN_TIMEOUT = float(os.environ.get("COMFY_RUN_TIMEOUT", "240"))   # seconds per `comfy run`; raise it on a busy machine
TINY_CLAP = "tiny-clap"
TINY_VGG = "vgg19-tiny"
TINY_VLM = "tiny-vlm"


# --- the tiny stand-ins ----------------------------------------------------------------------------

def tiny_values(class_type: str, inputs: dict) -> dict:
    """The input values to run with here: tiny models in place of the real ones, tiny sizes."""
    if class_type == "MILSLocalLLM":
        return {"model": cs.LLM_NAME}
    if class_type == "MILSScorerLoader":
        if inputs["model"].startswith("qwen3-vl"):
            return {"model": TINY_VLM}
        return {"model": TINY_CLAP if inputs["model"] == "clap-htsat" else cs.SCORER_NAME}
    if class_type == "MILSGramStyle":
        return {"features": TINY_VGG, "size": 64}
    if class_type == "MILSLoop":
        return {"keep": 2, "new_per_step": 2, "steps": 1}
    if class_type == "MILSRenderer":
        return {"width": 64, "height": 64, "steps": 2, "batch": 2}
    if class_type == "CheckpointLoaderSimple":
        return {"ckpt_name": cs.CKPT_NAME}
    if class_type == "EmptyLatentImage":
        return {"width": 64, "height": 64}
    if class_type == "KSampler":
        return {"steps": 2}
    return {}


def tiny_api(api: dict) -> dict:
    out = copy.deepcopy(api)
    for node in out.values():
        node["inputs"].update(tiny_values(node["class_type"], node["inputs"]))
    return out


def tiny_ui(ui: dict, object_info: dict) -> dict:
    """The same substitutions in a UI file, through its positional widgets_values."""
    out = copy.deepcopy(ui)
    for node in out["nodes"]:
        slots = tw.widget_slots(node, object_info[node["type"]])
        current = {name: node["widgets_values"][i] for name, i in slots.items()}
        for name, value in tiny_values(node["type"], current).items():
            node["widgets_values"][slots[name]] = value
    return out


def write_tiny_vgg19(folder: Path) -> None:
    """A random VGG19 trunk (the conv layers the Gram scorer reads) in timm's layout."""
    import torch
    from safetensors.torch import save_file

    from mils.scorers import gram_features as gram

    folder.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    sd = {}
    for i, shape in gram.VGG19_CONV_SHAPES.items():
        sd[f"features.{i}.weight"] = torch.randn(shape, generator=gen) * 0.1
        sd[f"features.{i}.bias"] = torch.zeros(shape[0])
    save_file(sd, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"architecture": "vgg19", "num_classes": 1000}))


def inputs_named() -> dict[str, set[str]]:
    """File names the examples load from input/, by loader."""
    out: dict[str, set[str]] = {"image": set(), "audio": set(), "video": set()}
    keys = {"LoadImage": ("image", "image"), "LoadAudio": ("audio", "audio"), "LoadVideo": ("video", "file")}
    for name in tw.EXPECTED:
        for node in tw.load_api(name).values():
            if node["class_type"] in keys:
                kind, key = keys[node["class_type"]]
                out[kind].add(node["inputs"][key])
    return out


def prepare_inputs(base: Path) -> None:
    from devkit.tiny_models import make_tiny_clap
    from devkit.tiny_vlm import make_tiny_qwen3_vl

    write_tiny_vgg19(base / "models" / "mils" / TINY_VGG)
    if not (base / "models" / "mils" / TINY_VLM).exists():
        make_tiny_qwen3_vl(base / "models" / "mils" / TINY_VLM)
    clap = base / "models" / "mils" / TINY_CLAP
    if not clap.exists():
        shutil.copytree(make_tiny_clap(base / "build"), clap)
        shutil.rmtree(base / "build", ignore_errors=True)
    inp = base / "input"
    named = inputs_named()
    photos = [cs.REPO / "assets" / "cat.jpg", cs.REPO / "assets" / "coffee.jpg"]
    for i, name in enumerate(sorted(named["image"], key=lambda n: n != "example.png")):
        shutil.copy(photos[min(i, 1)], inp / name)
    for name in named["audio"]:
        write_wav(inp / name, seconds=1.0)
    for name in named["video"]:
        write_mp4(inp / name, photos[0], frames=8, size=(64, 64))


# --- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    paths = cs.comfy_paths()
    if not paths.comfy_cli:
        pytest.skip("comfy-cli not installed (pip install comfy-cli, or set COMFY_CLI)")
    base = cs.prepare_base(tmp_path_factory.mktemp("comfy"), paths)
    prepare_inputs(base)
    server = cs.start_server(base, paths)
    try:
        failed = cs.import_failures(server.log_text())
        assert not failed, f"the pack failed to import:\n{server.log_tail(80)}"
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def object_info(srv):
    return srv.get("/object_info", timeout=60)


def comfy_run(srv, workflow: dict, path: Path, *extra: str):
    path.write_text(json.dumps(workflow))
    r = cs.comfy_cli_run(srv.paths, srv, path, home=path.parent / "home", timeout=RUN_TIMEOUT, extra=extra)
    return r, cs.parse_cli_envelope(r.stdout)


def assert_completed(srv, r, env, what: str) -> dict:
    assert r.returncode == 0, (f"comfy run {what} failed ({r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-2000:]}\n"
                               f"--- server log ---\n{srv.log_tail(40)}")
    assert env is not None and env.get("ok") is True and env["data"]["status"] == "completed", r.stdout[-2000:]
    return env["data"]


# --- tests -----------------------------------------------------------------------------------------

def test_stored_core_node_schemas_fit_the_server(object_info):
    """What this ComfyUI added to the core nodes is fine; what the examples rely on must not have changed."""
    stored = tw.core_data()["nodes"]
    problems = []
    for class_type, entry in stored.items():
        assert class_type in object_info, f"{class_type} is not a node of this ComfyUI"
        problems += compat_problems(class_type, entry, tw.core_entry(class_type, object_info[class_type]))
    assert not problems, "the core nodes changed in ways the examples notice:\n" + "\n".join(problems)


def test_comfyui_lists_the_examples_as_templates_with_thumbnails(srv):
    listed = srv.get("/api/workflow_templates")
    assert sorted(listed.get(cs.PACK_NAME, [])) == tw.EXPECTED, listed
    for name in tw.EXPECTED:
        # what the template browser fetches: the workflow and its thumbnail
        assert srv.get(f"/api/workflow_templates/{cs.PACK_NAME}/{name}.json") == tw.load_ui(name)
        with urllib.request.urlopen(f"{srv.url}/api/workflow_templates/{cs.PACK_NAME}/{name}.jpg", timeout=30) as r:
            assert r.status == 200 and r.read() == (tw.WF_DIR / f"{name}.jpg").read_bytes()


def test_comfy_cli_turns_every_ui_file_into_its_api_twin(srv, object_info, tmp_path):
    """comfy-cli's own UI->API conversion (with this server's /object_info) gives the API twin."""
    for name in tw.EXPECTED:
        ui = tiny_ui(tw.load_ui(name), object_info)
        r, env = comfy_run(srv, ui, tmp_path / f"{name}.json", "--print-prompt")
        assert r.returncode == 0 and env and env.get("ok"), f"{name}: {r.stdout[-3000:]}"
        assert env["data"]["prompt"] == tiny_api(tw.load_api(name)), name


# examples whose models have no tiny stand-in here: another test runs them with substitutes
OWN_RUN = {"text_encoder_prompt_enhancement": "test_text_encoder_llm_comfyui.py"}


@pytest.mark.parametrize("name", tw.EXPECTED)
def test_api_twin_runs_through_comfy_run(srv, name, tmp_path):
    if name in OWN_RUN:
        pytest.skip(f"needs Z-Image's files; {OWN_RUN[name]} runs it with tiny stand-ins")
    r, env = comfy_run(srv, tiny_api(tw.load_api(name)), tmp_path / f"{name}.api.json")
    data = assert_completed(srv, r, env, name)
    loops = [k for k, n in tw.load_api(name).items() if n["class_type"] == "MILSLoop"]
    ran = set(data["executed_node_ids"]) | set(data["cached_node_ids"])
    assert set(loops) <= ran, (loops, data)
    hist = srv.get(f"/history/{data['prompt_id']}")[data["prompt_id"]]
    for loop_id in loops:
        text = hist["outputs"][loop_id]["text"][0]
        assert text.startswith("best "), text
        m = re.search(r"(\d+) LLM calls, (\d+) encodes, (\d+) renders", text)
        assert m and int(m.group(1)) >= 1, text
        renders = tw.load_api(name)[loop_id]["inputs"]["task"] in ("t2i_enhance", "style_transfer")
        assert (int(m.group(3)) > 0) == renders, text   # candidates rendered with the checkpoint, or not at all
    saved = [k for k, n in tw.load_api(name).items() if n["class_type"] == "SaveImage"]
    for node_id in saved:
        (img,) = hist["outputs"][node_id]["images"]
        assert (srv.base / "output" / img["subfolder"] / img["filename"]).is_file()


def test_ui_file_runs_through_comfy_run(srv, object_info, tmp_path):
    """The editor file itself (comfy-cli converts it with /object_info), here the image captioning one."""
    ui = tiny_ui(tw.load_ui("image_captioning"), object_info)
    for node in ui["nodes"]:
        if node["type"] == "MILSLoop":
            node["widgets_values"][tw.widget_slots(node, object_info["MILSLoop"])["seed"]] = 7   # not cached
    r, env = comfy_run(srv, ui, tmp_path / "image_captioning.json")
    data = assert_completed(srv, r, env, "image_captioning.json (UI format)")
    assert "4" in data["executed_node_ids"], data
