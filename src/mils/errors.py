"""Errors the engine raises. Each names the input at fault and what was expected."""
from __future__ import annotations


class MilsError(Exception):
    """Base class for every error the engine raises on purpose."""


class InputError(MilsError, ValueError):
    """A user-supplied value is unusable. ``name`` is the input (CLI option, node input, argument)."""

    def __init__(self, name: str, expected: str, got: str | None = None):
        self.input_name = name
        self.expected = expected
        self.got = got
        msg = f"{name}: expected {expected}"
        if got is not None:
            msg += f", got {got}"
        super().__init__(msg)


class ModelNotFoundError(MilsError, FileNotFoundError):
    """A model is neither at the given path nor downloadable here; says what to provide."""


class GeneratorError(MilsError, RuntimeError):
    """The LLM backend failed (server down, HTTP error, malformed reply, timeout)."""


class Cancelled(MilsError):
    """The search was cancelled by its cancel check (ComfyUI's interrupt, Ctrl-C)."""
