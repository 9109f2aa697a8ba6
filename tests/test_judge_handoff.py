"""Judge mode on an event loop (mils.judge_handoff): other coroutines run while the search waits for the artist,
never while it computes; a pick, the timeout or a cancel end the wait; a cancelled coroutine cancels the search."""
import asyncio
import contextvars
import threading
import time

import pytest
import torch

from mils.judge_handoff import JudgeHandoff
from mils.steering import SteerAction, Steering

ROUND_S = 0.15


class FakeSearch:
    """Computes (holding a flag), waits for the artist, computes again, waits again."""

    def __init__(self, steering, timeout_s=0.4, cancelled=lambda: False):
        self.steering, self.timeout_s, self.cancelled = steering, timeout_s, cancelled
        self.computing = False
        self.answers = []

    def compute(self):
        self.computing = True
        time.sleep(ROUND_S)
        self.computing = False

    def __call__(self):
        for _ in range(2):
            self.compute()
            self.answers.append(self.steering.wait_for_pick(self.timeout_s, self.cancelled))
            self.steering.take()   # the driver applies what was queued
        self.compute()
        return "found"


async def other_branch(search, seen, stop):
    """Another node's work on the same loop: records whether the search was computing each time it ran."""
    while not stop.is_set():
        seen.append(search.computing)
        await asyncio.sleep(0.01)


def run_with_other_branch(handoff, search):
    seen, stop = [], asyncio.Event()

    async def main():
        other = asyncio.create_task(other_branch(search, seen, stop))
        await asyncio.sleep(0)
        seen.clear()   # from the search's start on
        try:
            return await handoff.run(search)
        finally:
            stop.set()
            await other

    return asyncio.run(main()), seen


def test_other_work_runs_while_the_search_waits_and_never_while_it_computes():
    handoff = JudgeHandoff(poll_s=0.02)
    search = FakeSearch(handoff.steering())
    result, seen = run_with_other_branch(handoff, search)
    assert result == "found" and search.answers == [False, False]   # both waits timed out
    assert len(seen) >= 4 and not any(seen), seen


def test_a_blocking_steering_holds_up_the_other_work_for_the_whole_search():
    """The contrast: without the handoff's steering, the wait blocks the loop as any sync node does."""
    handoff = JudgeHandoff(poll_s=0.02)
    search = FakeSearch(Steering())
    result, seen = run_with_other_branch(handoff, search)
    assert result == "found" and seen == []


async def until_waiting(steering):
    """Until the search waits for a pick (the coroutine then polls for it: the loop is free)."""
    while not steering.awaiting_pick:
        await asyncio.sleep(0.01)


def test_a_pick_ends_the_wait_and_the_timeout_is_not_waited_out():
    handoff = JudgeHandoff(poll_s=0.02)
    steering = handoff.steering()
    search = FakeSearch(steering, timeout_s=120)

    async def main():
        task = asyncio.create_task(handoff.run(search))
        for k in range(2):
            await until_waiting(steering)
            steering.submit(SteerAction("rank", order=("a red square",), who="editor"))
            while len(search.answers) <= k:
                await asyncio.sleep(0.01)
        return await task

    assert asyncio.run(asyncio.wait_for(main(), 60)) == "found"
    assert search.answers == [True, True]


def test_a_cancel_ends_the_wait_at_once():
    flag = threading.Event()
    handoff = JudgeHandoff(poll_s=0.02)
    search = FakeSearch(handoff.steering(), timeout_s=120, cancelled=flag.is_set)
    flag.set()
    assert asyncio.run(asyncio.wait_for(handoff.run(search), 60)) == "found"
    assert search.answers == [False, False]


def test_a_cancelled_coroutine_cancels_the_search_which_ends_and_its_thread_exits():
    handoff = JudgeHandoff(poll_s=0.02)
    steering = handoff.steering()
    search = FakeSearch(steering, timeout_s=120, cancelled=lambda: handoff.abandoned)
    ended = []

    def search_then_note():
        try:
            return search()
        finally:
            ended.append(handoff.abandoned)

    async def main():
        task = asyncio.create_task(handoff.run(search_then_note))
        await until_waiting(steering)
        task.cancel()   # as asyncio.run does to a pending node when ComfyUI stops the graph
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(main(), 60))
    # the first wait was cut short, the second was not waited at all: the search ran to its end and exited
    assert ended == [True] and search.answers == [False, False] and not handoff._worker.is_alive()


def test_the_search_error_reaches_the_caller_with_its_type():
    def broken():
        raise ValueError("the scorer broke")

    with pytest.raises(ValueError, match="the scorer broke"):
        asyncio.run(JudgeHandoff().run(broken))


def test_the_search_runs_in_the_callers_context_and_inference_mode():
    var = contextvars.ContextVar("node", default=None)
    seen = {}

    def search():
        seen.update(node=var.get(), inference=torch.is_inference_mode_enabled(), grad=torch.is_grad_enabled(),
                    thread=threading.current_thread().name)

    async def main():
        var.set("12")
        with torch.inference_mode():
            await JudgeHandoff().run(search)

    asyncio.run(main())
    assert seen == {"node": "12", "inference": True, "grad": False, "thread": "mils-judge-search"}


def test_a_steering_used_outside_a_run_waits_as_any_steering():
    steering = JudgeHandoff().steering()
    steering.submit(SteerAction("stop"))
    assert steering.wait_for_pick(5, lambda: False) is True
    assert Steering().wait_for_pick(0.05, lambda: False) is False
