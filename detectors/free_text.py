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

from detectors.base import UNSURE, WINDOW_TYPES, Finding
from detectors.context import ScanContext
from detectors.recognizer import BaseRecognizer
from detectors.textmodel import MODEL_PATH, TextModel

TYPES = {"health": "HEALTH_TEXT", "personal": "PERSONAL_TEXT", "confidential": "CONFIDENTIAL_TEXT",
         "secret": "SECRET_TEXT"}
assert set(TYPES.values()) == WINDOW_TYPES


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
                start, end = ctx.norm.span(s.start, s.end)
                kind, category = (TYPES[s.category], s.category) if sure else (TYPES[s.category] + "_UNSURE", UNSURE)
                out.append(Finding(kind, category, start, end, s.probability, self.name, s.cues))
        return out
