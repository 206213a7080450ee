"""Recognizers, the extension point of the detectors.

* ``BaseRecognizer``: ``analyze(text)`` normalises the text then calls ``analyze_ctx(ctx)``, which
  every recognizer implements (the scanner calls ``analyze_ctx`` with one ``ScanContext`` shared by
  all recognizers of a scan).
* ``NumberRecognizer``: a declarative recognizer for numbers with a checksum (NIR, RPPS, SIREN, card,
  phone...), after Presidio's ``PatternRecognizer``: what a number looks like is data (digit lengths,
  prefixes, groupings, base score, context words and their window, score with context), the checksum
  is the ``validate`` hook. The loop is the same for all of them: for every digit run of the text
  (``ScanContext.digit_runs``, or ``loose_digit_runs``), every window of ``length`` digits aligned on
  the run's group boundaries is checked (prefix, grouping, ``accept``, ``validate``), then the context
  words near it decide its score.

A new number recognizer is one small class::

    class RppsRecognizer(NumberRecognizer):
        name = "rpps"
        entity = "FR_RPPS"
        lengths = (11,)
        score, context_score = 0.6, 0.9
        context, context_before, context_after = ("rpps",), 60, 10

        def validate(self, digits):
            return luhn.is_valid(digits)

        def without_context(self, digits):
            return digits.startswith("10")  # a bare number only in the range of professionals

Recognizers are built once at start-up and shared by the gateway's threads: everything is compiled
in ``__init__``, and per-scan state lives in the ``ScanContext`` only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from itertools import combinations, pairwise

from detectors.base import Finding
from detectors.context import DigitRun, ScanContext

__all__ = ["BaseRecognizer", "NumberRecognizer", "cut_groupings"]


class BaseRecognizer:
    """Convenience base: ``analyze(text)`` normalises then calls ``analyze_ctx``."""

    name = "base"

    def analyze(self, text: str) -> list[Finding]:
        return self.analyze_ctx(ScanContext(text))

    def analyze_ctx(self, ctx: ScanContext) -> list[Finding]:  # pragma: no cover - abstract
        raise NotImplementedError


def cut_groupings(length: int, cuts: Iterable[int]) -> frozenset[tuple[int, ...]]:
    """Every grouping of ``length`` digits cut only at some of ``cuts`` (offsets from the first digit),
    as tuples of group lengths: ``cut_groupings(4, {1, 2})`` is ``{(4,), (1, 3), (2, 2), (1, 1, 2)}``."""
    inner = sorted(c for c in set(cuts) if 0 < c < length)
    out = set()
    for k in range(len(inner) + 1):
        for chosen in combinations(inner, k):
            bounds = (0, *chosen, length)
            out.add(tuple(b - a for a, b in pairwise(bounds)))
    return frozenset(out)


class NumberRecognizer(BaseRecognizer):
    """A number of a few fixed lengths, found in digit runs, checked by ``validate``.

    Subclasses set the class attributes below (``entity`` and ``lengths`` at least) and override
    ``validate`` for the checksum; the other hooks are for what data cannot say.
    """

    #: the finding type, or a type per digit length (``{14: "FR_SIRET", 9: "FR_SIREN"}``)
    entity: str | Mapping[int, str] = ""
    category: str = "personal"
    #: digit counts tried, in this order (default: the keys of ``entity`` when it is a mapping)
    lengths: tuple[int, ...] = ()
    #: runs with fewer digits are skipped, ``claim`` included (default: the shortest of ``lengths``)
    min_run: int | None = None
    #: read ``ctx.loose_digit_runs`` (any punctuation between groups, up to 12 characters: a number
    #: split over two messages) rather than ``ctx.digit_runs``; pair it with ``groupings``
    loose: bool = False
    #: the number must start with one of these (``()``: any start)
    prefixes: tuple[str, ...] = ()
    #: allowed groupings, as tuples of digit-group lengths (``{(10,), (2, 2, 2, 2, 2)}``; see
    #: ``cut_groupings``); ``None``: any grouping
    groupings: Collection[tuple[int, ...]] | None = None
    #: a number that is a whole run (no other digit group around it) may be grouped any way
    whole_run_any_grouping: bool = True
    #: score without a context word nearby; ``None``: a context word is required
    score: float | None = 1.0
    #: context words (matched as lower-case substrings) or a compiled regex, searched in the lower-cased
    #: normalised text from ``context_before`` characters before the number to ``context_after`` after it
    context: Iterable[str] | re.Pattern = ()
    context_before: int = 60
    context_after: int = 30
    #: score with a context word in that window (``None``: ``score``)
    context_score: float | None = None

    def __init__(self) -> None:
        cls = type(self)
        entity = self.entity
        lengths = tuple(self.lengths) or (tuple(entity) if isinstance(entity, Mapping) else ())
        if not entity or not lengths:
            raise TypeError(f"{cls.__name__}: a NumberRecognizer needs an entity and lengths")
        self.lengths = lengths
        self._types = {n: entity[n] if isinstance(entity, Mapping) else entity for n in lengths}
        self._min_length = min(lengths)
        self._min_run = self._min_length if self.min_run is None else self.min_run
        self._prefixes = tuple(self.prefixes)
        self._groupings = None if self.groupings is None else frozenset(map(tuple, self.groupings))
        self._near: Callable[[str], object] | None = None
        if isinstance(self.context, re.Pattern):
            self._near = self.context.search
        elif words := sorted({w.lower() for w in self.context}):
            self._near = re.compile("|".join(map(re.escape, words))).search  # any word as a substring
        if self.context_score is None:
            self.context_score = self.score
        if self.context_score is None or (self.score is None and self._near is None):
            raise TypeError(f"{cls.__name__}: no score (a required context needs context words and context_score)")
        self._context_score: float = self.context_score
        # The context only matters when it changes the score or whether a number is reported.
        self._weigh_context = self._near is not None and (
            self.score != self.context_score or cls.without_context is not NumberRecognizer.without_context
        )
        self._claims = cls.claim is not NumberRecognizer.claim
        self._accepts = cls.accept is not NumberRecognizer.accept

    # Hooks ------------------------------------------------------------------------------------------

    def validate(self, digits: str) -> bool:
        """The checksum of a candidate (its ``length`` compact ASCII digits)."""
        return True

    def accept(self, ctx: ScanContext, run: DigitRun, i: int, j: int) -> bool:
        """Anything about where digits ``[i, j)`` of ``run`` are (the text around it, its grouping)."""
        return True

    def without_context(self, digits: str) -> bool:
        """Whether a validated number with no context word nearby is reported (at ``score``)."""
        return True

    def claim(self, ctx: ScanContext, run: DigitRun) -> list[Finding]:
        """Findings for a run as a whole, tried before its windows (an international phone prefix,
        say). When it returns any, the run's windows are not tried."""
        return []

    def runs(self, ctx: ScanContext) -> Iterable[DigitRun]:
        """The digit runs to read."""
        if not self.loose:
            return ctx.digit_runs
        # Loose runs hold the same digits as the strict ones: with too few digits in the whole text
        # none of them can be long enough, and they need not be built.
        if sum(len(r.digits) for r in ctx.digit_runs) < self._min_length:
            return ()
        return ctx.loose_digit_runs

    # The loop ---------------------------------------------------------------------------------------

    def analyze_ctx(self, ctx: ScanContext) -> list[Finding]:
        near = self._near
        if self.score is None and not (near is not None and near(ctx.lower)):
            return []  # a context word is required and the text has none
        runs = self.runs(ctx)
        if not runs:
            return []
        out: list[Finding] = []
        prefixes, groupings, whole_ok = self._prefixes, self._groupings, self.whole_run_any_grouping
        weigh, claims, accepts = self._weigh_context, self._claims, self._accepts
        before, after = self.context_before, self.context_after
        min_run, min_length = self._min_run, self._min_length
        for run in runs:
            ctx.check(self.name)
            digits = run.digits
            n = len(digits)
            if n < min_run:
                continue
            if claims:
                claimed = self.claim(ctx, run)
                if claimed:
                    out.extend(claimed)
                    continue
            if n < min_length:
                continue
            for length in self.lengths:
                if n < length:
                    continue
                type_ = self._types[length]
                for k, (i, j) in enumerate(run.windows(length)):
                    if not k & 1023:  # a single run may hold a whole pasted table
                        ctx.check(self.name)
                    value = digits[i:j]
                    if prefixes and not value.startswith(prefixes):
                        continue
                    if (groupings is not None and not (whole_ok and i == 0 and j == n)
                            and tuple(run.group_lengths(i, j)) not in groupings):
                        continue
                    if (accepts and not self.accept(ctx, run, i, j)) or not self.validate(value):
                        continue
                    s, e = run.span(i, j)
                    if weigh and near is not None and near(ctx.window(s, e, before, after)):
                        score = self._context_score
                    elif self.score is None or not self.without_context(value):
                        continue
                    else:
                        score = self.score
                    out.append(ctx.finding(type_, self.category, s, e, score, self.name))
        return out
