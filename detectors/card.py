"""Payment card numbers: 13-19 digits, a known issuer prefix and a valid Luhn key (python-stdnum)."""

from __future__ import annotations

import re

from stdnum import luhn

from detectors.context import BaseRecognizer, ScanContext

# Visa, Mastercard (51-55, 2221-2720), Amex, Diners, Discover, JCB, UnionPay, Maestro, CB.
_IIN = re.compile(r"4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|3(?:0[0-5]|[689])|6(?:011|5|4[4-9]|2)|35|5[06-8]|6")


class CreditCardRecognizer(BaseRecognizer):
    name = "credit_card"

    def analyze_ctx(self, ctx: ScanContext):
        out = []
        for run in ctx.digit_runs:
            n = len(run.digits)
            if n < 13:
                continue
            for length in (16, 15, 14, 13, 17, 18, 19):
                for i, j in run.windows(length):
                    value = run.digits[i:j]
                    if _IIN.match(value) and len(set(value)) > 2 and luhn.is_valid(value):
                        s, e = run.span(i, j)
                        out.append(ctx.finding("CREDIT_CARD", "personal", s, e, 0.95, self.name))
        return out
