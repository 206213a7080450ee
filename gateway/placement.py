"""Where a gateway process runs: all its threads on one core (``listen.cpu_pinning``).

A gateway process runs Python on one core at a time (one interpreter lock), but its threads hand
work to each other on every request: the event loop to a scan thread and back, the scan thread to
the audit store's outcome thread. Left to the scheduler, the woken thread usually starts on the other
core, which costs a wake-up of that core (on a virtual machine, an inter-processor interrupt the
hypervisor handles) and then a hand-over of the lock between cores. Measured on the 2-vCPU test
machine, a no-op sent to a worker thread and back took 260-290 µs and 190-215 µs of CPU; with both
threads on one core, 65-95 µs and 75-100 µs. On the gateway at 32 concurrent 50-word requests: 4.6-5.3
ms of CPU per request, 3.7 ms once pinned, and 20-50 % more requests per second.

What runs beside Python on another core is little (SQLite's writes, socket calls): the scan helper
processes (``detectors.parallel``), forked before the pinning, keep every core, and the helper of a
long prompt runs on the other one. A process whose core another program keeps busy cannot move
away: set ``listen.cpu_pinning: false`` on a machine shared with heavy work.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("gardefou.serve")


def pin_process(worker: int = 0) -> int | None:
    """Put every thread of this process (those started later inherit it) on one of the cores it may
    use: the ``worker``-th, cycling. Returns the core, or None where nothing was done (fewer than
    two usable cores, no affinity interface, or a refusal by the system: the process runs as before)."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    try:
        cores = sorted(os.sched_getaffinity(0))
    except OSError:
        return None
    if len(cores) < 2:
        return None
    core = cores[worker % len(cores)]
    try:
        threads = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]
    try:
        for tid in threads:
            try:
                os.sched_setaffinity(tid, {core})
            except ProcessLookupError:  # a thread that ended meanwhile
                pass
    except OSError as exc:
        log.warning("could not keep this process on one core (%s): it runs on every core", exc)
        try:
            for tid in threads:
                os.sched_setaffinity(tid, cores)
        except OSError:
            pass
        return None
    log.info("threads of this process kept on core %d (listen.cpu_pinning)", core)
    return core
