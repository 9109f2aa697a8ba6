"""Argument checks shared by the engine, the CLI and the nodes: each names the input and what was expected."""
from __future__ import annotations

import math

from .errors import InputError


def check_int(name: str, value, lo: int, what: str | None = None) -> int:
    """An int (not a bool) of at least ``lo``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise InputError(name, what or f"an integer of at least {lo}", repr(value))
    return value


def check_size(name: str, value, *, lo: int = 8, multiple: int = 8) -> int:
    """A pixel size: an int of at least ``lo`` that is a multiple of ``multiple``."""
    check_int(name, value, lo)
    if value % multiple:
        raise InputError(name, f"a multiple of {multiple}", repr(value))
    return value


def check_float(name: str, value, lo: float, hi: float = math.inf, *, open_lo: bool = False) -> float:
    """A finite number in [lo, hi] (or (lo, hi] with ``open_lo``)."""
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and (value > lo if open_lo else value >= lo) and value <= hi)
    if not ok:
        rng = f"in ({lo:g}, {hi:g}]" if open_lo else (f">= {lo:g}" if hi == math.inf else f"in [{lo:g}, {hi:g}]")
        raise InputError(name, f"a finite number {rng}", repr(value))
    return float(value)

