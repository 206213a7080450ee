"""Per-scan context shared by recognizers: the normalised text and lazily computed helpers.

A ``ScanContext`` is created for every ``Scanner.scan`` call (never shared between threads), so the
cached helpers need no locking. It also carries the scan's deadline: the loops of the recognizers
whose cost grows with the text call ``check`` as they go, so that a scan over its budget stops within
one step of one recognizer, not at the end of it.
"""

from __future__ import annotations

import bisect
import math
import re
import time
from dataclasses import dataclass
from functools import cached_property

from detectors.base import Finding
from detectors.normalize import Normalized, normalize

# Separators tolerated inside a number: spaces, line breaks, dots, dashes, slashes, underscores and
# the parentheses of "+33 (0)6". One to three of them between two digit groups.
_RUN = re.compile(r"\d+(?:[ \t\r\n.\-/_()]{1,3}\d+)*")
# Loose runs, for checksummed numbers whose recognizer also checks the grouping: any punctuation or
# space between groups (``1,85,05``, ``1|85|05``, ``1 • 85``), up to 12 characters (a number split over
# two messages, with a ``.`` message between the halves).
_LOOSE_RUN = re.compile(r"\d+(?:[^\w]{1,12}\d+|_{1,3}\d+)*")
_GROUP = re.compile(r"\d+")


@dataclass(slots=True)
class DigitRun:
    """A run of digits with separators. ``digits`` is compact; ``pos[i]`` is the normalised offset
    of ``digits[i]``; ``sorted_starts``/``ends`` are compact indices where a digit group starts / ends."""

    start: int
    end: int
    digits: str
    pos: list[int]
    ends: frozenset[int]
    sorted_starts: tuple[int, ...] = ()

    def group_lengths(self, i: int, j: int) -> list[int]:
        """Lengths of the digit groups covering compact digits [i, j) (i on a group start)."""
        a = bisect.bisect_left(self.sorted_starts, i)
        b = bisect.bisect_left(self.sorted_starts, j)
        cuts = list(self.sorted_starts[a:b])
        return [y - x for x, y in zip(cuts, cuts[1:] + [j])]

    def windows(self, length: int):
        """Yield (i, j) compact windows of ``length`` digits aligned on group boundaries."""
        n = len(self.digits)
        for i in self.sorted_starts:
            j = i + length
            if j > n:
                break
            if j in self.ends:
                yield i, j

    def span(self, i: int, j: int) -> tuple[int, int]:
        """Normalised span covering compact digits [i, j)."""
        return self.pos[i], self.pos[j - 1] + 1


class ScanBudgetExceeded(Exception):
    """The scan of one text took longer than its budget."""


class ScanContext:
    def __init__(self, text: str, deadline: float | None = None):
        self.original = text
        #: ``time.monotonic()`` past which ``check`` stops the scan (None: no budget)
        self.deadline = math.inf if deadline is None else deadline
        self.check("normalisation")
        self.norm: Normalized = normalize(text)
        self.text = self.norm.text

    def check(self, where: str) -> None:
        """Stop the scan (``ScanBudgetExceeded``) once its deadline has passed. Cheap (one clock
        read): called once per step of a loop whose length grows with the text."""
        if time.monotonic() > self.deadline:
            raise ScanBudgetExceeded(where)

    @cached_property
    def lower(self) -> str:
        low = self.text.lower()
        if len(low) != len(self.text):  # e.g. "İ" lower-cases to two characters: keep offsets aligned
            low = "".join(c.lower()[:1] or c for c in self.text)
        return low

    @cached_property
    def digit_runs(self) -> list[DigitRun]:
        return self._runs(_RUN)

    @cached_property
    def loose_digit_runs(self) -> list[DigitRun]:
        return self._runs(_LOOSE_RUN)

    def _runs(self, pattern: re.Pattern) -> list[DigitRun]:
        runs = []
        for m in pattern.finditer(self.text):
            self.check("digit runs")
            digits: list[str] = []
            pos: list[int] = []
            starts: set[int] = set()
            ends: set[int] = set()
            for g in _GROUP.finditer(m.group()):
                starts.add(len(digits))
                base = m.start() + g.start()
                for k, ch in enumerate(g.group()):
                    digits.append(ch)
                    pos.append(base + k)
                ends.add(len(digits))
            runs.append(DigitRun(m.start(), m.end(), "".join(digits), pos, frozenset(ends), tuple(sorted(starts))))
        return runs

    def finding(self, type_: str, category: str, start: int, end: int, score: float, recognizer: str) -> Finding:
        """Build a finding from a *normalised* span (mapped back to the original text)."""
        s, e = self.norm.span(start, end)
        return Finding(type_, category, s, e, score, recognizer)

    def window(self, start: int, end: int, before: int = 60, after: int = 30) -> str:
        """Lower-cased normalised text around a span, for context-word checks."""
        return self.lower[max(0, start - before) : end + after]


