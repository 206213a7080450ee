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


# Words that say a number is a social security number: then a NIR with a wrong key (a typo still
# identifies the person), the 13 digits without their key, or the key written apart ("... clé 75").
_CUE = re.compile(r"\b(?:nir|nia|ins|insee|s[ée]cu|s[ée]curit[ée]\s+sociale|n°\s*ss|num[ée]ro\s+ss|n°\s*s[ée]cu|carte\s+vitale|"
                  r"immatriculation|social\s+security|matricule\s+ss)\b")


def _nir_shaped(digits: str) -> bool:
    """Sex, year, month and department of a NIR (key not checked)."""
    if digits[0] not in _FIRST:
        return False
    month = int(digits[3:5])
    return (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99) and digits[5:7] != "00"


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
        # (too few digits in the whole text for a NIR: no loose runs to build)
        loose = ctx.loose_digit_runs if sum(len(r.digits) for r in ctx.digit_runs) >= 15 else []
        for run in loose:
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
        out += self._cued(ctx, {(f.start, f.end) for f in out})  # last: only what no valid NIR explains
        if "a" in ctx.lower or "b" in ctx.lower:
            for m in _CORSICA.finditer(ctx.text):
                value = re.sub(r"[^0-9A-Za-z]", "", m.group()).upper()
                if nir.is_valid(value):
                    out.append(ctx.finding("FR_NIR", "personal", m.start(), m.end(), 1.0, self.name))
        return out

    def _cued(self, ctx: ScanContext, seen: set[tuple[int, int]]) -> list:
        """Near a NIR cue word: 15 digits with a wrong key, or 13 digits (the key apart or absent)."""
        cues = [m.end() for m in _CUE.finditer(ctx.lower)] if "n" in ctx.lower or "s" in ctx.lower else []
        if not cues:
            return []
        out = []
        for run in ctx.digit_runs:
            if len(run.digits) < 13 or not any(0 <= run.start - c <= 40 for c in cues):
                continue
            for length in (15, 13):
                for i, j in run.windows(length):
                    if not _nir_shaped(run.digits[i:j]):
                        continue
                    f = ctx.finding("FR_NIR", "personal", *run.span(i, j), 0.8, f"{self.name}:cue")
                    if not any(a <= f.start and f.end <= b for a, b in seen):  # not inside a NIR found
                        out.append(f)
                        seen.add((f.start, f.end))
        return out
