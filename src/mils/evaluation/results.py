"""Reading `mils caption` results: one caption per input, its starting-pool baseline and its score curve.

Accepted: a folder of ``*.mils.json`` result files (what `mils caption DIR` writes), one such file, the
JSON list that `mils caption --json` prints for a folder, or a plain file -> caption mapping (a JSON
object, a CSV with columns file,caption, or JSON lines with "file" and "caption"). Plain mappings have
no history, so they have no baseline and no curve.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

RESULT_SUFFIX = ".mils.json"          # the suffix `mils caption` gives its result files
FILE_COLUMNS = ("file", "file_name", "image", "input", "path")
CAPTION_COLUMNS = ("caption", "best_text", "text", "prediction")


@dataclass
class CaptionResult:
    """One input's caption. ``baseline`` is the best of the starting pool (step 0); ``curve`` the best per step."""

    name: str                               # the input's file name (the key references are matched on)
    caption: str
    source: str                             # the file this came from
    input: str | None = None                # the media path as recorded
    baseline: str | None = None
    curve: list[float] = field(default_factory=list)
    scorer: str | None = None
    direction: str | None = None


def load_caption_results(path: str | Path) -> list[CaptionResult]:
    """Every caption in a results folder or file; raises InputError naming the file and field at fault."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(RESULT_SUFFIX))
        if not files:
            raise InputError("RESULTS", f"a folder with `mils caption` result files (*{RESULT_SUFFIX})",
                             f"none in {path}")
        results = [r for f in files for r in _read_file(f)]
    elif path.is_file():
        results = _read_file(path)
    else:
        raise InputError("RESULTS", "an existing folder or file of caption results", str(path))
    if not results:
        raise InputError("RESULTS", "at least one caption", f"none in {path}")
    seen: dict[str, str] = {}
    for r in results:
        if r.name in seen:
            raise InputError("RESULTS", "one caption per input file name",
                             f"{r.name!r} twice ({seen[r.name]} and {r.source})")
        seen[r.name] = r.source
    return results


def _read_file(path: Path) -> list[CaptionResult]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".jsonl":
        return [_from_row(row, f"{path}:{i}") for i, row in enumerate(_json_lines(path), 1)]
    data = _json(path)
    if isinstance(data, list):
        return [_from_mils(item, f"{path}[{i}]") for i, item in enumerate(data)]
    if isinstance(data, dict) and ("best_text" in data or "history" in data):
        return [_from_mils(data, str(path))]
    if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        return [CaptionResult(name=Path(k).name, caption=_text(v, str(path), k), source=str(path), input=k)
                for k, v in data.items()]
    raise InputError(str(path), "a `mils caption` result (with best_text and history), a list of them, "
                                "or a JSON object of file name -> caption")


def _json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(str(path), "a JSON file", f"unreadable ({exc})") from None


def _json_lines(path: Path) -> list[dict]:
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{path}:{i}", "one JSON object per line", f"unreadable ({exc})") from None
        if not isinstance(row, dict):
            raise InputError(f"{path}:{i}", "one JSON object per line", type(row).__name__)
        rows.append(row)
    return rows


def _read_csv(path: Path) -> list[CaptionResult]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [_from_row(row, f"{path}:{i}") for i, row in enumerate(rows, 2)]


def _pick(row: dict, columns: tuple[str, ...], source: str, what: str):
    for c in columns:
        if row.get(c) not in (None, ""):
            return row[c]
    raise InputError(source, f"a {what} field (one of {', '.join(columns)})", f"fields {sorted(row)}")


def _from_row(row: dict, source: str) -> CaptionResult:
    file = str(_pick(row, FILE_COLUMNS, source, "file"))
    caption = _text(_pick(row, CAPTION_COLUMNS, source, "caption"), source, "caption")
    return CaptionResult(name=Path(file).name, caption=caption, source=source, input=file)


def _text(value, source: str, field_name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{source}: {field_name}", "a non-empty text", repr(value)[:80])
    return value.strip()


def _from_mils(d, source: str) -> CaptionResult:
    if not isinstance(d, dict):
        raise InputError(source, "a `mils caption` result object", type(d).__name__)
    for key in ("input", "best_text", "history"):
        if key not in d:
            raise InputError(f"{source}: {key}", f"the field {key!r} that `mils caption` writes", "missing")
    history = d["history"]
    if not isinstance(history, list) or not history:
        raise InputError(f"{source}: history", "a non-empty list of steps", repr(history)[:80])
    curve = []
    for i, step in enumerate(history):
        if not isinstance(step, dict) or not isinstance(step.get("best_score"), (int, float)):
            raise InputError(f"{source}: history[{i}].best_score", "a number", repr(step)[:80])
        curve.append(float(step["best_score"]))
    first = history[0]
    board = first.get("leaderboard")
    if first.get("step", 0) != 0 or not isinstance(board, list) or not board or not isinstance(board[0], dict):
        raise InputError(f"{source}: history[0].leaderboard", "the scored starting pool (step 0)",
                         repr(board)[:80])
    return CaptionResult(name=Path(str(d["input"])).name, caption=_text(d["best_text"], source, "best_text"),
                         source=source, input=str(d["input"]),
                         baseline=_text(board[0].get("text"), source, "history[0].leaderboard[0].text"),
                         curve=curve, scorer=d.get("scorer"), direction=d.get("direction"))
