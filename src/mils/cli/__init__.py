"""The ``mils`` command. One module per subcommand (``add_parser`` + ``run``); each only translates its
options into jobs (mils.jobs) and their results into files and text.
"""
from __future__ import annotations

import argparse
import logging
import sys

from ..errors import MilsError
from . import caption, catalog, enhance, evaluate, invert, merge, style
from .output import EXIT_INTERRUPTED, EXIT_STOPPED

log = logging.getLogger("mils")

EXIT_CODES = (f"exit codes: 0 done; 1 some inputs of a folder failed; 2 bad input or setup; {EXIT_STOPPED} the search "
              "stopped on an LLM or scorer failure (the best so far is printed/written with \"stopped\": \"error\"; "
              f"the same command again resumes it); {EXIT_INTERRUPTED} interrupted (Ctrl-C; likewise resumable)")

COMMANDS = {"caption": caption.run, "invert": invert.run, "enhance": enhance.run, "style": style.run,
            "merge": merge.run, "eval": evaluate.run, "presets": catalog.run_presets, "download": catalog.run_download}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mils", description="MILS: an LLM proposes, a multimodal model scores, repeat.",
                                     epilog=EXIT_CODES)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (caption, invert, enhance, style, merge, evaluate):
        module.add_parser(sub)
    catalog.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except MilsError as exc:
        print(f"mils: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mils: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
