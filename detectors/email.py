"""E-mail addresses."""

from __future__ import annotations

import re

from detectors.base import Finding

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")


class EmailRecognizer:
    name = "email"

    def analyze(self, text: str) -> list[Finding]:
        if "@" not in text:
            return []
        return [
            Finding("EMAIL_ADDRESS", "personal", m.start(), m.end(), 0.95, self.name)
            for m in _EMAIL.finditer(text)
        ]
