"""Where a gateway process runs: all its threads on one core (``listen.cpu_pinning``).

A gateway process runs Python on one core at a time (one interpreter lock), but its threads hand
work to each other on every request: the event loop to a scan thread and back, the scan thread to
the audit store's outcome thread. Left to the scheduler, the woken thread usually starts on the other
core, which costs a wake-up of that core (on a virtual machine, an inter-processor interrupt the
hypervisor handles) and then a hand-over of the lock between cores. Measured on the 2-vCPU test
machine, a no-op sent to a worker thread and back took 260-290 µs and 190-215 µs of CPU; with both
threads on one core, 65-95 µs and 75-100 µs. On the gateway at 32 concurrent 50-word requests: 4.6-5.3
ms of CPU per request, 3.7 ms once pinned, and 20-50 % more requests per second.

What runs beside Python on another core is little (SQLite's writes, socket calls). The scan helper
processes (``detectors.parallel``), which share a long prompt's scan, are kept on the other cores:
left free, the scheduler woke a helper on the core of the gateway that sent it the text (it woke
there, then had to move), and a 5,000-word scan took 1.5 times as long. A process whose core another
program keeps busy cannot move away. Off by default: on the test machine, pinned, one 5,000-word
prompt alone took +61 ms instead of +41 (500 words: +10.5 instead of +9.3), while under load the
CPU per request fell by 15-25 % and the requests per second rose by 20 %.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

log = logging.getLogger("gardefou.serve")


def _threads(pid: int | str) -> list[int]:
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return [0] if pid == "self" else []


def _place(threads: list[int], cores: set[int]) -> None:
    for tid in threads:
        try:
            os.sched_setaffinity(tid, cores)
        except ProcessLookupError:  # a thread that ended meanwhile
            pass


def pin_process(worker: int = 0, helpers: Sequence[int] = ()) -> int | None:
    """Put every thread of this process (those started later inherit it) on one of the cores it may
    use: the ``worker``-th, cycling; and the ``helpers`` (process ids: the scan helpers) on the
    others. Returns the core, or None where nothing was done (fewer than two usable cores, no
    affinity interface, or a refusal by the system: the process runs as before)."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    try:
        cores = sorted(os.sched_getaffinity(0))
    except OSError:
        return None
    if len(cores) < 2:
        return None
    core = cores[worker % len(cores)]
    threads = _threads("self")
    try:
        _place(threads, {core})
        for pid in helpers:
            _place(_threads(pid), set(cores) - {core})
    except OSError as exc:
        log.warning("could not keep this process on one core (%s): it runs on every core", exc)
        try:
            _place(threads, set(cores))
            for pid in helpers:
                _place(_threads(pid), set(cores))
        except OSError:
            pass
        return None
    log.info("threads of this process kept on core %d (listen.cpu_pinning)", core)
    return core
