"""A generator that talks to any OpenAI-compatible chat-completions server over HTTP.

Works with Ollama (``http://127.0.0.1:11434/v1``), the llama.cpp server
(``http://127.0.0.1:8080/v1``), vLLM (``http://127.0.0.1:8000/v1``), LM Studio
(``http://127.0.0.1:1234/v1``) and OpenAI itself (``https://api.openai.com/v1``).

``base_url`` is used as given (a trailing ``/`` is dropped): requests go to
``{base_url}/chat/completions`` and ``{base_url}/models``. Nothing is added or guessed, so
pass the API prefix the server uses (usually ``/v1``).

API keys are never passed as values: ``api_key_env`` is the *name* of an environment
variable that holds the key (for example ``"OPENAI_API_KEY"``). The key is sent as
``Authorization: Bearer <key>``.

Transient failures (connection refused, timeouts, HTTP 429 and 5xx) are retried a bounded
number of times with exponential backoff; ``Retry-After`` is honoured on 429/503 up to
``max_wait`` seconds. Other HTTP errors (400, 401, 403, 404, ...) fail at once. Every failure
raises :class:`~mils.errors.GeneratorError` with a message naming the server, the model and
what to do about it.

Throughput: a request for ``num_replies=P`` replies is sent as P requests (``n=1``, seeds
``seed, seed+1, ...``: see ``base.row_seed``) kept in flight together, so vLLM / SGLang /
llama.cpp server / Ollama batch them on their side. How many are in flight at once adapts to what
the server sustains (``http_limit.AdaptiveLimit``): it starts at one, grows while replies keep
their latency and halves when they queue or time out, so a one-slot server gets about one request
at a time and a batching server up to ``max_in_flight``. A reply that timed out because the server
queued it behind our own requests is sent again without using a retry (see ``openai_transport``).
``generate_batch(prompts, params_list)`` does the same for many prompts at once (lockstep
searches); a prompt whose request fails after its retries gets the GeneratorError in its slot.
``use_n=True`` sends one request with ``n=P`` instead (cheaper where prompt tokens are billed;
servers that ignore ``n`` are topped up with more requests).
"""
from __future__ import annotations

import contextvars
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping

from ..errors import InputError
from .base import GenerationParams, row_seed
from .http_limit import AdaptiveLimit
from .openai_transport import Transport, normalize_base_url, resolve_api_key, validate_retry_args

__all__ = ["OpenAICompatibleGenerator"]

logger = logging.getLogger(__name__)

def _message_text(message: Any) -> str | None:
    """The reply text of one choice's message; None if the message has no content field."""
    if not isinstance(message, Mapping) or "content" not in message:
        return None
    content = message["content"]  # reasoning_content (if any) is ignored on purpose
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": "..."}]
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    return None


# ------------------------------------------------------------------------- public API


