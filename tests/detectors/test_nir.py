import pytest

from bench.corpus import break_check, evade_number, gen_nir
from detectors.nir import NirRecognizer

rec = NirRecognizer()


def found(text):
    return [text[f.start : f.end] for f in rec.analyze(text)]


def test_valid_nir_plain_and_grouped(rng):
    v = gen_nir(rng)
    assert found(f"NIR {v}") == [v]
    grouped = evade_number(v, "FR_NIR", "spaces", rng)
    assert found(f"mon numéro : {grouped}.") == [grouped]


def test_corsica_and_temporary(rng):
    corsica = gen_nir(rng, corsica=True)
    assert corsica[5:7] in ("2A", "2B")
    assert found(f"INS {corsica}") == [corsica]
    spaced = f"{corsica[0]} {corsica[1:3]} {corsica[3:5]} {corsica[5:7]} {corsica[7:10]} {corsica[10:13]} {corsica[13:]}"
    assert found(spaced) == [spaced]
    assert found(corsica.lower()) == [corsica.lower()]
    nia = gen_nir(rng, temporary=True)
    assert nia[0] in "78"
    assert found(f"NIA {nia}") == [nia]


def test_invalid_key_rejected_without_cue(rng):
    v = break_check(gen_nir(rng), rng)
    assert found(f"commande {v}") == []
    assert found(evade_number(v, "FR_NIR", "spaces", rng)) == []
    assert found(f"NIR {v}") == [v]  # beside its cue word, a typo in the key still identifies the person


def test_lookalikes_rejected():
    assert found("commande 123456789012345") == []
    assert found("le 12/03/2024 à 10 h") == []


@pytest.mark.parametrize("evasion", ["dots", "dashes", "slashes", "zero_width", "fullwidth", "arabic_digits", "line_break"])
def test_evasions(rng, evasion):
    v = gen_nir(rng)
    shown = evade_number(v, "FR_NIR", evasion, rng)
    text = f"Sécu : {shown} merci"
    res = rec.analyze(text)
    assert len(res) == 1
    assert text[res[0].start : res[0].end] == shown


@pytest.mark.parametrize("text, value", [
    ("NIR 1 85 05 78 006 084 99", "1 85 05 78 006 084 99"),           # wrong key: a typo still identifies
    ("n° sécu : 1 85 05 78 006 084 clé 91", "1 85 05 78 006 084"),     # key written apart
    ("numéro de sécurité sociale 1850578006084", "1850578006084"),     # 13 digits, no key
])
def test_nir_near_its_cue_word(text, value):
    assert value in found(text)


@pytest.mark.parametrize("text", [
    "le 1 85 05 78 006 084 99 sans contexte",    # wrong key, no cue
    "Facture 1850578006084 du fournisseur",       # 13 digits, no cue
    "NIR : voir le dossier, commande 9850578006084",  # not NIR-shaped (first digit)
])
def test_nir_shaped_numbers_without_cue_or_shape(text):
    assert found(text) == []
