"""Payment card numbers: a known issuer prefix with that issuer's length and a valid Luhn key
(python-stdnum). Inside a longer digit run, only a number written as one block or in groups of four
is accepted (so a valid Luhn window inside an invalid IBAN is not reported)."""

from __future__ import annotations

import re

from stdnum import luhn

from detectors.context import BaseRecognizer, ScanContext

# (prefix regex, allowed lengths): Visa, Mastercard, Amex, Diners, Discover, JCB, UnionPay, Maestro.
_ISSUERS = [
    (re.compile(r"4"), (13, 16, 19)),
    (re.compile(r"5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)"), (16,)),
    (re.compile(r"3[47]"), (15,)),
    (re.compile(r"3(?:0[0-5]|[689])"), (14, 16)),
    (re.compile(r"6(?:011|5|4[4-9])"), (16, 19)),
    (re.compile(r"35(?:2[89]|[3-8])"), (16, 19)),
    (re.compile(r"62"), (16, 17, 18, 19)),
    (re.compile(r"5[06-8]|6"), (12, 13, 16, 19)),
]
_LENGTHS = sorted({n for _, ls in _ISSUERS for n in ls if n >= 13}, reverse=True)


def _issuer_ok(value: str) -> bool:
    n = len(value)
    return any(rx.match(value) and n in lengths for rx, lengths in _ISSUERS)


def _grouping_ok(run, i: int, j: int) -> bool:
    if i == 0 and j == len(run.digits):
        return True
    lengths = run.group_lengths(i, j)
    return lengths == [j - i] or all(x == 4 for x in lengths[:-1])


class CreditCardRecognizer(BaseRecognizer):
    name = "credit_card"

    def analyze_ctx(self, ctx: ScanContext):
        out = []
        text = ctx.text
        for run in ctx.digit_runs:
            if len(run.digits) < 13:
                continue
            # "FR76 4616 ...": a run glued to letters is an IBAN/reference, only take it whole.
            glued = run.start > 0 and text[run.start - 1].isalpha()
            for length in _LENGTHS:
                for i, j in run.windows(length):
                    value = run.digits[i:j]
                    if glued and not (i == 0 and j == len(run.digits)):
                        continue
                    if _issuer_ok(value) and len(set(value)) > 2 and luhn.is_valid(value) and _grouping_ok(run, i, j):
                        s, e = run.span(i, j)
                        out.append(ctx.finding("CREDIT_CARD", "personal", s, e, 0.95, self.name))
        return out
