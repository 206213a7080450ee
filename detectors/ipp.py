"""Hospital patient identifiers: IPP (permanent patient id), NDA (stay / visit number) and
configurable local identifiers.

A hospital id is only a number, so it is recognised by a context word right before it. Each
pattern is ``{type, regex, context}``: ``regex`` matches the identifier itself, ``context`` lists
words that must appear in the 40 characters before it. Defaults cover the common French wording;
institutions add their own formats through the ``detectors.patient_ids`` option.
"""

from __future__ import annotations

import re

from detectors.base import Finding
from detectors.context import ScanContext
from detectors.recognizer import BaseRecognizer

DEFAULT_PATTERNS = [
    {
        "type": "FR_IPP",
        "regex": r"[A-Z]{0,3}\d{6,12}",
        "context": ["ipp", "identifiant patient", "id patient", "n° patient", "numéro patient", "numero patient",
                    "identifiant permanent", "n°patient", "dossier patient", "numéro de dossier", "n° de dossier", "n° dossier"],
    },
    {
        "type": "FR_NDA",
        "regex": r"[A-Z]{0,3}\d{6,12}",
        "context": ["nda", "n° de séjour", "numéro de séjour", "numero de sejour", "n° séjour", "n° venue",
                    "numéro de venue", "n° d'admission", "numéro d'admission", "dossier administratif"],
    },
]


class PatientIdRecognizer(BaseRecognizer):
    name = "patient_id"

    def __init__(self, patterns: list[dict] | None = None, include_defaults: bool = True):
        pats = (list(DEFAULT_PATTERNS) if include_defaults else []) + list(patterns or [])
        self._pats = []
        for p in pats:
            words = [w.lower() for w in p.get("context", [])]
            rx = re.compile(r"(?<![\w])(?:" + p["regex"] + r")(?![\w])", re.IGNORECASE)
            self._pats.append((p.get("type", "FR_IPP"), rx, words, float(p.get("score", 0.85))))
        all_words = sorted({w for _, _, ws, _ in self._pats for w in ws})
        self._cue = re.compile("|".join(re.escape(w) for w in all_words)) if all_words else None

    def analyze_ctx(self, ctx: ScanContext):
        out: list[Finding] = []
        low = ctx.lower
        if self._cue is None or not self._cue.search(low):
            return out
        seen = set()
        for type_, rx, words, score in self._pats:
            if not any(w in low for w in words):
                continue
            for m in rx.finditer(ctx.text):
                if not any(ch.isdigit() for ch in m.group()):
                    continue
                before = low[max(0, m.start() - 40) : m.start()]
                if any(w in before for w in words) and (m.start(), m.end()) not in seen:
                    seen.add((m.start(), m.end()))
                    out.append(ctx.finding(type_, "personal", m.start(), m.end(), score, self.name))
        return out
