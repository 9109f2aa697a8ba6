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
``seed, seed+1, ...``: see ``base.row_seed``) kept in flight together, at most ``max_in_flight``
at a time per generator, so vLLM / SGLang / llama.cpp server / Ollama batch them on their side.
``generate_batch(prompts, params_list)`` does the same for many prompts at once (lockstep
searches); a prompt whose request fails after its retries gets the GeneratorError in its slot.
``use_n=True`` sends one request with ``n=P`` instead (cheaper where prompt tokens are billed;
servers that ignore ``n`` are topped up with more requests).
"""
from __future__ import annotations

import contextvars
import email.utils
import json
import logging
import math
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Mapping

import httpx

from ..errors import GeneratorError, InputError
from .base import GenerationParams, row_seed

__all__ = ["OpenAICompatibleGenerator", "list_models"]

logger = logging.getLogger(__name__)

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SNIPPET_CHARS = 300


# --------------------------------------------------------------------------- helpers


def _normalize_base_url(base_url: Any) -> str:
    if not isinstance(base_url, str) or not base_url.strip():
        raise InputError(
            "base_url",
            "the server's API root, e.g. http://127.0.0.1:11434/v1",
            repr(base_url),
        )
    url = base_url.strip().rstrip("/")
    if not (url.startswith("http://") or url.startswith("https://")):
        raise InputError(
            "base_url",
            "an http:// or https:// URL, e.g. http://127.0.0.1:11434/v1",
            repr(base_url),
        )
    try:
        httpx.URL(url)
    except Exception as exc:  # httpx.InvalidURL and friends
        raise InputError("base_url", f"a valid URL ({exc})", repr(base_url)) from None
    return url


def _resolve_api_key(api_key_env: str | None) -> str | None:
    """Read the key from the environment variable *named* ``api_key_env``."""
    if api_key_env is None:
        return None
    if not isinstance(api_key_env, str) or not _ENV_NAME.match(api_key_env):
        # Do not echo the value: it may be a key pasted by mistake.
        raise InputError(
            "api_key_env",
            "the NAME of an environment variable holding the API key (e.g. OPENAI_API_KEY), "
            "not the key itself",
        )
    value = os.environ.get(api_key_env, "")
    if not value.strip():
        raise InputError(
            "api_key_env",
            f"environment variable {api_key_env} to hold the API key; it is unset or empty "
            f"(export {api_key_env}=<your key>, or pass api_key_env=None if the server needs no key)",
        )
    return value.strip()


def _snippet(text: str, limit: int = _SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit] + "…"
    return text or "<empty body>"


def _body_snippet(resp: httpx.Response) -> str:
    try:
        text = resp.text
    except Exception:  # undecodable body
        text = repr(resp.content[:_SNIPPET_CHARS])
    return _snippet(text)


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _check_positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = value >= 0 if allow_zero else value > 0
    if not ok:
        expected = "a number >= 0" if allow_zero else "a number > 0"
        raise InputError(name, f"{expected} (seconds)", repr(value))
    return float(value)


# ------------------------------------------------------------------------- transport


class _Transport:
    """One httpx.Client plus the retry loop and the error messages shared by the public API."""

    def __init__(
        self,
        base_url: str,
        *,
        what: str,
        api_key_env: str | None,
        api_key: str | None,
        timeout: float,
        max_retries: int,
        backoff: float,
        max_wait: float,
    ):
        self.base_url = base_url
        self.what = what  # e.g. "model 'llama3'" — used in error messages
        self.api_key_env = api_key_env
        self._api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    # -- client lifecycle
    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                headers = {"Accept": "application/json"}
                if self._api_key:
                    headers["Authorization"] = f"Bearer {self._api_key}"
                self._client = httpx.Client(timeout=httpx.Timeout(self.timeout), headers=headers)
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- waits
    def _wait(self, attempt: int, resp: httpx.Response | None) -> float:
        if resp is not None and resp.status_code in (429, 503):
            retry_after = _parse_retry_after(resp.headers.get("Retry-After"))
            if retry_after is not None:
                return min(retry_after, self.max_wait)
        return min(self.backoff * (2**attempt), self.max_wait)

    # -- request with retries
    def request(self, method: str, url: str, *, json_body: Any = None) -> Any:
        """Send the request, retrying transient failures; return the decoded JSON reply."""
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            resp: httpx.Response | None = None
            failure: Exception | None = None
            try:
                resp = self.client().request(method, url, json=json_body)
            except httpx.TimeoutException as exc:
                failure = exc
            except httpx.TransportError as exc:  # connect errors, dropped connections
                failure = exc

            if resp is not None:
                status = resp.status_code
                if 200 <= status < 300:
                    return self._decode(resp, url)
                if status != 429 and status < 500:
                    raise self._http_error(resp, url, attempt + 1)
                reason = f"HTTP {status}"
            else:
                reason = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__

            if attempt + 1 >= attempts:
                if resp is not None:
                    raise self._http_error(resp, url, attempt + 1)
                raise self._transport_error(failure, method, url, attempt + 1) from failure

            delay = self._wait(attempt, resp)
            logger.warning(
                "LLM request %s %s (%s) failed: %s; retry %d/%d in %.2f s",
                method,
                url,
                self.what,
                reason,
                attempt + 1,
                self.max_retries,
                delay,
            )
            if resp is not None:
                resp.close()
            if delay > 0:
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- error messages
    def _where(self) -> str:
        return f"the LLM server at {self.base_url} ({self.what})"

    def _tries(self, attempts: int) -> str:
        return f"after {attempts} attempt{'s' if attempts != 1 else ''} (max_retries={self.max_retries})"

    def _key_hint(self) -> str:
        if self.api_key_env:
            return (
                f"Check the API key in the environment variable {self.api_key_env} "
                f"(api_key_env={self.api_key_env!r}): it is sent as 'Authorization: Bearer <key>'."
            )
        return (
            "No API key was sent (api_key_env is not set). If the server needs a key, put it in an "
            "environment variable and pass its name as api_key_env."
        )

    def _transport_error(self, exc: Exception | None, method: str, url: str, attempts: int) -> GeneratorError:
        tries = self._tries(attempts)
        if isinstance(exc, httpx.TimeoutException):
            kind = "connect" if isinstance(exc, httpx.ConnectTimeout) else "reply"
            return GeneratorError(
                f"{self._where()} timed out: no {kind} within {self.timeout:g} s, {tries} "
                f"({method} {url}). Raise timeout (now {self.timeout:g} s), or use a smaller model "
                f"or fewer max_new_tokens."
            )
        if isinstance(exc, httpx.ConnectError):
            detail = str(exc) or type(exc).__name__
            refused = "refused" in detail.lower() or "errno 111" in detail.lower()
            head = "refused the connection" if refused else f"could not be reached ({detail})"
            return GeneratorError(
                f"{self._where()} {head} {tries}. Is the server running? Start it or fix base_url "
                f"(now {self.base_url})."
            )
        detail = f"{type(exc).__name__}: {exc}" if exc is not None and str(exc) else type(exc).__name__
        return GeneratorError(
            f"{self._where()} dropped the connection {tries} ({detail}). Check that the server is "
            f"healthy and that base_url ({self.base_url}) points at an OpenAI-compatible API."
        )

    def _http_error(self, resp: httpx.Response, url: str, attempts: int) -> GeneratorError:
        status = resp.status_code
        body = _body_snippet(resp)
        phrase = resp.reason_phrase or ""
        code = f"HTTP {status}{(' ' + phrase) if phrase else ''}"
        if status in (401, 403):
            msg = f"{self._where()} rejected the request with {code} ({url}). {self._key_hint()} Server said: {body}"
        elif status == 404:
            msg = (
                f"{self._where()} answered {code} for {url}: the model or the path was not found. "
                f"Check the model name (list_models shows what the server serves) and that base_url "
                f"includes the API prefix (often /v1). Server said: {body}"
            )
        elif status == 429:
            msg = (
                f"{self._where()} rate limited the request ({code}) {self._tries(attempts)}. "
                f"Wait and try again, send fewer requests, or raise max_retries. Server said: {body}"
            )
        elif status >= 500:
            msg = (
                f"{self._where()} had a server error ({code}) {self._tries(attempts)} ({url}). "
                f"Check the server's log. Server said: {body}"
            )
        else:
            msg = (
                f"{self._where()} rejected the request with {code} ({url}); check the sampling "
                f"parameters and extra_body. Server said: {body}"
            )
        err = GeneratorError(msg)
        err.status_code = status  # type: ignore[attr-defined]
        return err

    def _decode(self, resp: httpx.Response, url: str) -> Any:
        try:
            return json.loads(resp.content)
        except (ValueError, UnicodeDecodeError):
            raise GeneratorError(
                f"{self._where()} sent a reply that is not JSON ({url}): {_body_snippet(resp)}. "
                f"Is base_url an OpenAI-compatible API root (usually ending in /v1)?"
            ) from None

    def malformed(self, url: str, data: Any, missing: str) -> GeneratorError:
        try:
            text = json.dumps(data, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(data)
        return GeneratorError(
            f"{self._where()} sent JSON without {missing} ({url}): {_snippet(text)}. "
            f"Is base_url an OpenAI-compatible API root (usually ending in /v1)?"
        )


def _validate_retry_args(timeout: Any, max_retries: Any, backoff: Any, max_wait: Any) -> tuple:
    timeout = _check_positive("timeout", timeout)
    if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
        raise InputError("max_retries", "an integer >= 0", repr(max_retries))
    backoff = _check_positive("backoff", backoff, allow_zero=True)
    max_wait = _check_positive("max_wait", max_wait, allow_zero=True)
    return timeout, max_retries, backoff, max_wait


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
        model: model name as the server knows it (see :func:`list_models`).
        api_key_env: NAME of the environment variable holding the API key, or None for servers
            that need none. The key itself is never accepted as an argument.
        timeout: seconds to wait for connecting and for the reply.
        max_retries: retries after the first attempt for connection errors, timeouts, 429, 5xx.
        backoff: base wait in seconds; retry ``i`` (0-based) waits ``backoff * 2**i``.
        max_wait: cap in seconds on any single wait, including a server's ``Retry-After``.
        system_prompt: optional system message sent before the user turn (the paper uses none).
        extra_body: extra JSON fields merged into every request body (they override the
            defaults, e.g. ``{"max_completion_tokens": 512}`` or ``{"options": {...}}``).
        max_in_flight: most requests this generator keeps open at once (replies of a step and
            prompts of a lockstep batch share it); 1 sends them one after another.
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
        max_in_flight: int = 8,
        use_n: bool = False,
    ):
        if not isinstance(max_in_flight, int) or isinstance(max_in_flight, bool) or max_in_flight < 1:
            raise InputError("max_in_flight", "an integer >= 1 (requests kept open at once)", repr(max_in_flight))
        self.max_in_flight = max_in_flight
        self.use_n = bool(use_n)
        self._in_flight = threading.BoundedSemaphore(max_in_flight)
        self.base_url = _normalize_base_url(base_url)
        if not isinstance(model, str) or not model.strip():
            raise InputError("model", "a model name the server serves (see list_models)", repr(model))
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
        timeout, max_retries, backoff, max_wait = _validate_retry_args(timeout, max_retries, backoff, max_wait)
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.url = f"{self.base_url}/chat/completions"
        self.key = f"openai:{self.base_url}:{self.model}"
        self._transport = _Transport(
            self.base_url,
            what=f"model {self.model!r}",
            api_key_env=api_key_env,
            api_key=_resolve_api_key(api_key_env),
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            max_wait=max_wait,
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
            with self._in_flight:
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
        with self._in_flight:
            data = self._transport.request("POST", self.url, json_body=body)
        return self._choices(data)[0]

    def _run_all(self, jobs: list[tuple[str, GenerationParams]], fn) -> list[Any]:
        """``fn(prompt, params)`` for every job, at most max_in_flight at once; exceptions in place."""
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

    def list_models(self) -> list[str]:
        """Model ids served at this generator's base_url (same key and retry settings)."""
        return _list_models(self._transport)


