"""HTTP transport for OpenAI-compatible servers: base URL and API key handling, bounded retries with
backoff and ``Retry-After``, and error messages that name the server, the model and what to do.

Every attempt takes a place in an :class:`~.http_limit.AdaptiveLimit` window first, so the
request's timeout runs only while it is on the wire. A timeout while other requests of ours were
in flight is the server queueing our own work: the window halves and the request is sent again
without using one of its ``max_retries`` (at most ``QUEUED_RETRIES`` times). A timeout with the
server to itself, a refused connection, an HTTP 429/5xx or a broken reply uses one.
"""
from __future__ import annotations

import email.utils
import json
import logging
import math
import os
import re
import threading
import time
from datetime import datetime, timezone
from typing import Any

import httpx

from ..errors import GeneratorError, InputError
from .http_limit import FAILED, OK, OVERLOADED, TIMEOUT, AdaptiveLimit

logger = logging.getLogger(__name__)

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SNIPPET_CHARS = 300
QUEUED_RETRIES = 8  # free retries per request after timeouts behind our own requests


# --------------------------------------------------------------------------- helpers


def normalize_base_url(base_url: Any) -> str:
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


def resolve_api_key(api_key_env: str | None) -> str | None:
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


def parse_retry_after(value: str | None) -> float | None:
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


def check_positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = value >= 0 if allow_zero else value > 0
    if not ok:
        expected = "a number >= 0" if allow_zero else "a number > 0"
        raise InputError(name, f"{expected} (seconds)", repr(value))
    return float(value)


# ------------------------------------------------------------------------- transport


class Transport:
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
        limit: AdaptiveLimit | None = None,
    ):
        self.base_url = base_url
        self.what = what  # e.g. "model 'llama3'" — used in error messages
        self.api_key_env = api_key_env
        self._api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.limit = limit or AdaptiveLimit(1, label=f"{base_url} ({what})")
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
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            if retry_after is not None:
                return min(retry_after, self.max_wait)
        return min(self.backoff * (2**attempt), self.max_wait)

    # -- request with retries
    def _attempt(self, method: str, url: str, json_body: Any,
                 owner: object) -> tuple[httpx.Response | None, Exception | None, bool]:
        """One try inside the window: (reply, transport failure, whether others were in flight)."""
        with self.limit.slot(owner) as place:
            resp: httpx.Response | None = None
            failure: Exception | None = None
            try:
                resp = self.client().request(method, url, json=json_body)
            except httpx.TimeoutException as exc:
                failure, place.outcome = exc, TIMEOUT
            except httpx.TransportError as exc:  # connect errors, dropped connections
                failure, place.outcome = exc, FAILED
            else:
                status = resp.status_code
                place.outcome = OK if 200 <= status < 300 else OVERLOADED if status in (429, 503) else FAILED
            return resp, failure, place.shared

    def request(self, method: str, url: str, *, json_body: Any = None) -> Any:
        """Send the request, retrying transient failures; return the decoded JSON reply."""
        attempts = self.max_retries + 1
        attempt = queued = 0
        owner = object()  # this request, across its attempts
        while True:
            resp, failure, shared = self._attempt(method, url, json_body, owner)
            if resp is not None:
                status = resp.status_code
                if 200 <= status < 300:
                    return self._decode(resp, url)
                if status != 429 and status < 500:
                    raise self._http_error(resp, url, attempt + 1)
                reason = f"HTTP {status}"
            else:
                reason = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__

            if isinstance(failure, httpx.ReadTimeout) and shared and queued < QUEUED_RETRIES:
                queued += 1  # slow because the server queued it behind our own requests: not a failure
                logger.info(
                    "LLM request %s %s (%s) got no reply within %g s while others were in flight "
                    "(the server queues them); sending it again with %d in flight",
                    method, url, self.what, self.timeout, self.limit.window,
                )
                continue

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
            attempt += 1

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
                f"Check the model name (GET <base_url>/models lists what the server serves) and that base_url "
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


def validate_retry_args(timeout: Any, max_retries: Any, backoff: Any, max_wait: Any) -> tuple:
    timeout = check_positive("timeout", timeout)
    if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
        raise InputError("max_retries", "an integer >= 0", repr(max_retries))
    backoff = check_positive("backoff", backoff, allow_zero=True)
    max_wait = check_positive("max_wait", max_wait, allow_zero=True)
    return timeout, max_retries, backoff, max_wait
