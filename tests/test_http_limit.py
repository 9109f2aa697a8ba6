"""The adaptive window of HTTP requests in flight: the AIMD rule on its own (a fake clock), then the
OpenAI-compatible backend against local servers that answer one request at a time or many together."""
from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from devkit.toys import ToyLLM
from mils.cli import main
from mils.cli.caption import RESULT_SUFFIX
from mils.generators import GenerationParams
from mils.generators.http_limit import FAILED, OK, OVERLOADED, TIMEOUT, AdaptiveLimit
from mils.generators.openai_http import OpenAICompatibleGenerator


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _round(limit: AdaptiveLimit, clock: Clock, latencies, outcome=OK):
    """Fill the window, then the replies come back after the given latencies (in that order); a
    window of one sends two requests, one after the other (it decides after two replies)."""
    for _ in range(2 if limit.window == 1 else 1):
        slots = [limit.acquire() for _ in range(limit.window)]
        start = clock.now
        for slot, latency in zip(slots, latencies):
            clock.now = start + latency
            limit.release(slot, outcome)


# ------------------------------------------------------------------------------ the rule


def test_the_window_doubles_while_replies_keep_their_latency_and_stops_at_the_ceiling():
    clock = Clock()
    limit = AdaptiveLimit(12, clock=clock)
    seen = []
    for _ in range(6):
        seen.append(limit.window)
        _round(limit, clock, [1.0] * limit.window)
    assert seen == [1, 2, 4, 8, 12, 12]
    assert limit.peak == 12


def test_replies_that_queue_halve_the_window_then_it_grows_by_one(caplog):
    clock = Clock()
    limit = AdaptiveLimit(16, clock=clock)
    for _ in range(4):  # 1, 2, 4, 8 -> 16
        _round(limit, clock, [1.0] * limit.window)
    assert limit.window == 16
    with caplog.at_level(logging.INFO, logger="mils.generators.http_limit"):
        _round(limit, clock, [1.0 * (i + 1) for i in range(16)])  # served one after another
    assert limit.window == 8
    assert any("queue" in r.getMessage() and "16 -> 8" in r.getMessage() for r in caplog.records)
    _round(limit, clock, [1.1] * 8)
    assert limit.window == 9  # after a cut: additive increase, no more doubling


def test_a_one_slot_server_keeps_about_one_request_in_flight():
    clock = Clock()
    limit = AdaptiveLimit(16, clock=clock)
    windows = []
    for _ in range(20):
        windows.append(limit.window)
        _round(limit, clock, [1.0 * (i + 1) for i in range(limit.window)])  # the server queues all but one
    assert max(windows) == 2 and windows.count(1) >= 9


def test_a_timeout_with_others_in_flight_halves_the_window_once():
    clock = Clock()
    limit = AdaptiveLimit(8, clock=clock)
    for _ in range(3):
        _round(limit, clock, [1.0] * limit.window)
    assert limit.window == 8
    _round(limit, clock, [5.0] * 8, outcome=TIMEOUT)  # all 8 time out: one cut, not three
    assert limit.window == 4


def test_a_timeout_alone_overloaded_and_failed_replies():
    clock = Clock()
    limit = AdaptiveLimit(8, clock=clock)
    _round(limit, clock, [1.0])
    assert limit.window == 2
    alone = limit.acquire()
    clock.now += 5
    limit.release(alone, TIMEOUT)  # the server is just slow: nothing of ours queued it
    assert limit.window == 2
    first, second = limit.acquire(), limit.acquire()
    limit.release(first, FAILED)  # refused or broken: says nothing about queueing
    assert limit.window == 2
    limit.release(second, OVERLOADED)  # HTTP 429 / 503
    assert limit.window == 1


def test_a_request_after_a_timeout_is_not_alone_while_the_server_may_still_work_on_it():
    clock = Clock()
    limit = AdaptiveLimit(8, clock=clock)
    first, other = object(), object()
    slot = limit.acquire(first)
    clock.now = 5.0
    limit.release(slot, TIMEOUT)  # given up after 5 s: the server may hold it until about t=10
    clock.now = 6.0
    retry = limit.acquire(first)
    assert not retry.shared  # its own abandoned attempt: a slow server, not our queue
    limit.release(retry, OK)
    second = limit.acquire(other)
    assert second.shared
    limit.release(second, OK)
    clock.now = 11.0
    assert not limit.acquire(other).shared


def test_the_ceiling_one_sends_one_at_a_time():
    clock = Clock()
    limit = AdaptiveLimit(1, clock=clock)
    for _ in range(3):
        _round(limit, clock, [1.0])
    assert limit.window == 1 and limit.peak == 1


def test_acquire_waits_for_a_free_place():
    limit = AdaptiveLimit(4)
    held = limit.acquire()
    got = threading.Event()

    def second():
        limit.release(limit.acquire(), OK)
        got.set()

    thread = threading.Thread(target=second, daemon=True)
    thread.start()
    assert not got.wait(0.2)  # window 1: the second request waits
    limit.release(held, OK)
    assert got.wait(5)
    thread.join(5)