def _list_models(transport: _Transport) -> list[str]:
    url = f"{transport.base_url}/models"
    data = transport.request("GET", url)
    items = data.get("data") if isinstance(data, Mapping) else None
    if items is None and isinstance(data, Mapping) and isinstance(data.get("models"), list):
        items = data["models"]  # some servers (llama.cpp, Ollama-native) use "models"
    if not isinstance(items, list):
        raise transport.malformed(url, data, "a 'data' list of models")
    ids = []
    for item in items:
        if isinstance(item, str):
            ids.append(item)
        elif isinstance(item, Mapping):
            ident = item.get("id", item.get("model", item.get("name")))
            if isinstance(ident, str):
                ids.append(ident)
    return ids


def list_models(
    base_url: str,
    api_key_env: str | None = None,
    timeout: float = 10.0,
    *,
    max_retries: int = 1,
    backoff: float = 0.5,
    max_wait: float = 5.0,
) -> list[str]:
    """Model ids from ``GET {base_url}/models`` (for UI dropdowns).

    ``base_url`` and ``api_key_env`` mean the same as for :class:`OpenAICompatibleGenerator`;
    errors raise GeneratorError (InputError for bad arguments or an unset key variable).
    """
    base = _normalize_base_url(base_url)
    timeout, max_retries, backoff, max_wait = _validate_retry_args(timeout, max_retries, backoff, max_wait)
    transport = _Transport(
        base,
        what="listing models",
        api_key_env=api_key_env,
        api_key=_resolve_api_key(api_key_env),
        timeout=timeout,
        max_retries=max_retries,
        backoff=backoff,
        max_wait=max_wait,
    )
    try:
        return _list_models(transport)
    finally:
        transport.close()
