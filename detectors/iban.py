"""IBAN (any country), validated by python-stdnum's ISO 13616 checks."""

from __future__ import annotations

import re

from stdnum import iban

from detectors.base import Finding

_CANDIDATE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ \-]?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])")


class IbanRecognizer:
    name = "iban"

    def analyze(self, text: str) -> list[Finding]:
        out = []
        for m in _CANDIDATE.finditer(text):
            value = m.group()
            # Trailing words can be swallowed by the greedy group: shrink until valid.
            end = len(value)
            while end >= 15:
                if iban.is_valid(value[:end]):
                    out.append(Finding("IBAN_CODE", "personal", m.start(), m.start() + end, 1.0, self.name))
                    break
                end -= 1
        return out
