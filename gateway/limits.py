"""Rate and concurrency limits per key (client, address).

``SlidingWindow`` (the audit review's failed logins): event-loop only, one process. Memory is bounded:
past ``max_keys`` keys the oldest state is dropped (under a spray of addresses, forgetting is the
safe side of a limiter).

``ClientLimiter`` (the gateway's clients): one table for every worker of ``serve --workers N``, in an
anonymous shared mapping the parent creates before it forks, so that a client gets its limits once per
instance, not once per worker.
"""

from __future__ import annotations

import functools
import hashlib
import mmap
import multiprocessing
import struct
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
    ``enter`` returns None to go on, or the seconds to wait (Retry-After); ``leave`` when done.

    The state lives in a shared anonymous mapping (kept across ``fork``), guarded by one process-shared
    lock: a hash table of ``slots`` entries probed linearly, each holding the key's 64-bit digest, its
    requests open, and its requests per second over the last 60 seconds (the sliding minute, to the
    second). A slot idle for a minute with nothing open is reused. Should every slot a key may take be
    busy (a spray of ``slots`` addresses), that key is not limited: forgetting is the safe side. If the
    lock cannot be had (a worker died holding it: the instance is stopping), the request is refused."""

    WINDOW = 60
    _HEAD = struct.Struct("<QqiI")  # key digest (0: never used), last second counted, open, spare
    _COUNTS = struct.Struct(f"<{WINDOW}I")
    SLOT = _HEAD.size + _COUNTS.size
    PROBES = 32
    LOCK_TIMEOUT_S = 0.5

    def __init__(self, per_minute: int, concurrency: int, slots: int = 65_536):
        self.limit, self.concurrency, self.slots = per_minute, concurrency, slots
        self._map = mmap.mmap(-1, self.SLOT * slots)  # MAP_SHARED | MAP_ANONYMOUS: pages touched on use
        self._lock = multiprocessing.get_context("fork").Lock()

    @staticmethod
    @functools.lru_cache(maxsize=4096)  # the same few clients, request after request
    def _digest(who: str) -> int:
        return int.from_bytes(hashlib.blake2b(who.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                              "little") or 1

    def _find(self, key: int, now: int, claim: bool) -> int | None:
        """The offset of ``key``'s slot; with ``claim``, a free or stale slot taken for it."""
        free = None
        for i in range(self.PROBES):
            off = ((key + i) % self.slots) * self.SLOT
            k, last, open_, _ = self._HEAD.unpack_from(self._map, off)
            if k == key:
                return off
            if k == 0:  # never used: the key was never placed beyond it
                free = off if free is None else free
                break
            if free is None and open_ <= 0 and now - last >= self.WINDOW:
                free = off
        if not claim or free is None:
            return None
        self._HEAD.pack_into(self._map, free, key, now, 0, 0)
        self._COUNTS.pack_into(self._map, free + self._HEAD.size, *([0] * self.WINDOW))
        return free

    def enter(self, who: str) -> int | None:
        key, now = self._digest(who), int(time.monotonic())  # CLOCK_MONOTONIC: one clock for every worker
        if not self._lock.acquire(timeout=self.LOCK_TIMEOUT_S):
            return 1
        try:
            off = self._find(key, now, claim=True)
            if off is None:
                return None
            _, last, open_, _ = self._HEAD.unpack_from(self._map, off)
            counts = list(self._COUNTS.unpack_from(self._map, off + self._HEAD.size))
            if now - last >= self.WINDOW:
                counts = [0] * self.WINDOW
            else:
                for second in range(last + 1, now + 1):  # the seconds that left the window since
                    counts[second % self.WINDOW] = 0
            total = sum(counts)
            retry = None
            if total >= self.limit:  # wait until enough of the oldest seconds leave the window
                for age in range(self.WINDOW - 1, -1, -1):
                    total -= counts[(now - age) % self.WINDOW]
                    if total < self.limit:
                        retry = self.WINDOW - age
                        break
                retry = max(1, retry or self.WINDOW)
            elif open_ >= self.concurrency:
                retry = 1
            else:
                counts[now % self.WINDOW] += 1
                open_ += 1
            self._HEAD.pack_into(self._map, off, key, now, open_, 0)
            self._COUNTS.pack_into(self._map, off + self._HEAD.size, *counts)
            return retry
        finally:
            self._lock.release()

    def leave(self, who: str) -> None:
        key = self._digest(who)
        if not self._lock.acquire(timeout=self.LOCK_TIMEOUT_S):
            return
        try:
            off = self._find(key, int(time.monotonic()), claim=False)
            if off is not None:
                k, last, open_, spare = self._HEAD.unpack_from(self._map, off)
                self._HEAD.pack_into(self._map, off, k, last, max(0, open_ - 1), spare)
        finally:
            self._lock.release()

    def open_requests(self, who: str) -> int:
        """Requests of ``who`` open now, every worker together (tests, diagnostics)."""
        off = self._find(self._digest(who), int(time.monotonic()), claim=False)
        return 0 if off is None else self._HEAD.unpack_from(self._map, off)[2]


class Admission:
    """What every generation of the pipeline shares (a reload builds a new pipeline, not new limits):
    the per-client limits, the scan pool's slots and the count of inspections running or queued, so
    that requests of the old and the new configuration are counted together."""

    def __init__(self, limits: Limits, clients: ClientLimiter | None = None):
        #: ``serve --workers`` passes the table its parent created before forking (every worker's)
        self.clients = clients or ClientLimiter(limits.client_requests_per_minute, limits.client_concurrency)
        self.scan_slots = anyio.CapacityLimiter(limits.max_concurrent_scans)
        self.scans_in_flight = 0
        self.scan_chars_in_flight = 0  # characters of text being inspected or waiting (max_queued_scan_chars)

    def resize(self, limits: Limits) -> None:
        """Apply reloaded limits (on the event loop: the scan pool wakes its waiters)."""
        self.clients.limit = limits.client_requests_per_minute
        self.clients.concurrency = limits.client_concurrency
        self.scan_slots.total_tokens = limits.max_concurrent_scans
