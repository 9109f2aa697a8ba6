"""The artist steers a command-line search: ``--steer FILE`` (JSON lines appended while it runs) and
``--interactive`` (asked in the terminal after every round). Both feed one mils.steering inbox.

``--steer FILE``: each line a JSON object as mils.steering.parse_action reads it, e.g.
``{"action": "pin", "text": "..."}``, ``{"action": "rank", "order": ["...", "..."]}``,
``{"action": "stop"}``. The file is read from its start, then followed: after every round the lines
appended since are taken (only complete lines, ending in a newline). A bad line is reported on
stderr with its line number and skipped; the run goes on.

``--interactive``: after every round (the start's scoring included) the top K are shown numbered on
stderr and commands are read from stdin until an empty line (go on) or ``s`` (stop): ``p N`` pin,
``u N`` unpin, ``b N`` ban, ``e N TEXT`` edit, ``a TEXT`` add, ``r N M ...`` rank (best first), ``?``
help. The actions apply before the next round; what was applied or rejected is shown at the next
prompt. End of input turns the questions off.
"""
from __future__ import annotations

import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

from ..errors import InputError
from ..steering import SteerAction, Steering, parse_action

log = logging.getLogger(__name__)

__all__ = ["CliSteering", "add_steer_args", "check_steer_args", "cli_steering", "parse_command"]

WAIT_FOR_TERMINAL_S = 7 * 24 * 3600.0   # judge mode's timeout with --interactive: the terminal's answer ends it
HELP = ("p N pin, u N unpin, b N ban, e N TEXT edit, a TEXT add, r N M ... rank (best first), s stop, "
        "empty line: go on")


def add_steer_args(p) -> None:
    g = p.add_argument_group("steering (the artist's hand in the search)")
    g.add_argument("--steer", type=Path, metavar="FILE",
                   help="read steering actions appended to FILE while the search runs, one JSON object a line: "
                        '{"action": "pin"|"unpin"|"ban"|"add"|"stop", "text": ...}, '
                        '{"action": "edit", "text": ..., "new_text": ...}, {"action": "rank", "order": [...]}')
    g.add_argument("--interactive", action="store_true",
                   help="after every round show the top K and ask: " + HELP)


def check_steer_args(args, *, single: bool, what: str = "a single input") -> None:
    """Steering takes one search; a folder, a file of prompts or a cluster run get a clear error."""
    steer, interactive = getattr(args, "steer", None), getattr(args, "interactive", False)
    if steer is None and not interactive:
        return
    if not single:
        raise InputError("--steer" if steer is not None else "--interactive", f"{what} (it steers one search)")
    if steer is not None and steer.is_dir():
        raise InputError("--steer", "a file to read JSON-lines actions from (it may not exist yet)",
                         f"the folder {steer}")


def parse_command(line: str, board) -> SteerAction | None:
    """One terminal command as an action (None: go on); ValueError with a one-line explanation if bad.
    ``board``: the candidates shown, numbered from 1."""
    words = line.strip().split(maxsplit=1)
    if not words:
        return None
    cmd, rest = words[0].lower(), (words[1] if len(words) > 1 else "")

    def pick(token: str):
        if not token.isdigit() or not 1 <= int(token) <= len(board):
            raise ValueError(f"{token!r} is not a number from 1 to {len(board)}")
        return board[int(token) - 1].text

    def number_and_rest():
        parts = rest.split(maxsplit=1)
        if not parts:
            raise ValueError(f"{cmd} needs a number from 1 to {len(board)}")
        return pick(parts[0]), (parts[1] if len(parts) > 1 else "")

    if cmd in ("p", "u", "b"):
        text, extra = number_and_rest()
        if extra:
            raise ValueError(f"{cmd} takes one number, got {rest!r}")
        obj = {"action": {"p": "pin", "u": "unpin", "b": "ban"}[cmd], "text": text}
    elif cmd == "e":
        text, new = number_and_rest()
        obj = {"action": "edit", "text": text, "new_text": new}
    elif cmd == "a":
        obj = {"action": "add", "text": rest}
    elif cmd == "r":
        if not rest.split():
            raise ValueError("r needs numbers, best first, e.g. r 3 1")
        obj = {"action": "rank", "order": [pick(t) for t in rest.split()]}
    elif cmd == "s":
        obj = {"action": "stop"}
    else:
        raise ValueError(f"unknown command {cmd!r}; {HELP}")
    try:
        return parse_action(obj, who="cli")
    except InputError as e:
        raise ValueError(str(e)) from None


