"""Dates of birth: a date next to a birth cue ("né le", "née le", "date de naissance", "DDN")."""

from __future__ import annotations

import re

from detectors.context import ScanContext
from detectors.recognizer import BaseRecognizer

_MONTHS = (r"janv(?:ier)?|f[ée]vr?(?:ier)?|mars|avr(?:il)?|mai|juin|juil(?:let)?|ao[uû]t|sept?(?:embre)?|oct(?:obre)?|"
           r"nov(?:embre)?|d[ée]c(?:embre)?")
_DATE = (
    r"(?:\d{1,2}|1er)[ \t]*[/.\-][ \t]*\d{1,2}[ \t]*[/.\-][ \t]*(?:19|20)?\d{2}"
    r"|(?:\d{1,2}|1er)[ \t]+(?:" + _MONTHS + r")\.?[ \t]+(?:19|20)\d{2}"
    r"|(?:19|20)\d{2}-\d{2}-\d{2}"
)
_DOB = re.compile(
    r"(?:\bn[ée]e?s?(?:\s*\(e\))?\s+(?:le\s+|en\s+)?|date\s+de\s+naissance\s*:?\s*(?:le\s+)?|\bddn\s*:?\s*|"
    r"\bd\.d\.n\.?\s*:?\s*|birth\s*date\s*:?\s*|date\s+of\s+birth\s*:?\s*|\bdob\s*:?\s*)(" + _DATE + r")",
    re.IGNORECASE,
)
_CUE = re.compile(r"\bn[ée]e?\b|naissance|\bddn\b|d\.d\.n|birth|\bdob\b", re.IGNORECASE)


class DateOfBirthRecognizer(BaseRecognizer):
    name = "date_of_birth"

    def analyze_ctx(self, ctx: ScanContext):
        if not _CUE.search(ctx.text):
            return []
        return [
            ctx.finding("DATE_OF_BIRTH", "personal", m.start(1), m.end(1), 0.9, self.name)
            for m in _DOB.finditer(ctx.text)
        ]
