"""MILS Text Encoder LLM on a real ComfyUI server, through `comfy run` (opt-in: needs COMFY_DIR).

    COMFY_DIR=/path/to/ComfyUI /path/to/comfy-venv/bin/python -m pytest tests/comfyui/test_text_encoder_llm_comfyui.py -m comfyui -q

On a ComfyUI with CLIP.generate (0.15 or newer) the test makes a random-weight text encoder in the real
layout of Qwen3 0.6B (the smallest encoder ComfyUI generates with; devkit/tiny_text_encoders.py, 2.4 GB
in float32, about a minute; MILS_TINY_QWEN3_TE names one made before) in models/text_encoders, and runs

  * the image captioning example with its LLM replaced by CLIPLoader -> MILS Text Encoder LLM;
  * the text_encoder_prompt_enhancement example, its Z-Image files replaced by the tiny SD1.5 checkpoint
    for sampling (the MILS Text Encoder LLM keeps the Qwen3 encoder from CLIPLoader);

and on every ComfyUI: a CLIP that cannot generate (the checkpoint's CLIP-L) fails the run with the error
that names the `clip` input (and, before 0.15, the version needed). The random encoder is made to end
its turns after a few tokens (see save_qwen3_06b_text_encoder), so each reply costs seconds on a CPU.
COMFY_PORT picks the server's port (default: a free one).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
import test_workflows as tw

from devkit import comfy_server as cs

pytestmark = [pytest.mark.comfyui,
              pytest.mark.skipif(cs.skip_reason() is not None, reason=cs.skip_reason() or "")]

TE_NAME = "qwen3-0.6b-random.safetensors"
RUN_TIMEOUT = int(os.environ.get("MILS_TE_RUN_TIMEOUT", "1800"))   # a 0.6B encoder on a shared CPU is slow
LOOP_TINY = {"keep": 2, "new_per_step": 2, "steps": 1, "parallel": 1}


def has_clip_generate(comfy_dir: Path) -> bool:
    return "def generate(self, tokens" in (comfy_dir / "comfy" / "sd.py").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    paths = cs.comfy_paths()
    if not paths.comfy_cli:
        pytest.skip("comfy-cli not installed (pip install comfy-cli, or set COMFY_CLI)")
    base = cs.prepare_base(tmp_path_factory.mktemp("comfy-te"), paths)
    shutil.copy(cs.REPO / "assets" / "cat.jpg", base / "input" / "example.png")
    if has_clip_generate(paths.comfy_dir):
        te = base / "models" / "text_encoders" / TE_NAME
        te.parent.mkdir(parents=True, exist_ok=True)
        made = os.environ.get("MILS_TINY_QWEN3_TE")
        if made and Path(made).is_file():
            te.symlink_to(Path(made).resolve())
        else:
            from devkit.tiny_text_encoders import save_qwen3_06b_text_encoder

            save_qwen3_06b_text_encoder(te, stop_logit=5.1)
    port = int(os.environ["COMFY_PORT"]) if os.environ.get("COMFY_PORT") else None
    server = cs.start_server(base, paths, port=port)
    try:
        assert not cs.import_failures(server.log_text()), server.log_tail(80)
        yield server
    finally:
        server.stop()


@pytest.fixture
def generates(srv):
    if not has_clip_generate(srv.paths.comfy_dir):
        pytest.skip(f"this ComfyUI has no CLIP.generate (0.15 or newer needed): {srv.paths.comfy_dir}")


def run(srv, api: dict, path: Path):
    path.write_text(json.dumps(api))
    r = cs.comfy_cli_run(srv.paths, srv, path, home=path.parent / "home", timeout=RUN_TIMEOUT)
    return r, cs.parse_cli_envelope(r.stdout)


def completed(srv, r, env, what: str) -> dict:
    assert r.returncode == 0 and env and env.get("ok") is True and env["data"]["status"] == "completed", (
        f"comfy run {what} failed ({r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-2000:]}\n"
        f"--- server log ---\n{srv.log_tail(60)}")
    return srv.get(f"/history/{env['data']['prompt_id']}")[env["data"]["prompt_id"]]


def with_text_encoder_llm(api: dict, llm_id: str, clip_ref: list) -> dict:
    """The graph with node ``llm_id`` (a MILSLocalLLM) replaced by MILS Text Encoder LLM on ``clip_ref``."""
    api[llm_id] = {"class_type": "MILSTextEncoderLLM",
                   "inputs": {"clip": clip_ref, "top_k": 0, "repetition_penalty": 1.0}}
    return api


def clip_loader(name: str = TE_NAME) -> dict:
    return {"class_type": "CLIPLoader", "inputs": {"clip_name": name, "type": "stable_diffusion", "device": "default"}}


def loop_texts(hist: dict, loop_id: str) -> str:
    return hist["outputs"][loop_id]["text"][0]


def caption_api(seed: int = 0) -> tuple[dict, str]:
    """The image captioning example with CLIPLoader -> MILS Text Encoder LLM as its LLM; (graph, loop id)."""
    api = tw.load_api("image_captioning")
    (llm_id,) = [k for k, n in api.items() if n["class_type"] == "MILSLocalLLM"]
    (loop_id,) = [k for k, n in api.items() if n["class_type"] == "MILSLoop"]
    (scorer_id,) = [k for k, n in api.items() if n["class_type"] == "MILSScorerLoader"]
    api["90"] = clip_loader()
    with_text_encoder_llm(api, llm_id, ["90", 0])
    api[scorer_id]["inputs"]["model"] = cs.SCORER_NAME
    api[loop_id]["inputs"].update(LOOP_TINY, seed=seed)
    return api, loop_id


def test_caption_graph_with_the_text_encoder_as_llm(srv, generates, tmp_path):
    api, loop_id = caption_api()
    r, env = run(srv, api, tmp_path / "caption_te.json")
    hist = completed(srv, r, env, "image captioning with the text encoder as LLM")
    text = loop_texts(hist, loop_id)
    m = re.search(r"(\d+) LLM calls", text)
    assert text.startswith("best ") and m and int(m.group(1)) >= 1, text
    assert "CLIP/text encoder model load device" in srv.log_text(), "the encoder came from CLIPLoader"


def test_interrupt_while_the_encoder_writes_ends_the_run_as_interrupted(srv, generates):
    """ComfyUI raises its interrupt from inside CLIP.generate (its progress hook): a cancel, not an error."""
    api, loop_id = caption_api(seed=5)
    offset = srv.log_offset()
    pid = srv.queue(api)
    deadline = time.monotonic() + RUN_TIMEOUT
    while "Generating tokens" not in srv.log_since(offset):
        assert time.monotonic() < deadline, srv.log_tail(40)
        time.sleep(1)
    status, _ = srv.post("/interrupt", {})
    assert status == 200
    hist = srv.wait_history(pid, timeout=RUN_TIMEOUT)
    interrupted = cs.messages(hist, "execution_interrupted")
    assert interrupted and interrupted[0]["node_type"] == "MILSLoop", hist["status"]["messages"]
    assert not cs.messages(hist, "execution_error"), hist["status"]["messages"]
    assert srv.get("/system_stats")["system"], "ComfyUI keeps running"


def test_text_encoder_workflow_runs_with_tiny_stand_ins(srv, generates, tmp_path):
    """The example's API twin: the Qwen3 encoder stays the LLM; sampling uses the tiny SD1.5 checkpoint."""
    api = tw.load_api("text_encoder_prompt_enhancement")
    ids = {n["class_type"]: k for k, n in api.items()}
    unet, clip, vae = ids["UNETLoader"], ids["CLIPLoader"], ids["VAELoader"]
    api[unet] = {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": cs.CKPT_NAME}}
    del api[vae]
    api[clip]["inputs"].update({"clip_name": TE_NAME, "type": "stable_diffusion"})
    for node_id, node in api.items():
        for name, value in node["inputs"].items():
            if value == [vae, 0]:
                node["inputs"][name] = [unet, 2]
            elif value == [clip, 0] and node["class_type"] != "MILSTextEncoderLLM":
                node["inputs"][name] = [unet, 1]   # SD1.5 samples with its own CLIP-L conditioning
    tiny = {"MILSScorerLoader": {"model": cs.SCORER_NAME}, "MILSLoop": LOOP_TINY,
            "MILSRenderer": {"width": 64, "height": 64, "steps": 2, "batch": 2},
            "EmptyLatentImage": {"width": 64, "height": 64}, "KSampler": {"steps": 2}}
    for node in api.values():
        node["inputs"].update(tiny.get(node["class_type"], {}))
    te_llm = ids["MILSTextEncoderLLM"]
    assert api[te_llm]["inputs"]["clip"] == [clip, 0], "the LLM is the CLIPLoader's encoder"
    r, env = run(srv, api, tmp_path / "te_enhance.json")
    hist = completed(srv, r, env, "text_encoder_prompt_enhancement (tiny stand-ins)")
    text = loop_texts(hist, ids["MILSLoop"])
    assert text.startswith("best ") and int(text.split(" renders")[0].rsplit(" ", 1)[-1]) > 0, text
    (img,) = hist["outputs"][ids["SaveImage"]]["images"]
    assert (srv.base / "output" / img["subfolder"] / img["filename"]).is_file()


def test_a_clip_that_cannot_generate_fails_naming_the_clip_input(srv, tmp_path):
    api = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": cs.CKPT_NAME}},
           "2": {"class_type": "MILSTextEncoderLLM", "inputs": {"clip": ["1", 1], "top_k": 0,
                                                                 "repetition_penalty": 1.0}},
           "3": {"class_type": "MILSLLMGenerate", "inputs": {"llm": ["2", 0], "instruction": "Rewrite", "text": "a cat",
                                                              "count": 2, "seed": 0, "temperature": 0.7,
                                                              "top_p": 0.9, "max_new_tokens": 16}},
           "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 1]}}}   # an output, so the graph runs
    r, env = run(srv, api, tmp_path / "clip_l.json")
    assert r.returncode != 0 or not (env and env.get("ok")), r.stdout[-2000:]
    # the node's error, wherever this ComfyUI / comfy-cli put it: the run's history, the CLI's output, the log
    log = "\n".join([json.dumps(srv.get("/history")), r.stdout, r.stderr, srv.log_text()])
    assert "clip" in log and "Qwen3" in log, log
    if has_clip_generate(srv.paths.comfy_dir):
        assert "cannot" in log and "CLIP-L" in log, log
    else:
        assert "no CLIP.generate" in log and "0.15" in log, log
    assert srv.get("/system_stats")["system"], "ComfyUI keeps running"
