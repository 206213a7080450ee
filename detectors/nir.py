"""NIR / INS (French social security number, 13 characters + 2-digit key) and temporary NIA.

Validated by python-stdnum (``stdnum.fr.nir``), which handles the Corsican departments 2A/2B. The
first digit is the sex (1/2), 3/4 for some foreign-born registrations and 7/8 for temporary numbers
(NIA). Separators, line breaks and Unicode digits are handled by the digit runs of the context.
"""

from __future__ import annotations

import re

from stdnum.fr import nir

from detectors.context import BaseRecognizer, ScanContext

_SEP = r"[ \t\r\n.\-/_]{0,3}"
# Corsican NIRs contain letters, so they are not digit runs: dedicated pattern.
_CORSICA = re.compile(
    r"(?<![\dA-Za-z])[1-478]" + _SEP + r"\d" + _SEP + r"\d" + _SEP + r"\d" + _SEP + r"\d" + _SEP
    + r"2" + _SEP + r"[AaBb]" + "".join(_SEP + r"\d" for _ in range(8)) + r"(?![\dA-Za-z])"
)
_FIRST = frozenset("123478")


class NirRecognizer(BaseRecognizer):
    name = "nir"

    def analyze_ctx(self, ctx: ScanContext):
        out = []
        for run in ctx.digit_runs:
            if len(run.digits) < 15:
                continue
            for i, j in run.windows(15):
                value = run.digits[i:j]
                if value[0] in _FIRST and nir.is_valid(value):
                    s, e = run.span(i, j)
                    out.append(ctx.finding("FR_NIR", "personal", s, e, 1.0, self.name))
        if "a" in ctx.lower or "b" in ctx.lower:
            for m in _CORSICA.finditer(ctx.text):
                value = re.sub(r"[^0-9A-Za-z]", "", m.group()).upper()
                if nir.is_valid(value):
                    out.append(ctx.finding("FR_NIR", "personal", m.start(), m.end(), 1.0, self.name))
        return out
