"""Rebuild the example workflows in the real ComfyUI editor: UI format, API twin and thumbnail each.

    COMFY_DIR=/path/to/ComfyUI .venv/bin/python -m devkit.build_workflows [NAME ...]   # from the repo root

Needs what the opt-in editor tests need (tests/comfyui/test_browser.py): a ComfyUI source tree with its
venv next to it (COMFY_DIR), Chromium at /usr/bin/chromium (or MILS_CHROMIUM) and, in the python running
this script, playwright, Pillow and PyAV. It starts ComfyUI (main.py --cpu, 127.0.0.1, a temporary
--base-directory with this checkout linked as custom_nodes/mils_nodes, empty placeholders named like
the real models, assets/cat.jpg as input/example.png and assets/coffee.jpg as input/style.jpg),
then for each workflow in devkit/workflow_specs.py, in headless Chromium, into workflows/:

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

Why workflows/: ComfyUI (app/custom_node_manager.py) lists every ``*.json`` directly inside a pack's
``example_workflows``, ``example``, ``examples``, ``workflow`` or ``workflows`` folder as a template
(newer versions glob ``*example*`` and ``*workflow*``), but serves the files (and their ``.jpg``
thumbnails) from the first such folder that exists. So no other top-level folder of this pack has
either word in its name (the CLI's sample media are in ``assets/``), and the API twins live in
``workflows/api/``, one level down, where they are not listed as templates.
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

REPO = Path(__file__).resolve().parent.parent
HERE = REPO / "workflows"
ARTIFACTS = REPO / "artifacts"

CHROMIUM = os.environ.get("MILS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = (2560, 1600)
THUMB_BOX = (1280, 1000)   # thumbnails are scaled down to fit this box

from devkit.workflow_specs import PLACEHOLDER_FILES, PLACEHOLDER_MODELS, WORKFLOWS

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
    write_placeholders(base / "models")
    write_inputs(base / "input")
    return base


def write_placeholders(models: Path) -> None:
    """Empty files and folders named like the models the example workflows name (nothing is loaded)."""
    for sub in PLACEHOLDER_MODELS:
        (models / sub).mkdir(parents=True, exist_ok=True)
    for folder, files in PLACEHOLDER_FILES.items():
        (models / folder).mkdir(parents=True, exist_ok=True)
        for name in files:
            (models / folder / name).write_bytes(b"")


def write_inputs(inp: Path) -> None:
    """The media files the example workflows load from ComfyUI's input/ folder."""
    inp.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "assets" / "cat.jpg", inp / "example.png")
    shutil.copy(REPO / "assets" / "coffee.jpg", inp / "style.jpg")
    write_wav(inp / "example.wav")
    write_mp4(inp / "example.mp4", REPO / "assets" / "cat.jpg")


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
                workflow["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"mils_nodes/workflows/{name}"))
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
    with tempfile.TemporaryDirectory(prefix="mils-workflows-") as tmp:
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
