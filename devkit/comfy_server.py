"""A real ComfyUI server with this pack loaded, for the opt-in integration tests and the ComfyUI bench.

Not named ``server.py`` on purpose: ComfyUI's own top-level module is ``server``; the in-process tests
put the ComfyUI checkout on ``sys.path``, and a module of ours named ``server`` (pytest also puts test
folders on ``sys.path``) could shadow it or be shadowed by it. ``devkit.comfy_server`` never collides.

Used by tests/comfyui/* (session fixtures), bench/bench_comfyui.py and devkit/build_workflows.py,
all run from the repo root (``python -m pytest``, ``python -m bench.bench_comfyui``):

    paths = comfy_paths()                         # None when COMFY_DIR is not set (skip)
    base = prepare_base(tmp_dir, paths)           # custom_nodes/mils_nodes -> this repo, tiny models
    with start_server(base, paths) as srv:        # main.py --cpu on a free 127.0.0.1 port
        pid = srv.queue(graph); hist = srv.wait_history(pid, timeout=60)

Everything here uses the standard library only (plus websocket-client when present, for progress
events), and every wait has a timeout.
"""
from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The pack folder linked into custom_nodes: this checkout, unless MILS_PACK_DIR names another one.
PACK_DIR = Path(os.environ.get("MILS_PACK_DIR") or REPO).resolve()
PACK_NAME = "mils_nodes"
LLM_NAME = "tiny-llama"
SCORER_NAME = "tiny-clip"
CKPT_NAME = "tiny-sd15.safetensors"
START_TIMEOUT = float(os.environ.get("COMFY_START_TIMEOUT", "90"))


# --- where ComfyUI is ------------------------------------------------------------------------

@dataclass(frozen=True)
class ComfyPaths:
    comfy_dir: Path
    python: str
    comfy_cli: str | None    # comfy-cli's `comfy`, or None when not installed

    @property
    def venv_bin(self) -> Path:
        return Path(self.python).parent


def skip_reason() -> str | None:
    comfy_dir = os.environ.get("COMFY_DIR")
    if not comfy_dir:
        return "set COMFY_DIR to a ComfyUI source tree (e.g. v0.8.0) to run the ComfyUI server tests"
    if not (Path(comfy_dir) / "main.py").is_file():
        return f"COMFY_DIR={comfy_dir} has no main.py (not a ComfyUI tree)"
    return None


def comfy_paths() -> ComfyPaths | None:
    """COMFY_DIR, the python that runs it (COMFY_PYTHON, else the venv next to COMFY_DIR, else this
    python) and comfy-cli (COMFY_CLI, else next to that python, else on PATH). None without COMFY_DIR."""
    if skip_reason():
        return None
    comfy_dir = Path(os.environ["COMFY_DIR"]).resolve()
    python = os.environ.get("COMFY_PYTHON")
    if not python:
        for cand in (comfy_dir.parent / "venv" / "bin" / "python", comfy_dir / "venv" / "bin" / "python",
                     comfy_dir / ".venv" / "bin" / "python"):
            if cand.is_file():
                python = str(cand)
                break
    python = python or sys.executable
    cli = os.environ.get("COMFY_CLI")
    if not cli:
        cand = Path(python).parent / "comfy"
        cli = str(cand) if cand.is_file() else shutil.which("comfy")
    return ComfyPaths(comfy_dir, python, cli)


# --- the base directory: pack symlink + tiny models --------------------------------------------

def _tiny_sd15_candidates(paths: ComfyPaths) -> list[Path]:
    out = []
    if os.environ.get("MILS_TINY_SD15"):
        out.append(Path(os.environ["MILS_TINY_SD15"]))
    out += [paths.comfy_dir.parent / "base" / "models" / "checkpoints" / CKPT_NAME,
            paths.comfy_dir / "models" / "checkpoints" / CKPT_NAME]
    return out


