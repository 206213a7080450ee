"""The detector interface shared by the gateway, the CLI and the benchmarks.

A recognizer looks at one text and returns findings: a type (``FR_NIR``), the sensitive category it
belongs to, offsets in the *original* text and a score. A finding never carries the matched value:
callers that need an excerpt slice the text they already hold and mask it (see ``mask``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from policies.vocabulary import CATEGORIES  # sensitive categories, in the order used in messages

__all__ = ["CATEGORIES", "Finding", "Recognizer", "ScanResult", "mask"]


#: Findings of the free-text classifier: a window of text, not a value (see ``detectors.free_text``).
WINDOW_TYPES = frozenset({"HEALTH_TEXT", "PERSONAL_TEXT", "CONFIDENTIAL_TEXT", "SECRET_TEXT"})
#: Classifier windows in the confirmation band (below the threshold, above ``free_text_confirm_band``):
#: not a finding of the category (category ``UNSURE``), but the policy asks the person to confirm.
UNSURE = "unsure"
UNSURE_TYPES = {f"{t}_UNSURE": t.removesuffix("_TEXT").lower() for t in WINDOW_TYPES}


@dataclass(frozen=True, slots=True)
class Finding:
    type: str
    category: str
    start: int
    end: int
    score: float = 1.0
    recognizer: str = ""
    #: words of a fixed vocabulary that explain a classifier finding (never the matched text)
    cues: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        out = {
            "type": self.type,
            "category": self.category,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 3),
        }
        if self.cues:
            out["cues"] = list(self.cues)
        return out


@runtime_checkable
class Recognizer(Protocol):
    """One family of identifiers. Must be thread-safe and load everything at construction."""

    name: str

    def analyze(self, text: str) -> list[Finding]: ...


@dataclass(slots=True)
class ScanResult:
    findings: list[Finding] = field(default_factory=list)

    @property
    def categories(self) -> list[str]:
        present = {f.category for f in self.findings}
        return [c for c in CATEGORIES if c in present]

    @property
    def unsure(self) -> list[str]:
        """Categories the classifier was unsure about (confirmation band), none of them found for sure."""
        doubted = {UNSURE_TYPES[f.type] for f in self.findings if f.type in UNSURE_TYPES}
        present = set(self.categories)
        return [c for c in CATEGORIES if c in doubted and c not in present]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.findings:
            out[f.type] = out.get(f.type, 0) + 1
        return out


def mask(value: str, keep_start: int = 2, keep_end: int = 2) -> str:
    """Mask a detected value for display: keep a few edge characters, star the rest."""
    chars = list(value)
    idx = [i for i, c in enumerate(chars) if c.isalnum()]
    hidden = idx[keep_start : len(idx) - keep_end] if len(idx) > keep_start + keep_end else idx
    for i in hidden:
        chars[i] = "*"
    return "".join(chars)
