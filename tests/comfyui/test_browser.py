"""The pack's editor extension (web/mils.js) in a real browser against a real ComfyUI server.

Opt-in: needs COMFY_DIR (a ComfyUI source tree, e.g. v0.8.0, with its venv next to it), Chromium at
/usr/bin/chromium (or MILS_CHROMIUM) and the ``playwright`` package (``pip install playwright``; do not
run ``playwright install``, the system Chromium is used). Run with ``pytest -m comfyui tests/comfyui/test_browser.py``.

test_mils_display_in_the_editor loads no model and queues nothing: it adds the MILS nodes
programmatically, fakes the server's ``mils.progress`` websocket events and the ``executed``
results, and checks that
  * the server lists /extensions/mils_nodes/mils.js and the browser logs no error or deprecation
    warning because of it;
  * MILS Loop shows the live top K and the score chart, then the final leaderboard and curve;
    MILS LLM Generate and MILS Score show their text;
  * the display adds nothing to the API prompt (app.graphToPrompt) nor to widgets_values, so
    comfy-cli's positional UI->API conversion gives the same inputs as the editor;
  * the final results are saved in the workflow and shown again after reloading it.
test_real_loop_run_in_the_editor queues a real MILS Loop from the editor (tiny random CLIP scorer,
a fake OpenAI-compatible LLM server in this process) and checks that the real websocket events
update the node while it runs and the final leaderboard lands on it.
Screenshots go to artifacts/ (git-ignored): mils_live.png, mils_executed.png, mils_reloaded.png,
mils_real_run.png, with the saved workflow (mils_workflow.json) and the browser console logs.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from devkit import api_graphs
from devkit.editor import ARTIFACTS, EXTENSION_URL, bad_console_entries, editor, skip_reason

pytestmark = [pytest.mark.comfyui, pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")]

BOARD = [
    {"score": 0.3121, "text": "a red square on a plain white background"},
    {"score": 0.2987, "text": "a bright red tile, flat colour, centred in the frame"},
    {"score": 0.2710, "text": "red"},
]
CURVE = [0.2105, 0.2533, 0.2710, 0.2987, 0.3121]
FINAL_TEXT = ("best 0.3121 after 4 steps (steps); 5 LLM calls, 15 encodes, 0 renders\n"
              + "\n".join(f"{i}. {r['score']:.4f}  {r['text']}" for i, r in enumerate(BOARD, 1)))
GENERATE_TEXT = "1. a red square\n2. a crimson tile on white"
SCORE_TEXT = "0.3121  a red square\n0.2710  red"

# Widget values set on the Loop node before saving: non-defaults, so a shifted position shows.
LOOP_VALUES = {"task": "image_caption", "budget": "balanced", "keep": 7, "new_per_step": 5, "steps": 3,
               "parallel": 2, "patience": 2, "seed": 1234, "control_after_generate": "fixed", "text": "my prompt",
               "initial": "image"}
GRAM_TEXT = "2 images scored, lower is better; (style, content) weighted:\nimage 1: 12.5 (12.5, 0.01)"

SETUP_JS = """
async ({values, board, curve}) => {
  app.graph.clear();
  app.canvas.ds.scale = 1;
  app.canvas.ds.offset = [0, 0];
  const add = (type, x, y) => { const n = LiteGraph.createNode(type); n.pos = [x, y]; app.graph.add(n); return n; };
  const loop = add("MILSLoop", 90, 110);
  const gen = add("MILSLLMGenerate", loop.pos[0] + loop.size[0] + 50, 110);
  const score = add("MILSScore", gen.pos[0], gen.pos[1] + gen.size[1] + 70);
  const gram = add("MILSGramStyle", score.pos[0] + score.size[0] + 50, 110);
  for (const [name, value] of Object.entries(values)) {
    const w = loop.widgets.find(w => w.name === name);
    if (!w) throw new Error("no widget " + name);
    w.value = value;
  }
  const display = n => n.widgets.find(w => w.name === "mils_display");
  // an event for another node must change nothing (and not throw)
  app.api.dispatchEvent(new CustomEvent("mils.progress", {detail: {node: "9999", step: 1, total: 2,
    leaderboard: board, curve}}));
  const untouched = display(loop).value;
  app.api.dispatchEvent(new CustomEvent("mils.progress", {detail: {node: String(loop.id),
    task: "image_caption", step: 3, total: 4, leaderboard: board.slice(1), curve: curve.slice(0, 4), new: 3,
    warnings: ["the LLM returned 2 of 3 candidates"]}}));
  app.graph.setDirtyCanvas(true, true);
  await new Promise(r => setTimeout(r, 300));
  return {ids: {loop: loop.id, gen: gen.id, score: score.id, gram: gram.id}, untouched, live: display(loop).value,
          widgetNames: loop.widgets.map(w => w.name), lastWidget: loop.widgets.at(-1).name};
}
"""

EXECUTE_JS = """
async ({ids, board, curve, finalText, genText, scoreText, gramText}) => {
  const loop = app.graph.getNodeById(ids.loop);
  loop.onExecuted({text: [finalText], mils_leaderboard: board, mils_curve: curve});
  app.graph.getNodeById(ids.gen).onExecuted({text: [genText]});
  app.graph.getNodeById(ids.score).onExecuted({text: [scoreText]});
  app.graph.getNodeById(ids.gram).onExecuted({text: [gramText]});
  app.graph.setDirtyCanvas(true, true);
  await new Promise(r => setTimeout(r, 300));
  const prompt = await app.graphToPrompt();
  const node = n => app.graph.getNodeById(n);
  return {
    workflow: JSON.stringify(app.graph.serialize()),   // stringified in the page: undefined must not become null
    api: JSON.stringify(prompt.output),
    display: Object.fromEntries(Object.entries(ids).map(([k, id]) =>
      [k, node(id).widgets.find(w => w.name === "mils_display").value])),
    widgetCount: Object.fromEntries(Object.entries(ids).map(([k, id]) => [k, node(id).widgets.length])),
  };
}
"""

RELOAD_JS = """
async ({workflow}) => {
  app.graph.clear();
  await app.loadGraphData(JSON.parse(workflow));
  app.canvas.ds.scale = 1;
  app.canvas.ds.offset = [0, 0];
  app.graph.setDirtyCanvas(true, true);
  await new Promise(r => setTimeout(r, 500));
  const out = {};
  for (const n of app.graph.nodes) {
    const w = n.widgets?.find(w => w.name === "mils_display");
    out[n.comfyClass] = {display: w ? w.value : null, curve: n.properties?.mils_curve ?? null};
  }
  return out;
}
"""


def _comfy_cli_convert(paths, workflow: dict, object_info: dict, tmp: Path) -> dict | None:
    """comfy-cli's UI->API conversion (comfy_cli.workflow_to_api), run with the python that has comfy-cli;
    None when comfy-cli is not installed there."""
    wf, oi = tmp / "workflow.json", tmp / "object_info.json"
    wf.write_text(json.dumps(workflow))
    oi.write_text(json.dumps(object_info))
    code = ("import json, sys\n"
            "try:\n    from comfy_cli.workflow_to_api import convert_ui_to_api\n"
            "except ImportError:\n    print('null'); sys.exit(0)\n"
            "wf, oi = (json.load(open(p)) for p in sys.argv[1:3])\n"
            "print(json.dumps(convert_ui_to_api(wf, oi)))\n")
    out = subprocess.run([paths.python, "-c", code, str(wf), str(oi)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_mils_display_in_the_editor(browser_server, tmp_path):
    srv = browser_server
    assert EXTENSION_URL in srv.get("/extensions")
    ARTIFACTS.mkdir(exist_ok=True)

    logs: list[tuple[str, str, str]] = []
    with editor(srv, logs) as page:
        # live progress
        setup = page.evaluate(SETUP_JS, {"values": LOOP_VALUES, "board": BOARD, "curve": CURVE})
        ids = setup["ids"]
        assert setup["lastWidget"] == "mils_display", setup["widgetNames"]
        assert setup["untouched"] == "", "an event for another node changed this one"
        assert setup["live"].startswith("running: step 3/4")
        assert BOARD[1]["text"] in setup["live"] and "warning: the LLM returned" in setup["live"]
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "mils_live.png"))

        # final results
        done = page.evaluate(EXECUTE_JS, {"ids": ids, "board": BOARD, "curve": CURVE, "finalText": FINAL_TEXT,
                                          "genText": GENERATE_TEXT, "scoreText": SCORE_TEXT, "gramText": GRAM_TEXT})
        assert done["display"] == {"loop": FINAL_TEXT, "gen": GENERATE_TEXT, "score": SCORE_TEXT, "gram": GRAM_TEXT}
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "mils_executed.png"))

        workflow = json.loads(done["workflow"])
        (ARTIFACTS / "mils_workflow.json").write_text(done["workflow"])
        api = json.loads(done["api"])
        nodes = {str(n["id"]): n for n in workflow["nodes"]}   # numbers or strings, by frontend version
        ids = {k: str(v) for k, v in ids.items()}
        loop = nodes[ids["loop"]]
        assert loop["properties"]["mils_leaderboard"] == BOARD
        assert loop["properties"]["mils_curve"] == CURVE
        assert loop["properties"]["mils_text"] == FINAL_TEXT
        assert nodes[ids["gen"]]["properties"]["mils_text"] == GENERATE_TEXT
        assert nodes[ids["score"]]["properties"]["mils_text"] == SCORE_TEXT
        assert nodes[ids["gram"]]["properties"]["mils_text"] == GRAM_TEXT
        for key, node_id in ids.items():
            # one entry per real widget, none for the display (its slot would shift positional values)
            values = nodes[node_id]["widgets_values"]
            assert len(values) == done["widgetCount"][key] - 1, (key, values)
            assert None not in values, (key, values)
            assert "mils_display" not in api[str(node_id)]["inputs"], api[str(node_id)]
        loop_api = api[str(ids["loop"])]["inputs"]
        for name, value in LOOP_VALUES.items():
            if name != "control_after_generate":
                assert loop_api[name] == value, (name, loop_api)

        # comfy-cli's conversion of the saved UI workflow agrees with the editor's API prompt
        converted = _comfy_cli_convert(srv.paths, workflow, srv.get("/object_info"), tmp_path)
        if converted is not None:
            for node_id in ids.values():
                cli_inputs = converted[str(node_id)]["inputs"]
                ui_inputs = api[str(node_id)]["inputs"]
                assert "mils_display" not in cli_inputs
                assert {k: cli_inputs.get(k) for k in ui_inputs} == ui_inputs, (node_id, cli_inputs, ui_inputs)

        # save -> reload: the final results come back from node.properties
        reloaded = page.evaluate(RELOAD_JS, {"workflow": done["workflow"]})
        assert reloaded["MILSLoop"]["display"] == FINAL_TEXT, reloaded
        assert reloaded["MILSLoop"]["curve"] == CURVE
        assert reloaded["MILSLLMGenerate"]["display"] == GENERATE_TEXT
        assert reloaded["MILSScore"]["display"] == SCORE_TEXT
        assert reloaded["MILSGramStyle"]["display"] == GRAM_TEXT
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "mils_reloaded.png"))

    (ARTIFACTS / "mils_browser_console.json").write_text(json.dumps(logs, indent=1))
    assert not bad_console_entries(logs), bad_console_entries(logs)



REAL_RUN_JS = """
async (graph) => {
  window.__milsSeen = [];
  window.__milsError = null;
  app.api.addEventListener("execution_error", e => { window.__milsError = e.detail; });
  app.api.addEventListener("mils.progress", e => {
    const node = app.graph.getNodeById(e.detail.node);
    // after the extension's own listener has run
    setTimeout(() => window.__milsSeen.push(node?.widgets?.find(w => w.name === "mils_display")?.value ?? null), 0);
  });
  await app.loadApiJson(graph, "mils_caption.json");
  await app.queuePrompt(0, 1);   // from the editor, so its client gets the "executed" message
}
"""


def test_real_loop_run_in_the_editor(browser_server, fake_llm_url):
    srv = browser_server
    graph = {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1,
                                                          "color": 0xCC2222}}}
    graph.update(api_graphs.loaders())
    graph["2"] = {"class_type": "MILSOpenAILLM", "inputs": {"base_url": fake_llm_url, "model": "fake", "api_key_env": "",
                                                            "timeout": 30.0, "max_retries": 0,
                                                            "server_honours_seed": False}}
    graph["4"] = {"class_type": "MILSLoop", "inputs": api_graphs.loop_inputs(
        image=["1", 0], keep=4, new_per_step=4, steps=4, seed=3, initial="a green field\na blue circle\na yellow house\na tall tree")}
    graph["6"] = {"class_type": "PreviewAny", "inputs": {"source": ["4", 0]}}
    ARTIFACTS.mkdir(exist_ok=True)

    logs: list[tuple[str, str, str]] = []
    with editor(srv, logs) as page:
        page.evaluate(REAL_RUN_JS, graph)
        page.wait_for_function("() => window.__milsError || (app.graph.getNodeById(4)?.properties?.mils_text ?? '')"
                               ".startsWith('best')", timeout=120_000)
        error = page.evaluate("() => window.__milsError")
        assert error is None, f"the run failed: {json.dumps(error)[:3000]}"
        result = page.evaluate("""() => {
          const n = app.graph.getNodeById(4);
          app.canvas.ds.scale = 1;
          app.canvas.ds.offset = [-n.pos[0] + 90, -n.pos[1] + 130];
          app.graph.setDirtyCanvas(true, true);
          return {seen: window.__milsSeen, props: n.properties,
                  display: n.widgets.find(w => w.name === "mils_display").value};
        }""")
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "mils_real_run.png"))
    (ARTIFACTS / "mils_real_run_console.json").write_text(json.dumps(logs, indent=1))

    live = [v for v in result["seen"] if v and v.startswith("running: step")]
    assert live, result["seen"]          # the real mils.progress events reached the node while it ran
    props = result["props"]
    assert result["display"] == props["mils_text"] and props["mils_text"].startswith("best ")
    assert len(props["mils_leaderboard"]) == 4
    assert props["mils_leaderboard"][0]["text"] in props["mils_text"]
    assert len(props["mils_curve"]) == 5  # step 0 (the initial pool) and 4 LLM steps
    assert not bad_console_entries(logs), bad_console_entries(logs)
