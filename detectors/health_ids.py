"""French health-professional and health-establishment identifiers: RPPS, ADELI, FINESS.

* RPPS: 11 digits, Luhn key (python-stdnum ``luhn``). Accepted when it starts with ``10`` (the RPPS
  range of individual professionals) or the word "RPPS" is nearby.
* ADELI: 9 digits (department, profession code, order, key). No public checksum specification is
  reliable enough, so ADELI is only reported next to the word "ADELI" with a plausible department.
* FINESS: 9 digits (department incl. 2A/2B, then 6 digits and a Luhn key). Reported next to the word
  "FINESS" only (a bare 9-digit number is far more often something else).
"""

from __future__ import annotations

from stdnum import luhn

from detectors.context import BaseRecognizer, ScanContext

_DEPTS = {f"{d:02d}" for d in range(1, 96)} | {"97", "98", "99"}


def _luhn(value: str) -> bool:
    return luhn.is_valid(value)


class RppsRecognizer(BaseRecognizer):
    name = "rpps"

    def analyze_ctx(self, ctx: ScanContext):
        out = []
        for run in ctx.digit_runs:
            if len(run.digits) < 11:
                continue
            for i, j in run.windows(11):
                value = run.digits[i:j]
                if not _luhn(value):
                    continue
                s, e = run.span(i, j)
                ctx_words = "rpps" in ctx.window(s, e, 60, 10)
                if value.startswith("10") or ctx_words:
                    out.append(ctx.finding("FR_RPPS", "personal", s, e, 0.9 if ctx_words else 0.6, self.name))
        return out


class _NamedNineDigitRecognizer(BaseRecognizer):
    """A 9-digit number starting with a department code, reported only after its own name."""

    keyword: str
    ftype: str
    checksum = staticmethod(lambda value: True)

    def analyze_ctx(self, ctx: ScanContext):
        if self.keyword not in ctx.lower:
            return []
        out = []
        for run in ctx.digit_runs:
            for i, j in run.windows(9):
                value = run.digits[i:j]
                s, e = run.span(i, j)
                if value[:2] in _DEPTS and self.checksum(value) and self.keyword in ctx.window(s, e, 50, 0):
                    out.append(ctx.finding(self.ftype, "personal", s, e, 0.85, self.name))
        return out


class AdeliRecognizer(_NamedNineDigitRecognizer):
    """ADELI has no public checksum: the word "ADELI" before the number is required."""

    name = "adeli"
    keyword = "adeli"
    ftype = "FR_ADELI"


class FinessRecognizer(_NamedNineDigitRecognizer):
    name = "finess"
    keyword = "finess"
    ftype = "FR_FINESS"
    checksum = staticmethod(_luhn)
