"""The node help pages in web/docs/ (shown in the editor's node help panel) match the node classes.

The ComfyUI frontend (checked in 1.35.9, NodeHelpService.fetchCustomNodeHelp) asks for a custom
node's help at ``/extensions/<pack folder>/docs/<NodeId>/<locale>.md`` and then
``/extensions/<pack folder>/docs/<NodeId>.md``; ComfyUI serves the pack's WEB_DIRECTORY (./web)
under ``/extensions/<pack folder>/``. So one ``web/docs/<NodeId>.md`` per node id serves every locale.

Each page has an ``## Inputs`` table (first cell: the input name in backticks), an ``## Outputs``
table (name, type, what it is) and a ``## Cost`` section. MILS Loop's cost tables and MILS Download
Model's size table are checked against the budget presets (mils.tasks) and model presets
(mils.registry).
"""
from __future__ import annotations

import re
from pathlib import Path

import mils_pack.nodes as nodes
import pytest
from mils_pack.nodes.loop_inputs import TASK_CHOICES

from mils import registry, tasks
from mils.pools import load_pool
from mils.search import SearchConfig

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "web" / "docs"
NODE_IDS = sorted(nodes.NODE_CLASS_MAPPINGS)
RETRIES = SearchConfig().retries   # extra LLM calls when a reply has nothing new


def page(node_id: str) -> str:
    return (DOCS / f"{node_id}.md").read_text(encoding="utf-8")


def sections(text: str) -> dict[str, str]:
    """``## Heading`` -> the text under it (up to the next ``## ``)."""
    out: dict[str, str] = {}
    for chunk in re.split(r"^## ", text, flags=re.M)[1:]:
        head, _, body = chunk.partition("\n")
        out[head.strip()] = body
    return out


def table_rows(section: str) -> list[list[str]]:
    """The cells of each Markdown table row of a section, header and separator rows dropped."""
    rows = []
    for line in section.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if all(set(c) <= set("-: ") for c in cells):
            continue
        rows.append(cells)
    return rows[1:] if rows else rows   # first row is the header


def first_cell_names(section: str) -> list[str]:
    names = []
    for cells in table_rows(section):
        m = re.fullmatch(r"`([^`]+)`", cells[0])
        assert m, f"first cell {cells[0]!r} is not a `name`"
        names.append(m.group(1))
    return names


def input_names(cls) -> list[str]:
    spec = cls.INPUT_TYPES()
    return [name for part in ("required", "optional") for name in spec.get(part, {})]


def output_names(cls) -> list[str]:
    return list(getattr(cls, "RETURN_NAMES", None) or cls.RETURN_TYPES)


def test_web_directory_serves_the_docs_folder():
    import importlib.util

    spec = importlib.util.spec_from_file_location("mils_pack_root", ROOT / "__init__.py")
    pack = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pack)
    assert (ROOT / pack.WEB_DIRECTORY / "docs").resolve() == DOCS.resolve()


@pytest.mark.parametrize("node_id", NODE_IDS)
def test_every_node_has_a_page(node_id):
    path = DOCS / f"{node_id}.md"
    assert path.is_file(), f"no help page {path.relative_to(ROOT)} for node {node_id}"
    text = page(node_id)
    title = nodes.NODE_DISPLAY_NAME_MAPPINGS[node_id]
    assert text.startswith(f"# {title}\n"), f"{node_id}: the page should start with '# {title}'"
    heads = set(sections(text))
    missing = {"Inputs", "Outputs", "Typical wiring"} - heads
    assert not missing, f"{node_id}: no section {sorted(missing)}"
    assert any(h.startswith("Cost") for h in heads), f"{node_id}: no '## Cost' section"


@pytest.mark.parametrize("node_id", NODE_IDS)
def test_page_lists_exactly_the_inputs(node_id):
    cls = nodes.NODE_CLASS_MAPPINGS[node_id]
    listed = first_cell_names(sections(page(node_id))["Inputs"])
    expected = input_names(cls)
    assert sorted(listed) == sorted(expected), (
        f"{node_id}: missing {sorted(set(expected) - set(listed))}, not inputs {sorted(set(listed) - set(expected))}")


