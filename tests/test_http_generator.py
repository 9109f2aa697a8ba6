"""OpenAICompatibleGenerator against a real local HTTP server that misbehaves on purpose."""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devkit.toys import OverlapScorer, ToyLLM
from mils.errors import GeneratorError, InputError
from mils.generators import GenerationParams
from mils.generators.openai_http import OpenAICompatibleGenerator
from mils.generators.openai_transport import parse_retry_after
from mils.search import SearchConfig, run_search
from mils.tasks import TASKS

MODEL = "test-model"


class _FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "ok"
        self.fail_first = 0  # for "429_then_ok": how many 429s before answering
        self.retry_after: str | None = None
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.release = threading.Event()  # lets "slow" handlers finish at teardown
        self.delay = 0.0  # for "delay": seconds each answer takes
        self.in_flight = 0
        self.max_in_flight_seen = 0
        self.fail_seeds: set[int] = set()  # for "delay": these seeds answer 500
        self.opened = 0  # connections accepted
        self.closed = 0  # connections that ended

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def handle_error(self, request, client_address):  # client hung up (timeouts): stay quiet
        pass

    def count(self, path_suffix: str = "/chat/completions") -> int:
        return sum(1 for r in self.requests if r["path"].endswith(path_suffix))


def _reply(body: dict, n: int) -> dict:
    prompt = body["messages"][-1]["content"]
    words = prompt.split()[:3]
    choices = []
    for i in range(n):
        text = "\n".join(f"{k + 1}. {w} seed{body.get('seed')} choice{i}" for k, w in enumerate(words))
        choices.append({"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"})
    return {"id": "cmpl-1", "object": "chat.completion", "model": body.get("model"), "choices": choices}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _FakeServer

    def log_message(self, *args):  # keep pytest output clean
        pass

    def setup(self):
        super().setup()
        with self.server.lock:
            self.server.opened += 1

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.lock:
                self.server.closed += 1

    def _send(self, status: int, payload, headers: dict | None = None, content_type="application/json"):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, body) -> int:
        srv = self.server
        with srv.lock:
            srv.requests.append(
                {"path": self.path, "method": self.command, "headers": dict(self.headers), "body": body,
                 "t": time.monotonic()}
            )
            return len(srv.requests)

    def do_GET(self):
        self._record(None)
        if self.server.mode == "401":
            return self._send(401, {"error": {"message": "invalid api key"}})
        if self.path == "/v1/models":
            return self._send(200, {"object": "list", "data": [{"id": "llama3"}, {"id": MODEL}]})
        return self._send(404, {"error": {"message": "no such path"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        number = self._record(body)
        srv, mode = self.server, self.server.mode
        if self.path != "/v1/chat/completions":
            return self._send(404, {"error": {"message": f"unknown path {self.path}"}})
        if mode == "ok":
            return self._send(200, _reply(body, body.get("n", 1)))
        if mode == "toy":  # answers as the toy LLM would, so a search can improve
            text = ToyLLM().generate(body["messages"][-1]["content"], GenerationParams(seed=body["seed"]))[0]
            return self._send(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]})
        if mode == "delay":
            with srv.lock:
                srv.in_flight += 1
                srv.max_in_flight_seen = max(srv.max_in_flight_seen, srv.in_flight)
            time.sleep(srv.delay)
            with srv.lock:
                srv.in_flight -= 1
            if body.get("seed") in srv.fail_seeds:
                return self._send(500, b"overloaded", content_type="text/plain")
            return self._send(200, _reply(body, body.get("n", 1)))
        if mode == "ignore_n":
            return self._send(200, _reply(body, 1))
        if mode == "slow":
            srv.release.wait(5)
            return self._send(200, _reply(body, 1))
        if mode == "500":
            return self._send(500, b"internal boom: CUDA out of memory", content_type="text/plain")
        if mode == "429_then_ok":
            if number <= srv.fail_first:
                headers = {"Retry-After": srv.retry_after} if srv.retry_after is not None else {}
                return self._send(429, {"error": {"message": "slow down"}}, headers)
            return self._send(200, _reply(body, body.get("n", 1)))
        if mode == "429":
            return self._send(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
        if mode == "garbage":
            return self._send(200, b"<html>this is not json</html>", content_type="text/html")
        if mode == "no_choices":
            return self._send(200, {"id": "x", "object": "chat.completion", "usage": {}})
        if mode == "no_content":
            return self._send(200, {"choices": [{"index": 0, "message": {"role": "assistant"}}]})
        if mode == "reasoning":
            msg = {"role": "assistant", "content": None, "reasoning_content": "let me think..."}
            return self._send(200, {"choices": [{"index": 0, "message": msg}]})
        if mode == "401":
            return self._send(401, {"error": {"message": "invalid api key"}})
        if mode == "400":
            return self._send(400, {"error": {"message": "top_p out of range"}})
        if mode == "404":
            return self._send(404, {"error": {"message": f"model '{body.get('model')}' not found"}})
        raise AssertionError(f"unknown mode {mode}")


@pytest.fixture
def server():
    srv = _FakeServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.release.set()
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=2)


@pytest.fixture
def make_gen():
    made = []

    def make(base_url, **kw):
        kw.setdefault("timeout", 1.0)
        kw.setdefault("backoff", 0.01)
        kw.setdefault("max_retries", 2)
        gen = OpenAICompatibleGenerator(base_url, kw.pop("model", MODEL), **kw)
        made.append(gen)
        return gen

    yield make
    for gen in made:
        gen.close()


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


PARAMS = GenerationParams(temperature=0.7, top_p=0.8, max_new_tokens=77, seed=5, num_replies=1)


# ----------------------------------------------------------------------------- success


def test_request_body_and_reply(server, make_gen):
    gen = make_gen(server.base_url)
    assert gen.key == f"openai:{server.base_url}:{MODEL}"
    out = gen.generate("red apple tree", PARAMS)
    assert out == ["1. red seed5 choice0\n2. apple seed5 choice0\n3. tree seed5 choice0"]
    (req,) = server.requests
    assert req["method"] == "POST" and req["path"] == "/v1/chat/completions"
    body = req["body"]
    assert body["model"] == MODEL
    assert body["messages"] == [{"role": "user", "content": "red apple tree"}]
    assert body["temperature"] == 0.7 and body["top_p"] == 0.8
    assert body["max_tokens"] == 77 and body["seed"] == 5 and body["n"] == 1
    assert "authorization" not in {k.lower() for k in req["headers"]}


def test_a_search_driven_through_the_server_improves_on_its_pool(server, make_gen):
    server.mode = "toy"
    pool = ["a red car on a street", "a blue sky", "a wooden table", "an old tree", "a dog on a beach"]
    target = "a small cat sleeping on a red sofa"
    cfg = SearchConfig(keep=4, new_per_step=6, steps=5, seed=3, parallel=2, patience=0)
    res = run_search(make_gen(server.base_url), OverlapScorer(target), TASKS["image_caption"], pool, cfg)
    assert res.best_score > max(OverlapScorer(target).score(pool))
    assert res.best_text not in pool
    assert server.count() == 5 * 2  # every reply of every step came from the server


def test_trailing_slash_system_prompt_and_extra_body(server, make_gen):
    gen = make_gen(server.base_url + "/", system_prompt="be brief", extra_body={"top_k": 40})
    assert gen.key == f"openai:{server.base_url}:{MODEL}"
    gen.generate("hi there", PARAMS)
    body = server.requests[0]["body"]
    assert server.requests[0]["path"] == "/v1/chat/completions"
    assert body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi there"}]
    assert body["top_k"] == 40


def test_n_is_honoured(server, make_gen):
    gen = make_gen(server.base_url, use_n=True)
    out = gen.generate("a b", GenerationParams(seed=3, num_replies=3))
    assert len(out) == 3 and [o.endswith(f"choice{i}") for i, o in enumerate(out)] == [True] * 3
    assert server.count() == 1 and server.requests[0]["body"]["n"] == 3


def test_server_ignoring_n_is_topped_up(server, make_gen):
    server.mode = "ignore_n"
    gen = make_gen(server.base_url, use_n=True)
    out = gen.generate("a b", GenerationParams(seed=10, num_replies=3))
    assert len(out) == 3
    assert [r["body"]["seed"] for r in server.requests] == [10, 11, 12]
    assert [r["body"]["n"] for r in server.requests] == [3, 2, 1]
    assert out[0].startswith("1. a seed10") and out[2].startswith("1. a seed12")


def test_content_none_and_reasoning_content_are_dropped(server, make_gen):
    server.mode = "reasoning"
    assert make_gen(server.base_url).generate("x", PARAMS) == [""]


def test_api_key_from_env(server, make_gen, monkeypatch):
    monkeypatch.setenv("MILS_TEST_KEY", "sekrit-123")
    gen = make_gen(server.base_url, api_key_env="MILS_TEST_KEY")
    gen.generate("x", PARAMS)
    assert server.requests[0]["headers"]["Authorization"] == "Bearer sekrit-123"
    assert "sekrit" not in repr(gen) and "sekrit" not in gen.key


@pytest.mark.parametrize("value", [None, "", "   "])
def test_api_key_env_unset_or_empty(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("MILS_TEST_KEY", raising=False)
    else:
        monkeypatch.setenv("MILS_TEST_KEY", value)
    with pytest.raises(InputError) as ei:
        OpenAICompatibleGenerator("http://127.0.0.1:1/v1", MODEL, api_key_env="MILS_TEST_KEY")
    assert ei.value.input_name == "api_key_env"
    assert "MILS_TEST_KEY" in str(ei.value)


def test_literal_key_is_refused_without_echoing_it():
    with pytest.raises(InputError) as ei:
        OpenAICompatibleGenerator("http://127.0.0.1:1/v1", MODEL, api_key_env="sk-abc123-secret")
    assert ei.value.input_name == "api_key_env"
    assert "sk-abc123-secret" not in str(ei.value)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"base_url": "127.0.0.1:11434/v1"}, "base_url"),
        ({"base_url": ""}, "base_url"),
        ({"model": ""}, "model"),
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"backoff": -1}, "backoff"),
        ({"extra_body": ["x"]}, "extra_body"),
    ],
)
def test_bad_constructor_args(kwargs, name):
    args = {"base_url": "http://127.0.0.1:1/v1", "model": MODEL, **kwargs}
    with pytest.raises(InputError) as ei:
        OpenAICompatibleGenerator(args.pop("base_url"), args.pop("model"), **args)
    assert ei.value.input_name == name


