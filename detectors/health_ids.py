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

from detectors.recognizer import NumberRecognizer

_DEPTS = tuple(sorted({f"{d:02d}" for d in range(1, 96)} | {"97", "98", "99"}))


class RppsRecognizer(NumberRecognizer):
    name = "rpps"
    entity = "FR_RPPS"
    lengths = (11,)
    score, context_score = 0.6, 0.9
    context, context_before, context_after = ("rpps",), 60, 10

    def validate(self, digits: str) -> bool:
        return luhn.is_valid(digits)

    def without_context(self, digits: str) -> bool:
        return digits.startswith("10")  # the range of individual professionals


class _NamedNineDigitRecognizer(NumberRecognizer):
    """A 9-digit number starting with a department code, reported only after its own name."""

    lengths = (9,)
    prefixes = _DEPTS
    score, context_score = None, 0.85
    context_before, context_after = 50, 0


class AdeliRecognizer(_NamedNineDigitRecognizer):
    """ADELI has no public checksum: the word "ADELI" before the number is required."""

    name = "adeli"
    entity = "FR_ADELI"
    context = ("adeli",)


class FinessRecognizer(_NamedNineDigitRecognizer):
    name = "finess"
    entity = "FR_FINESS"
    context = ("finess",)

    def validate(self, digits: str) -> bool:
        return luhn.is_valid(digits)
