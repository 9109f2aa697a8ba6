"""The artist steers `mils` runs: --steer FILE (JSON lines appended while it runs) and --interactive (a real pty)."""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devkit.toys import ToyLLM
from mils.cli import main
from mils.cli.steer import parse_command
from mils.search_types import Scored

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "a red cat on a sofa"


class _Handshake:
    def __init__(self):
        self.calls = [threading.Event() for _ in range(3)]
        self.written = [threading.Event() for _ in range(3)]


HANDSHAKE = _Handshake()


class HandshakeLLM(ToyLLM):
    """The toy LLM; at its n-th call it lets the writer thread append to the steering file, and waits for it."""

    def generate(self, prompt, params):
        n = self.calls
        if n < len(HANDSHAKE.calls):
            HANDSHAKE.calls[n].set()
            HANDSHAKE.written[n].wait(30)
        return super().generate(prompt, params)


def handshake_llm():
    return HandshakeLLM()


def test_enhance_follows_a_steering_file_appended_while_it_runs(tiny_pipelines, tmp_path, caplog):
    global HANDSHAKE
    HANDSHAKE = _Handshake()
    from devkit.tiny_diffusers import PREVIEW

    steer, out = tmp_path / "steer.jsonl", tmp_path / "out"

    def writer():
        HANDSHAKE.calls[0].wait(30)          # round 1 is asking the LLM: the file grows meanwhile
        with open(steer, "a") as f:
            f.write(json.dumps({"action": "add", "text": "a red cat on a sofa, oil painting"}) + "\n")
            f.write("this is not json\n")
            f.write(json.dumps({"action": "pin", "text": PROMPT}) + "\n")
            f.write(json.dumps({"action": "teleport"}) + "\n")
            f.write('{"action": "st')            # a line still being written
        HANDSHAKE.written[0].set()
        HANDSHAKE.calls[1].wait(30)
        with open(steer, "a") as f:
            f.write('op"}\n')
        HANDSHAKE.written[1].set()

    t = threading.Thread(target=writer)
    t.start()
    args = ["enhance", PROMPT, "--pipeline", str(tiny_pipelines["sd"]), "--llm", "py:test_cli_steer:handshake_llm",
            "--scorer", str(tiny_pipelines["clip"]), "--device", "cpu", "--keep", "2", "--new", "3", "--steps", "4",
            "--patience", "0", "--preview-size", str(PREVIEW), "--preview-steps", "2", "--final-size", "32",
            "--final-steps", "2", "--out", str(out), "--quiet", "--steer", str(steer), "--fresh"]
    code = main(args)
    t.join(30)
    assert code == 0
    res = json.loads((out / "result.json").read_text())
    assert res["stopped"] == "artist" and res["llm_calls"] == 2
    assert [(e["action"], e["status"], e["round"], e["who"]) for e in res["steering"]] == [
        ("add", "applied", 1, "file"), ("pin", "applied", 1, "file"), ("stop", "applied", 2, "file")]
    assert [s["text"] for s in res["leaderboard"] if s["pinned"]] == [PROMPT]
    warnings = [r.getMessage() for r in caplog.records if "--steer" in r.getMessage()]
    assert len(warnings) == 2 and "line 2 skipped" in warnings[0] and "line 4 skipped" in warnings[1]
    assert "action" in warnings[1]


def test_steer_needs_a_single_input(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(np.full((16, 16, 3), (200, 10, 10), np.uint8)).save(folder / "red.png")
    code = main(["caption", str(folder), "--llm", "py:devkit.toys:toy_llm", "--scorer", "py:devkit.toys:toy_encoder",
                 "--out", str(tmp_path / "o"), "--interactive", "--quiet"])
    assert code == 2 and "--interactive: expected one media file" in capsys.readouterr().err


BOARD = [Scored("a cat", 0.5, 0), Scored("a dog", 0.4, 0), Scored("a red car", 0.3, 0)]


@pytest.mark.parametrize("line, want", [
    ("p 2", ("pin", "a dog", "", ())), ("u 1", ("unpin", "a cat", "", ())), ("b 3", ("ban", "a red car", "", ())),
    ("e 2 a small dog", ("edit", "a dog", "a small dog", ())), ("a my own text", ("add", "my own text", "", ())),
    ("r 3 1", ("rank", "", "", ("a red car", "a cat"))), ("s", ("stop", "", "", ())),
])
def test_terminal_commands(line, want):
    a = parse_command(line, BOARD)
    assert (a.kind, a.text, a.new_text, a.order) == want and a.who == "cli"


@pytest.mark.parametrize("line, message", [
    ("p 4", "from 1 to 3"), ("p x", "from 1 to 3"), ("p", "needs a number"), ("e 1", "new_text"), ("a", "text"),
    ("r", "r needs numbers"), ("r 1 1", "order"), ("zap 1", "unknown command"), ("p 1 2", "one number"),
])
def test_bad_terminal_commands_explain(line, message):
    with pytest.raises(ValueError, match=message):
        parse_command(line, BOARD)


def test_an_empty_line_goes_on():
    assert parse_command("   \n", BOARD) is None


# -- a real terminal


needs_pty = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


class Terminal:
    """A `mils` process whose stdin and stderr are a pty; stdout is a pipe (the result)."""

    def __init__(self, argv, cwd):
        import pty

        master, slave = pty.openpty()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT), str(ROOT / "tests")]),
               "MILS_CACHE_DIR": str(cwd / "cache")}
        self.proc = subprocess.Popen([sys.executable, "-m", "mils", *argv], stdin=slave, stderr=slave,
                                     stdout=subprocess.PIPE, cwd=cwd, env=env, close_fds=True)
        os.close(slave)
        self.master, self.seen = master, ""

    def expect(self, text: str, timeout: float = 120.0) -> str:
        """Read until ``text`` has appeared since the last expect; return what was read."""
        deadline = time.monotonic() + timeout
        start = len(self.seen)
        while text not in self.seen[start:]:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None and not select.select([self.master], [], [], 0)[0]:
                raise AssertionError(f"never saw {text!r}; the terminal shows:\n{self.seen[-3000:]}")
            if select.select([self.master], [], [], min(left, 1.0))[0]:
                try:
                    self.seen += os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:  # the child closed the pty
                    pass
        return self.seen[start:]

    def send(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())