# ----------------------------------------------------------------------- against servers


class _Server(ThreadingHTTPServer):
    """Answers like the toy LLM after ``latency`` seconds; ``one_slot`` serves one request at a time
    and queues the rest, as Ollama with one slot or ``transformers serve`` do."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, latency: float, one_slot: bool):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.latency, self.one_slot = latency, one_slot
        self.slot = threading.Lock()
        self.count = threading.Lock()
        self.requests = 0
        self.open = 0  # requests received and not yet answered
        self.most_open = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def handle_error(self, request, client_address):  # a client that timed out hung up
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        with srv.count:
            srv.requests += 1
            srv.open += 1
            srv.most_open = max(srv.most_open, srv.open)
        try:
            if srv.one_slot:
                with srv.slot:
                    time.sleep(srv.latency)
            else:
                time.sleep(srv.latency)
        finally:
            with srv.count:
                srv.open -= 1
        params = GenerationParams(seed=body["seed"], num_replies=1)
        text = ToyLLM().generate(body["messages"][-1]["content"], params)[0]
        data = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def serve():
    made = []

    def start(latency: float, one_slot: bool) -> _Server:
        srv = _Server(latency, one_slot)
        thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        made.append((srv, thread))
        return srv

    yield start
    for srv, thread in made:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


PROMPTS = ["Write 2 new captions.\n0.5: a red cup", "Write 2 new captions.\n0.4: a blue car"]
LATENCY = 0.15
TIMEOUT_S = 5 * LATENCY  # far below 16 x latency: 16 requests queued at once would time out


def test_a_lockstep_batch_against_a_one_slot_server_finishes_every_input(serve, tmp_path):
    srv = serve(LATENCY, one_slot=True)
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, rgb in {"red.png": (230, 20, 20), "blue.png": (10, 10, 90), "green.png": (20, 200, 30),
                      "grey.png": (120, 120, 120)}.items():
        Image.fromarray(np.full((16, 16, 3), rgb, np.uint8)).save(photos / name)
    out = tmp_path / "out"
    args = ["caption", str(photos), "--llm-url", srv.base_url, "--llm-model", "toy", "--llm-timeout", str(TIMEOUT_S), "--scorer",
            "py:devkit.toys:toy_encoder", "--quiet", "--keep", "4", "--new", "8", "--steps", "2", "--patience", "0",
            "--pool", "image", "--parallel", "4", "--batch", "4", "--out", str(out)]
    assert main(args) == 0
    results = [json.loads(p.read_text()) for p in sorted(out.glob(f"*{RESULT_SUFFIX}"))]
    assert len(results) == 4
    assert all(r["stopped"] != "error" and r["best_text"] for r in results), [r.get("error") for r in results]
    assert srv.requests >= 2 * 4 * 4  # 2 rounds of 4 searches x P=4
    assert srv.most_open <= 4  # never the 16 of a round at once


def test_timeouts_behind_our_own_requests_do_not_use_up_the_retries(serve, caplog):
    srv = serve(LATENCY, one_slot=False)
    with OpenAICompatibleGenerator(srv.base_url, "toy", timeout=TIMEOUT_S, max_retries=0, max_in_flight=8) as gen:
        gen.generate_batch(PROMPTS, [GenerationParams(seed=0, num_replies=8)] * 2)  # the window grows
        assert gen.limit.window > 4
        srv.one_slot = True  # the server now answers one at a time: 8 in flight cannot all reply in time
        with caplog.at_level(logging.INFO, logger="mils.generators.openai_transport"):
            out = gen.generate_batch(PROMPTS, [GenerationParams(seed=1, num_replies=8)] * 2)
    assert all(isinstance(o, list) and len(o) == 8 for o in out), out  # max_retries=0, yet nothing failed
    assert any("while others were in flight" in r.getMessage() for r in caplog.records)
    assert gen.limit.window <= 4  # cut at least once


def test_the_window_grows_against_a_batching_server(serve):
    srv = serve(0.2, one_slot=False)
    with OpenAICompatibleGenerator(srv.base_url, "toy", timeout=10, max_in_flight=8) as gen:
        for _ in range(2):
            out = gen.generate_batch(PROMPTS, [GenerationParams(seed=0, num_replies=8)] * 2)
            assert all(isinstance(o, list) and len(o) == 8 for o in out), out
        assert srv.most_open >= 4
        assert gen.limit.peak >= 4 and gen.limit.window <= 8


def test_a_user_set_maximum_stays_a_ceiling(serve):
    srv = serve(0.2, one_slot=False)
    with OpenAICompatibleGenerator(srv.base_url, "toy", timeout=10, max_in_flight=3) as gen:
        for _ in range(2):
            gen.generate_batch(PROMPTS, [GenerationParams(seed=0, num_replies=6)] * 2)
        assert srv.most_open == 3 and gen.limit.peak == 3
