"""Scanning a long text on two cores at once: the scanner's recognizers split between the calling
thread and a helper process.

One process runs Python code on one core at a time. A long prompt's scan (a few milliseconds per
thousand words) is the largest part of the time the gateway adds, and every recognizer reads the
same text independently, so the work splits cleanly:

* a helper process, forked once the models are loaded (it shares their memory pages with the
  gateway), and the calling thread take the recognizers (and the decoding of encoded fragments) one
  at a time from a shared counter, the costliest first (``work_order``, measured on a sample when
  the helpers start), until none is left: the costs depend on the text (a clinical note makes the
  health recognizer ten times costlier than prose), so the work is shared as it goes, not in fixed
  halves;
* the findings are put back in recognizer order and finished as ``Scanner.scan`` finishes them: the
  result is the same, finding for finding (``tests/detectors/test_parallel.py``).

Sharing costs CPU: each side prepares the text (``ScanContext``), so a shared scan takes about 1.5×
the CPU of one thread, for about half the wall time. It is worth it on an idle core only. Texts
shorter than ``min_chars`` (where sending the text would cost more than it saves), and a scan
arriving while another scan of this process is in progress or while the machine has no idle core
(``/proc/loadavg``: other workers, other programs; under load sharing would only add its overhead),
are scanned whole in the calling thread. The scan's deadline
holds in the helper too (the same monotonic clock); a helper that fails or does not answer in time
fails its scan (the request is refused, fail closed) and is retired, the others go on.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection

from detectors.base import Finding, ScanResult
from detectors.context import ScanBudgetExceeded
from detectors.scanner import Scanner

log = logging.getLogger("gardefou.detectors")

#: how long past the scan's deadline a helper may take to say it stopped, before it is retired
GRACE_S = 2.0
#: how long a new helper may take to get ready
READY_WAIT_S = 30.0
#: the longest wait for a helper when the scan has no deadline
NO_DEADLINE_WAIT_S = 60.0
#: Linux: its fourth field is the number of threads runnable on the machine at this instant
LOADAVG = "/proc/loadavg"

# A sample of what staff paste (a clinical note, administrative prose, an e-mail with numbers) on
# which each recognizer's cost is measured to balance the two groups.
_SAMPLE = (
    "Bonjour, je vous transmets le compte rendu de la réunion du comité de direction du 14/03. "
    "Le budget prévisionnel de l'an prochain prévoit une hausse des dépenses de personnel et le "
    "renouvellement du marché de restauration ; le fournisseur actuel a demandé une révision des prix. "
    "Patiente de 67 ans, hospitalisée en médecine interne pour une décompensation cardiaque, sous "
    "furosémide, créatinine à 140 µmol/l, sortie prévue lundi. Contact : secretariat.medecine@chu-exemple.fr, "
    "tél. 01 23 45 67 89. Merci de reformuler ce paragraphe pour la note de service destinée aux agents, "
    "en rappelant les horaires d'ouverture de l'accueil et la procédure de prise de rendez-vous en ligne. "
) * 2


def _prctl_parent_death_signal() -> None:
    """Linux: the helper is sent SIGTERM if the gateway process dies, however it dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _Counter:
    """The next task of the scan in progress, in memory shared with one helper (made before forking)."""

    def __init__(self, context):
        self.value = context.RawValue("i", 0)
        self.lock = context.Lock()

    def reset(self) -> None:
        with self.lock:
            self.value.value = 0

    def taker(self, order: Sequence[int]):
        value, lock, n = self.value, self.lock, len(order)

        def take() -> int | None:
            with lock:
                k = value.value
                value.value = k + 1
            return order[k] if k < n else None

        return take


def work(scanner: Scanner, text: str, deadline: float | None, take) -> list[tuple[int, list[Finding]]]:
    """Run the tasks ``take`` hands out until it returns None: recognizer ``k`` (over one
    ``ScanContext``), or, for ``k == len(scanner.recognizers)``, the decoded fragments."""
    from detectors.context import ScanContext

    n = len(scanner.recognizers)
    ctx = None
    out: list[tuple[int, list[Finding]]] = []
    while (k := take()) is not None:
        if k == n:
            out.append((k, scanner._decoded(text, scanner.decode_depth, deadline)))
            continue
        if ctx is None:
            ctx = ScanContext(text, deadline)
        out.append((k, scanner.run_recognizer(k, ctx)))
    return out


