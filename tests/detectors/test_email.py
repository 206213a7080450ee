import pytest

from detectors.email import EmailRecognizer

rec = EmailRecognizer()


def found(text):
    return [text[f.start : f.end] for f in rec.analyze(text)]


@pytest.mark.parametrize(
    "shown",
    ["jean.dupont@chu-lyon.fr", "JEAN.DUPONT@CHU-LYON.FR", "jean.dupont [at] chu-lyon [dot] fr",
     "jean.dupont (arobase) chu-lyon.fr", "jean point dupont arobase chu-lyon point fr", "jean.dupont@\nchu-lyon.fr",
     "jеаn.dupоnt@chu-lyon.fr", "jean.dupont @ chu-lyon.fr", "j.dupont+rdv@gmail.com"],
)
def test_forms(shown):
    assert found(f"Écris à {shown} demain") == [shown]


def test_negatives():
    assert found("Rendez-vous at home point final") == []
    assert found("@dupont sur Twitter") == []
    assert found("user@localhost") == []
    assert found("adresse@domaine.invalidtld") == []
