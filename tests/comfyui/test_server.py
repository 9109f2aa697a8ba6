"""The pack inside a real ComfyUI server (opt-in: needs a ComfyUI source tree).

    COMFY_DIR=/path/to/ComfyUI [COMFY_PYTHON=/path/to/venv/bin/python] \\
        python -m pytest tests/comfyui/test_server.py -m comfyui -q

One server for the whole module (session fixture): ComfyUI's own main.py --cpu on a free 127.0.0.1
port, a temporary --base-directory with this repo symlinked as custom_nodes/mils_nodes, a tiny random
Llama in models/LLM/tiny-llama, a tiny open_clip folder in models/mils/tiny-clip and a tiny random
SD1.5 checkpoint in models/checkpoints (MILS_TINY_SD15 or one next to COMFY_DIR is symlinked, else one
is generated). Every wait is bounded; the whole module takes about 1.5 minutes on 2 CPU cores.

Other knobs: COMFY_CLI (comfy-cli's ``comfy``; default: next to the server's python, else on PATH),
MILS_PACK_DIR (link another checkout of the pack instead of this one), COMFY_START_TIMEOUT (s, 90).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from devkit import comfy_server as cs
from devkit import api_graphs

pytestmark = [pytest.mark.comfyui,
              pytest.mark.skipif(cs.skip_reason() is not None, reason=cs.skip_reason() or "")]

PROMPT_TIMEOUT = 120


# --- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def comfy_srv(tmp_path_factory):
    paths = cs.comfy_paths()
    base = cs.prepare_base(tmp_path_factory.mktemp("comfy"), paths)
    srv = cs.start_server(base, paths)
    try:
        failed = cs.import_failures(srv.log_text())
        assert not failed, f"the pack failed to import:\n{srv.log_tail(80)}"
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def alive(comfy_srv):
    """After the test: the server still answers (errors must not take it down)."""
    yield comfy_srv
    assert comfy_srv.alive(), f"the server stopped answering:\n{comfy_srv.log_tail()}"


def error_message(hist: dict) -> dict:
    errs = cs.messages(hist, "execution_error")
    assert errs, f"no execution_error in {json.dumps(hist.get('status'))[:2000]}"
    return errs[0]


def assert_success(srv: cs.ComfyServer, hist: dict) -> None:
    if hist["status"]["status_str"] != "success":
        errs = cs.messages(hist, "execution_error")
        detail = (f"{errs[0]['node_type']}: {errs[0]['exception_type']}: {errs[0]['exception_message']}\n"
                  + "".join(errs[0].get("traceback", [])[-6:])) if errs else json.dumps(hist["status"])[:3000]
        pytest.fail(f"prompt failed: {detail}\n--- server log ---\n{srv.log_tail(40)}")


def pack_declarations() -> dict:
    """What the node classes declare, read in a plain Python (no ComfyUI) from this checkout."""
    code = ("import json\nfrom devkit.pack import pack_nodes\nnodes = pack_nodes()\n"
            "out = {}\n"
            "for nid, cls in nodes.NODE_CLASS_MAPPINGS.items():\n"
            "    spec = cls.INPUT_TYPES()\n"
            "    n = len(cls.RETURN_TYPES)\n"
            "    out[nid] = {'required': list(spec.get('required', {})), 'optional': list(spec.get('optional', {})),\n"
            "                'hidden': list(spec.get('hidden', {})), 'output': list(cls.RETURN_TYPES),\n"
            "                'output_name': list(getattr(cls, 'RETURN_NAMES', cls.RETURN_TYPES)),\n"
            "                'output_is_list': list(getattr(cls, 'OUTPUT_IS_LIST', [False] * n)),\n"
            "                'category': cls.CATEGORY, 'output_node': bool(getattr(cls, 'OUTPUT_NODE', False))}\n"
            "print('DECLARATIONS' + json.dumps(out))\n")
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    env.pop("MILS_PACK_DIR", None)
    r = subprocess.run([sys.executable, "-c", code], cwd=cs.REPO, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("DECLARATIONS"))
    return json.loads(line[len("DECLARATIONS"):])


def combo_options(spec) -> list:
    """A COMBO input in /object_info: [[options...], {...}] or ["COMBO", {"options": [...]}]."""
    if isinstance(spec[0], list):
        return spec[0]
    return spec[1].get("options", [])


# --- 1. registration ---------------------------------------------------------------------------

def test_object_info_matches_the_node_classes(comfy_srv):
    info = comfy_srv.get("/object_info", timeout=60)
    declared = pack_declarations()
    assert declared, "nodes.NODE_CLASS_MAPPINGS is empty"
    for node_id, decl in declared.items():
        assert node_id in info, f"{node_id} is not registered in the server"
        got = info[node_id]
        assert list(got["input"].get("required", {})) == decl["required"], node_id
        assert list(got["input"].get("optional", {})) == decl["optional"], node_id
        assert list(got["input"].get("hidden", {})) == decl["hidden"], node_id
        assert got["output"] == decl["output"], node_id
        assert got["output_name"] == decl["output_name"], node_id
        assert got["output_is_list"] == decl["output_is_list"], node_id
        assert got["output_node"] == decl["output_node"], node_id
        assert got["category"].startswith("MILS"), node_id
        assert got["python_module"].startswith("custom_nodes."), got["python_module"]
    llm_models = combo_options(info["MILSLocalLLM"]["input"]["required"]["model"])
    scorer_models = combo_options(info["MILSScorerLoader"]["input"]["required"]["model"])
    assert cs.LLM_NAME in llm_models, llm_models
    assert cs.SCORER_NAME in scorer_models, scorer_models
    # the folders are registered with folder_paths: ComfyUI lists them under /models
    folders = comfy_srv.get("/models")
    assert "LLM" in folders and "mils" in folders, folders
    # the real sampler list (from comfy.samplers), not the pack's fallback
    assert "dpmpp_2m_sde" in combo_options(info["MILSRenderer"]["input"]["required"]["sampler_name"])
    loop_inputs = set(info["MILSLoop"]["input"]["required"]) | set(info["MILSLoop"]["input"]["optional"])
    assert not {"sampler_name", "scheduler", "cfg", "negative", "denoise", "model", "clip", "vae"} & loop_inputs


# --- 2. a captioning graph over HTTP -----------------------------------------------------------

def test_caption_graph_over_http(alive):
    srv = alive
    hist = srv.run(api_graphs.caption_graph(seed=1), timeout=PROMPT_TIMEOUT)
    assert_success(srv, hist)
    outputs = hist["outputs"]
    text = outputs["4"]["text"][0]
    assert text.startswith("best ") and "after 2 steps" in text, text
    board = outputs["4"]["mils_leaderboard"]
    assert 1 <= len(board) <= 3 and [b["score"] for b in board] == sorted((b["score"] for b in board), reverse=True)
    assert len(outputs["4"]["mils_curve"]) == 3           # step 0 + 2 steps
    assert outputs["6"]["text"][0] == board[0]["text"]    # best_prompt into PreviewAny
    (img,) = outputs["5"]["images"]
    assert (srv.base / "output" / img["subfolder"] / img["filename"]).is_file()


def test_an_image_batch_gives_one_caption_per_image(alive):
    srv = alive
    g = api_graphs.caption_graph(seed=3)
    g["1"]["inputs"]["batch_size"] = 2
    hist = srv.run(g, timeout=PROMPT_TIMEOUT)
    assert_success(srv, hist)
    text = hist["outputs"]["4"]["text"][0]
    assert text.startswith("image 1: best ") and "\n\nimage 2: best " in text, text
    previews = hist["outputs"]["6"]["text"]       # PreviewAny ran once per caption of the list
    assert len(previews) == 2 and all(previews), previews
    assert len(hist["outputs"]["5"]["images"]) == 2   # one score chart per image


# --- 3. the same graph through comfy-cli ---------------------------------------------------------

def test_caption_graph_through_comfy_run(alive, tmp_path):
    srv = alive
    if not srv.paths.comfy_cli:
        pytest.skip("comfy-cli not installed (pip install comfy-cli, or set COMFY_CLI)")
    wf = tmp_path / "caption_api.json"
    wf.write_text(json.dumps(api_graphs.caption_graph(seed=5)))
    r = cs.comfy_cli_run(srv.paths, srv, wf, home=tmp_path / "home", timeout=PROMPT_TIMEOUT)
    assert r.returncode == 0, f"comfy run failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-2000:]}"
    env = cs.parse_cli_envelope(r.stdout)
    assert env is not None, f"no JSON envelope on comfy run's stdout: {r.stdout[-2000:]}"
    assert env.get("ok") is True and env["data"]["status"] == "completed", env
    assert {"2", "3", "4"} <= set(env["data"]["executed_node_ids"]) | set(env["data"]["cached_node_ids"])
    pid = env["data"]["prompt_id"]
    hist = srv.get(f"/history/{pid}")[pid]
    assert hist["status"]["status_str"] == "success"
    assert hist["outputs"]["4"]["text"][0].startswith("best ")


# --- 4. prompt enhancement into stock nodes -------------------------------------------------------

def test_prompt_enhancement_feeds_stock_sampler(alive, tmp_path):
    srv = alive
    if not cs.renderer_available():
        pytest.skip("renderer not available (nodes/comfy_render.py is missing)")
    if not srv.paths.comfy_cli:
        pytest.skip("comfy-cli not installed (pip install comfy-cli, or set COMFY_CLI)")
    wf = tmp_path / "t2i_api.json"
    wf.write_text(json.dumps(api_graphs.t2i_graph(prefix="mils_t2i")))
    r = cs.comfy_cli_run(srv.paths, srv, wf, home=tmp_path / "home", timeout=240)
    if r.returncode != 0 and "comfy_render" in r.stdout and ("ModuleNotFoundError" in r.stdout
                                                              or "ImportError" in r.stdout):
        pytest.skip(f"renderer not available: {r.stdout[-500:]}")
    assert r.returncode == 0, f"comfy run failed ({r.returncode}):\n{r.stdout[-4000:]}\n{srv.log_tail(40)}"
    out = srv.base / "output"
    assert sorted(out.glob("mils_t2i_0*.png")), "no PNG from best_prompt -> CLIPTextEncode -> KSampler"
    assert sorted(out.glob("mils_t2i_cond_0*.png")), "no PNG from the conditioning output -> KSampler"
    env = cs.parse_cli_envelope(r.stdout)
    assert env is not None and env.get("ok") is True, r.stdout[-2000:]
    pid = env["data"]["prompt_id"]
    hist = srv.get(f"/history/{pid}")[pid]
    text = hist["outputs"]["4"]["text"][0]
    m = re.search(r"(\d+) renders", text)
    assert m and int(m.group(1)) > 0, text   # candidates were rendered with the checkpoint
    assert {"5", "8", "10", "11", "13"} <= set(env["data"]["executed_node_ids"])


# --- 5. errors come back as execution errors ------------------------------------------------------

def test_missing_hub_id_is_an_execution_error(alive):
    srv = alive
    g = api_graphs.caption_graph(seed=1, save_curve=False)
    g["2"]["inputs"].update(model="(use hub_id below)", hub_id="")
    hist = srv.run(g, timeout=PROMPT_TIMEOUT)
    assert hist["status"]["status_str"] == "error"
    err = error_message(hist)
    assert err["node_type"] == "MILSLocalLLM" and "hub_id" in err["exception_message"], err["exception_message"]
    assert srv.alive()


def test_loop_without_a_target_names_image(alive):
    srv = alive
    g = api_graphs.caption_graph(seed=1, save_curve=False, task="auto")
    del g["4"]["inputs"]["image"], g["1"]
    hist = srv.run(g, timeout=PROMPT_TIMEOUT)
    assert hist["status"]["status_str"] == "error"
    err = error_message(hist)
    assert err["node_type"] == "MILSLoop" and "image" in err["exception_message"], err["exception_message"]
    assert srv.alive()


# --- 6. interrupt ---------------------------------------------------------------------------------

def test_interrupt_stops_the_loop_within_a_step(alive):
    srv = alive
    steps = 200
    with cs.WsListener(srv) as ws:
        pid = srv.queue(api_graphs.caption_graph(seed=21, steps=steps, save_curve=False), client_id=ws.client_id)

        def step_or_end(t, d):
            return ((t == "mils.progress" and d.get("step", 0) >= 1)
                    or (t in ("execution_error", "execution_success") and d.get("prompt_id") == pid))

        if ws.available:
            assert ws.wait_for(step_or_end, timeout=90), f"no step finished in 90 s:\n{srv.log_tail()}"
            if not ws.of("mils.progress") or max(d.get("step", 0) for d in ws.of("mils.progress")) < 1:
                assert_success(srv, srv.wait_history(pid, timeout=30))  # fails with the node's error
                pytest.fail("the loop ended before its first step")
        else:
            time.sleep(8)
        t0 = time.monotonic()
        status, _ = srv.post("/interrupt", {})
        assert status == 200
        hist = srv.wait_history(pid, timeout=60)
        stop_s = time.monotonic() - t0
    assert hist["status"]["status_str"] == "error", hist["status"]
    interrupted = cs.messages(hist, "execution_interrupted")
    assert interrupted and interrupted[0]["node_type"] == "MILSLoop", hist["status"]["messages"]
    assert not cs.messages(hist, "execution_error")
    assert stop_s < 20, f"took {stop_s:.1f} s to stop after the interrupt"
    if ws.available:
        done = max(d["step"] for d in ws.of("mils.progress") if d.get("node") == "4")
        assert done < steps, done
        # progress also reaches the node's bar (comfy.utils.ProgressBar)
        assert any(d.get("node") == "4" and d.get("max") == steps for d in ws.of("progress"))


def test_a_cancel_during_rendering_is_an_interruption_every_time(alive):
    """Cancel at several moments of a prompt-enhancement search (the renders dominate it, so most land inside
    ComfyUI's sampler, which raises the interrupt itself): the queue shows an interruption, never an error."""
    srv = alive
    for k, delay in enumerate((0.0, 0.2, 0.7, 1.5)):
        graph = api_graphs.t2i_graph(seed=40 + k, steps=50, render_steps=8, keep=2, new_per_step=2,
                                     downstream=False)
        with cs.WsListener(srv) as ws:
            pid = srv.queue(graph, client_id=ws.client_id)
            if ws.available:
                assert ws.wait_for(lambda t, d: t == "mils.progress" or (
                    t in ("execution_error", "execution_success") and d.get("prompt_id") == pid), timeout=120)
            else:
                time.sleep(10)
            time.sleep(delay)
            status, _ = srv.post("/interrupt", {})
            assert status == 200
            hist = srv.wait_history(pid, timeout=90)
        moment = f"cancel {delay} s after a step"
        assert cs.messages(hist, "execution_interrupted"), f"{moment}: {hist['status']}"
        assert not cs.messages(hist, "execution_error"), f"{moment}: {cs.messages(hist, 'execution_error')}"
    assert srv.alive()


# --- 7. requeue with a new seed reloads nothing ---------------------------------------------------

def test_requeue_with_another_seed_reloads_nothing(alive):
    srv = alive
    first = srv.run(api_graphs.caption_graph(seed=31), timeout=PROMPT_TIMEOUT)
    assert_success(srv, first)
    offset = srv.log_offset()
    second = srv.run(api_graphs.caption_graph(seed=32), timeout=PROMPT_TIMEOUT)
    assert_success(srv, second)
    cached = cs.cached_nodes(second)
    assert {"1", "2", "3"} <= cached, cached            # image and both loaders come from the cache
    assert "4" not in cached and "4" in second["outputs"]  # only the loop (and its outputs) re-ran
    assert cs.count_model_loads(srv.log_since(offset)) == 0, srv.log_since(offset)