def place_tiny_sd15(dest: Path, paths: ComfyPaths, *, timeout: float = 180) -> Path:
    """Symlink an existing tiny SD1.5 checkpoint (MILS_TINY_SD15, or one left next to COMFY_DIR), else
    generate one with ComfyUI's classes (a few seconds, 304 MB; devkit.tiny_models.make_tiny_sd15)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        return dest
    for cand in _tiny_sd15_candidates(paths):
        if cand.is_file() and cand.stat().st_size > 1_000_000:
            dest.symlink_to(cand.resolve())
            return dest
    from .tiny_models import make_tiny_sd15

    make_tiny_sd15(paths.comfy_dir, dest, python=paths.python, timeout=timeout)
    return dest


def prepare_base(base: Path, paths: ComfyPaths, *, checkpoint: bool = True) -> Path:
    """BASE/custom_nodes/mils_nodes -> this repo, models/LLM/tiny-llama, models/mils/tiny-clip,
    models/checkpoints/tiny-sd15.safetensors, and an input/ folder."""
    from .tiny_models import make_tiny_llama, make_tiny_open_clip_dir

    base = Path(base)
    (base / "custom_nodes").mkdir(parents=True, exist_ok=True)
    for sub in ("input", "output", "temp", "user"):
        (base / sub).mkdir(exist_ok=True)
    link = base / "custom_nodes" / PACK_NAME
    if not link.exists():
        link.symlink_to(PACK_DIR, target_is_directory=True)
    llm = base / "models" / "LLM" / LLM_NAME
    if not (llm / "config.json").exists():
        make_tiny_llama(llm)
    clip = base / "models" / "mils" / SCORER_NAME
    if not clip.exists():
        src = Path(make_tiny_open_clip_dir(base / "build").removeprefix("local-dir:"))
        clip.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, clip)
        shutil.rmtree(base / "build", ignore_errors=True)
    if checkpoint:
        place_tiny_sd15(base / "models" / "checkpoints" / CKPT_NAME, paths)
    return base


# --- the server --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerError(RuntimeError):
    pass


@dataclass
class ComfyServer:
    base: Path
    paths: ComfyPaths
    port: int
    proc: subprocess.Popen
    log_path: Path
    client_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- http --
    def request(self, method: str, path: str, body: dict | None = None, *, timeout: float = 30):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            raw, status = e.read(), e.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def get(self, path: str, *, timeout: float = 30):
        status, body = self.request("GET", path, timeout=timeout)
        if status != 200:
            raise ServerError(f"GET {path}: HTTP {status}: {str(body)[:500]}")
        return body

    def post(self, path: str, body: dict | None = None, *, timeout: float = 30):
        return self.request("POST", path, body if body is not None else {}, timeout=timeout)

    def alive(self) -> bool:
        if self.proc.poll() is not None:
            return False
        try:
            return "system" in self.get("/system_stats", timeout=10)
        except (OSError, ServerError):
            return False

    # -- prompts --
    def queue(self, prompt: dict, *, client_id: str | None = None) -> str:
        status, body = self.post("/prompt", {"prompt": prompt, "client_id": client_id or self.client_id})
        if status != 200 or not isinstance(body, dict) or "prompt_id" not in body:
            raise ServerError(f"POST /prompt: HTTP {status}: {json.dumps(body)[:2000]}")
        return body["prompt_id"]

    def wait_history(self, prompt_id: str, timeout: float = 120) -> dict:
        """The /history entry of a finished prompt (polled; ComfyUI writes it after the last ws event)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hist = self.get(f"/history/{prompt_id}")
            if prompt_id in hist and hist[prompt_id].get("status", {}).get("status_str"):
                return hist[prompt_id]
            if self.proc.poll() is not None:
                raise ServerError(f"the server died while running {prompt_id}:\n{self.log_tail()}")
            time.sleep(0.2)
        raise TimeoutError(f"prompt {prompt_id} not finished after {timeout:.0f} s:\n{self.log_tail()}")

    def run(self, prompt: dict, timeout: float = 120) -> dict:
        return self.wait_history(self.queue(prompt), timeout)

    # -- log --
    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, n: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])

    def log_offset(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    # -- lifecycle --
    def stop(self, timeout: float = 15) -> None:
        """Stop the server by its pid (the process we started, nothing else)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)

    def __enter__(self) -> "ComfyServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM the server if the process that started it dies (Linux)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def server_env(base: Path) -> dict:
    env = dict(os.environ)
    env.update({"PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "MILS_CACHE_DIR": str(base / "mils-cache"), "TOKENIZERS_PARALLELISM": "false"})
    return env


def frontend_args() -> list[str]:
    """``--front-end-root`` for MILS_FRONTEND_ROOT: a frontend other than the one ComfyUI pins, e.g. the
    ``static`` folder of ``pip install --no-deps --target DIR comfyui-frontend-package==1.58.1`` (or DIR)."""
    value = os.environ.get("MILS_FRONTEND_ROOT")
    if not value:
        return []
    root = Path(value).expanduser().resolve()
    if (root / "comfyui_frontend_package" / "static").is_dir():
        root = root / "comfyui_frontend_package" / "static"
    if not (root / "index.html").is_file():
        raise ServerError(f"MILS_FRONTEND_ROOT={value}: expected a built frontend (a folder with index.html, or a "
                          "pip --target folder of comfyui-frontend-package)")
    return ["--front-end-root", str(root)]


def start_server(base: Path, paths: ComfyPaths, *, port: int | None = None, timeout: float = START_TIMEOUT,
                 extra_args: tuple[str, ...] = ()) -> ComfyServer:
    """Start main.py --cpu on 127.0.0.1 and wait (bounded) until it answers; raise with the log if not."""
    base = Path(base).resolve()
    port = port or free_port()
    log_path = base / "server.log"
    cmd = [paths.python, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port), "--base-directory",
           str(base), "--disable-auto-launch", "--database-url", "sqlite:///:memory:", "--disable-api-nodes",
           *frontend_args(), *extra_args]
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, cwd=paths.comfy_dir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=server_env(base), preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    log.close()
    (base / "server.pid").write_text(str(proc.pid))
    srv = ComfyServer(base, paths, port, proc, log_path)
    atexit.register(srv.stop)  # also when the caller forgets to stop it
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"ComfyUI exited with {proc.returncode} during start-up:\n{srv.log_tail()}")
        try:
            srv.get("/system_stats", timeout=5)
            return srv
        except (OSError, ServerError):
            time.sleep(0.5)
    srv.stop()
    raise ServerError(f"ComfyUI did not answer on port {port} within {timeout:.0f} s:\n{srv.log_tail()}")


def import_failures(log: str, pack: str = PACK_NAME) -> list[str]:
    """Lines of ComfyUI's start-up log that report the pack failed to import."""
    return [ln for ln in log.splitlines() if "IMPORT FAILED" in ln and pack in ln]


def count_model_loads(log: str) -> int:
    """Models the MILS engine loaded (its model cache logs 'loading <kind> <source> (...)' at INFO)."""
    return len(re.findall(r"^loading \w+ \S", log, re.M))


# --- websocket events (optional: websocket-client) ---------------------------------------------

class WsListener:
    """Collects ComfyUI websocket JSON events for one client id in a background thread.

    ``available`` is False when websocket-client is not installed; callers then fall back to polling.
    """

    def __init__(self, srv: ComfyServer, client_id: str | None = None):
        self.client_id = client_id or uuid.uuid4().hex
        self.events: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        self._ws = None
        self._thread = None
        try:
            import websocket  # websocket-client
        except ImportError:
            self.available = False
            return
        self.available = True
        self._ws = websocket.create_connection(f"ws://127.0.0.1:{srv.port}/ws?clientId={self.client_id}", timeout=10)
        self._ws.settimeout(0.5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        import websocket

        while not self._stop.is_set():
            try:
                msg = self._ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:
                return
            if isinstance(msg, str):
                try:
                    m = json.loads(msg)
                except ValueError:
                    continue
                with self._lock:
                    self.events.append((m.get("type"), m.get("data") or {}))

    def of(self, kind: str) -> list[dict]:
        with self._lock:
            return [d for t, d in self.events if t == kind]

    def wait_for(self, pred, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if any(pred(t, d) for t, d in self.events):
                    return True
            time.sleep(0.1)
        return False

    def close(self):
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=3)
        if self._ws is not None:
            try:
                self._ws.close()
            except Exception:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- history helpers ---------------------------------------------------------------------------

def messages(hist: dict, kind: str) -> list[dict]:
    return [d for t, d in hist.get("status", {}).get("messages", []) if t == kind]


def cached_nodes(hist: dict) -> set[str]:
    return {n for m in messages(hist, "execution_cached") for n in m.get("nodes", [])}


def run_seconds(hist: dict) -> float:
    """execution_start to the last status message, from ComfyUI's own timestamps (ms)."""
    msgs = hist.get("status", {}).get("messages", [])
    ts = [d.get("timestamp") for _, d in msgs if d.get("timestamp")]
    return (max(ts) - min(ts)) / 1000.0 if len(ts) >= 2 else float("nan")


def comfy_cli_run(paths: ComfyPaths, srv: ComfyServer, workflow: Path, *, home: Path, timeout: float = 180,
                  extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`comfy --skip-prompt run --workflow FILE --host 127.0.0.1 --port P --wait` with a private HOME."""
    if not paths.comfy_cli:
        raise FileNotFoundError("comfy-cli (`comfy`) not found: pip install comfy-cli, or set COMFY_CLI")
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HOME=str(home), COMFY_NO_WATCH="1", NO_COLOR="1")
    return subprocess.run([paths.comfy_cli, "--skip-prompt", "run", "--workflow", str(workflow), "--host", "127.0.0.1",
                           "--port", str(srv.port), "--wait", "--timeout", str(int(timeout)), *extra],
                          capture_output=True, text=True, timeout=timeout + 30, stdin=subprocess.DEVNULL, env=env)


def parse_cli_envelope(stdout: str) -> dict | None:
    """comfy-cli prints one JSON envelope when stdout is not a TTY; None when there is none."""
    text = stdout.strip()
    start = text.find("{")
    if start < 0:
        return None
    try:
        return json.loads(text[start:])
    except ValueError:
        return None


def renderer_available() -> bool:
    return (PACK_DIR / "nodes" / "comfy_render.py").is_file()