def __getattr__(name: str):
    # ``BaseRecognizer`` moved to ``detectors.recognizer`` (which imports this module): re-exported
    # lazily so that ``from detectors.context import BaseRecognizer`` keeps working.
    if name == "BaseRecognizer":
        from detectors.recognizer import BaseRecognizer

        return BaseRecognizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class KeywordGate:
    """Aho-Corasick (pyahocorasick) search of literal, lower-case trigger words.

    Recognizers use it to decide cheaply which of their (slower) regexes are worth running:
    ``present(ctx)`` returns the set of keys whose triggers occur in the lower-cased text, and
    ``hits(ctx)`` yields ``(start, end, key)`` for every occurrence.
    """

    def __init__(self, triggers):
        import ahocorasick

        self._auto = ahocorasick.Automaton()
        table: dict[str, list] = {}
        pairs = triggers.items() if isinstance(triggers, dict) else triggers
        for word, key in pairs:
            table.setdefault(word.lower(), []).append(key)
        for word, keys in table.items():
            self._auto.add_word(word, (len(word), tuple(keys)))
        self._auto.make_automaton()

    def present(self, ctx: ScanContext) -> set:
        found: set = set()
        for _, (_, keys) in self._auto.iter(ctx.lower):
            found.update(keys)
        return found

    def hits(self, ctx: ScanContext):
        for end, (length, keys) in self._auto.iter(ctx.lower):
            for key in keys:
                yield end - length + 1, end + 1, key


class GatedRegex:
    """One regex searched only around literal trigger words, for a regex every match of which
    contains one of ``triggers`` with at most ``before`` characters of the match before it and
    ``after`` after its start. The same matches as ``rx.finditer`` on the whole text (tested on the
    corpora), at the cost of one automaton pass plus the windows."""

    def __init__(self, rx: re.Pattern, triggers, before: int, after: int):
        import ahocorasick

        self.rx, self.before, self.after = rx, before, after
        self._auto = ahocorasick.Automaton()
        for t in {t.lower() for t in triggers}:
            self._auto.add_word(t, len(t))
        self._auto.make_automaton()

    def windows(self, low: str) -> list[list[int]]:
        out: list[list[int]] = []
        n = len(low)
        for end, length in self._auto.iter(low):
            a, b = max(0, end - length + 1 - self.before), min(n, end + 1 + self.after)
            if out and a <= out[-1][1]:
                out[-1][1] = max(out[-1][1], b)
            else:
                out.append([a, b])
        return out

    def finditer(self, low: str, target: str | None = None):
        """Matches in ``target`` (``low`` by default; the same length), in order."""
        target = low if target is None else target
        for a, b in self.windows(low):
            yield from self.rx.finditer(target, a, b)

    def search(self, low: str, target: str | None = None) -> re.Match | None:
        return next(self.finditer(low, target), None)


class WindowedPatterns:
    """Run local regexes only in windows around literal trigger words.

    ``specs`` is a list of ``(key, compiled_regex, triggers, before, after)``. A pyahocorasick
    automaton finds every trigger in the lower-cased text in one pass; each regex is then searched
    only in ``[hit - before, hit + after]`` windows (merged when they overlap). This is equivalent to
    a full search as long as every match of the regex contains one of its triggers within those
    distances, and is much faster on long texts than running a dozen alternations everywhere.
    """

    def __init__(self, specs):
        import ahocorasick

        self.specs = list(specs)
        self._auto = ahocorasick.Automaton()
        table: dict[str, list[int]] = {}
        for i, (_, _, triggers, _, _) in enumerate(self.specs):
            for t in triggers:
                table.setdefault(t.lower(), []).append(i)
        for word, idx in table.items():
            self._auto.add_word(word, (len(word), tuple(idx)))
        self._auto.make_automaton()

    def first_matches(self, low: str, text: str | None = None, cased: frozenset = frozenset()) -> dict:
        """``{key: first match}`` for every spec that matches. Specs whose key is in ``cased`` are
        searched in ``text`` (same length as ``low``) instead of ``low``."""
        hits: dict[int, list[tuple[int, int]]] = {}
        for end, (length, idx) in self._auto.iter(low):
            for i in idx:
                hits.setdefault(i, []).append((end - length + 1, end + 1))
        out = {}
        n = len(low)
        for i, positions in hits.items():
            key, rx, _, before, after = self.specs[i]
            target = text if key in cased and text is not None else low
            windows: list[list[int]] = []
            for s, e in positions:
                a, b = max(0, s - before), min(n, e + after)
                if windows and a <= windows[-1][1]:
                    windows[-1][1] = max(windows[-1][1], b)
                else:
                    windows.append([a, b])
            for a, b in windows:
                m = rx.search(target, a, b)
                if m:
                    out[key] = m
                    break
        return out
