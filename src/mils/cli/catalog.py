"""`mils presets` (model and budget presets) and `mils download` (explicit downloads)."""
from __future__ import annotations

from pathlib import Path

from .. import registry
from ..tasks import TASKS


def add_parsers(sub) -> None:
    p = sub.add_parser("presets", help="list model presets and budget presets")
    p.add_argument("--models-dir", type=Path)
    p = sub.add_parser("download", help="download model presets (explicitly; nothing downloads at import)")
    p.add_argument("names", nargs="+", help="preset names (see `mils presets`)")
    p.add_argument("--models-dir", type=Path)


def run_presets(args) -> int:
    models_dir = args.models_dir or registry.default_models_dir()
    print(f"Model presets (models dir: {models_dir}):")
    for p in registry.PRESETS.values():
        mark = "installed" if registry.is_downloaded(p, models_dir) else "not downloaded"
        print(f"  {p.name:24s} {p.kind:10s} {p.size:>7s}  {p.description} [{mark}]")
    print("\nBudget presets (K shown/kept, N new per round, T rounds, P patience):")
    for t in TASKS.values():
        row = "  ".join(f"{n}: K={b.keep} N={b.new_per_step} T={b.steps}" + (f" P={b.patience}" if b.patience else "")
                        for n, b in t.presets.items())
        print(f"  {t.name:15s} {row}")
    print("\nDefaults per task: " + ", ".join(f"{k}: {v['llm']} + {v['scorer']}"
                                             for k, v in registry.TASK_DEFAULTS.items()))
    return 0


def run_download(args) -> int:
    for name in args.names:
        path = registry.download(name, args.models_dir)
        print(f"{name}: {path}")
    return 0