@pytest.mark.parametrize("node_id", NODE_IDS)
def test_page_lists_exactly_the_outputs_with_their_types(node_id):
    cls = nodes.NODE_CLASS_MAPPINGS[node_id]
    rows = table_rows(sections(page(node_id))["Outputs"])
    listed = [re.fullmatch(r"`([^`]+)`", r[0]).group(1) for r in rows]
    assert listed == output_names(cls), f"{node_id}: outputs {listed} != {output_names(cls)}"
    is_list = getattr(cls, "OUTPUT_IS_LIST", (False,) * len(cls.RETURN_TYPES))
    for cells, rtype, as_list in zip(rows, cls.RETURN_TYPES, is_list):
        assert f"`{rtype}`" in cells[1], f"{node_id}: output {cells[0]} should be typed `{rtype}`, not {cells[1]}"
        assert ("a list" in cells[1]) == bool(as_list), f"{node_id}: output {cells[0]}: list-ness of {cells[1]}"


def test_no_page_for_a_node_that_does_not_exist():
    strays = [p.relative_to(ROOT) for p in DOCS.iterdir()
              if (p.stem if p.is_file() else p.name) not in nodes.NODE_CLASS_MAPPINGS
              or (p.is_file() and p.suffix != ".md")]
    assert not strays, f"help pages for no node (or not .md): {strays}"
    for sub in (p for p in DOCS.iterdir() if p.is_dir()):   # locale variants: docs/<NodeId>/<locale>.md
        assert all(f.suffix == ".md" for f in sub.iterdir()), f"{sub}: only <locale>.md files belong here"


def test_download_page_lists_every_preset_with_its_size():
    rows = {re.fullmatch(r"`([^`]+)`", r[0]).group(1): r
            for r in table_rows(sections(page("MILSDownloadModel"))["Cost: download sizes"])}
    assert sorted(rows) == sorted(registry.PRESETS)
    for name, preset in registry.PRESETS.items():
        assert rows[name][1] == preset.size, f"{name}: the page says {rows[name][1]}, the registry {preset.size}"


LOOP_ROWS = {"K/N/T/patience": "knt", "pool": "pool", "LLM calls": "calls", "reply cap": "cap", "new texts": "new",
             "encodes": "encodes", "renders": "renders"}


def _expected_loop_column(task: tasks.Task, preset: str) -> dict[str, str]:
    b = task.budget(preset)
    t, n = b.steps, b.new_per_step
    lo = min(b.patience, t) if b.patience else t
    calls = f"{t} (max {(RETRIES + 1) * t})" if lo == t else f"{lo}–{t} (max {(RETRIES + 1) * t})"
    if task.renders and task.pool:  # style transfer: every starting instruction is rendered too
        size = len(load_pool(task.pool, limit=b.pool_limit))
        pool, encodes, renders = f"{size:,}", f"≤ {size + t * n} images", f"≤ {size + t * n}"
    elif task.renders:
        pool, encodes, renders = "your prompt", f"1 text + ≤ {1 + t * n} images", f"≤ {1 + t * n}"
    else:
        size = len(load_pool(task.pool, limit=b.pool_limit))
        pool, encodes, renders = f"{size:,}", f"{size:,} + ≤ {t * n}", "0"
    return {"knt": f"{b.keep}/{n}/{t}/{b.patience or 'off'}", "pool": pool, "calls": calls,
            "cap": str(b.max_new_tokens), "new": f"≤ {t * n}", "encodes": encodes, "renders": renders}


def test_loop_cost_tables_match_the_budget_presets():
    """One ``### `task`, `task` `` table per group of tasks under Cost: a row per quantity, a column per preset."""
    cost = sections(page("MILSLoop"))["Cost"]
    seen = set()
    for chunk in re.split(r"^### ", cost, flags=re.M)[1:]:
        head, _, body = chunk.partition("\n")
        header = next(line for line in body.splitlines() if line.startswith("|"))
        presets = [c.strip() for c in header.strip().strip("|").split("|")][1:]
        rows = {LOOP_ROWS[cells[0]]: cells[1:] for cells in table_rows(body)}
        assert sorted(rows) == sorted(LOOP_ROWS.values()), f"MILS Loop cost table {head}: rows {sorted(rows)}"
        for name in re.findall(r"`([^`]+)`", head):
            task = tasks.get_task(name)
            for i, preset in enumerate(presets):
                assert (name, preset) not in seen, f"two columns for {name}/{preset}"
                seen.add((name, preset))
                got = {key: cells[i] for key, cells in rows.items()}
                exp = _expected_loop_column(task, preset)
                assert got == exp, f"MILS Loop cost {name}/{preset}: page {got}, code {exp}"
    wanted = {(t, p) for t in TASK_CHOICES if t != "auto" for p in tasks.get_task(t).presets}
    assert seen == wanted, f"missing {sorted(wanted - seen)}, extra {sorted(seen - wanted)}"
