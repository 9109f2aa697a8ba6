"""How many requests to keep open at once against one LLM server: an adaptive window (AIMD).

A one-slot server (Ollama with one slot, a one-slot llama.cpp server, ``transformers serve``)
answers one request at a time and queues the rest; a batching server (vLLM, SGLang) answers many
together. The window learns which it is talking to from the replies:

* it starts at one request and doubles after every window of replies that came back about as fast
  as an uncontended reply (slow start); after the first cut it grows by one per such window;
* it halves when a window's replies queue on the server (their median latency is above
  ``QUEUE_FACTOR`` times the uncontended latency), when a request times out while others were in
  flight, or when the server says it is overloaded (HTTP 429 / 503);
* it never goes above ``ceiling`` (the user's ``max_in_flight``) nor below one.

The uncontended latency is the fastest reply seen that had the server to itself, later lowered
(or slowly raised) by windows that kept their latency. Each decision uses only replies to
requests sent under the current window, so replies still draining from a larger window do not
cut it twice. Time waiting here for a free place is not part of any request's timeout: the
request is sent only when it gets its place.
"""
from __future__ import annotations

import logging
import statistics
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

logger = logging.getLogger(__name__)

QUEUE_FACTOR = 1.3  # a window whose median reply takes longer than this x uncontended has queued
DRIFT = 0.2  # how far a good window pulls the uncontended latency up towards its own median
MIN_REPLIES = 2  # replies a window of one waits for before deciding (a first reply pays for connecting)

OK, TIMEOUT, OVERLOADED, FAILED = "ok", "timeout", "overloaded", "failed"


class Slot:
    """One request's place in the window; ``shared`` is True once another request was in flight
    with it, or it was sent while the server may still be working on requests of ours that timed
    out (their latency, or their timeout, may be the server queueing our own requests)."""

    __slots__ = ("epoch", "sent", "shared", "owner")

    def __init__(self, epoch: int, sent: float, shared: bool, owner: object):
        self.epoch = epoch
        self.sent = sent
        self.shared = shared
        self.owner = owner


class AdaptiveLimit:
    """The window of requests in flight to one server (see the module doc). Thread-safe."""

    def __init__(self, ceiling: int, *, label: str = "LLM server", clock: Callable[[], float] = time.monotonic):
        self.ceiling = int(ceiling)
        self.label = label
        self._clock = clock
        self._cond = threading.Condition()
        self._window = 1
        self._live: set[Slot] = set()
        self._epoch = 0
        self._latencies: list[float] = []  # replies to requests sent in the current epoch
        self._slow_start = True
        self._baseline: float | None = None
        # a request we gave up on may keep the server busy about as long again: until then another
        # request is not alone on the server even with nothing of ours in flight (owner -> until)
        self._abandoned: dict[object, float] = {}
        self.peak = 1  # the largest window reached

    @property
    def window(self) -> int:
        """How many requests may be in flight now."""
        return self._window

    @property
    def in_flight(self) -> int:
        return len(self._live)

    @property
    def uncontended_latency(self) -> float | None:
        """Seconds an uncontended reply takes, as estimated so far (None before the first reply)."""
        return self._baseline

    # -- places
    def acquire(self, owner: object = None) -> Slot:
        """Wait for a place in the window; the caller must :meth:`release` it. ``owner`` names the
        request across its attempts (its own abandoned attempt does not make it shared)."""
        with self._cond:
            while len(self._live) >= self._window:
                self._cond.wait()
            now = self._clock()
            self._abandoned = {o: t for o, t in self._abandoned.items() if t > now}
            shared = bool(self._live) or any(o is not owner or owner is None for o in self._abandoned)
            for other in self._live:
                other.shared = True
            slot = Slot(self._epoch, now, shared, owner)
            self._live.add(slot)
            return slot

    def release(self, slot: Slot, outcome: str) -> None:
        """Give the place back with how the request went: OK, TIMEOUT, OVERLOADED or FAILED."""
        with self._cond:
            self._live.discard(slot)
            now = self._clock()
            if outcome == TIMEOUT:
                self._abandoned[slot.owner] = max(self._abandoned.get(slot.owner, now), now + (now - slot.sent))
            try:
                self._learn(slot, outcome, now - slot.sent)
            finally:
                self._cond.notify_all()

    @contextmanager
    def slot(self, owner: object = None) -> Iterator["_Outcome"]:
        """``with limit.slot() as s: ...; s.outcome = TIMEOUT`` (the default is FAILED if the
        body raises, else OK)."""
        out = _Outcome(self.acquire(owner))
        try:
            yield out
        except BaseException:
            if out.outcome is None:
                out.outcome = FAILED
            raise
        finally:
            self.release(out.slot, out.outcome or OK)

    # -- the rule
    def _learn(self, slot: Slot, outcome: str, latency: float) -> None:
        if outcome == OK and not slot.shared and (self._baseline is None or latency < self._baseline):
            self._baseline = latency
        if slot.epoch != self._epoch:
            return  # sent under an older window: that window was decided already
        if outcome == TIMEOUT:
            if slot.shared:
                self._cut(f"a request timed out after {latency:.1f} s with others in flight")
            return
        if outcome == OVERLOADED:
            self._cut("the server answered that it is overloaded")
            return
        if outcome != OK:
            return  # a refused or broken reply says nothing about queueing
        self._latencies.append(latency)
        if len(self._latencies) < max(self._window, MIN_REPLIES):
            return
        median = statistics.median(self._latencies)
        base = self._baseline if self._baseline is not None else median
        if median > QUEUE_FACTOR * base:
            self._cut(f"replies queue on the server (median {median:.2f} s, uncontended {base:.2f} s)")
            return
        self._baseline = min(median, base + DRIFT * (median - base)) if median > base else median
        self._grow()

    def _new_epoch(self, window: int) -> None:
        self._window = window
        self._epoch += 1
        self._latencies = []
        self.peak = max(self.peak, window)

    def _cut(self, why: str) -> None:
        self._slow_start = False
        old = self._window
        self._new_epoch(max(1, old // 2))
        if old != self._window:
            logger.info("%s: %s; requests in flight %d -> %d", self.label, why, old, self._window)
        else:
            logger.debug("%s: %s; keeping %d request in flight", self.label, why, old)

    def _grow(self) -> None:
        old = self._window
        new = min(self.ceiling, old * 2 if self._slow_start else old + 1)
        self._new_epoch(new)
        if new != old:
            logger.debug("%s: replies keep their latency; requests in flight %d -> %d", self.label, old, new)


class _Outcome:
    __slots__ = ("slot", "outcome")

    def __init__(self, slot: Slot):
        self.slot = slot
        self.outcome: str | None = None

    @property
    def shared(self) -> bool:
        return self.slot.shared
