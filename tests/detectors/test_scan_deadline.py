"""The scan's deadline stops a recognizer in the middle of its work on a long text, not after it."""

from __future__ import annotations

import time

import pytest

from detectors.context import ScanBudgetExceeded, ScanContext
from detectors.scanner import Scanner

# One long text per recognizer whose cost grows with the text, shaped to keep its loop busy.
LONG_TEXTS = {
    "person": "Marie MARTIN, Paul DURAND et Mme Lefèvre. " * 3000,
    "health": "Mme D., 76 ans, chambre 12, hospitalisée pour pneumopathie, sous amoxicilline. " * 2000,
    "nir": "NIR " + " ".join(f"{i % 100:02d}" for i in range(60_000)) + ". Son NIR : 1 85 05 78 006 084 91",
    "credit_card": "carte " + " ".join(f"{i % 10_000:04d}" for i in range(40_000)),
    "staff_health": "notre cadre est en arrêt longue maladie pour un cancer. " * 3000,
    "free_text": "patiente de la 12 hospitalisée pour décompensation cardiaque, sous furosémide. " * 3000,
}


def _recognizer(scanner: Scanner, name: str):
    return next(r for r in scanner.recognizers if r.name == name)


@pytest.mark.parametrize("name", sorted(LONG_TEXTS))
def test_a_deadline_passed_stops_the_recognizer_inside_its_loop(scanner, name):
    rec = _recognizer(scanner, name)
    ctx = ScanContext(LONG_TEXTS[name])
    assert rec.analyze_ctx(ctx), name  # without a deadline it finds something in this text
    late = ScanContext(LONG_TEXTS[name])
    late.deadline = time.monotonic() - 1  # already passed when the recognizer starts
    with pytest.raises(ScanBudgetExceeded) as raised:
        rec.analyze_ctx(late)
    assert str(raised.value) in (name, "digit runs")


def test_a_scan_over_its_budget_raises_with_where_it_stopped(scanner):
    text = LONG_TEXTS["person"]
    with pytest.raises(ScanBudgetExceeded):
        scanner.scan(text, deadline=time.monotonic() - 1)
    assert scanner.scan(text, deadline=time.monotonic() + 600).categories  # in time: scanned whole


def test_no_deadline_never_stops():
    ctx = ScanContext("texte")
    ctx.check("anything")  # no budget: a no-op
    assert ctx.deadline == float("inf")
