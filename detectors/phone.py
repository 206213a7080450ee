"""Phone numbers, validated by ``phonenumbers``.

French numbers in every notation: 0X XX XX XX XX with spaces, dots, dashes, slashes or nothing,
+33 / 0033 prefixes, "+33 (0)6...". International numbers written with a leading "+" are also
validated. Digit runs (see ``detectors.context``) make separators and line breaks irrelevant.
"""

from __future__ import annotations

import re

import phonenumbers

from detectors.context import ScanContext
from detectors.recognizer import NumberRecognizer


def _valid(number: str, region: str | None) -> bool:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(parsed)


# An institution's switchboard or a free public line is no person's number ("le standard de l'AP-HP
# c'est le 01 40 27 30 00"). Finding offsets are original offsets; on the lower-cased normalised text
# they can be off by the few characters normalisation removed, which a 45-character window absorbs.
_PUBLIC_LINE = re.compile(r"\bstandard\b|\bswitchboard\b|num[ée]ro\s+vert|num[ée]ro\s+(?:d'appel\s+)?gratuit|\bmain\s+line\b")


class PhoneRecognizer(NumberRecognizer):
    """National numbers (0X, then X not 0) as windows of a run; +33 / 0033 and +CC forms as whole runs."""

    name = "phone"
    entity = "PHONE_NUMBER"
    lengths = (10,)
    prefixes = tuple("0" + d for d in "123456789")
    # one block or pairs (the usual French grouping), not ten digits inside a longer number (a NIR)
    groupings = frozenset({(10,), (2, 2, 2, 2, 2)})
    score = 0.9
    min_run = 8  # an international number may have 8 digits

    def validate(self, digits: str) -> bool:
        return _valid(digits, "FR")

    def analyze_ctx(self, ctx: ScanContext):
        return [f for f in super().analyze_ctx(ctx) if not _PUBLIC_LINE.search(ctx.lower, max(0, f.start - 45), f.start)]

    def claim(self, ctx: ScanContext, run):
        d, text = run.digits, ctx.text
        n = len(d)
        plus = run.start > 0 and text[max(0, run.start - 2) : run.start].strip().endswith("+")
        # +33 6..., +33 (0)6..., 0033 6...
        for prefix, length in (("0033", 13), ("33", 11), ("330", 12), ("00330", 14)):
            if d.startswith(prefix) and n >= length and (plus or prefix.startswith("00")) and length in run.ends:
                if _valid("+33" + d[len(prefix) : length], None):
                    s, e = run.span(0, length)
                    if plus:
                        s = text.rindex("+", 0, run.start)
                    return [ctx.finding("PHONE_NUMBER", "personal", s, e, 0.9, self.name)]
        if plus:  # any +CC number
            for length in range(min(n, 15), 7, -1):
                if length in run.ends and _valid("+" + d[:length], None):
                    e = run.span(0, length)[1]
                    return [ctx.finding("PHONE_NUMBER", "personal", text.rindex("+", 0, run.start), e, 0.85, self.name)]
        return []