def test_context_manager_closes_the_connection_and_a_later_call_reopens(server):
    with OpenAICompatibleGenerator(server.base_url, MODEL, timeout=1.0) as gen:
        gen.generate("x", PARAMS)
        gen.generate("y", PARAMS)
        assert (server.opened, server.closed) == (1, 0)  # one kept-alive connection
    for _ in range(100):  # the server notices the hang-up (bounded wait)
        if server.closed:
            break
        time.sleep(0.02)
    assert server.closed == 1
    assert gen.generate("z", PARAMS)  # a call after close opens a new connection
    gen.close()
    assert server.opened == 2 and server.count() == 3


# ------------------------------------------------------------------------ retries


def test_429_then_ok_honours_retry_after(server, make_gen, caplog):
    server.mode, server.fail_first, server.retry_after = "429_then_ok", 1, "1"
    gen = make_gen(server.base_url, backoff=0.01, max_retries=2)
    with caplog.at_level(logging.WARNING, logger="mils.generators.openai_http"):
        out = gen.generate("x y", PARAMS)
    assert len(out) == 1 and server.count() == 2
    gap = server.requests[1]["t"] - server.requests[0]["t"]
    assert 0.9 <= gap < 3.0, gap  # waited for Retry-After (1 s), not the 0.01 s backoff
    assert any("HTTP 429" in r.getMessage() and "retry 1/2" in r.getMessage() for r in caplog.records)


