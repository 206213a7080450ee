"""NIR (French social security number) with its two-digit key, via python-stdnum."""

from __future__ import annotations

import re

from stdnum.fr import nir

from detectors.base import Finding

# sex, year, month, department (2A/2B for Corsica), commune, order, key - optional separators.
_CANDIDATE = re.compile(
    r"(?<![\dA-Za-z])[1-478][\s.\-]?\d{2}[\s.\-]?\d{2}[\s.\-]?(?:\d{2}|2[AaBb])[\s.\-]?\d{3}[\s.\-]?\d{3}[\s.\-]?\d{2}(?![\dA-Za-z])"
)


class NirRecognizer:
    name = "nir"

    def analyze(self, text: str) -> list[Finding]:
        out = []
        for m in _CANDIDATE.finditer(text):
            compact = re.sub(r"[\s.\-]", "", m.group()).upper()
            if nir.is_valid(compact):
                out.append(Finding("FR_NIR", "personal", m.start(), m.end(), 1.0, self.name))
        return out
