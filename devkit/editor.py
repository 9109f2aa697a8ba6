"""The pack's editor in a real browser, for the opt-in browser suites (tests/comfyui/test_*browser*.py).

Debian's Chromium driven by the ``playwright`` package (never ``playwright install``), against a real
ComfyUI server from devkit.comfy_server; a fake OpenAI-compatible LLM served from the test process.
The pytest fixtures that use these (``browser_server``, ``fake_llm_url``) are in tests/comfyui/conftest.py.
"""
from __future__ import annotations

import contextlib
import importlib.util
import itertools
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

from devkit import comfy_server

CHROMIUM = os.environ.get("MILS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = comfy_server.REPO / "artifacts"
EXTENSION_URL = f"/extensions/{comfy_server.PACK_NAME}/mils.js"


def skip_reason() -> str | None:
    reason = comfy_server.skip_reason()
    if reason:
        return reason
    if not Path(CHROMIUM).is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set MILS_CHROMIUM)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install playwright; the system Chromium is used)"
    return None


READY = "() => window.app && app.graph && window.LiteGraph && document.querySelector('canvas')"

@contextlib.contextmanager
def editor(srv, logs: list):
    """The editor in headless Chromium, ready; console messages and page errors go to ``logs``."""
    from playwright.sync_api import sync_playwright

    status, _ = srv.post("/settings", {"Comfy.TutorialCompleted": True,
                                       "Comfy.Workflow.ShowMissingModelsWarning": False})
    assert status == 200
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1150})
            page.on("console", lambda m: logs.append((m.type, m.text, (m.location or {}).get("url", ""))))
            page.on("pageerror", lambda e: logs.append(("pageerror", str(e), "")))
            page.goto(srv.url + "/", timeout=90_000)
            page.wait_for_function(READY, timeout=90_000)
            page.wait_for_function("() => LiteGraph.registered_node_types?.MILSLoop", timeout=30_000)
            page.wait_for_timeout(1000)
            yield page
        finally:
            browser.close()


PACK_URL = f"/extensions/{comfy_server.PACK_NAME}/"


def bad_console_entries(logs: list) -> list:
    """Errors, warnings and deprecation notices that come from this pack: logged by its files, or naming it.

    The frontend's own notices (e.g. 1.58.1 warns about its internal APIs on every start) are not ours.
    """
    def ours(text: str, url: str) -> bool:
        return PACK_URL in url or PACK_URL in text or "mils" in text.lower()

    return [entry for entry in logs
            if entry[0] in ("pageerror", "error", "warning") and ours(entry[1], entry[2])
            or ("[ComfyUI Deprecated]" in entry[1] or "[ComfyUI Notice]" in entry[1]) and ours(entry[1], entry[2])]


WORDS = ["red", "square", "crimson", "tile", "bright", "flat", "plain", "colour", "block", "scarlet", "simple", "shape"]


class FakeLLM(BaseHTTPRequestHandler):
    """An OpenAI-compatible /v1/chat/completions that answers numbered captions, different each call."""
    protocol_version = "HTTP/1.1"
    calls = itertools.count()

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        choices = []
        for i in range(body.get("n", 1)):
            k = next(self.calls)
            lines = [f"{j + 1}. a {WORDS[(3 * k + j) % 12]} {WORDS[(5 * k + j + 1) % 12]} {WORDS[(k + 2 * j) % 12]} picture"
                     for j in range(8)]
            choices.append({"index": i, "message": {"role": "assistant", "content": "\n".join(lines)},
                            "finish_reason": "stop"})
        data = json.dumps({"id": "x", "object": "chat.completion", "model": body.get("model"),
                           "choices": choices}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)



@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served on 127.0.0.1 in a thread; yields its /v1 base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