def test_retry_after_is_capped(server, make_gen):
    server.mode, server.fail_first, server.retry_after = "429_then_ok", 1, "100"
    gen = make_gen(server.base_url, backoff=0.01, max_wait=0.2)
    gen.generate("x", PARAMS)
    gap = server.requests[1]["t"] - server.requests[0]["t"]
    assert 0.15 <= gap < 1.0, gap


def test_429_forever(server, make_gen):
    server.mode = "429"
    gen = make_gen(server.base_url, max_retries=3)
    with pytest.raises(GeneratorError) as ei:
        gen.generate("x", PARAMS)
    msg = str(ei.value)
    assert server.count() == 4
    assert "429" in msg and "rate limited" in msg and "4 attempts" in msg and "max_retries=3" in msg
    assert server.base_url in msg and MODEL in msg


def test_500_retried_with_exponential_backoff_then_fails(server, make_gen):
    server.mode = "500"
    gen = make_gen(server.base_url, max_retries=3, backoff=0.05)
    with pytest.raises(GeneratorError) as ei:
        gen.generate("x", PARAMS)
    msg = str(ei.value)
    assert server.count() == 4
    assert "500" in msg and "server error" in msg and "CUDA out of memory" in msg
    assert server.base_url in msg and MODEL in msg
    t = [r["t"] for r in server.requests]
    gaps = [b - a for a, b in zip(t, t[1:])]
    assert gaps[0] >= 0.04 and gaps[1] >= 0.09 and gaps[2] >= 0.18, gaps


def test_timeout(server, make_gen):
    server.mode = "slow"
    gen = make_gen(server.base_url, timeout=0.3, max_retries=1)
    start = time.monotonic()
    with pytest.raises(GeneratorError) as ei:
        gen.generate("x", PARAMS)
    assert time.monotonic() - start < 3.0
    msg = str(ei.value)
    assert server.count() == 2
    assert "timed out" in msg and "0.3 s" in msg and "Raise timeout" in msg
    assert server.base_url in msg and MODEL in msg


def test_connection_refused(make_gen):
    base = f"http://127.0.0.1:{_free_port()}/v1"
    gen = make_gen(base, max_retries=2)
    with pytest.raises(GeneratorError) as ei:
        gen.generate("x", PARAMS)
    msg = str(ei.value)
    assert base in msg and MODEL in msg
    assert "is the server running" in msg.lower() and "base_url" in msg and "3 attempts" in msg


