"""The per-client limits: a sliding minute and a concurrency cap, one table for every worker process."""

from __future__ import annotations

import os
import time

from gateway.limits import ClientLimiter


def _in_child(fn) -> int:
    """Run ``fn`` in a forked process (as ``serve --workers`` does) and return its exit code."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = fn()
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_rate_counts_every_process_together():
    limiter = ClientLimiter(per_minute=5, concurrency=100)

    def three_requests() -> int:
        codes = [limiter.enter("client-a") for _ in range(3)]
        for _ in range(3):
            limiter.leave("client-a")
        return 0 if codes == [None, None, None] else 3

    assert _in_child(three_requests) == 0
    assert [limiter.enter("client-a") for _ in range(3)][:2] == [None, None]  # 3 + 2 = the limit of 5
    retry = limiter.enter("client-a")
    assert retry is not None and 1 <= retry <= 60
    assert limiter.enter("client-b") is None  # another client has its own minute


def test_concurrency_counts_requests_open_in_other_processes():
    limiter = ClientLimiter(per_minute=100, concurrency=2)
    assert _in_child(lambda: 0 if limiter.enter("c") is None and limiter.enter("c") is None else 1) == 0
    assert limiter.open_requests("c") == 2
    assert limiter.enter("c") == 1  # both slots are held by the other process
    assert _in_child(lambda: (limiter.leave("c"), 0)[1]) == 0
    assert limiter.enter("c") is None and limiter.open_requests("c") == 2


def test_retry_after_is_when_the_oldest_second_leaves_the_window():
    limiter = ClientLimiter(per_minute=2, concurrency=10)
    assert limiter.enter("x") is None and limiter.enter("x") is None
    retry = limiter.enter("x")
    assert retry is not None and 59 <= retry <= 60  # both requests came in this second
    limiter.leave("x")
    limiter.leave("x")
    assert limiter.open_requests("x") == 0


def test_a_stale_slot_is_reused_and_a_full_neighbourhood_does_not_limit():
    limiter = ClientLimiter(per_minute=1, concurrency=1, slots=4)
    limiter.PROBES = 4
    for who in ("a", "b", "c", "d"):  # every slot holds a request open
        assert limiter.enter(who) is None
    assert limiter.enter("e") is None  # no slot for "e": not limited (forgetting is the safe side)
    assert limiter.enter("e") is None
    assert limiter.enter("a") is not None  # the known keys are still limited
    for who in ("a", "b", "c", "d"):
        limiter.leave(who)
    # the slots are idle but within the minute: still "a"'s, so "a" is still over its rate
    assert limiter.enter("a") is not None


def test_leave_without_enter_does_not_go_negative():
    limiter = ClientLimiter(per_minute=10, concurrency=1)
    limiter.leave("ghost")
    assert limiter.enter("ghost") is None
    limiter.leave("ghost")
    limiter.leave("ghost")
    assert limiter.open_requests("ghost") == 0
    assert limiter.enter("ghost") is None and limiter.enter("ghost") == 1


def test_a_lock_held_too_long_refuses_instead_of_waiting_forever():
    limiter = ClientLimiter(per_minute=10, concurrency=10)
    limiter.LOCK_TIMEOUT_S = 0.05
    assert limiter._lock.acquire()
    try:
        t0 = time.monotonic()
        assert limiter.enter("z") == 1  # refused (429 with Retry-After: 1), not admitted unchecked
        assert time.monotonic() - t0 < 5
    finally:
        limiter._lock.release()
    assert limiter.enter("z") is None
