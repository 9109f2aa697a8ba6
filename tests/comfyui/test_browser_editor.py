"""The pack in the editor as a person uses it: node search, the example workflows, the help page.

Opt-in, like test_browser.py (same requirements and skip rules; ``pytest -m comfyui
tests/comfyui/test_browser_editor.py``). Nothing is queued and no model is loaded.

  * test_search_adds_each_node: for every display name in nodes.NODE_DISPLAY_NAME_MAPPINGS,
    double-click empty canvas, type the name, press Enter; a node of that type is added.
  * test_every_workflow_opens_from_the_template_browser: Templates -> mils_nodes lists every
    workflows/*.json with its thumbnail; clicking each card loads it: every node type registered (no
    missing-node placeholder, no error badge, no dialog) and the node count matches.
  * test_node_help_page: select a MILS Loop on the canvas, click the selection toolbox's info
    button; the side panel fetches /extensions/mils_nodes/docs/MILSLoop.md and shows its text.

Screenshots go to artifacts/: mils_search_<NodeId>.png, mils_example_<name>.png, mils_templates.png,
mils_help.png.
"""
from __future__ import annotations

import ast
import json
import re

import pytest

from devkit import comfy_server
from devkit.editor import ARTIFACTS, bad_console_entries, editor, skip_reason
from devkit.workflow_specs import WORKFLOWS

pytestmark = [pytest.mark.comfyui, pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")]

REPO = comfy_server.REPO
EXAMPLES = sorted((REPO / "workflows").glob("*.json"))


def _display_names() -> dict[str, str]:
    """NODE_DISPLAY_NAME_MAPPINGS, read from nodes/__init__.py without importing it (it needs ComfyUI)."""
    tree = ast.parse((REPO / "nodes" / "__init__.py").read_text())
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(getattr(t, "id", None) == "NODES" for t in stmt.targets):
            return {elt.elts[0].value: elt.elts[2].value for elt in stmt.value.elts}
    raise AssertionError("no NODES list in nodes/__init__.py")


DISPLAY_NAMES = _display_names()

CLEAR_JS = """() => {
  app.graph.clear();
  app.canvas.ds.scale = 1;
  app.canvas.ds.offset = [0, 0];
  app.canvas.deselectAll?.();
  app.graph.setDirtyCanvas(true, true);
}"""

NODE_TYPES_JS = "() => app.graph._nodes.map(n => n.type)"


def _canvas_box(page):
    box = page.locator("#graph-canvas").bounding_box()
    assert box, "no canvas"
    return box


def test_search_adds_each_node(browser_server):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    ARTIFACTS.mkdir(exist_ok=True)
    logs: list = []
    with editor(browser_server, logs) as page:
        box = _canvas_box(page)
        x, y = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.45
        for node_id, name in DISPLAY_NAMES.items():
            page.evaluate(CLEAR_JS)
            page.wait_for_timeout(200)
            for attempt in range(3):           # a double-click right after the graph changed is sometimes missed
                page.wait_for_timeout(300)
                page.mouse.dblclick(x, y)
                try:
                    page.wait_for_function("() => document.activeElement?.tagName === 'INPUT'", timeout=3_000)
                    break
                except PlaywrightTimeout:
                    if attempt == 2:
                        page.screenshot(path=str(ARTIFACTS / f"mils_search_{node_id}_failed.png"))
                        raise
            page.keyboard.type(name, delay=20)
            page.wait_for_timeout(700)          # the results list follows the typed text
            page.screenshot(path=str(ARTIFACTS / f"mils_search_{node_id}.png"))
            page.keyboard.press("Enter")
            page.wait_for_function(f"() => app.graph._nodes.some(n => n.type === {json.dumps(node_id)})",
                                   timeout=10_000)
            types = page.evaluate(NODE_TYPES_JS)
            assert types == [node_id], (name, types)
    assert not bad_console_entries(logs), bad_console_entries(logs)


STATE_JS = """() => {
  window.graphState = () => ({
    nodes: app.graph._nodes.map(n => ({type: n.type, registered: !!LiteGraph.registered_node_types[n.type],
                                        errors: !!n.has_errors})),
    dialogs: [...document.querySelectorAll('.p-dialog')].map(d => d.innerText.slice(0, 300)),
  });
}"""


def _check_loaded(state, workflow, label):
    want = sorted(n["type"] for n in workflow["nodes"])
    assert sorted(n["type"] for n in state["nodes"]) == want, (label, state["nodes"])
    bad = [n for n in state["nodes"] if not n["registered"] or n["errors"]]
    assert not bad, (label, bad)
    missing = [d for d in state["dialogs"] if re.search(r"missing", d, re.I)]
    assert not missing, (label, missing)


DIALOG = "[role=dialog], .p-dialog"   # the template browser: a PrimeVue dialog (1.35) or a role=dialog (1.58)
NO_DIALOG_JS = f"() => !document.querySelector({DIALOG!r})"


def _open_pack_templates(page):
    page.evaluate("() => app.extensionManager.command.execute('Comfy.BrowseTemplates')")
    dialog = page.locator(DIALOG).last
    dialog.wait_for(state="visible", timeout=15_000)
    page.wait_for_timeout(800)
    dialog.get_by_text(comfy_server.PACK_NAME, exact=False).first.click()
    page.wait_for_timeout(800)
    return dialog


def test_every_workflow_opens_from_the_template_browser(browser_server):
    """Templates -> mils_nodes lists every workflows/*.json with its thumbnail; each card loads its workflow."""
    assert len(EXAMPLES) == len(WORKFLOWS), EXAMPLES
    ARTIFACTS.mkdir(exist_ok=True)
    logs: list = []
    with editor(browser_server, logs) as page:
        page.evaluate(STATE_JS)
        dialog = _open_pack_templates(page)
        for path in EXAMPLES:
            # cards below the fold load their thumbnails only when scrolled into view (lazy images)
            dialog.locator(f"[data-testid='template-workflow-{path.stem}']").scroll_into_view_if_needed(timeout=30_000)
            page.wait_for_function("n => document.querySelector(`[data-testid='template-workflow-${n}'] img`)"
                                   "?.naturalWidth > 0", arg=path.stem, timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "mils_templates.png"))
        for i, path in enumerate(EXAMPLES):
            if i:
                page.evaluate(CLEAR_JS)
                dialog = _open_pack_templates(page)
            workflow = json.loads(path.read_text())
            dialog.locator(f"[data-testid='template-workflow-{path.stem}']").click()
            page.wait_for_function(f"() => app.graph._nodes.length === {len(workflow['nodes'])}", timeout=20_000)
            page.wait_for_function(NO_DIALOG_JS, timeout=20_000)
            page.wait_for_timeout(600)
            _check_loaded(page.evaluate("() => graphState()"), workflow, "template " + path.stem)
            page.screenshot(path=str(ARTIFACTS / f"mils_example_{path.stem}.png"))
    assert not bad_console_entries(logs), bad_console_entries(logs)