class CliSteering(Steering):
    """The inbox of a command-line search: fed from a followed file and/or the terminal."""

    def __init__(self, file: Path | None = None, interactive: bool = False, *, stdin=None, out=None):
        super().__init__()
        self.file, self.interactive = file, interactive
        self.stdin, self.out = stdin or sys.stdin, out or sys.stderr
        self._offset = self._lineno = 0
        self._shown_events = 0
        self.record_ = None            # the last round's StepRecord (what the terminal shows)

    # -- the file
    def take(self) -> list[SteerAction]:
        self._follow()
        return super().take()

    def _follow(self) -> None:
        if self.file is None:
            return
        try:
            with open(self.file, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        except OSError as e:
            log.warning("--steer %s: cannot read it (%s)", self.file, e)
            return
        end = data.rfind(b"\n") + 1       # only complete lines; the rest is read when it is finished
        self._offset += end
        for raw in data[:end].splitlines():
            self._lineno += 1
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                action = parse_action(json.loads(line), who="file")
            except (ValueError, InputError) as e:  # JSONDecodeError is a ValueError
                log.warning("--steer %s line %d skipped: %s", self.file, self._lineno, e)
                continue
            super().submit(action)

    # -- the terminal (judge mode's hook)
    def progress(self, inner=None):
        def on_round(rec, total):
            self.record_, self.total = rec, total
            if inner is not None:
                inner(rec, total)
        return on_round

    def wait_for_pick(self, timeout_s: float, cancelled, poll_s: float = 0.1) -> bool:
        if not self.interactive or self.record_ is None:
            return super().wait_for_pick(0.0, cancelled, poll_s)
        return self._ask()

    def _say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _ask(self) -> bool:
        rec = self.record_
        for ev in self.events()[self._shown_events:]:
            self._say(f"  {ev['status']}: {ev['action']} {(ev['text'] or ' > '.join(ev['order']))[:60]!r}"
                      + (f" ({ev['reason']})" if ev["reason"] else ""))
        self._shown_events = len(self.events())
        self._say(f"round {rec.step} of {getattr(self, 'total', '?')}: the top {len(rec.leaderboard)} "
                  f"(best first)")
        for i, s in enumerate(rec.leaderboard, 1):
            self._say(f"  {i}. {s.shown or f'{s.score:.4f}'}{'  [pinned]' if s.pinned else ''}  {s.text}")
        self._say(f"steer: {HELP}")
        while True:
            self.out.write("steer> ")
            self.out.flush()
            line = self.stdin.readline()
            if not line:              # end of input: no more questions
                self.interactive = False
                return False
            try:
                action = parse_command(line, rec.leaderboard)
            except ValueError as e:
                self._say(f"  ? {e}")
                continue
            if action is None:
                return True
            self.submit(action)
            self._say(f"  queued: {action.kind}")
            if action.kind == "stop":
                return True


def cli_steering(args, job):
    """``(job, steering)``: the job with the command's steering inbox and judge mode (the job unchanged and
    None without --steer / --interactive)."""
    steer, interactive = getattr(args, "steer", None), getattr(args, "interactive", False)
    if steer is None and not interactive:
        return job, None
    steering = CliSteering(steer, interactive)
    return replace(job, steering=steering, judge_timeout_s=WAIT_FOR_TERMINAL_S if interactive else None), steering