class OpenAICompatibleGenerator:
    """Generator backed by an OpenAI-compatible ``POST {base_url}/chat/completions``.

    Args:
        base_url: API root as the server documents it, e.g. ``http://127.0.0.1:11434/v1``
            (Ollama) or ``https://api.openai.com/v1``. Used as given (a trailing ``/`` is
            dropped) and ``/chat/completions`` is appended; no ``/v1`` is added for you.
        model: model name as the server knows it (GET <base_url>/models lists them).
        api_key_env: NAME of the environment variable holding the API key, or None for servers
            that need none. The key itself is never accepted as an argument.
        timeout: seconds to wait for connecting and for the reply, counted from when the request is
            sent (time waiting for a place among the requests in flight does not count).
        max_retries: retries after the first attempt for connection errors, timeouts, 429, 5xx.
        backoff: base wait in seconds; retry ``i`` (0-based) waits ``backoff * 2**i``.
        max_wait: cap in seconds on any single wait, including a server's ``Retry-After``.
        system_prompt: optional system message sent before the user turn (the paper uses none).
        extra_body: extra JSON fields merged into every request body (they override the
            defaults, e.g. ``{"max_completion_tokens": 512}`` or ``{"options": {...}}``).
        max_in_flight: the most requests this generator keeps open at once (replies of a step and
            prompts of a lockstep batch share it). The number in flight adapts below it to what
            the server sustains (``self.limit.window``); 1 sends them one after another.
        use_n: ask for all replies of a prompt in one request with ``n`` (see the module doc).

    Use as a context manager, or call :meth:`close`, to release the HTTP connection pool.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        system_prompt: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        max_in_flight: int = 16,
        use_n: bool = False,
    ):
        if not isinstance(max_in_flight, int) or isinstance(max_in_flight, bool) or max_in_flight < 1:
            raise InputError("max_in_flight", "an integer >= 1 (requests kept open at once)", repr(max_in_flight))
        self.max_in_flight = max_in_flight
        self.use_n = bool(use_n)
        self.base_url = normalize_base_url(base_url)
        if not isinstance(model, str) or not model.strip():
            raise InputError("model", "a model name the server serves (GET <base_url>/models lists them)", repr(model))
        self.model = model.strip()
        if system_prompt is not None and not isinstance(system_prompt, str):
            raise InputError("system_prompt", "a string or None", repr(system_prompt))
        self.system_prompt = system_prompt or None
        if extra_body is not None and not isinstance(extra_body, Mapping):
            raise InputError("extra_body", "a dict of extra JSON fields or None", repr(extra_body))
        self.extra_body = dict(extra_body or {})
        try:
            json.dumps(self.extra_body)
        except (TypeError, ValueError) as exc:
            raise InputError("extra_body", f"JSON-serialisable values ({exc})") from None
        timeout, max_retries, backoff, max_wait = validate_retry_args(timeout, max_retries, backoff, max_wait)
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.url = f"{self.base_url}/chat/completions"
        self.key = f"openai:{self.base_url}:{self.model}"
        self.limit = AdaptiveLimit(max_in_flight, label=f"LLM server {self.base_url} (model {self.model!r})")
        self._transport = Transport(
            self.base_url,
            what=f"model {self.model!r}",
            api_key_env=api_key_env,
            api_key=resolve_api_key(api_key_env),
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            max_wait=max_wait,
            limit=self.limit,
        )

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAICompatibleGenerator(base_url={self.base_url!r}, model={self.model!r})"

    # -- lifecycle
    def close(self) -> None:
        """Close the HTTP client (a later call to generate opens a new one)."""
        self._transport.close()

    def __enter__(self) -> "OpenAICompatibleGenerator":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:  # best effort
        try:
            self._transport.close()
        except Exception:
            pass

    # -- generation
    def _body(self, prompt: str, params: GenerationParams, seed: int, n: int) -> dict[str, Any]:
        messages = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        messages.append({"role": "user", "content": prompt})
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_new_tokens,
            "seed": seed,
            "n": n,
            "stream": False,
        }
        body.update(self.extra_body)
        return body

    def _choices(self, data: Any) -> list[str]:
        choices = data.get("choices") if isinstance(data, Mapping) else None
        if not isinstance(choices, list) or not choices:
            raise self._transport.malformed(self.url, data, "choices[0].message.content")
        if all(isinstance(c, Mapping) and isinstance(c.get("index"), int) for c in choices):
            choices = sorted(choices, key=lambda c: c["index"])
        texts = []
        for i, choice in enumerate(choices):
            text = _message_text(choice.get("message") if isinstance(choice, Mapping) else None)
            if text is None:
                raise self._transport.malformed(self.url, data, f"choices[{i}].message.content")
            texts.append(text)
        return texts

    default_parallel = 4  # replies per search step when the config leaves it open

    def _check(self, prompt: Any, params: GenerationParams) -> None:
        if not isinstance(prompt, str):
            raise InputError("prompt", "a string", type(prompt).__name__)
        params.validate()

    def _request_n(self, prompt: str, params: GenerationParams) -> list[str]:
        """All replies through ``n``; servers that ignore ``n`` are topped up with seeds seed+1, ..."""
        wanted = params.num_replies
        replies: list[str] = []
        request_no = 0
        while len(replies) < wanted:
            body = self._body(prompt, params, row_seed(params.seed, request_no), wanted - len(replies))
            data = self._transport.request("POST", self.url, json_body=body)
            got = self._choices(data)
            if request_no == 0 and len(got) < wanted:
                logger.info(
                    "%s returned %d of %d replies (n ignored?); topping up with more requests",
                    self.key,
                    len(got),
                    wanted,
                )
            replies.extend(got)
            request_no += 1
        return replies[:wanted]

    def _request_one(self, prompt: str, params: GenerationParams) -> str:
        body = self._body(prompt, params, params.seed, 1)
        data = self._transport.request("POST", self.url, json_body=body)
        return self._choices(data)[0]

    def _run_all(self, jobs: list[tuple[str, GenerationParams]], fn) -> list[Any]:
        """``fn(prompt, params)`` for every job, as many at once as the window allows; exceptions in place."""
        if len(jobs) == 1 or self.max_in_flight == 1:
            out: list[Any] = []
            for job in jobs:
                try:
                    out.append(fn(*job))
                except Exception as e:
                    out.append(e)
            return out

        def call(job):
            try:
                return fn(*job)
            except Exception as e:
                return e

        workers = min(self.max_in_flight, len(jobs))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mils-http") as pool:
            # each thread sees the caller's context (cancel scope)
            futures = [pool.submit(contextvars.copy_context().run, call, job) for job in jobs]
            return [f.result() for f in futures]

    def _replies(self, requests: list[tuple[str, GenerationParams]]) -> list[list[str] | Exception]:
        if self.use_n:
            return self._run_all(requests, self._request_n)
        jobs: list[tuple[str, GenerationParams]] = []
        spans = []
        for prompt, params in requests:
            rows = params.row_params()
            spans.append((len(jobs), len(rows)))
            jobs += [(prompt, row) for row in rows]
        results = self._run_all(jobs, self._request_one)
        out: list[list[str] | Exception] = []
        for first, count in spans:
            got = results[first:first + count]
            failed = next((r for r in got if isinstance(r, Exception)), None)
            out.append(failed if failed is not None else list(got))
        return out

    def generate(self, prompt: str, params: GenerationParams) -> list[str]:
        """Return ``params.num_replies`` replies to ``prompt`` (one user turn).

        The replies are requested together (see the module doc); the first failure is raised.
        """
        self._check(prompt, params)
        (result,) = self._replies([(prompt, params)])
        if isinstance(result, Exception):
            raise result
        return result

    def generate_batch(self, prompts: list[str], params_list: list[GenerationParams]) -> list[list[str] | Exception]:
        """Replies for every prompt, all requests in flight together (bounded); errors in place."""
        for prompt, params in zip(prompts, params_list):
            self._check(prompt, params)
        return self._replies(list(zip(prompts, params_list)))
