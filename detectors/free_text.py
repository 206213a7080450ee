"""Health, personal, confidential and secret content in free text, by the trained classifier.

Rules and checksums find identifiers; what staff write in their own words ("notre cadre est en arrêt
longue maladie", "la dame de la 5 a chuté", "le budget n'est pas encore arbitré") is scored by the
linear model of ``detectors.textmodel`` over windows of the text. A window whose probability passes
the category's threshold is a finding on that window, with the model's *cue words* (common words of
the training corpus, never the prompt's own names or numbers) to explain it.

Thresholds come with the model (chosen on the development set) and can be overridden per category
in the configuration (``detectors.free_text_thresholds``).
"""

from __future__ import annotations

from pathlib import Path

from detectors.base import WINDOW_TYPES, Finding
from detectors.context import ScanContext
from detectors.recognizer import BaseRecognizer
from detectors.textmodel import MODEL_PATH, TextModel

TYPES = {"health": "HEALTH_TEXT", "personal": "PERSONAL_TEXT", "confidential": "CONFIDENTIAL_TEXT",
         "secret": "SECRET_TEXT"}
assert set(TYPES.values()) == WINDOW_TYPES


class FreeTextRecognizer(BaseRecognizer):
    name = "free_text"

    def __init__(self, thresholds: dict[str, float] | None = None, model_path: Path | str = MODEL_PATH):
        self.model = TextModel(model_path)
        self.thresholds = {**self.model.thresholds, **(thresholds or {})}
        self._lowest = min(self.thresholds.values())

    def analyze_ctx(self, ctx: ScanContext) -> list[Finding]:
        out = []
        for s in self.model.score(ctx.text, explain_above=self._lowest):
            if s.probability >= self.thresholds[s.category]:
                start, end = ctx.norm.span(s.start, s.end)
                out.append(Finding(TYPES[s.category], s.category, start, end, s.probability, self.name, s.cues))
        return out
