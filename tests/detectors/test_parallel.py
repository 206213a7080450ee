"""The scan of one text shared with a helper process (``detectors.parallel``): the same findings as
``Scanner.scan``, the helper's failures and hangs refuse the scan, a dead helper is retired."""

from __future__ import annotations

import base64
import os
import signal
import time
from contextlib import contextmanager

import pytest

from detectors import Scanner
from detectors.base import Finding
from detectors.context import ScanBudgetExceeded
from detectors.parallel import ParallelScanner
from detectors.recognizer import BaseRecognizer

PARENT = os.getpid()


def ALWAYS() -> bool:
    """A machine with a core always free: whether a scan is shared must not depend on the load of
    the machine running the tests (one test checks that dependence itself)."""
    return True

TEXTS = [
    "Reformule ce paragraphe pour la note de service : la réunion est reportée à jeudi.",
    "Mme Durand, 67 ans, hospitalisée en cardiologie le 12/03 pour un OAP, NIR 2 67 03 75 112 004 36, "
    "sous furosémide ; créatinine à 140. Peux-tu rédiger le courrier de sortie ?",
    "Le budget prévisionnel 2027 du GHT (confidentiel, ne pas diffuser) prévoit 3 suppressions de postes. " * 8,
    "Voici le fichier : " + base64.b64encode(b"Patient Jean Martin, NIR 1 85 05 78 006 084 91").decode(),
    "Explique la différence entre une délibération et un arrêté municipal. " * 40,
    "mon collègue IDE est en arrêt maladie pour burn-out depuis 3 semaines, tél 06 12 34 56 78, "
    "mot de passe du poste infirmier : Soins!2026x " * 3,
]


def flat(result) -> list[tuple]:
    return [(f.type, f.category, f.start, f.end, round(f.score, 6), f.recognizer, f.cues) for f in result.findings]


@pytest.fixture(scope="module")
def parallel(scanner):
    p = ParallelScanner(scanner, helpers=1, min_chars=0, idle_core=ALWAYS)
    yield p
    p.close()


def test_same_findings_as_the_scanner(scanner, parallel):
    """Finding for finding, in the same order, on clinical, confidential, encoded, benign and mixed
    texts; the helper did part of the work."""
    before = parallel.shared_scans
    for text in TEXTS:
        assert flat(parallel.scan(text)) == flat(scanner.scan(text)), text[:60]
    assert parallel.shared_scans > before
    assert parallel.helpers_alive == 1


def test_short_texts_are_scanned_alone(scanner):
    p = ParallelScanner(scanner, helpers=1, min_chars=500, idle_core=ALWAYS)
    try:
        text = TEXTS[1]
        assert len(text) < 500
        assert flat(p.scan(text)) == flat(scanner.scan(text))
        assert p.shared_scans == 0
        long_text = TEXTS[4]
        assert flat(p.scan(long_text)) == flat(scanner.scan(long_text))
        assert p.shared_scans == 1
    finally:
        p.close()


def test_a_dead_helper_is_retired_and_scans_go_on(scanner):
    """Killed between two scans: the next scan is done whole by the calling thread (the helper took
    none of it), the helper is retired, later scans are still complete."""
    p = ParallelScanner(scanner, helpers=1, min_chars=0)
    try:
        (helper,) = p._helpers
        os.kill(helper.process.pid, signal.SIGKILL)
        helper.process.join(5)
        for text in TEXTS[1:3]:
            assert flat(p.scan(text)) == flat(scanner.scan(text))
        assert p.helpers_alive == 0
    finally:
        p.close()


class _Slow(BaseRecognizer):
    """Takes its time in the gateway process, so that the helper surely takes the other task."""

    name = "slow"

    def __init__(self, in_parent: float = 0.2, in_helper: float = 0.0, fail_in_helper: bool = False):
        self.in_parent, self.in_helper, self.fail_in_helper = in_parent, in_helper, fail_in_helper

    def analyze_ctx(self, ctx) -> list[Finding]:
        if os.getpid() == PARENT:
            time.sleep(self.in_parent)
            return []
        if self.fail_in_helper:
            raise RuntimeError("a detector bug, in the helper")
        end = time.monotonic() + self.in_helper
        while time.monotonic() < end:
            ctx.check(self.name)
            time.sleep(0.01)
        return []


@contextmanager
def sharing(*recognizers, helpers: int = 1):
    """A parallel scanner over these recognizers alone, with one helper, stopped afterwards."""
    p = ParallelScanner(Scanner(list(recognizers), decode=False), helpers=helpers, min_chars=0, sample="x",
                        idle_core=ALWAYS)
    try:
        yield p
    finally:
        p.close()


