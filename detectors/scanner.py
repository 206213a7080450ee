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
        return ScanResult(resolve_overlaps(findings))

    def scan_many(self, texts: Iterable[str]) -> list[ScanResult]:
        return [self.scan(t) for t in texts]


def resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Drop a finding that lies inside a longer one of the same category (a phone number read inside
    a NIR, a name inside an e-mail address). Findings of other categories are kept: a NIR inside a
    clinical vignette is still reported as a NIR."""
    ordered = sorted(findings, key=lambda f: (f.start, -(f.end - f.start)))
    kept: list[Finding] = []
    for f in ordered:
        if any(k.category == f.category and k.start <= f.start and f.end <= k.end and (k.end - k.start) > (f.end - f.start)
               for k in kept):
            continue
        kept.append(f)
    return kept


def build_default_scanner(options: dict | None = None) -> Scanner:
    """The gateway's scanner. ``options`` is the ``detectors:`` section of the configuration."""
    from detectors.email import EmailRecognizer
    from detectors.iban import IbanRecognizer
    from detectors.nir import NirRecognizer
    from detectors.phone import PhoneRecognizer

    return Scanner([EmailRecognizer(), PhoneRecognizer(), NirRecognizer(), IbanRecognizer()])
