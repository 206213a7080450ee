"""Dates of birth: a date next to a birth cue ("né le", "née le", "date de naissance", "DDN"), and the
dates of a table's birth column (a header ``ID;initials;DOB;sex`` or ``Nom | Prénom | Date de naissance``,
then one row per person)."""

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
_CELL_DATE = re.compile(r"[ \t]*(" + _DATE + r")[ \t]*")
_SEPARATORS = (";", "|", "\t", ",")
_MAX_ROWS = 500
# The whole text's test, on its lower-cased form: the same answer as ``_CUE`` in a fifth of the time
# (substrings, and the word patterns behind one ``\b``, instead of a case-blind alternation tried at
# every position).
_CUE_WORDS = ("naissance", "d.d.n", "birth")
_CUE_WORD = re.compile(r"\b(?:n[ée]e?|ddn|dob)\b")


def has_cue(low: str) -> bool:
    """Whether the lower-cased text says "né(e)", "naissance", "DDN", "birth" or "DOB" (``_CUE``)."""
    return any(w in low for w in _CUE_WORDS) or _CUE_WORD.search(low) is not None


def _table_dates(text: str) -> list[tuple[int, int]]:
    """Spans of the dates under a birth column: a header line with a separator and a birth cue in one
    of its cells, then the rows below it (same separator), until a line without it."""
    out: list[tuple[int, int]] = []
    lines = text.split("\n")
    pos = 0
    starts = []
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    i = 0
    while i < len(lines):
        line = lines[i]
        sep = next((c for c in _SEPARATORS if line.count(c) >= 2), None)
        col = None
        if sep is not None and _CUE.search(line):
            col = next((k for k, cell in enumerate(line.split(sep)) if _CUE.search(cell) and len(cell.strip()) <= 30), None)
        if sep is None or col is None:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and j - i <= _MAX_ROWS and sep in lines[j]:
            cells = lines[j].split(sep)
            if col < len(cells):
                offset = starts[j] + sum(len(c) + 1 for c in cells[:col])
                m = _CELL_DATE.fullmatch(cells[col])
                if m:
                    out.append((offset + m.start(1), offset + m.end(1)))
            j += 1
        i = j
    return out


class DateOfBirthRecognizer(BaseRecognizer):
    name = "date_of_birth"

    def analyze_ctx(self, ctx: ScanContext):
        if not has_cue(ctx.lower):
            return []
        out = [ctx.finding("DATE_OF_BIRTH", "personal", m.start(1), m.end(1), 0.9, self.name)
               for m in _DOB.finditer(ctx.text)]
        if "\n" in ctx.text:
            out += [ctx.finding("DATE_OF_BIRTH", "personal", a, b, 0.85, f"{self.name}:column")
                    for a, b in _table_dates(ctx.text)]
        return out
