"""Cancellation reachable from inside long model calls, and the one rule for what counts as a cancel.

The search driver installs a :class:`CancelCheck` for the duration of a search; a backend that runs
for long (token generation, rendering) polls ``requested()`` and stops early (or raises
``mils.errors.Cancelled``). The driver then ends the search as ``stopped="cancelled"``.

What is a cancel (``CancelCheck.is_cancel(exc)``): Ctrl-C (KeyboardInterrupt), ``Cancelled``, one of
the check's ``errors`` (ComfyUI's interrupt exception, handed in by the nodes) anywhere in the
exception's cause/context chain (a backend that wraps it is still cancelled), or any exception
raised once the check says stop. A check that has said stop keeps saying so (ComfyUI clears its
interrupt flag when it raises the exception).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

from .errors import Cancelled

log = logging.getLogger(__name__)

__all__ = ["CancelCheck", "as_cancel_check", "cancel_scope", "is_cancel", "requested"]


class CancelCheck:
    """``check()`` polled for a stop, latched once it says so; ``errors``: exception types that mean "cancelled"."""

    def __init__(self, check: Callable[[], bool] | None = None, errors: tuple[type[BaseException], ...] = ()):
        self.check, self.errors = check, tuple(errors)
        self.cancelled = False

    def __call__(self) -> bool:
        if not self.cancelled and self.check is not None:
            try:
                self.cancelled = bool(self.check())
            except Exception:  # e.g. ComfyUI's interrupt exception raised by the check itself
                self.cancelled = True
        return self.cancelled

    def is_cancel(self, exc: BaseException) -> bool:
        """Whether ``exc`` (raised inside the LLM, an encode, a render or a callback) is a cancel."""
        seen: set[int] = set()
        e: BaseException | None = exc
        while e is not None and id(e) not in seen:
            seen.add(id(e))
            if isinstance(e, (KeyboardInterrupt, Cancelled) + self.errors):
                self.cancelled = True
                return True
            e = e.__cause__ or e.__context__
        return self()


def as_cancel_check(check: Callable[[], bool] | CancelCheck | None) -> CancelCheck:
    """``check`` as a CancelCheck (a plain callable, or None for "never")."""
    return check if isinstance(check, CancelCheck) else CancelCheck(check)


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


def is_cancel(exc: BaseException) -> bool:
    """Whether ``exc`` cancels the current scope's search (see ``CancelCheck.is_cancel``); a backend that
    answers several prompts in turn stops at a cancel instead of going on with the next prompt."""
    check = _CHECK.get()
    if isinstance(check, CancelCheck):
        return check.is_cancel(exc)
    return isinstance(exc, (KeyboardInterrupt, Cancelled)) or requested()