@needs_pty
def test_interactive_run_in_a_real_terminal(tmp_path):
    photo = tmp_path / "red.png"
    Image.fromarray(np.full((16, 16, 3), (230, 20, 20), np.uint8)).save(photo)
    term = Terminal(["caption", str(photo), "--llm", "py:devkit.toys:toy_llm", "--scorer",
                     "py:devkit.toys:toy_encoder", "--keep", "4", "--new", "5", "--steps", "4", "--pool", "image",
                     "--json", "--interactive", "--fresh"], tmp_path)
    try:
        shown = term.expect("steer> ")
        assert "round 0 of 4" in shown
        board = [line.split("  ", 2)[-1].strip() for line in shown.splitlines() if line.strip()[:2] in ("1.", "4.")]
        term.send("zap")
        assert "unknown command" in term.expect("steer> ")
        term.send("p 9")
        assert "from 1 to 4" in term.expect("steer> ")
        term.send("p 4")
        term.expect("steer> ")
        term.send("b 1")
        term.expect("steer> ")
        term.send("")
        shown = term.expect("steer> ")
        assert "round 1 of 4" in shown and "applied: pin" in shown and "applied: ban" in shown
        assert "[pinned]" in shown and board[1] in shown
        term.send("a a bright red photo")
        term.expect("steer> ")
        term.send("")
        shown = term.expect("steer> ")
        assert "round 2 of 4" in shown and "applied: add" in shown
        term.send("s")
        out, _ = term.proc.communicate(timeout=120)
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
        os.close(term.master)
    assert term.proc.returncode == 0
    res = json.loads(out)
    assert res["stopped"] == "artist" and res["llm_calls"] == 2
    assert [(e["action"], e["status"], e["who"]) for e in res["steering"]] == [
        ("pin", "applied", "cli"), ("ban", "applied", "cli"), ("add", "applied", "cli"), ("stop", "applied", "cli")]
    texts = [s["text"] for s in res["leaderboard"]]
    assert board[1] in texts and board[0] not in texts
    assert [s["text"] for s in res["leaderboard"] if s["pinned"]] == [board[1]]


@needs_pty
def test_enhance_asks_in_a_real_terminal(tiny_pipelines, tmp_path):
    from devkit.tiny_diffusers import PREVIEW

    out = tmp_path / "out"
    term = Terminal(["enhance", PROMPT, "--pipeline", str(tiny_pipelines["sd"]), "--llm", "py:devkit.toys:toy_llm",
                     "--scorer", str(tiny_pipelines["clip"]), "--device", "cpu", "--keep", "2", "--new", "3",
                     "--steps", "3", "--patience", "0", "--preview-size", str(PREVIEW), "--preview-steps", "2",
                     "--final-size", "32", "--final-steps", "2", "--out", str(out), "--interactive", "--fresh"],
                    tmp_path)
    try:
        shown = term.expect("steer> ", timeout=300)
        assert "round 0 of 3" in shown and PROMPT in shown
        term.send("e 1")
        assert "new_text" in term.expect("steer> ")
        term.send("p 1")
        term.expect("steer> ")
        term.send("")
        shown = term.expect("steer> ", timeout=300)
        assert "round 1 of 3" in shown and "applied: pin" in shown and "[pinned]" in shown
        term.send("r 2")
        term.expect("steer> ")
        term.send("")
        term.expect("steer> ", timeout=300)
        term.send("s")
        term.proc.communicate(timeout=300)
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
        os.close(term.master)
    assert term.proc.returncode == 0
    res = json.loads((out / "result.json").read_text())
    assert res["stopped"] == "artist" and res["llm_calls"] == 2
    assert [(e["action"], e["status"]) for e in res["steering"]] == [("pin", "applied"), ("rank", "applied"),
                                                                       ("stop", "applied")]
    ranked = res["steering"][1]["order"][0]
    assert res["best_prompt"] == ranked if "best_prompt" in res else res["best_text"] == ranked
    assert any(s["text"] == PROMPT and s["pinned"] for s in res["leaderboard"])
