"""Health, personal, confidential and secret content in free text, by the trained classifier.

Rules and checksums find identifiers; what staff write in their own words ("notre cadre est en arrêt
longue maladie", "la dame de la 5 a chuté", "le budget n'est pas encore arbitré") is scored by the
linear model of ``detectors.textmodel`` over windows of the text. A window whose probability passes
the category's threshold is a finding on that window, with the model's *cue words* (common words of
the training corpus, never the prompt's own names or numbers) to explain it.

Thresholds come with the model (chosen on the development set) and can be overridden per category
in the configuration (``detectors.free_text_thresholds``).

A secret is a value: a ``secret`` window is reported only when a value could be in or around it (a
token mixing letters and digits, a code of three digits or more, a symbol inside a word, a long key,
a password spelled out, a word after "c'est" / ":" following a password cue). Placeholders
(``<password>``, ``____``, ``********``) are no value: "a word about passwords" is not a password.
"""

from __future__ import annotations

import re
from pathlib import Path

from detectors.base import UNSURE, WINDOW_TYPES, Finding
from detectors.context import ScanContext
from detectors.recognizer import BaseRecognizer
from detectors.textmodel import MODEL_PATH, TextModel

TYPES = {"health": "HEALTH_TEXT", "personal": "PERSONAL_TEXT", "confidential": "CONFIDENTIAL_TEXT",
         "secret": "SECRET_TEXT"}
assert set(TYPES.values()) == WINDOW_TYPES

_VALUE = re.compile(
    r"(?=\S*\d)(?=\S*[A-Za-z])\S{4,}"                 # letters and digits: Urg3nces, wpa2key
    r"|\d(?:[ ./-]?\d){2,}"                            # a code: 4719, 7-2-6, 0 8 1 5
    r"|\b[a-z]+[A-Z]\w*"                               # camelCase
    r"|\w+[!@#$%&*?+=]\w+"                             # a symbol inside a word
    r"|[A-Za-z0-9+/=_-]{16,}"                          # a key
    r"|(?:\b\w[ .-]){4,}\w\b"                          # spelled out: s o l e i l
    r"|(?i:\b(?:mdp|mot\s+de\s+passe|password|passe|pwd|code|pin|wifi|wi-fi)\b\W+(?:\w+\W+){0,3}?"
    r"(?:c'est|c’est|est|is|:|=)\s*[\"'«]?\s*\w{3,})"  # "le mdp c'est soleil"
)
# A question about a notion ("c'est quoi la règle 3-2-1 des sauvegardes ?", "what is a DMZ?") asked with
# no sign of the asker's own institution: the classifier's confidential window is the subject's
# vocabulary, not an internal document.
_NOTION = re.compile(r"^\W*(?:c'?\s?est\s+quoi|qu'est-ce\s+qu|explique|"
                     r"comment\s+(?:fonctionne|marche|g[ée]n[ée]rer|configurer|installer|"
                     r"cr[ée]er|d[ée]ployer|mettre\s+en\s+place|s[ée]curiser|faire\s+pour)|quelle\s+est\s+la\s+diff|"
                     r"what\s+is|what's|explain|what\s+are|difference\s+between|how\s+(?:do|can|should)\s+(?:i|we|you)|how\s+to)",
                     re.IGNORECASE)
_OWN = re.compile(r"\b(?:notre|nos|nous|chez\s+nous|en\s+interne|our|we|us|mon|ma|mes|my)\b|"
                  r"\d[\d\s.,]*\s?(?:€|%|k€|m€|euros)|\d{4,}", re.IGNORECASE)
_PLACEHOLDERS = re.compile(r"\w+://(?:user(?:name)?|utilisateur|login|admin)?:?(?:password|pass|pwd|motdepasse|mdp|secret)@[\w.-]+|"
                           r"<[^>]*>|_{3,}|\*{3,}|[xX]{4,}|\.{3}|…|\{\{[^}]*\}\}|\$\{[^}]*\}")
_VALUE_MARGIN = 60


def notion_question(text: str) -> bool:
    """A question about a notion with no sign of the asker's own institution."""
    return bool(_NOTION.search(text)) and not _OWN.search(text)


def _value_near(text: str, start: int, end: int) -> bool:
    """Whether a secret value could be in ``text[start:end]`` or just around it (placeholders aside)."""
    return bool(_VALUE.search(_PLACEHOLDERS.sub(" ", text[max(0, start - _VALUE_MARGIN) : end + _VALUE_MARGIN])))


class FreeTextRecognizer(BaseRecognizer):
    name = "free_text"

    def __init__(self, thresholds: dict[str, float] | None = None, model_path: Path | str = MODEL_PATH,
                 confirm_band: float | None = None):
        self.model = TextModel(model_path)
        self.thresholds = {**self.model.thresholds, **(thresholds or {})}
        #: windows scoring in [confirm_band, threshold) ask for confirmation (``*_TEXT_UNSURE``)
        self.confirm_band = confirm_band
        self._lowest = min([*self.thresholds.values(), *([confirm_band] if confirm_band else [])])

    def analyze_ctx(self, ctx: ScanContext) -> list[Finding]:
        out = []
        band = self.confirm_band
        for s in self.model.score(ctx.text, explain_above=self._lowest, check=lambda: ctx.check(self.name)):
            sure = s.probability >= self.thresholds[s.category]
            if sure or (band is not None and s.probability >= band):
                if s.category == "secret" and not _value_near(ctx.text, s.start, s.end):
                    continue
                if s.category == "confidential" and notion_question(ctx.text):
                    continue
                start, end = ctx.norm.span(s.start, s.end)
                kind, category = (TYPES[s.category], s.category) if sure else (TYPES[s.category] + "_UNSURE", UNSURE)
                out.append(Finding(kind, category, start, end, s.probability, self.name, s.cues))
        return out
