"""The VLM judge through an OpenAI-compatible server (a local fake that answers with logprobs, or without)."""
from __future__ import annotations

import base64
import io
import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import torch
from PIL import Image

from mils import registry
from mils.errors import GeneratorError, InputError
from mils.scorers.vlm_judge import VLMJudge
from mils.scorers.vlm_server import ServerVLM

MODEL = "qwen3-vl-test"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "ok"
        self.models = [MODEL]
        self.bodies: list[dict] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


def _brightness(body: dict) -> float:
    url = body["messages"][0]["content"][0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")
    return float(np.asarray(img, dtype=np.float64).mean() / 255.0)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, payload):
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send({"object": "list", "data": [{"id": m} for m in self.server.models]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        with self.server.lock:
            self.server.bodies.append(body)
        msg = {"role": "assistant", "content": "Yes"}
        if self.server.mode == "no_logprobs":   # e.g. a server that ignores the field
            return self._send({"choices": [{"index": 0, "message": msg, "finish_reason": "length"}]})
        p = min(max(_brightness(body), 1e-4), 1 - 1e-4)     # P(yes) = the image's brightness
        top = [{"token": "Yes", "logprob": math.log(0.8 * p)}, {"token": " yes", "logprob": math.log(0.2 * p)},
               {"token": "No", "logprob": math.log(1 - p)}, {"token": "The", "logprob": -9.0}]
        if self.server.mode == "no_answer":
            top = [{"token": "The", "logprob": -0.1}, {"token": "A", "logprob": -2.5}]
        content = [{"token": top[0]["token"], "logprob": top[0]["logprob"], "top_logprobs": top}]
        self._send({"choices": [{"index": 0, "message": msg, "logprobs": {"content": content}}]})


@pytest.fixture
def server():
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _grey(*levels) -> torch.Tensor:
    return torch.stack([torch.full((12, 16, 3), v) for v in levels])


def test_p_yes_from_the_servers_top_logprobs(server):
    judge = registry.load_scorer_model(f"vlm:{server.url}#{MODEL}")
    assert isinstance(judge, VLMJudge) and judge.model is None and server.url in judge.key
    got = judge.yes_probs(_grey(0.2, 0.7, 0.5), ["a red cube", "a blue ball", "a lamp"])
    assert got == pytest.approx([0.2, 0.7, 0.5], abs=3e-3)
    bodies = sorted(server.bodies, key=lambda b: b["messages"][0]["content"][1]["text"])
    assert [b["messages"][0]["content"][1]["text"] for b in bodies] == [
        f'Does this image show "{t}"? Answer yes or no.' for t in ("a blue ball", "a lamp", "a red cube")]
    for b in bodies:
        assert b["model"] == MODEL and b["max_tokens"] == 1 and b["logprobs"] is True and b["top_logprobs"] == 20
        img = Image.open(io.BytesIO(base64.b64decode(b["messages"][0]["content"][0]["image_url"]["url"][22:])))
        assert img.size == (16, 12)


def test_the_model_name_defaults_to_the_only_one_served(server):
    assert ServerVLM(server.url).served == MODEL
    server.models = ["a", "b"]
    with pytest.raises(InputError, match="a, b"):
        ServerVLM(server.url)


def test_a_server_without_logprobs_is_a_clear_error(server):
    server.mode = "no_logprobs"
    judge = registry.load_scorer_model(f"vlm:{server.url}#{MODEL}")
    with pytest.raises(GeneratorError) as e:
        judge.yes_probs(_grey(0.5), ["a cat"])
    msg = str(e.value)
    assert server.url in msg and "no logprobs" in msg and "top_logprobs" in msg and "vLLM" in msg


def test_an_answer_that_is_neither_yes_nor_no_is_a_clear_error(server):
    server.mode = "no_answer"
    with pytest.raises(GeneratorError, match="neither yes nor no"):
        ServerVLM(server.url, MODEL).yes_probs(_grey(0.5), ["Does this show a cat?"])


def test_bad_server_arguments_are_named():
    with pytest.raises(InputError, match="base_url"):
        ServerVLM("127.0.0.1:8000", MODEL)
    with pytest.raises(InputError, match="top_logprobs"):
        ServerVLM("http://127.0.0.1:9/v1", MODEL, top_logprobs=0)
