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


# A landline (01-05, 09) given as a service's line: "téléphone de l'accueil : 04...", "secrétariat
# 04...", or "tél 04..." in the public details of an institution named shortly before, with no person
# (title) next to the number. Mobiles (06, 07) are always someone's.
_SERVICE_LINE = re.compile(r"\baccueil\b|secr[ée]tariat|r[ée]ception|\bstandard\b|permanence|astreinte|rendez-vous|\brdv\b|"
                           r"renseignements|inscriptions?\b")
_TEL = re.compile(r"(?:\bt[ée]l[ée]phone|\bt[ée]l\b\.?|\btel\b\.?|\bphone\b)\s*:?\s*$")
_INSTITUTION = re.compile(r"\b(?:ccas|cias|mairie|ehpad|ime|itep|esat|mecs|sessad|foyer|pmi|cmp|cmpp|chu|ch|h[ôo]pital|clinique|"
                          r"centre|association|[ée]tablissement|service|maison|m[ée]diath[èe]que|cr[èe]che|mdph|caf|cpam)\b")
_TITLE_NEAR = re.compile(r"\b(?:m\.|mme|mlle|dr|monsieur|madame|docteur)\s")


def _public_line(ctx: ScanContext, start: int) -> bool:
    low = ctx.lower
    if _PUBLIC_LINE.search(low, max(0, start - 45), start):
        return True
    number = ctx.original[start:start + 2]
    if not number.startswith(("01", "02", "03", "04", "05", "09")) or _TITLE_NEAR.search(low, max(0, start - 60), start):
        return False
    if _SERVICE_LINE.search(low, max(0, start - 40), start):
        return True
    return bool(_TEL.search(low, max(0, start - 20), start)) and bool(_INSTITUTION.search(low, max(0, start - 250), start))


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
        return [f for f in super().analyze_ctx(ctx) if not _public_line(ctx, f.start)]

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
