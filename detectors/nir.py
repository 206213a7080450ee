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
# Where a written NIR may be cut: S AA MM DD CCC OOO KK (1, 3, 5, 7, 10, 13 digits in).
_CUTS = frozenset({1, 3, 5, 7, 10, 13})


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
        # Any punctuation between the groups (``1,85,05,78...``, a split over two messages): only
        # windows cut where a NIR is written, so that tables of numbers do not make NIRs.
        seen = {(f.start, f.end) for f in out}
        for run in ctx.loose_digit_runs:
            if len(run.digits) < 15 or len(run.sorted_starts) < 2:
                continue
            for i, j in run.windows(15):
                value = run.digits[i:j]
                if value[0] not in _FIRST or not nir.is_valid(value):
                    continue
                cuts = {c - i for c in run.sorted_starts if i < c < j}
                if cuts <= _CUTS:
                    f = ctx.finding("FR_NIR", "personal", *run.span(i, j), 1.0, self.name)
                    if (f.start, f.end) not in seen:
                        out.append(f)
        if "a" in ctx.lower or "b" in ctx.lower:
            for m in _CORSICA.finditer(ctx.text):
                value = re.sub(r"[^0-9A-Za-z]", "", m.group()).upper()
                if nir.is_valid(value):
                    out.append(ctx.finding("FR_NIR", "personal", m.start(), m.end(), 1.0, self.name))
        return out
