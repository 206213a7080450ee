"""Pure helpers behind ``gardefou scan`` (the lead's CLI calls these).

``scan_record(scanner, text)`` returns a JSON-ready dict::

    {"categories": ["personal", ...],
     "findings": [{"type", "category", "start", "end", "score", "recognizer", "excerpt"}, ...]}

The excerpt is masked (``1 85 ** ** *** *** 42``): the raw value is never returned in full.
The decision and the JSONL loop live in ``gateway/scan.py``.
"""

from __future__ import annotations

from detectors.base import mask
from detectors.scanner import Scanner


# Short values (a 4-character password) get fewer visible characters.
def masked_excerpt(value: str) -> str:
    alnum = sum(c.isalnum() for c in value)
    if alnum <= 6:
        return mask(value, 1, 0) if alnum > 1 else "*"
    if alnum <= 12:
        return mask(value, 2, 1)
    return mask(value, 3, 2)


def scan_record(scanner: Scanner, text: str) -> dict:
    result = scanner.scan(text)
    findings = []
    for f in result.findings:
        d = f.as_dict()
        d["recognizer"] = f.recognizer
        value = text[f.start : f.end]
        if len(value) > 60:  # long spans (health, confidential topics): mask a bounded excerpt
            value = value[:60]
        d["excerpt"] = masked_excerpt(value)
        findings.append(d)
    out = {"categories": result.categories, "findings": findings}
    if result.unsure:
        out["unsure"] = result.unsure
    return out
