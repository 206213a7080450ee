"""NIR / INS (French social security number, 13 characters + 2-digit key) and temporary NIA.

Validated by python-stdnum (``stdnum.fr.nir``), which handles the Corsican departments 2A/2B. The
first digit is the sex (1/2), 3/4 for some foreign-born registrations and 7/8 for temporary numbers
(NIA). Separators, line breaks and Unicode digits are handled by the digit runs of the context.
"""

from __future__ import annotations

import re

from stdnum.fr import nir

from detectors.context import ScanContext
from detectors.recognizer import NumberRecognizer, cut_groupings

_SEP = r"[ \t\r\n.\-/_]{0,3}"
# Corsican NIRs contain letters, so they are not digit runs: dedicated pattern.
_CORSICA = re.compile(
    r"(?<![\dA-Za-z])[1-478]" + _SEP + r"\d" + _SEP + r"\d" + _SEP + r"\d" + _SEP + r"\d" + _SEP
    + r"2" + _SEP + r"[AaBb]" + "".join(_SEP + r"\d" for _ in range(8)) + r"(?![\dA-Za-z])"
)
_FIRST = "123478"
# Where a written NIR may be cut: S AA MM DD CCC OOO KK (1, 3, 5, 7, 10, 13 digits in).
_CUTS = (1, 3, 5, 7, 10, 13)


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


class _Nir(NumberRecognizer):
    """15 digits with a valid key, separators tolerated by the strict digit runs."""

    name = "nir"
    entity = "FR_NIR"
    lengths = (15,)
    prefixes = tuple(_FIRST)
    score = 1.0

    def validate(self, digits: str) -> bool:
        return nir.is_valid(digits)


class _LooseNir(_Nir):
    """Any punctuation between the groups (``1,85,05,78...``, a split over two messages): only windows
    cut where a NIR is written, so that tables of numbers do not make NIRs."""

    loose = True
    groupings = cut_groupings(15, _CUTS)
    whole_run_any_grouping = False

    def runs(self, ctx: ScanContext):
        # a loose run of one group is a group of a strict run, already read by _Nir
        return [r for r in super().runs(ctx) if len(r.sorted_starts) >= 2]


class _CuedNir(NumberRecognizer):
    """Up to 40 characters after a NIR cue word: 15 digits with a wrong key, or 13 digits (the key
    apart or absent)."""

    name = "nir:cue"
    entity = "FR_NIR"
    lengths = (15, 13)
    score = 0.8

    def validate(self, digits: str) -> bool:
        return _nir_shaped(digits)

    def runs(self, ctx: ScanContext):
        long = [r for r in ctx.digit_runs if len(r.digits) >= 13]
        low = ctx.lower
        cues = [m.end() for m in _CUE.finditer(low)] if long and ("n" in low or "s" in low) else []
        return [r for r in long if any(0 <= r.start - c <= 40 for c in cues)] if cues else []


class NirRecognizer(_Nir):
    """Valid NIRs in strict then loose runs, then cued NIR-shaped numbers no valid NIR explains, then
    Corsican NIRs."""

    def __init__(self) -> None:
        super().__init__()
        self._loose, self._cued = _LooseNir(), _CuedNir()

    def analyze_ctx(self, ctx: ScanContext):
        out = super().analyze_ctx(ctx)
        seen = {(f.start, f.end) for f in out}
        out += [f for f in self._loose.analyze_ctx(ctx) if (f.start, f.end) not in seen]
        found = {(f.start, f.end) for f in out}
        for f in self._cued.analyze_ctx(ctx):  # last: only what no valid NIR explains
            if not any(a <= f.start and f.end <= b for a, b in found):  # not inside a NIR found
                out.append(f)
                found.add((f.start, f.end))
        if "a" in ctx.lower or "b" in ctx.lower:
            for m in _CORSICA.finditer(ctx.text):
                value = re.sub(r"[^0-9A-Za-z]", "", m.group()).upper()
                if nir.is_valid(value):
                    out.append(ctx.finding("FR_NIR", "personal", m.start(), m.end(), 1.0, self.name))
        return out