def failing_scan(p: ParallelScanner, error: type[BaseException], budget_s: float | None = None) -> float:
    """Seconds until ``p.scan`` raised ``error`` (with a deadline ``budget_s`` from now, if given)."""
    t0 = time.monotonic()
    with pytest.raises(error):
        p.scan("un texte quelconque", deadline=None if budget_s is None else t0 + budget_s)
    return time.monotonic() - t0


def test_a_failure_in_the_helper_fails_the_scan():
    """The helper's recognizer raises: the scan raises (the pipeline refuses the request), never
    returns findings without that recognizer's."""
    with sharing(_Slow(fail_in_helper=True), _Slow(fail_in_helper=True)) as p:
        failing_scan(p, RuntimeError)


def test_the_deadline_holds_in_the_helper():
    """A recognizer running past the scan's deadline in the helper stops there: the scan raises
    ScanBudgetExceeded soon after the deadline, and the helper serves the next scan."""
    with sharing(_Slow(in_parent=0.05, in_helper=30), _Slow(in_parent=0.05, in_helper=30)) as p:
        assert failing_scan(p, ScanBudgetExceeded, 0.3) < 2
        assert p.helpers_alive == 1
        assert failing_scan(p, ScanBudgetExceeded, 0.3) < 2  # still serving, still bounded


class _Stuck(BaseRecognizer):
    """Ignores the deadline in the helper (stuck in C code, say)."""

    name = "stuck"

    def analyze_ctx(self, ctx):
        time.sleep(0.05 if os.getpid() == PARENT else 30)
        return []


def test_a_hung_helper_fails_the_scan_and_is_retired(monkeypatch):
    """A helper that does not answer is given a grace period past the deadline, then the scan fails
    and the helper is stopped."""
    import detectors.parallel as parallel_module

    monkeypatch.setattr(parallel_module, "GRACE_S", 0.3)
    with sharing(_Stuck(), _Stuck()) as p:
        assert failing_scan(p, RuntimeError, 0.2) < 3
        assert p.helpers_alive == 0


class _Gate(BaseRecognizer):
    """In the gateway process, holds the scan of ``held`` until ``release`` is set; elsewhere, and
    over any other text, takes a moment (so that each side of a shared scan surely takes one task)."""

    name = "gate"

    def __init__(self, held: str, release):
        self.held, self.release = held, release

    def analyze_ctx(self, ctx):
        if os.getpid() == PARENT:
            if ctx.original == self.held:
                assert self.release.wait(10)
                return []
        time.sleep(0.2)
        return []


def test_a_scan_while_another_runs_in_this_process_is_not_shared():
    """The helper lends an idle core: under load (another scan of this process in progress) the
    cores are busy anyway and sharing would only add its overhead, so the scan runs in its thread,
    even with a second helper free."""
    import threading

    release = threading.Event()
    with sharing(_Gate("held", release), _Gate("held", release), helpers=2) as p:
        first = threading.Thread(target=p.scan, args=("held",))
        first.start()
        deadline = time.monotonic() + 5
        while p._active == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert p._active == 1
        p.scan("another text")  # while the first one is held: alone
        assert p.shared_scans == 0
        release.set()
        first.join(5)
        assert p.shared_scans == 1  # the first one was shared
        p.scan("a third text")  # nothing else in progress: shared again
        assert p.shared_scans == 2
        assert p._active == 0


def test_a_scan_is_not_shared_when_the_machine_has_no_idle_core(scanner, tmp_path, monkeypatch):
    """Other workers or programs keeping every core busy (as many runnable threads as cores, read
    from /proc/loadavg) make the scan run in its thread; a free core makes it shared again."""
    import detectors.parallel as parallel_module

    loadavg = tmp_path / "loadavg"
    monkeypatch.setattr(parallel_module, "LOADAVG", str(loadavg))
    loadavg.write_text("1.00 0.80 0.50 1/300 4242\n")
    p = ParallelScanner(scanner, helpers=1, min_chars=0)
    try:
        cores = p._cores
        text = TEXTS[4]
        loadavg.write_text(f"3.00 2.00 1.00 {cores}/300 4242\n")  # the file is read again at each scan
        assert flat(p.scan(text)) == flat(scanner.scan(text))
        assert p.shared_scans == 0
        loadavg.write_text(f"0.50 0.50 0.50 {cores - 1}/300 4242\n")
        assert flat(p.scan(text)) == flat(scanner.scan(text))
        assert p.shared_scans == 1
    finally:
        p.close()
