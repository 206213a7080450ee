"""Sliding-window counters per key (client, address), shared by the gateway and the audit review.

Event-loop only (no lock): every caller runs on the loop. Memory is bounded: past ``max_keys`` keys
the oldest state is dropped (under a spray of addresses, forgetting is the safe side of a limiter).
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from gateway.config import Limits


class SlidingWindow:
    """At most ``limit`` events per key in the last ``window`` seconds."""

    def __init__(self, limit: int, window: float = 60.0, max_keys: int = 50_000):
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._events: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        q = self._events.get(key)
        if q is None:
            if len(self._events) >= self.max_keys:
                self._events.clear()
            q = self._events[key] = deque()
        now = time.monotonic()
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def retry_after(self, key: str) -> int | None:
        """None while under the limit; else the seconds until the oldest event leaves the window."""
        q = self._recent(key)
        if len(q) < self.limit:
            return None
        return max(1, int(self.window + 1 - (time.monotonic() - q[0])))

    def hit(self, key: str) -> None:
        self._recent(key).append(time.monotonic())


class ClientLimiter:
    """Per client: at most ``per_minute`` requests in a sliding minute and ``concurrency`` at once.
    ``enter`` returns None to go on, or the seconds to wait (Retry-After); ``leave`` when done."""

    def __init__(self, per_minute: int, concurrency: int):
        self.rate = SlidingWindow(per_minute)
        self.concurrency = concurrency
        self._open: dict[str, int] = {}

    def enter(self, who: str) -> int | None:
        retry = self.rate.retry_after(who)
        if retry is not None:
            return retry
        if self._open.get(who, 0) >= self.concurrency:
            return 1
        self.rate.hit(who)
        self._open[who] = self._open.get(who, 0) + 1
        return None

    def leave(self, who: str) -> None:
        n = self._open.get(who, 1) - 1
        if n > 0:
            self._open[who] = n
        else:
            self._open.pop(who, None)


class Admission:
    """What every generation of the pipeline shares (a reload builds a new pipeline, not new limits):
    the per-client limits, the scan pool's slots and the count of inspections running or queued, so
    that requests of the old and the new configuration are counted together."""

    def __init__(self, limits: Limits):
        self.clients = ClientLimiter(limits.client_requests_per_minute, limits.client_concurrency)
        self.scan_slots = anyio.CapacityLimiter(limits.max_concurrent_scans)
        self.scans_in_flight = 0
        self.scan_chars_in_flight = 0  # characters of text being inspected or waiting (max_queued_scan_chars)

    def resize(self, limits: Limits) -> None:
        """Apply reloaded limits (on the event loop: the scan pool wakes its waiters)."""
        self.clients.rate.limit = limits.client_requests_per_minute
        self.clients.concurrency = limits.client_concurrency
        self.scan_slots.total_tokens = limits.max_concurrent_scans
