"""Connecting to Ray for ``--ray [ADDRESS]``, with errors that name the option and the extra."""
from __future__ import annotations

import logging
import socket
from dataclasses import dataclass

from ..errors import InputError, MilsError

log = logging.getLogger(__name__)

EXTRA_HINT = 'install the extra: pip install "mils-nodes[ray]"'
AUTO = "auto"       # connect to the cluster `ray start` runs on this machine
CONNECT_TIMEOUT_S = 5.0


class RayMissingError(MilsError):
    """--ray was asked for but the ``ray`` package is not installed."""


def require_ray():
    """The ``ray`` module, or a RayMissingError naming the extra."""
    try:
        import ray
    except ImportError as exc:
        raise RayMissingError(f"--ray needs the ray package, which is not importable ({exc}); {EXTRA_HINT}") from None
    if not hasattr(ray, "init"):  # a folder named ray on sys.path, not the package
        raise RayMissingError(f"--ray needs the ray package; `import ray` found {list(getattr(ray, '__path__', []))} "
                              f"instead; {EXTRA_HINT}")
    return ray


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of an explicit GCS address (``HOST:PORT`` or ``ray://HOST:PORT``); None for other forms."""
    rest = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or "127.0.0.1", int(port)


def _check_reachable(address: str) -> None:
    """Fail in seconds, not after Ray's long connection retries, when nothing listens at the address."""
    hp = _host_port(address)
    if hp is None:
        return
    try:
        socket.create_connection(hp, timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise InputError("--ray", "the address of a running Ray cluster (`ray start --head` prints it), "
                                  "`auto`, or no value for a local Ray", f"{address} (unreachable: {exc})") from None


@dataclass
class Connection:
    started_here: bool      # True: this process started or joined Ray and shuts it down at the end

    def close(self) -> None:
        if self.started_here:
            require_ray().shutdown()


def connect(address: str | None) -> Connection:
    """Join Ray: ``""`` local, ``auto`` the running cluster, else that address. Reuses a Ray already initialised."""
    ray = require_ray()
    address = (address or "").strip()
    if address and address != AUTO:
        _check_reachable(address)
    if ray.is_initialized():
        log.info("using the Ray session this process already holds (--ray %r not re-initialised)", address)
        return Connection(started_here=False)
    try:
        ray.init(address=address or None, log_to_driver=True, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = "a cluster started with `ray start --head`" if address == AUTO else "a running Ray cluster"
        raise InputError("--ray", f"{where} to connect to", f"{address or 'local'} ({exc})") from None
    return Connection(started_here=True)


def cluster_workers() -> tuple[int, str]:
    """Default --workers: the cluster's GPUs if it has any, else its CPUs (at least 1); and which it counted."""
    resources = require_ray().cluster_resources()
    gpus = int(resources.get("GPU", 0))
    if gpus:
        return gpus, "GPU"
    return max(1, int(resources.get("CPU", 1))), "CPU"


def worker_resources(workers: int) -> dict:
    """Ray resources per actor: one GPU each where the cluster has enough, else an even share of them / the CPUs."""
    resources = require_ray().cluster_resources()
    gpus, cpus = resources.get("GPU", 0), resources.get("CPU", 1)
    if gpus:
        return {"num_gpus": min(1.0, gpus / workers), "num_cpus": 0}
    return {"num_cpus": min(1.0, max(cpus, 1) / workers)}
