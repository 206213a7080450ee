"""Garde-fou's French recognizers as a Presidio recognizer pack.

Presidio's users (LiteLLM's and Kong's guardrails, custom ``AnalyzerEngine`` set-ups) get NIR/INS,
RPPS, ADELI, FINESS, SIREN/SIRET, French phone formats, IBAN, IPP/NDA and the rest with one call::

    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from detectors.presidio_pack import add_french_recognizers

    registry = RecognizerRegistry(supported_languages=["fr"])
    add_french_recognizers(registry)
    engine = AnalyzerEngine(registry=registry, nlp_engine=..., supported_languages=["fr"])
    engine.analyze("NIR 1 85 05 78 006 084 91", language="fr")

Each Garde-fou recognizer becomes one ``EntityRecognizer`` whose ``analyze`` runs it on the text
(normalisation, checksums and context included) and returns ``RecognizerResult`` objects with the
same offsets and scores. Only the identifier families are exported by default: the free-text and
health scorers make sense inside Garde-fou's policy, not as Presidio entities.
"""

from __future__ import annotations

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult

from detectors.base import Recognizer
from detectors.offline import patch_presidio

patch_presidio()  # Presidio's own e-mail recognizer, beside ours in a pack user's registry: offline too


class GardefouRecognizer(EntityRecognizer):
    """A Garde-fou recognizer behind Presidio's interface."""

    def __init__(self, recognizer: Recognizer, entities: list[str], language: str = "fr"):
        self._inner = recognizer
        self.name: str = f"gardefou_{recognizer.name}"
        super().__init__(supported_entities=entities, name=f"gardefou_{recognizer.name}", supported_language=language)

    def load(self) -> None:  # everything is loaded at construction
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        wanted = set(entities or self.supported_entities)
        out = []
        for f in self._inner.analyze(text):
            if f.type in wanted:
                explanation = AnalysisExplanation(recognizer=self.name, original_score=f.score,
                                                  textual_explanation=f"Garde-fou {f.recognizer}")
                out.append(RecognizerResult(f.type, f.start, f.end, f.score, explanation))
        return out


def french_recognizers(language: str = "fr") -> list[GardefouRecognizer]:
    """The identifier recognizers, wrapped (one per family)."""
    from detectors.email import EmailRecognizer
    from detectors.health_ids import AdeliRecognizer, FinessRecognizer, RppsRecognizer
    from detectors.iban import IbanRecognizer
    from detectors.ipp import PatientIdRecognizer
    from detectors.nir import NirRecognizer
    from detectors.phone import PhoneRecognizer
    from detectors.secret import SecretRecognizer
    from detectors.siren import SirenRecognizer

    pack = [
        (NirRecognizer(), ["FR_NIR"]),
        (RppsRecognizer(), ["FR_RPPS"]),
        (AdeliRecognizer(), ["FR_ADELI"]),
        (FinessRecognizer(), ["FR_FINESS"]),
        (SirenRecognizer(), ["FR_SIREN", "FR_SIRET"]),
        (PhoneRecognizer(), ["PHONE_NUMBER"]),
        (IbanRecognizer(), ["IBAN_CODE"]),
        (EmailRecognizer(), ["EMAIL_ADDRESS"]),
        (PatientIdRecognizer(None), ["FR_IPP", "FR_NDA"]),
        (SecretRecognizer(), ["SECRET"]),
    ]
    return [GardefouRecognizer(rec, entities, language) for rec, entities in pack]


def add_french_recognizers(registry, language: str = "fr") -> None:
    """Register the pack on a Presidio ``RecognizerRegistry``."""
    for rec in french_recognizers(language):
        registry.add_recognizer(rec)
