"""Pure helpers behind ``gardefou scan`` (the lead's CLI calls these).

``scan_record(scanner, text)`` returns a JSON-ready dict::

    {"categories": ["personal", ...],
     "findings": [{"type", "category", "start", "end", "score", "recognizer", "excerpt"}, ...]}

The excerpt is masked (``1 85 ** ** *** *** 42``): the raw value is never returned in full.
``scan_lines`` streams JSONL: each input line is either a JSON object with a ``text`` field (other
fields such as ``id`` are copied) or a plain text line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

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
    return {"categories": result.categories, "findings": findings}


def scan_lines(scanner: Scanner, lines: Iterable[str]) -> Iterator[dict]:
    """Scan JSONL (or plain text) lines; yields one output record per non-empty input line."""
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        extra: dict = {}
        text = line
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = None
            if isinstance(obj, dict) and isinstance(obj.get("text"), str):
                text = obj["text"]
                extra = {k: v for k, v in obj.items() if k != "text"}
        rec = scan_record(scanner, text)
        yield {**extra, **rec}
