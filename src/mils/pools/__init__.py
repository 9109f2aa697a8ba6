"""Starting pools: the short descriptions a MILS search scores once before the LLM takes over.

``load_pool("image")`` returns a shipped pool; ``load_pool("my_pool.txt")`` reads a user's text
file (one description per line; blank lines and lines starting with ``#`` are skipped).
The shipped files in ``data/`` are generated from our own templates by ``python -m devkit.pools.build``
(a development tool in the repository, not installed with the package).
"""
from __future__ import annotations

import logging
import os
import random
from pathlib import Path

from ..errors import InputError

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"

POOLS: dict[str, Path] = {
    "image": DATA_DIR / "image_descriptions.txt",
    "video": DATA_DIR / "image_descriptions.txt",   # video captions start from the image pool
    "audio": DATA_DIR / "audio_descriptions.txt",
    "edit": DATA_DIR / "edit_instructions.txt",
}

__all__ = ["POOLS", "DATA_DIR", "load_pool", "pool_names", "read_pool_file", "subsample"]


def pool_names() -> list[str]:
    """Names accepted by ``load_pool`` besides file paths."""
    return list(POOLS)


def _expected() -> str:
    return (f"a pool name ({', '.join(POOLS)}) or the path of a UTF-8 text file, "
            "one description per line")


def _bad_file(path: Path, why: str) -> InputError:
    return InputError("pool", _expected(), f"{str(path)!r}, which {why}")


def _resolve(name_or_path: str | os.PathLike) -> Path:
    if isinstance(name_or_path, os.PathLike):
        return Path(name_or_path)
    if not isinstance(name_or_path, str):
        raise InputError("pool", _expected(), f"{type(name_or_path).__name__} {name_or_path!r}")
    text = name_or_path.strip()
    if not text:
        raise InputError("pool", _expected(), "an empty string")
    if text in POOLS:
        return POOLS[text]
    if text.lower() in POOLS:
        return POOLS[text.lower()]
    looks_like_path = (os.sep in text or "/" in text or (os.altsep and os.altsep in text)
                       or Path(text).suffix != "" or Path(text).exists())
    if not looks_like_path:
        raise InputError("pool", _expected(), f"unknown pool {text!r} (known: {', '.join(POOLS)})")
    return Path(text).expanduser()


def read_pool_file(path: str | os.PathLike) -> list[str]:
    """The usable lines of a pool file: stripped, no blanks or '#' comments, duplicates dropped."""
    path = Path(path)
    if not path.exists():
        raise _bad_file(path, "does not exist")
    if not path.is_file():
        raise _bad_file(path, "is not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _bad_file(path, f"cannot be read ({exc.strerror or exc})") from exc
    if b"\x00" in data:
        raise _bad_file(path, "looks binary (it contains NUL bytes), not UTF-8 text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad_file(path, f"is not UTF-8 text (bad byte at offset {exc.start})") from exc
    seen: set[str] = set()
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line in seen:
            continue
        seen.add(line)
        lines.append(line)
    if not lines:
        raise InputError("pool", "at least one description (blank lines and '#' comments are "
                         "skipped)", f"{str(path)!r}, which has none")
    return lines


def subsample(texts: list[str], limit: int | None, seed: int = 0) -> list[str]:
    """At most ``limit`` of ``texts``, chosen by ``seed`` and kept in their original order."""
    if limit is None:
        return list(texts)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InputError("limit", "a positive whole number of descriptions, or None for all",
                         repr(limit))
    if limit >= len(texts):
        return list(texts)
    keep = sorted(random.Random(seed).sample(range(len(texts)), limit))
    return [texts[i] for i in keep]


def load_pool(name_or_path: str | os.PathLike, *, limit: int | None = None,
              seed: int = 0) -> list[str]:
    """A pool by name (see ``pool_names()``) or from a text file, optionally subsampled.

    ``limit`` keeps that many descriptions, picked deterministically by ``seed`` (same
    arguments, same lines, in file order). Raises ``InputError`` naming ``pool`` for an unknown
    name, a missing, unreadable or non-UTF-8 file, or one with no usable lines.
    """
    subsample([], limit)    # reject a bad limit before reading anything
    path = _resolve(name_or_path)
    texts = read_pool_file(path)
    out = subsample(texts, limit, seed)
    log.debug("pool %s: %d descriptions, using %d", path, len(texts), len(out))
    return out
