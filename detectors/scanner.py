"""The scanner: runs every recognizer over a text and merges their findings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from detectors.base import Finding, Recognizer, ScanResult


class Scanner:
    """Runs a fixed list of recognizers. Built once at start-up, shared by all requests (thread-safe)."""

    def __init__(self, recognizers: Sequence[Recognizer]):
        self.recognizers = list(recognizers)

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.recognizers]

    def scan(self, text: str) -> ScanResult:
        findings: list[Finding] = []
        for rec in self.recognizers:
            findings.extend(rec.analyze(text))
        findings.sort(key=lambda f: (f.start, -f.end))
        return ScanResult(findings)

    def scan_many(self, texts: Iterable[str]) -> list[ScanResult]:
        return [self.scan(t) for t in texts]


def build_default_scanner(options: dict | None = None) -> Scanner:
    """The gateway's scanner. ``options`` is the ``detectors:`` section of the configuration."""
    from detectors.email import EmailRecognizer
    from detectors.iban import IbanRecognizer
    from detectors.nir import NirRecognizer
    from detectors.phone import PhoneRecognizer

    return Scanner([EmailRecognizer(), PhoneRecognizer(), NirRecognizer(), IbanRecognizer()])
