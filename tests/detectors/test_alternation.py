"""``detectors.alternation.dispatched`` with ``ignorecase``: the same matches as the alternation
compiled with ``re.IGNORECASE``, on the person recognizer's term lists."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from detectors.alternation import _case_classes, dispatched

ROOT = Path(__file__).resolve().parents[2]


def _matches(rx, text):
    return [(m.span(), m.group()) for m in rx.finditer(text)]


def _mixed_case(rng: random.Random, text: str) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c for c in text)


@pytest.mark.parametrize("name", ["_PUBLIC_TERMS", "_CULTURE_CUES"])
def test_the_person_term_lists_grouped_ignoring_case_match_as_written(name):
    """On texts made of the list's own words in mixed case glued to word and non-word characters,
    on the characters ``re`` folds with Latin letters (long s, Kelvin sign, dotted and dotless i),
    and on the staff prompts as written, upper-cased and lower-cased."""
    import detectors.person as person

    source = getattr(person, name)
    written, grouped = re.compile(source, re.IGNORECASE), re.compile(dispatched(source, ignorecase=True))
    assert grouped.pattern != source and not grouped.flags & re.IGNORECASE
    words = re.findall(r"[a-zà-ÿœ'’-]+", source.replace("\\s+", " ").replace("\\b", " ").replace("\\w+", "mot"))
    seps = [" ", "", "_", "x", "9", "é", ".", "\n", "'", "-", ":", "à ", "(", "ſ", "\u212a", "İ", "ı"]
    rng = random.Random(5)
    texts = []
    for _ in range(20_000):
        parts = [rng.choice(words) for _ in range(rng.randint(1, 5))]
        parts = [p.replace("s", "ſ", 1) if rng.random() < 0.1 else p for p in parts]
        parts = [p.replace("i", "İ", 1) if rng.random() < 0.1 else p for p in parts]
        texts.append("".join(_mixed_case(rng, p) + rng.choice(seps) for p in parts))
    for path in sorted((ROOT / "bench" / "data").glob("staff_dev*.jsonl")):
        texts += [json.loads(line)["text"] for line in path.read_text().splitlines() if line.strip()]
    texts += [t.upper() for t in texts[-2000:]] + [t.lower() for t in texts[-2000:]]
    assert sum(bool(written.search(t)) for t in texts) > 3000  # the terms are exercised
    assert sum(bool(written.search(t)) for t in texts if "ſ" in t or "İ" in t) > 100  # so are the folds
    assert [t for t in texts if _matches(written, t) != _matches(grouped, t)] == []


def test_ignorecase_groups_open_on_what_re_folds_together():
    assert _case_classes(["k", "s", "é"]) == {"k": "Kk\u212a", "s": "Ssſ", "é": "Éé"}
    assert dispatched(r"\bpape\b|Paris|[ée]crivain", ignorecase=True) == (
        r"(?:[Pp](?i:(?<!\w\w)ape\b|aris)|[Éé](?i:crivain)|[Ee](?i:crivain))")
    assert dispatched(r"\d{2,}x|dy", ignorecase=True) == r"(?:\d(?i:\d{1,}x)|[Dd](?i:y))"  # \d is not the letter d
    with pytest.raises(ValueError):  # "ſ" and "s" are one character ignoring case: two groups would overlap
        dispatched(r"ſa|sb", ignorecase=True)
