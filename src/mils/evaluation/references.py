"""Reading reference captions: COCO captions JSON, a JSON object, CSV or JSON lines of file -> reference(s).

References are keyed by file name and looked up by the input's file name, then by its stem (so
``cat.jpg`` finds references for ``cat.png`` or ``cat`` when nothing closer matches).
"""
from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from ..errors import InputError
from .results import FILE_COLUMNS, _json, _json_lines, _pick

REF_COLUMNS = ("caption", "captions", "reference", "references", "refs", "text")
FORMATS = ("COCO captions JSON (images[{id, file_name}], annotations[{image_id, caption}]), a JSON object of "
           "file -> reference(s), a CSV with columns file,caption (one row per reference), or JSON lines "
           "{\"file\": ..., \"captions\": [...]}")


class References:
    """File name -> reference captions, with lookup by file name, then by stem."""

    def __init__(self, by_name: dict[str, list[str]], source: str):
        self.by_name = by_name
        self.source = source
        self._by_stem: dict[str, list[str]] = {}
        for name, refs in by_name.items():
            self._by_stem.setdefault(Path(name).stem, refs)

    def __len__(self) -> int:
        return len(self.by_name)

    def find(self, name: str) -> list[str] | None:
        base = Path(name).name
        return self.by_name.get(base) or self._by_stem.get(Path(base).stem)


def load_references(path: str | Path) -> References:
    path = Path(path)
    if not path.is_file():
        raise InputError("--refs", "an existing references file: " + FORMATS, str(path))
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            rows = [(row, f"{path}:{i}") for i, row in enumerate(csv.DictReader(fh), 2)]
        refs = _from_rows(rows)
    elif suffix == ".jsonl":
        refs = _from_rows([(row, f"{path}:{i}") for i, row in enumerate(_json_lines(path), 1)])
    else:
        data = _json(path)
        if isinstance(data, dict) and "annotations" in data:
            refs = _from_coco(data, str(path))
        elif isinstance(data, dict) and data and all(isinstance(v, (str, list)) for v in data.values()):
            refs = {Path(k).name: _texts(v, f"{path}: {k}") for k, v in data.items()}
        else:
            raise InputError(str(path), FORMATS)
    if not refs:
        raise InputError(str(path), "at least one reference caption", "none")
    return References(refs, str(path))


def _texts(value, source: str) -> list[str]:
    values = value if isinstance(value, list) else [value]
    texts = [v.strip() for v in values if isinstance(v, str) and v.strip()]
    if len(texts) != len(values) or not texts:
        raise InputError(source, "non-empty reference text(s)", repr(value)[:80])
    return texts


def _from_rows(rows: list[tuple[dict, str]]) -> dict[str, list[str]]:
    refs: dict[str, list[str]] = defaultdict(list)
    for row, source in rows:
        name = Path(str(_pick(row, FILE_COLUMNS, source, "file"))).name
        refs[name] += _texts(_pick(row, REF_COLUMNS, source, "reference"), source)
    return dict(refs)


def _from_coco(data: dict, source: str) -> dict[str, list[str]]:
    images, annotations = data.get("images"), data.get("annotations")
    if not isinstance(images, list):
        raise InputError(f"{source}: images", "a list of {id, file_name} (COCO captions format)", repr(images)[:80])
    if not isinstance(annotations, list):
        raise InputError(f"{source}: annotations", "a list of {image_id, caption}", repr(annotations)[:80])
    names = {}
    for i, im in enumerate(images):
        if not isinstance(im, dict) or "id" not in im or not isinstance(im.get("file_name"), str):
            raise InputError(f"{source}: images[{i}]", "an object with id and file_name", repr(im)[:80])
        names[im["id"]] = Path(im["file_name"]).name
    refs: dict[str, list[str]] = defaultdict(list)
    for i, ann in enumerate(annotations):
        if not isinstance(ann, dict) or "image_id" not in ann or "caption" not in ann:
            raise InputError(f"{source}: annotations[{i}]", "an object with image_id and caption", repr(ann)[:80])
        if ann["image_id"] not in names:
            raise InputError(f"{source}: annotations[{i}].image_id", "the id of an entry in images",
                             repr(ann["image_id"]))
        refs[names[ann["image_id"]]] += _texts(ann["caption"], f"{source}: annotations[{i}].caption")
    return dict(refs)