# -------------------------------------------------------------- no-retry failures


def test_401_not_retried_and_names_api_key_env(server, make_gen, monkeypatch):
    server.mode = "401"
    monkeypatch.setenv("MILS_TEST_KEY", "wrong")
    gen = make_gen(server.base_url, api_key_env="MILS_TEST_KEY")
    with pytest.raises(GeneratorError) as ei:
        gen.generate("x", PARAMS)
    msg = str(ei.value)
    assert server.count() == 1
    assert "401" in msg and "MILS_TEST_KEY" in msg and "api_key_env" in msg
    assert server.base_url in msg and MODEL in msg and "wrong" not in msg


def test_401_without_key_suggests_api_key_env(server, make_gen):
    server.mode = "401"
    with pytest.raises(GeneratorError, match="api_key_env"):
        make_gen(server.base_url).generate("x", PARAMS)
    assert server.count() == 1


def test_404_not_retried_shows_url(server, make_gen):
    server.mode = "404"
    gen = make_gen(server.base_url)
    with pytest.raises(GeneratorError) as ei:
        gen.generate("x", PARAMS)
    msg = str(ei.value)
    assert server.count() == 1
    assert "404" in msg and f"{server.base_url}/chat/completions" in msg and MODEL in msg
    assert "not found" in msg and "model" in msg


def test_404_wrong_prefix(server, make_gen):
    base = f"http://127.0.0.1:{server.server_address[1]}/api"
    with pytest.raises(GeneratorError, match=r"/api/chat/completions.*not found"):
        make_gen(base).generate("x", PARAMS)


def test_400_not_retried(server, make_gen):
    server.mode = "400"
    with pytest.raises(GeneratorError, match="400.*top_p out of range"):
        make_gen(server.base_url).generate("x", PARAMS)
    assert server.count() == 1


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("garbage", "not JSON"),
        ("no_choices", r"choices\[0\]\.message\.content"),
        ("no_content", r"choices\[0\]\.message\.content"),
    ],
)
def test_malformed_replies(server, make_gen, mode, expected):
    server.mode = mode
    with pytest.raises(GeneratorError, match=expected) as ei:
        make_gen(server.base_url).generate("x", PARAMS)
    msg = str(ei.value)
    assert server.base_url in msg and MODEL in msg
    assert server.count() == 1


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


# --------------------------------------------------------------- replies in flight


def test_replies_are_separate_requests_with_their_own_seeds(server, make_gen):
    gen = make_gen(server.base_url)
    assert gen.default_parallel == 4
    out = gen.generate("a b", GenerationParams(seed=3, num_replies=3))
    assert [o.splitlines()[0] for o in out] == ["1. a seed3 choice0", "1. a seed4 choice0", "1. a seed5 choice0"]
    assert sorted(r["body"]["seed"] for r in server.requests) == [3, 4, 5]
    assert all(r["body"]["n"] == 1 for r in server.requests)


def test_requests_in_flight_are_bounded_by_max_in_flight(server, make_gen):
    server.mode, server.delay = "delay", 0.2
    gen = make_gen(server.base_url, max_in_flight=3)
    out = gen.generate_batch(["a b", "c d"], [GenerationParams(seed=0, num_replies=4)] * 2)
    assert [len(o) for o in out] == [4, 4]
    assert out[1][0].startswith("1. c seed0")
    assert server.count() == 8
    assert 1 < server.max_in_flight_seen <= 3


def test_max_in_flight_one_sends_one_at_a_time(server, make_gen):
    server.mode, server.delay = "delay", 0.05
    gen = make_gen(server.base_url, max_in_flight=1)
    assert len(gen.generate("a b", GenerationParams(num_replies=3))) == 3
    assert server.max_in_flight_seen == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_max_in_flight(bad):
    with pytest.raises(InputError) as ei:
        OpenAICompatibleGenerator("http://127.0.0.1:1/v1", MODEL, max_in_flight=bad)
    assert ei.value.input_name == "max_in_flight"


def test_an_outage_for_one_prompt_fails_that_prompt_alone(server, make_gen):
    server.mode, server.delay, server.fail_seeds = "delay", 0.01, {100}
    gen = make_gen(server.base_url, max_retries=1)
    ok, failed = gen.generate_batch(["a b", "c d"], [GenerationParams(seed=0, num_replies=2),
                                                      GenerationParams(seed=99, num_replies=2)])
    assert len(ok) == 2 and isinstance(failed, GeneratorError)
    assert "server error" in str(failed) and "2 attempts" in str(failed)
    with pytest.raises(GeneratorError, match="500"):
        gen.generate("c d", GenerationParams(seed=99, num_replies=2))
