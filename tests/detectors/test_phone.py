import pytest

from detectors.phone import PhoneRecognizer

rec = PhoneRecognizer()


def found(text):
    return [text[f.start : f.end] for f in rec.analyze(text)]


@pytest.mark.parametrize(
    "shown",
    ["06 12 34 56 78", "06.12.34.56.78", "06-12-34-56-78", "06/12/34/56/78", "0612345678", "+33 6 12 34 56 78",
     "+33612345678", "0033 6 12 34 56 78", "+33 (0)6 12 34 56 78", "01 42 34 56 78", "09 70 12 34 56",
     "06 12\n34 56 78", "０６ １２ ３４ ５６ ７８", "0\u200b6\u200b1\u200b2\u200b3\u200b4\u200b5\u200b6\u200b7\u200b8"],
)
def test_french_notations(shown):
    assert found(f"Appelez le {shown} svp") == [shown]


def test_international_with_plus():
    assert found("UK office +44 20 7946 0958") == ["+44 20 7946 0958"]


def test_negatives():
    assert found("le 12/03/2024 à 10:30") == []
    assert found("commande 0012345678") == []
    assert found("NIR 1 85 05 78 006 084 42") == []  # ten digits inside a longer number
