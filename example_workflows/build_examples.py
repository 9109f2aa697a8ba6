"""Rebuild the example workflows in the real ComfyUI editor: UI format, API twin and thumbnail each.

    COMFY_DIR=/path/to/ComfyUI .venv/bin/python -m example_workflows.build_examples [NAME ...]   # from the repo root

Needs what the opt-in editor tests need (tests/comfyui/test_browser.py): a ComfyUI source tree with its
venv next to it (COMFY_DIR), Chromium at /usr/bin/chromium (or MILS_CHROMIUM) and, in the python running
this script, playwright, Pillow and PyAV. It starts ComfyUI (main.py --cpu, 127.0.0.1, a temporary
--base-directory with this checkout linked as custom_nodes/mils_nodes, empty placeholders named like
the real models, examples/cat.jpg as input/example.png and examples/coffee.jpg as input/style.jpg),
then for each workflow in WORKFLOWS below, in headless Chromium:

  * creates the nodes with LiteGraph.createNode (so node ids are 1..n in the order listed), sets the
    widget values, connects them, lays them out in groups and fits the view;
  * writes ``NAME.json`` = JSON.stringify(app.graph.serialize()) (the editor format, what dragging the
    file in or the template browser loads) and ``api/NAME.json`` = JSON.stringify((await
    app.graphToPrompt()).output) (the API format, for ``comfy run`` and POST /prompt), minus inputs
    that only exist in the frontend (PreviewAny's preview, LoadAudio's audioUI, ...);
  * screenshots the graph into ``NAME.jpg``, the thumbnail the template browser shows
    (GET /api/workflow_templates/<pack>/NAME.jpg);

and finally opens the template browser and screenshots the pack's page to artifacts/templates_browser.png.
Full-window screenshots of each graph go to artifacts/workflows/. tests/test_workflows.py checks the
result offline; tests/comfyui/test_workflows_run.py runs every API twin through ``comfy run``.

Why this folder: ComfyUI (app/custom_node_manager.py) lists every ``*.json`` directly inside a pack's
``example_workflows``, ``example``, ``examples``, ``workflow`` or ``workflows`` folder as a template,
but serves the files (and their ``.jpg`` thumbnails) from the first of those folders that exists, in
that order. This pack has ``examples/`` (media for the CLI), so only ``example_workflows/`` works, and
the API twins live in ``api/`` below it so they are not listed as templates.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

from devkit import comfy_server as cs

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ARTIFACTS = REPO / "artifacts"

CHROMIUM = os.environ.get("MILS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = (2560, 1600)
THUMB_BOX = (1280, 1000)   # thumbnails are scaled down to fit this box

# --- the workflows ------------------------------------------------------------------------------
# Each: nodes (ids 1..n in this order), links (from id, output name, to id, input name) and blocks
# (one group each; blocks with the same "row" go left to right, rows top to bottom; inside a block,
# columns of node ids top to bottom).

LLM_MODEL = "qwen2.5-1.5b-instruct"        # `mils download` / MILS Download Model preset names
CHECKPOINT = "v1-5-pruned-emaonly.safetensors"
PLACEHOLDER_MODELS = [f"LLM/{LLM_MODEL}", "mils/siglip-b16", "mils/pickscore", "mils/clap-htsat", "mils/vgg19"]

LLM = {"type": "MILSLocalLLM", "values": {"model": LLM_MODEL, "hub_id": "", "dtype": "auto", "device": "auto",
                                          "keep_loaded": True}}
CKPT = {"type": "CheckpointLoaderSimple", "values": {"ckpt_name": CHECKPOINT}}
LATENT = {"type": "EmptyLatentImage", "values": {"width": 512, "height": 512, "batch_size": 1}}
DECODE = {"type": "VAEDecode", "size": [200, 50]}
NEGATIVE = "blurry, low quality"


def scorer(model):
    return {"type": "MILSScorerLoader", "values": {"model": model, "kind": "auto", "source": "", "dtype": "auto",
                                                   "device": "auto", "keep_loaded": True}}


def loop(task, title, **values):
    v = {"task": task, "budget": "preview", "keep": 0, "new_per_step": 0, "steps": 0, "patience": 0, "seed": 0,
         "control_after_generate": "fixed", "text": "", "initial": "", "sampler_name": "euler",
         "scheduler": "normal", "render_steps": 8, "cfg": 7.0, "preview_size": 256, "render_batch": 4,
         "negative": "", "denoise": 0.6}
    v.update(values)
    return {"type": "MILSLoop", "title": title, "values": v}


def text_preview(title):
    return {"type": "PreviewAny", "title": title, "size": [360, 160]}


def curve_preview():
    return {"type": "PreviewImage", "title": "Score per step", "size": [360, 300]}


def ksampler(title):
    return {"type": "KSampler", "title": title,
            "values": {"seed": 0, "control_after_generate": "randomize", "steps": 20, "cfg": 7.0,
                       "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0}}


def clip_text(title, text=""):
    return {"type": "CLIPTextEncode", "title": title, "values": {"text": text}, "size": [400, 160]}


def save(prefix):
    return {"type": "SaveImage", "values": {"filename_prefix": prefix}, "size": [320, 340]}


def load_image(image, title=None):
    return {"type": "LoadImage", "title": title, "values": {"image": image}, "size": [300, 330]}


WORKFLOWS: dict[str, dict] = {}

WORKFLOWS["image_captioning"] = {
    "nodes": [
        load_image("example.png"),                                   # 1
        LLM,                                                         # 2
        scorer("siglip-b16"),                                        # 3
        loop("image_caption", "MILS Loop (image caption)"),          # 4
        text_preview("Best caption"),                                # 5
        curve_preview(),                                             # 6
    ],
    "links": [(2, "llm", 4, "llm"), (3, "scorer", 4, "scorer"), (1, "IMAGE", 4, "image"),
              (4, "best_prompt", 5, "source"), (4, "score_curve", 6, "images")],
    "blocks": [
        {"title": "Image to caption", "columns": [[1]]},
        {"title": "MILS: the LLM proposes captions, SigLIP scores them against the image", "columns": [[2, 3], [4]]},
        {"title": "Result", "columns": [[5, 6]]},
    ],
}

WORKFLOWS["video_captioning"] = {
    "nodes": [
        {"type": "LoadVideo", "values": {"file": "example.mp4"}, "size": [300, 300]},   # 1
        {"type": "GetVideoComponents", "size": [300, 70]},                               # 2
        LLM,                                                                             # 3
        scorer("siglip-b16"),                                                            # 4
        loop("video_caption", "MILS Loop (video caption)"),                              # 5
        text_preview("Best caption"),                                                    # 6
        curve_preview(),                                                                 # 7
    ],
    "links": [(1, "VIDEO", 2, "video"), (3, "llm", 5, "llm"), (4, "scorer", 5, "scorer"), (2, "images", 5, "image"),
              (5, "best_prompt", 6, "source"), (5, "score_curve", 7, "images")],
    "blocks": [
        {"title": "Video to caption (a short clip: every frame is decoded)", "columns": [[1, 2]]},
        {"title": "MILS: the LLM proposes captions, SigLIP scores them against the frames", "columns": [[3, 4], [5]]},
        {"title": "Result", "columns": [[6, 7]]},
    ],
}

WORKFLOWS["audio_captioning"] = {
    "nodes": [
        {"type": "LoadAudio", "values": {"audio": "example.wav"}, "size": [300, 140]},  # 1
        LLM,                                                                             # 2
        scorer("clap-htsat"),                                                            # 3
        loop("audio_caption", "MILS Loop (audio caption)"),                              # 4
        text_preview("Best caption"),                                                    # 5
        curve_preview(),                                                                 # 6
    ],
    "links": [(2, "llm", 4, "llm"), (3, "scorer", 4, "scorer"), (1, "AUDIO", 4, "audio"),
              (4, "best_prompt", 5, "source"), (4, "score_curve", 6, "images")],
    "blocks": [
        {"title": "Sound to caption", "columns": [[1]]},
        {"title": "MILS: the LLM proposes captions, CLAP scores them against the sound", "columns": [[2, 3], [4]]},
        {"title": "Result", "columns": [[5, 6]]},
    ],
}

WORKFLOWS["prompt_enhancement"] = {
    "nodes": [
        CKPT,                                                                            # 1
        LLM,                                                                             # 2
        scorer("pickscore"),                                                             # 3
        loop("t2i_enhance", "MILS Loop (prompt enhancement)", text="a lighthouse on a cliff at sunset",
             negative=NEGATIVE),                                                         # 4
        text_preview("Best prompt"),                                                     # 5
        {"type": "PreviewImage", "title": "Best preview render", "size": [300, 300]},    # 6
        clip_text("CLIP Text Encode (best prompt)"),                                     # 7
        clip_text("CLIP Text Encode (negative)", NEGATIVE),                              # 8
        LATENT,                                                                          # 9
        ksampler("KSampler (best prompt)"),                                              # 10
        DECODE,                                                                          # 11
        save("MILS_enhanced"),                                                           # 12
        ksampler("KSampler (Loop's conditioning)"),                                      # 13
        DECODE,                                                                          # 14
        save("MILS_enhanced_cond"),                                                      # 15
    ],
    "links": [(2, "llm", 4, "llm"), (3, "scorer", 4, "scorer"),
              (1, "MODEL", 4, "model"), (1, "CLIP", 4, "clip"), (1, "VAE", 4, "vae"),
              (4, "best_prompt", 5, "source"), (4, "best_image", 6, "images"),
              (4, "best_prompt", 7, "text"), (1, "CLIP", 7, "clip"), (1, "CLIP", 8, "clip"),
              (1, "MODEL", 10, "model"), (7, "CONDITIONING", 10, "positive"), (8, "CONDITIONING", 10, "negative"),
              (9, "LATENT", 10, "latent_image"), (10, "LATENT", 11, "samples"), (1, "VAE", 11, "vae"),
              (11, "IMAGE", 12, "images"),
              (1, "MODEL", 13, "model"), (4, "conditioning", 13, "positive"), (8, "CONDITIONING", 13, "negative"),
              (9, "LATENT", 13, "latent_image"), (13, "LATENT", 14, "samples"), (1, "VAE", 14, "vae"),
              (14, "IMAGE", 15, "images")],
    "blocks": [
        {"title": "MILS: rewrites of your prompt are rendered with your checkpoint and scored by PickScore",
         "columns": [[1, 2, 3], [4], [5, 6]]},
        {"title": "Stock txt2img with the best prompt (or with the Loop's conditioning output)",
         "columns": [[7, 8, 9], [10, 13], [11, 14], [12, 15]]},
    ],
}

WORKFLOWS["style_transfer"] = {
    "nodes": [
        load_image("example.png", "Content image"),                                     # 1
        load_image("style.jpg", "Style image"),                                         # 2
        CKPT,                                                                            # 3
        LLM,                                                                             # 4
        {"type": "MILSGramStyle", "values": {"features": "vgg19", "style_weight": 1000.0, "content_weight": 1.0,
                                             "size": 256}},                              # 5
        loop("style_transfer", "MILS Loop (style transfer)"),                            # 6
        save("MILS_style"),                                                              # 7
        text_preview("Best edit instruction"),                                           # 8
    ],
    "links": [(2, "IMAGE", 5, "style_image"), (1, "IMAGE", 5, "content_image"),
              (4, "llm", 6, "llm"), (5, "scorer", 6, "style_scorer"),
              (3, "MODEL", 6, "model"), (3, "CLIP", 6, "clip"), (3, "VAE", 6, "vae"), (1, "IMAGE", 6, "content_image"),
              (6, "best_image", 7, "images"), (6, "best_prompt", 8, "source")],
    "blocks": [
        {"title": "Your photo and the style", "columns": [[1, 2]]},
        {"title": "MILS: the LLM writes edits, your checkpoint applies them, VGG19 Gram style loss ranks them",
         "columns": [[3, 4, 5], [6]]},
        {"title": "Result", "columns": [[7, 8]]},
    ],
}

WORKFLOWS["embedding_arithmetic"] = {
    "nodes": [
        load_image("example.png"),                                                       # 1
        LLM,                                                                             # 2
        scorer("siglip-b16"),                                                            # 3
        {"type": "MILSEmbeddingArithmetic",
         "values": {"text_terms": "-1 a photo\n+1 a watercolor painting", "image_a_weight": 1.0,
                    "image_b_weight": 1.0, "audio_weight": 1.0}},                        # 4
        loop("invert", "MILS Loop (embedding to prompt)"),                               # 5
        text_preview("Best prompt"),                                                     # 6
        CKPT,                                                                            # 7
        clip_text("CLIP Text Encode (best prompt)"),                                     # 8
        clip_text("CLIP Text Encode (negative)", NEGATIVE),                              # 9
        LATENT,                                                                          # 10
        ksampler("KSampler"),                                                            # 11
        DECODE,                                                                          # 12
        save("MILS_arithmetic"),                                                         # 13
    ],
    "links": [(3, "scorer", 4, "scorer"), (1, "IMAGE", 4, "image_a"),
              (2, "llm", 5, "llm"), (3, "scorer", 5, "scorer"), (4, "target", 5, "target"),
              (5, "best_prompt", 6, "source"),
              (5, "best_prompt", 8, "text"), (7, "CLIP", 8, "clip"), (7, "CLIP", 9, "clip"),
              (7, "MODEL", 11, "model"), (8, "CONDITIONING", 11, "positive"), (9, "CONDITIONING", 11, "negative"),
              (10, "LATENT", 11, "latent_image"), (11, "LATENT", 12, "samples"), (7, "VAE", 12, "vae"),
              (12, "IMAGE", 13, "images")],
    "blocks": [
        {"title": "The photo - 'a photo' + 'a watercolor painting', in SigLIP's space", "columns": [[1, 3], [4]]},
        {"title": "MILS: the LLM searches a prompt with that embedding", "columns": [[2], [5], [6]]},
        {"title": "Stock txt2img with that prompt", "columns": [[7], [8, 9, 10], [11], [12, 13]]},
    ],
}

# --- the editor -----------------------------------------------------------------------------------

BUILD_JS = r"""
async (spec) => {
  app.graph.clear();
  const TH = LiteGraph.NODE_TITLE_HEIGHT;
  const nodes = [], problems = [];
  for (const s of spec.nodes) {
    const n = LiteGraph.createNode(s.type);
    if (!n) throw new Error("unknown node type " + s.type);
    app.graph.add(n);
    if (s.title) n.title = s.title;
    for (const [name, value] of Object.entries(s.values || {})) {
      const w = n.widgets?.find(w => w.name === name);
      if (!w) { problems.push(`${s.type}: no widget ${name}`); continue; }
      w.value = value;
      if (["image", "file", "audio"].includes(name)) w.callback?.(value);   // loads the preview
    }
    nodes.push(n);
  }
  for (const [a, out, b, inp] of spec.links) {
    const src = nodes[a - 1], dst = nodes[b - 1];
    const o = src.findOutputSlot(out), i = dst.findInputSlot(inp);
    if (o < 0 || i < 0) { problems.push(`link ${a}.${out} -> ${b}.${inp}: no such slot`); continue; }
    if (!src.connect(o, dst, i)) problems.push(`link ${a}.${out} -> ${b}.${inp} refused`);
  }
  await new Promise(r => setTimeout(r, 300));
  spec.nodes.forEach((s, k) => {
    const n = nodes[k], min = n.computeSize();
    n.setSize([Math.round(Math.max(min[0], s.size?.[0] ?? 0, n.size[0])),
               Math.round(Math.max(min[1], s.size?.[1] ?? 0, n.size[1]))]);
  });
  // layout: one group per block; blocks of a row left to right, rows top to bottom
  const PAD = 20, GT = 50, GAPX = 50, GAPY = 30, BGAP = 60;
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.font = `${LiteGraph.DEFAULT_GROUP_FONT || 24}px Arial`;
  const rows = [];
  for (const block of spec.blocks) (rows[block.row ?? 0] ??= []).push(block);
  let by = 0, W = 0;
  for (const row of rows) {
    let bx = 0, rowH = 0;
    for (const block of row) {
      let cx = bx + PAD, bottom = by;
      for (const col of block.columns) {
        let y = by + GT + PAD + TH, width = 0;
        for (const id of col) {
          const n = nodes[id - 1];
          n.pos = [cx, y];
          y += n.size[1] + GAPY + TH;
          width = Math.max(width, n.size[0]);
        }
        bottom = Math.max(bottom, y - GAPY - TH);
        cx += width + GAPX;
      }
      const w = Math.max(cx - GAPX + PAD - bx, ctx.measureText(block.title).width + 2 * PAD + 10);
      const h = bottom + PAD - by;
      const g = new LiteGraph.LGraphGroup(block.title);
      g.pos = [bx, by];
      g.size = [w, h];
      app.graph.add(g);
      bx += w + BGAP;
      rowH = Math.max(rowH, h);
    }
    W = Math.max(W, bx - BGAP);
    by += rowH + BGAP;
  }
  const H = by - BGAP;
  // fit the view, clear of the floating menus
  const rect = app.canvas.canvas.getBoundingClientRect();
  const M = {top: 110, bottom: 110, left: 100, right: 40};
  const scale = Math.min((rect.width - M.left - M.right) / W, (rect.height - M.top - M.bottom) / H, 1);
  app.canvas.ds.scale = scale;
  app.canvas.ds.offset = [(M.left + (rect.width - M.left - M.right - W * scale) / 2) / scale,
                          (M.top + (rect.height - M.top - M.bottom - H * scale) / 2) / scale];
  app.graph.setDirtyCanvas(true, true);
  await new Promise(r => setTimeout(r, 2000));
  const prompt = await app.graphToPrompt();
  const off = app.canvas.ds.offset;
  const boxes = nodes.map(n => [n.pos[0], n.pos[1] - TH, n.pos[0] + n.size[0], n.pos[1] + n.size[1]]);
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, b] = [boxes[i], boxes[j]];
    if (a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]) overlaps.push([i + 1, j + 1]);
  }
  return {
    problems, overlaps, ids: nodes.map(n => n.id),
    workflow: JSON.stringify(app.graph.serialize()),     // stringified in the page: undefined must not become null
    api: JSON.stringify(prompt.output),
    clip: {x: rect.x + off[0] * scale, y: rect.y + off[1] * scale, width: W * scale, height: H * scale},
  };
}
"""

READY = "() => window.app && app.graph && window.LiteGraph && document.querySelector('canvas')"


def make_base(base: Path) -> Path:
    """custom_nodes/mils_nodes -> this checkout, empty models named like the real ones, input media."""
    (base / "custom_nodes").mkdir(parents=True)
    (base / "custom_nodes" / cs.PACK_NAME).symlink_to(REPO, target_is_directory=True)
    for sub in PLACEHOLDER_MODELS:
        (base / "models" / sub).mkdir(parents=True)
    (base / "models" / "checkpoints").mkdir(parents=True)
    (base / "models" / "checkpoints" / CHECKPOINT).write_bytes(b"")
    inp = base / "input"
    inp.mkdir()
    shutil.copy(REPO / "examples" / "cat.jpg", inp / "example.png")
    shutil.copy(REPO / "examples" / "coffee.jpg", inp / "style.jpg")
    write_wav(inp / "example.wav")
    write_mp4(inp / "example.mp4", REPO / "examples" / "cat.jpg")
    return base


def write_wav(path: Path, seconds: float = 2.0, rate: int = 48000) -> None:
    import math
    import struct
    import wave

    n = int(seconds * rate)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * (440 + 220 * i / n) * i / rate)))
                               for i in range(n)))


def write_mp4(path: Path, image: Path, frames: int = 18, size=(256, 192), fps: int = 6) -> None:
    """A slow zoom into ``image``, H.264 when PyAV has it (Chromium previews it), else MPEG-4."""
    import av
    from PIL import Image

    img = Image.open(image).convert("RGB")
    w, h = img.size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            z = 1.0 + 0.5 * i / max(1, frames - 1)
            cw, ch = int(w / z), int(h / z)
            x0, y0 = (w - cw) // 2, (h - ch) // 2
            frame = av.VideoFrame.from_image(img.crop((x0, y0, x0 + cw, y0 + ch)).resize(size))
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def open_editor(browser, url: str):
    page = browser.new_page(viewport={"width": VIEWPORT[0], "height": VIEWPORT[1]})
    page.goto(url + "/", timeout=90_000)
    page.wait_for_function(READY, timeout=90_000)
    page.wait_for_function("() => LiteGraph.registered_node_types?.MILSLoop", timeout=30_000)
    page.wait_for_timeout(1000)
    return page


def save_thumbnail(png: bytes, path: Path) -> None:
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    img.thumbnail(THUMB_BOX, Image.LANCZOS)
    img.save(path, "JPEG", quality=88, optimize=True)


def schema_inputs_only(api: dict, object_info: dict) -> dict:
    """Drops the inputs graphToPrompt adds for frontend-only widgets (PreviewAny's preview, ...)."""
    for node in api.values():
        schema = object_info[node["class_type"]]["input"]
        known = set(schema.get("required", {})) | set(schema.get("optional", {}))
        node["inputs"] = {k: v for k, v in node["inputs"].items() if k in known}
    return api


def build(srv, names: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    object_info = srv.get("/object_info", timeout=60)
    (HERE / "api").mkdir(exist_ok=True)
    shots = ARTIFACTS / "workflows"
    shots.mkdir(parents=True, exist_ok=True)
    status, _ = srv.post("/settings", {"Comfy.TutorialCompleted": True, "Comfy.Workflow.ShowMissingModelsWarning": False,
                                       "Comfy.Minimap.Visible": False, "LiteGraph.Canvas.MinFontSizeForLOD": 0})
    assert status == 200
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for name in names:
                spec = WORKFLOWS[name]
                page = open_editor(browser, srv.url)   # a fresh page: no previews left from the last graph
                r = page.evaluate(BUILD_JS, spec)
                assert not r["problems"], (name, r["problems"])
                assert r["ids"] == list(range(1, len(spec["nodes"]) + 1)), (name, r["ids"])
                assert not r["overlaps"], (name, r["overlaps"])
                workflow = json.loads(r["workflow"])
                workflow["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"mils_nodes/example_workflows/{name}"))
                workflow.get("extra", {}).pop("ds", None)   # no saved view: the editor fits the graph to the window
                api = schema_inputs_only(json.loads(r["api"]), object_info)
                (HERE / f"{name}.json").write_text(json.dumps(workflow, indent=1) + "\n")
                (HERE / "api" / f"{name}.json").write_text(json.dumps(api, indent=1) + "\n")
                c, m = r["clip"], 16
                clip = {"x": max(0, c["x"] - m), "y": max(0, c["y"] - m), "width": c["width"] + 2 * m,
                        "height": c["height"] + 2 * m}
                save_thumbnail(page.screenshot(clip=clip), HERE / f"{name}.jpg")
                page.screenshot(path=str(shots / f"{name}_editor.png"))
                page.close()
                print(f"{name}: {len(workflow['nodes'])} nodes, {len(workflow['links'])} links", flush=True)
            check_template_browser(browser, srv, names, object_info)
        finally:
            browser.close()


def check_template_browser(browser, srv, names: list[str], object_info: dict) -> None:
    """The template browser lists every workflow under the pack, each with its thumbnail loaded."""
    listed = srv.get("/api/workflow_templates")
    assert sorted(listed.get(cs.PACK_NAME, [])) == sorted(WORKFLOWS), listed
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(srv.url + "/", timeout=90_000)
    page.wait_for_function(READY, timeout=90_000)
    page.get_by_text("Templates", exact=True).first.click()
    page.get_by_text(cs.PACK_NAME, exact=True).first.click()
    for name in names:
        page.wait_for_function("n => document.querySelector(`[data-testid='template-workflow-${n}'] img`)"
                               "?.naturalWidth > 0", arg=name, timeout=30_000)
    page.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "templates_browser.png"))
    # clicking a card loads that workflow into the editor, unchanged
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "404" not in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    for i, name in enumerate(names):
        if i:
            page.get_by_text("Templates", exact=True).first.click()
            page.get_by_text(cs.PACK_NAME, exact=True).first.click()
        page.locator(f"[data-testid='template-workflow-{name}']").click()
        want = json.loads((HERE / "api" / f"{name}.json").read_text())
        page.wait_for_function("n => app.graph.nodes.length === n", arg=len(want), timeout=30_000)
        page.wait_for_timeout(1000)
        got = schema_inputs_only(json.loads(page.evaluate(
            "async () => JSON.stringify((await app.graphToPrompt()).output)")), object_info)
        assert got == want, f"{name}: the template loaded gives another prompt:\n{got}\n{want}"
        if i == 0:
            page.screenshot(path=str(ARTIFACTS / f"template_loaded_{name}.png"))
    assert not errors, errors
    page.close()
    print(f"template browser: {len(names)} templates with thumbnails, each loads unchanged "
          "-> artifacts/templates_browser.png")


def main(argv: list[str]) -> None:
    names = argv or list(WORKFLOWS)
    unknown = set(names) - set(WORKFLOWS)
    if unknown:
        raise SystemExit(f"unknown workflows {sorted(unknown)}; known: {sorted(WORKFLOWS)}")
    if cs.skip_reason():
        raise SystemExit(cs.skip_reason())
    paths = cs.comfy_paths()
    with tempfile.TemporaryDirectory(prefix="mils-examples-") as tmp:
        base = make_base(Path(tmp) / "base")
        srv = cs.start_server(base, paths)
        try:
            failed = cs.import_failures(srv.log_text())
            assert not failed, failed
            build(srv, names)
        finally:
            srv.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
