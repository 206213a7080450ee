"""French phone numbers, validated by ``phonenumbers``."""

from __future__ import annotations

import re

import phonenumbers

from detectors.base import Finding

# Candidates: +33 / 0033 / 0 followed by nine digits, with optional separators.
_CANDIDATE = re.compile(r"(?<!\d)(?:(?:\+|00)\s?33\s?(?:\(0\)\s?)?|0)[1-9](?:[\s.\-/]?\d){8}(?!\d)")


class PhoneRecognizer:
    name = "phone"

    def analyze(self, text: str) -> list[Finding]:
        out = []
        for m in _CANDIDATE.finditer(text):
            try:
                num = phonenumbers.parse(m.group(), "FR")
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(num):
                out.append(Finding("PHONE_NUMBER", "personal", m.start(), m.end(), 0.9, self.name))
        return out