def _helper_main(conn: Connection, inherited: Sequence[Connection], scanner: Scanner, counter: _Counter,
                 order: list[int]) -> None:
    """The helper's loop: (text, deadline) in, the findings of the tasks it took out, until the pipe closes."""
    _prctl_parent_death_signal()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the gateway, which stops its helpers
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a reload is the gateway's
    for other in inherited:  # the gateway's ends of every helper's pipe: only the gateway may hold them
        other.close()
    # The models' objects, inherited, live as long as the helper: out of the collector's generations,
    # or every full collection walks the spaCy model again in the middle of a scan.
    gc.collect()
    gc.freeze()
    conn.send(("ready", None))
    take = counter.taker(order)
    while True:
        try:
            text, deadline = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple = ("ok", work(scanner, text, deadline, take))
        except ScanBudgetExceeded as exc:
            reply = ("budget", str(exc))
        except Exception as exc:  # reported to the gateway, which refuses the request
            reply = ("error", type(exc).__name__)
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return


def work_order(scanner: Scanner, sample: str = _SAMPLE, rounds: int = 2) -> list[int]:
    """The tasks of a scan (each recognizer, then ``len(recognizers)`` for the decoded fragments), the
    costliest on ``sample`` first: started first, the long ones do not leave one side waiting at the end."""
    from detectors.context import ScanContext

    costs = []
    for i in range(len(scanner.recognizers)):
        best = float("inf")
        for _ in range(rounds):
            ctx = ScanContext(sample)
            t0 = time.perf_counter()
            scanner.run_recognizer(i, ctx)
            best = min(best, time.perf_counter() - t0)
        costs.append(best)
    order = sorted(range(len(costs)), key=lambda k: -costs[k])
    if scanner.decode:
        t0 = time.perf_counter()
        scanner._decoded(sample, scanner.decode_depth)
        decoding = time.perf_counter() - t0
        at = next((j for j, k in enumerate(order) if costs[k] < decoding), len(order))
        order.insert(at, len(costs))
    return order


class _Helper:
    def __init__(self, process, conn: Connection, counter: _Counter):
        self.process, self.conn, self.counter = process, conn, counter

    def receive(self, deadline: float | None) -> list[tuple[int, list[Finding]]]:
        wait = NO_DEADLINE_WAIT_S if deadline is None else max(0.0, deadline - time.monotonic()) + GRACE_S
        if not self.conn.poll(wait):
            raise _HelperFailed("no answer in time")
        try:
            kind, value = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise _HelperFailed(type(exc).__name__) from None
        if kind == "budget":
            raise ScanBudgetExceeded(value)
        if kind != "ok":
            raise _HelperFailed(value)
        return value

    def retire(self) -> None:
        try:
            self.conn.close()
        except OSError:
            pass
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(1)


class _HelperFailed(RuntimeError):
    """A helper process failed or did not answer: its scan fails (the request is refused)."""


