"""Judge mode on an event loop: the search computes on a worker thread, only its judge waits are awaits.

A host that runs nodes as coroutines on one event loop (ComfyUI's executor) can run other work while
a node awaits. A judge-mode search spends most of its wall time waiting for the artist, so
:class:`JudgeHandoff` lets the host run other work during those waits, and only then:

* ``await handoff.run(search)`` starts ``search()`` (blocking: a ``run_jobs`` call) on a worker thread
  and BLOCKS the calling thread (the event loop) while the search computes, so its model calls never
  overlap the host's other work (ComfyUI's model management is not thread-safe);
* the search's judge waits go through the steerings made by ``handoff.steering(...)``: their
  ``wait_for_pick`` hands control back to the coroutine, which polls for the pick with
  ``await asyncio.sleep`` (the host runs its other work) and, once a pick, the timeout or a cancel
  comes, hands control back to the worker;
* if the coroutine itself is cancelled (the host stops the graph because another node failed or was
  interrupted), the search is told to cancel, runs to its end (it keeps its state) and the
  ``CancelledError`` goes on;
* the worker runs in a copy of the caller's context variables and with the caller's grad / inference
  mode (both are per thread in torch; ComfyUI executes under ``torch.inference_mode()``).

``handoff.abandoned`` is true once the coroutine was cancelled: include it in the search's cancel check.
"""
from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
import time
from typing import Any, Callable

import torch

from .steering import Steering

__all__ = ["JudgeHandoff"]

_DONE = object()


class _HandoffSteering(Steering):
    """A Steering whose judge wait is served by the handoff's coroutine instead of blocking its thread."""

    def __init__(self, handoff: "JudgeHandoff", on_applied=None) -> None:
        super().__init__(on_applied=on_applied)
        self._handoff = handoff

    def wait_for_pick(self, timeout_s: float, cancelled: Callable[[], bool], poll_s: float = 0.1) -> bool:
        with self.awaiting_pick_scope():
            return self._handoff._wait_on_loop(self, timeout_s, cancelled, poll_s)

    def pick_queued(self, cancelled: Callable[[], bool]) -> bool | None:
        """True: a pick is queued; False: closed or cancelled (stop waiting); None: go on waiting."""
        if self.has_pick():
            return True
        return False if self.closed or cancelled() else None


class JudgeHandoff:
    def __init__(self, poll_s: float = 0.1) -> None:
        self.poll_s = poll_s
        self.abandoned = False
        self._to_loop: queue.SimpleQueue = queue.SimpleQueue()
        self._to_worker: queue.SimpleQueue = queue.SimpleQueue()
        self._worker: threading.Thread | None = None

    def steering(self, on_applied=None) -> Steering:
        """A Steering for one search of the handed-off run (its judge waits become awaits)."""
        return _HandoffSteering(self, on_applied=on_applied)

    async def run(self, search: Callable[[], Any]) -> Any:
        """``search()`` on a worker thread; the event loop runs other work only during judge waits."""
        if self._worker is not None:
            raise RuntimeError("a JudgeHandoff runs one search call")
        context = contextvars.copy_context()
        grad, inference = torch.is_grad_enabled(), torch.is_inference_mode_enabled()

        def work():
            try:
                with torch.inference_mode(inference), torch.set_grad_enabled(grad):
                    self._to_loop.put((_DONE, context.run(search), None))
            except BaseException as exc:  # handed to the coroutine, which raises it
                self._to_loop.put((_DONE, None, exc))

        self._worker = threading.Thread(target=work, name="mils-judge-search", daemon=True)
        self._worker.start()
        finished = False
        try:
            while True:
                message = self._to_loop.get()  # blocks the loop on purpose: the search is computing
                if message[0] is _DONE:
                    finished = True
                    _, value, error = message
                    if error is not None:
                        raise error
                    return value
                steering, deadline, cancelled = message
                self._to_worker.put(await self._await_pick(steering, deadline, cancelled))
        except BaseException:
            if not finished:  # the coroutine was cancelled (or broke) while the search waited: end the search
                self._abandon()
            raise

    async def _await_pick(self, steering: _HandoffSteering, deadline: float, cancelled) -> bool:
        while True:
            state = steering.pick_queued(cancelled)
            if state is not None:
                return state
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await asyncio.sleep(min(self.poll_s, left))

    def _abandon(self) -> None:
        """The coroutine was cancelled: the search cancels, ends (saving its state), and the worker exits."""
        self.abandoned = True
        self._to_worker.put(False)
        while True:
            message = self._to_loop.get()
            if message[0] is _DONE:
                break
            self._to_worker.put(False)
        self._worker.join()

    def _wait_on_loop(self, steering, timeout_s: float, cancelled, poll_s: float) -> bool:
        """The worker's side of a judge wait: hand control to the coroutine and block until it answers."""
        if threading.current_thread() is not self._worker:  # used outside run(): an ordinary blocking wait
            return Steering.wait_for_pick(steering, timeout_s, cancelled, poll_s)
        if self.abandoned:
            return False
        self._to_loop.put((steering, time.monotonic() + max(0.0, float(timeout_s)), cancelled))
        return self._to_worker.get()
