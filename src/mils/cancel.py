"""Cancellation reachable from inside long model calls.

``run_search`` installs its cancel check for the duration of the search; a backend that runs for
long (token generation, rendering) polls ``requested()`` and stops early. The search itself then
sees the cancel and returns what it has.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

log = logging.getLogger(__name__)

_CHECK: ContextVar[Callable[[], bool] | None] = ContextVar("mils_cancel_check", default=None)


@contextmanager
def cancel_scope(check: Callable[[], bool] | None) -> Iterator[None]:
    token = _CHECK.set(check)
    try:
        yield
    finally:
        _CHECK.reset(token)


def requested() -> bool:
    """True once the current scope's check says stop (a check that raises counts as stop)."""
    check = _CHECK.get()
    if check is None:
        return False
    try:
        return bool(check())
    except Exception:  # e.g. ComfyUI's interrupt exception: stop now, the caller re-raises it
        return True