class ParallelScanner(Scanner):
    """A ``Scanner`` whose long texts are scanned by the calling thread and a helper process together.
    Built once at start-up, in the gateway process, before its event loop and threads start (the
    helpers are forked). Thread-safe: a scan takes a free helper or scans alone."""

    def __init__(self, scanner: Scanner, helpers: int = 1, min_chars: int = 2000, sample: str = _SAMPLE,
                 idle_core: Callable[[], bool] | None = None):
        """``idle_core``: whether a core is free for the helper now (default: ``/proc/loadavg``'s
        runnable threads, ``_idle_core``); the tests give their own, the machine's load being theirs."""
        super().__init__(scanner.recognizers, decode=scanner.decode, decode_depth=scanner.decode_depth)
        self.allow = scanner.allow
        self.min_chars = min_chars
        self.order = work_order(scanner, sample)
        self._free: queue.SimpleQueue[_Helper] = queue.SimpleQueue()
        self._helpers: list[_Helper] = []
        self._active = 0  # scans in progress in this process
        self._active_lock = threading.Lock()
        self._cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        try:
            self._loadavg: int | None = os.open(LOADAVG, os.O_RDONLY)
        except OSError:  # not Linux: only this process's own scans say whether the cores are busy
            self._loadavg = None
        self.idle_core = idle_core or self._idle_core
        #: scans whose work a helper shared (at least one task done there)
        self.shared_scans = 0
        context = multiprocessing.get_context("fork")
        ends: list[Connection] = []
        for i in range(helpers if len(self.order) > 1 else 0):
            mine, theirs = context.Pipe()
            ends.append(mine)
            counter = _Counter(context)
            process = context.Process(target=_helper_main, args=(theirs, list(ends), scanner, counter, self.order),
                                      name=f"gardefou-scan-{i + 1}", daemon=True)
            process.start()
            theirs.close()
            self._helpers.append(_Helper(process, mine, counter))
        for helper in list(self._helpers):  # each says it is ready (its collector set) before it serves
            try:
                ready = helper.conn.poll(READY_WAIT_S) and helper.conn.recv() == ("ready", None)
            except (EOFError, OSError):
                ready = False
            if ready:
                self._free.put(helper)
            else:
                self._helpers.remove(helper)
                helper.retire()
                log.error("scan helper %s did not start: scans of this process run in one thread", helper.process.name)
        if self._helpers:
            log.info("scan helpers: %d process(es) share the scans of texts of %d characters or more",
                     len(self._helpers), min_chars)

    @property
    def helper_pids(self) -> list[int]:
        """The process ids of the helpers still running (``gateway.placement`` keeps them off the
        gateway's core)."""
        return [h.process.pid for h in self._helpers if h.process.is_alive() and h.process.pid is not None]

    @property
    def helpers_alive(self) -> int:
        return sum(1 for h in self._helpers if h.process.is_alive())

    def scan(self, text: str, deadline: float | None = None) -> ScanResult:
        with self._active_lock:
            busy = self._active
            self._active += 1
        try:
            if busy or len(text) < self.min_chars or not text or not self.idle_core():
                return super().scan(text, deadline)
            return self._shared_scan(text, deadline)
        finally:
            with self._active_lock:
                self._active -= 1

    def _idle_core(self) -> bool:
        """Whether a core is free for the helper now: fewer threads runnable on the machine (this one
        included) than cores this process may use. Other workers, other programs: whatever keeps the
        cores busy makes sharing a loss. Two microseconds (one read of ``/proc/loadavg``)."""
        fd = self._loadavg
        if fd is None:
            return True
        try:
            runnable = int(os.pread(fd, 128, 0).split()[3].split(b"/")[0])
        except (OSError, ValueError, IndexError):
            return True
        return runnable < self._cores

    def _shared_scan(self, text: str, deadline: float | None) -> ScanResult:
        try:
            helper = self._free.get_nowait()
        except queue.Empty:  # every helper busy (or none left): the whole scan here
            return super().scan(text, deadline)
        helper.counter.reset()
        try:
            helper.conn.send((text, deadline))
        except (OSError, ValueError):
            self._retire(helper, "its pipe is closed")
            return super().scan(text, deadline)
        mine: list[tuple[int, list[Finding]]] = []
        failure: BaseException | None = None
        try:
            mine = work(self, text, deadline, helper.counter.taker(self.order))
        except BaseException as exc:  # the helper's answer is still read, so that it can serve again
            failure = exc
        try:
            theirs = helper.receive(deadline)
        except ScanBudgetExceeded:
            self._free.put(helper)
            raise failure or ScanBudgetExceeded("helper") from None
        except _HelperFailed as exc:
            self._retire(helper, str(exc))
            if failure is not None:
                raise failure from None
            if len(mine) < len(self.order):  # tasks it took are lost: the scan fails (fail closed)
                raise
            theirs = []  # it took none: this side did the whole scan
        else:
            self._free.put(helper)
        if failure is not None:
            raise failure
        if theirs:
            self.shared_scans += 1
        by_task = dict(mine) | dict(theirs)
        findings = [f for k in range(len(self.recognizers)) for f in by_task[k]]
        if self.decode:
            findings.extend(by_task[len(self.recognizers)])
        return self.finish(text, findings)

    def _retire(self, helper: _Helper, why: str) -> None:
        log.error("scan helper %s retired (%s): %d left", helper.process.name, why, self.helpers_alive - 1)
        helper.retire()

    def close(self) -> None:
        """Stop the helpers (they also stop by themselves when the gateway process ends)."""
        while True:
            try:
                self._free.get_nowait()
            except queue.Empty:
                break
        for helper in self._helpers:
            helper.retire()
        self._helpers = []
        fd, self._loadavg = self._loadavg, None  # later scans no longer read it
        if fd is not None:
            os.close(fd)
