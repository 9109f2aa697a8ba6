"""The inputs of a dataset run: every media file in a folder, the paths a manifest lists, the prompts of a file.

Manifest: JSONL lines ``{"input": "path"}`` or plain lines of paths; relative paths are relative to the
manifest's folder; blank lines and lines starting with ``#`` are skipped. Prompts file: one prompt per
line, or JSONL lines with a ``"prompt"`` field. Each bad line is an InputError naming the file and line.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError
from ..media import AUDIO_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES

MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES | AUDIO_SUFFIXES


def folder_inputs(folder: Path) -> list[Path]:
    """The folder's image, video and audio files, sorted; an InputError naming the folder when there are none."""
    inputs = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES)
    if not inputs:
        raise InputError("input", "a folder with image, video or audio files", str(folder))
    return inputs


def _lines(path: Path, option: str):
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(option, "a readable UTF-8 text file", f"{path} ({exc})") from None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            yield number, line


def _json_field(line: str, field: str, where: str, option: str):
    """The line's ``field`` when it is a JSON object; None when the line is plain text."""
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)[field]
    except (ValueError, KeyError, TypeError):
        raise InputError(option, f'a JSON object with a "{field}" string, or a plain line', where) from None
    if not isinstance(value, str) or not value.strip():
        raise InputError(option, f'a non-empty "{field}" string', where)
    return value.strip()


def manifest_inputs(manifest: Path) -> list[Path]:
    """The media files a manifest lists, checked to exist, each name once (result files are named after it)."""
    inputs: list[Path] = []
    seen: dict[str, int] = {}
    for number, line in _lines(manifest, "--manifest"):
        where = f"{manifest} line {number}"
        raw = _json_field(line, "input", where, "--manifest") or line
        path = Path(raw).expanduser()
        path = path if path.is_absolute() else manifest.parent / path
        if not path.is_file():
            raise InputError("--manifest", "an existing media file on each line", f"{where}: {raw}")
        if path.suffix.lower() not in MEDIA_SUFFIXES:
            raise InputError("--manifest", "an image, video or audio file on each line", f"{where}: {raw}")
        if path.name in seen:
            raise InputError("--manifest", "file names that differ (each result is <out>/<name>.mils.json)",
                             f"{where}: {path.name} again (first on line {seen[path.name]})")
        seen[path.name] = number
        inputs.append(path)
    if not inputs:
        raise InputError("--manifest", "a manifest that lists at least one input", str(manifest))
    return inputs


def read_prompts(path: Path) -> list[str]:
    """The prompts of a --prompts file (text lines or JSONL with "prompt"); at least one."""
    prompts = [_json_field(line, "prompt", f"{path} line {n}", "--prompts") or line for n, line in
               _lines(path, "--prompts")]
    if not prompts:
        raise InputError("--prompts", "a file with at least one prompt", str(path))
    return prompts