def test_node_help_page(browser_server):
    doc = (REPO / "web" / "docs" / "MILSLoop.md").read_text()
    heading = next(line for line in doc.splitlines() if line.startswith("# "))[2:].strip()
    first_sentence = next(line for line in doc.splitlines() if line and not line.startswith("#")).split(",")[0]
    ARTIFACTS.mkdir(exist_ok=True)
    logs: list = []
    with editor(browser_server, logs) as page:
        doc_requests: list[str] = []
        page.on("requestfinished", lambda r: doc_requests.append(r.url) if "/docs/" in r.url else None)
        page.evaluate(CLEAR_JS)
        title = page.evaluate("""() => {
          const n = LiteGraph.createNode("MILSLoop"); n.pos = [300, 250]; app.graph.add(n);
          app.graph.setDirtyCanvas(true, true);
          // the title bar's middle, in page coordinates
          const r = app.canvas.canvas.getBoundingClientRect();
          const [cx, cy] = app.canvas.ds.convertOffsetToCanvas([n.pos[0] + n.size[0] / 2, n.pos[1] - LiteGraph.NODE_TITLE_HEIGHT / 2]);
          return [r.left + cx / (window.devicePixelRatio || 1), r.top + cy / (window.devicePixelRatio || 1)];
        }""")
        page.wait_for_timeout(300)
        page.mouse.click(*title)             # select it like a person
        page.wait_for_function("() => app.canvas.selected_nodes && Object.keys(app.canvas.selected_nodes).length === 1",
                               timeout=5_000)
        info = page.locator('[data-testid="info-button"]')
        info.wait_for(state="visible", timeout=10_000)
        info.click()
        page.get_by_text(first_sentence).first.wait_for(state="visible", timeout=15_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "mils_help.png"))
        panel_text = page.evaluate("""(s) => {
          const el = [...document.querySelectorAll('*')].filter(e => e.innerText?.includes(s)).at(-1);
          let p = el; for (let i = 0; i < 4 && p.parentElement; i++) p = p.parentElement;
          return p.innerText;
        }""", first_sentence)
        assert heading in panel_text or "MILS Loop" in panel_text, panel_text[:1000]
        assert any(u.endswith(f"/extensions/{comfy_server.PACK_NAME}/docs/MILSLoop.md") for u in doc_requests), doc_requests
    # the frontend first asks for a per-locale page (docs/MILSLoop/en.md) and falls back to docs/MILSLoop.md
    # on its 404; that probe is expected, anything else is not
    locale_probe = re.compile(rf"/extensions/{comfy_server.PACK_NAME}/docs/MILSLoop/[\w-]+\.md$")
    bad = [e for e in bad_console_entries(logs) if not (e[0] == "error" and "404" in e[1] and locale_probe.search(e[2]))]
    assert not bad, bad
