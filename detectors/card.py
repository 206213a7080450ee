"""Payment card numbers: a known issuer prefix with that issuer's length and a valid Luhn key
(python-stdnum). Inside a longer digit run, only a number written as one block or in groups of four
is accepted (so a valid Luhn window inside an invalid IBAN is not reported)."""

from __future__ import annotations

import re

from stdnum import luhn

from detectors.recognizer import NumberRecognizer

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
_LENGTHS = tuple(sorted({n for _, ls in _ISSUERS for n in ls if n >= 13}, reverse=True))


class CreditCardRecognizer(NumberRecognizer):
    name = "credit_card"
    entity = "CREDIT_CARD"
    lengths = _LENGTHS
    score = 0.95
    # inside a longer run: one block, or groups of four (the last one may differ)
    groupings = frozenset((4,) * k + (n - 4 * k,) for n in _LENGTHS for k in range((n + 3) // 4))

    def validate(self, digits: str) -> bool:
        n = len(digits)
        issuer = any(rx.match(digits) and n in lengths for rx, lengths in _ISSUERS)
        return issuer and len(set(digits)) > 2 and luhn.is_valid(digits)

    def accept(self, ctx, run, i, j) -> bool:
        # "FR76 4616 ...": a run glued to letters is an IBAN/reference, only take it whole.
        return (i == 0 and j == len(run.digits)) or not (run.start > 0 and ctx.text[run.start - 1].isalpha())
