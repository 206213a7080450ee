"""Phone numbers, validated by ``phonenumbers``.

French numbers in every notation: 0X XX XX XX XX with spaces, dots, dashes, slashes or nothing,
+33 / 0033 prefixes, "+33 (0)6...". International numbers written with a leading "+" are also
validated. Digit runs (see ``detectors.context``) make separators and line breaks irrelevant.
"""

from __future__ import annotations

import re

import phonenumbers

from detectors.context import BaseRecognizer, ScanContext


def _valid(number: str, region: str | None) -> bool:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(parsed)


def _phone_grouping(run, i: int, j: int) -> bool:
    """True if digits [i, j) are written as one block or as pairs (the usual French grouping)."""
    lengths = run.group_lengths(i, j)
    return lengths == [10] or all(x == 2 for x in lengths)


# An institution's switchboard or a free public line is no person's number ("le standard de l'AP-HP
# c'est le 01 40 27 30 00"). Finding offsets are original offsets; on the lower-cased normalised text
# they can be off by the few characters normalisation removed, which a 45-character window absorbs.
_PUBLIC_LINE = re.compile(r"\bstandard\b|\bswitchboard\b|num[ée]ro\s+vert|num[ée]ro\s+(?:d'appel\s+)?gratuit|\bmain\s+line\b")


class PhoneRecognizer(BaseRecognizer):
    name = "phone"

    def analyze_ctx(self, ctx: ScanContext):
        return [f for f in self._numbers(ctx) if not _PUBLIC_LINE.search(ctx.lower, max(0, f.start - 45), f.start)]

    def _numbers(self, ctx: ScanContext):
        out = []
        text = ctx.text
        for run in ctx.digit_runs:
            d = run.digits
            n = len(d)
            if n < 8:
                continue
            plus = run.start > 0 and text[max(0, run.start - 2) : run.start].strip().endswith("+")
            found = False
            # +33 6..., +33 (0)6..., 0033 6...
            for prefix, length in (("0033", 13), ("33", 11), ("330", 12), ("00330", 14)):
                if d.startswith(prefix) and n >= length and (plus or prefix.startswith("00")) and length in run.ends:
                    if _valid("+33" + d[len(prefix) : length], None):
                        s, e = run.span(0, length)
                        if plus:
                            s = text.rindex("+", 0, run.start)
                        out.append(ctx.finding("PHONE_NUMBER", "personal", s, e, 0.9, self.name))
                        found = True
                        break
            if found:
                continue
            if plus:
                for length in range(min(n, 15), 7, -1):
                    if length in run.ends and _valid("+" + d[:length], None):
                        s, e = run.span(0, length)
                        out.append(ctx.finding("PHONE_NUMBER", "personal", text.rindex("+", 0, run.start), e, 0.85, self.name))
                        found = True
                        break
                if found:
                    continue
            for i, j in run.windows(10):
                if not (i == 0 and j == n) and not _phone_grouping(run, i, j):
                    continue  # ten digits in the middle of a longer number (e.g. inside a NIR)
                if d[i] == "0" and d[i + 1] != "0" and _valid(d[i:j], "FR"):
                    s, e = run.span(i, j)
                    out.append(ctx.finding("PHONE_NUMBER", "personal", s, e, 0.9, self.name))
        return out
