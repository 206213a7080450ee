import pytest

from bench.corpus import evade_number, gen_iban
from detectors.iban import IbanRecognizer

rec = IbanRecognizer()


def test_valid_iban(rng):
    v = gen_iban(rng)
    text = f"IBAN {v} merci"
    assert [text[f.start : f.end] for f in rec.analyze(text)] == [v]
    assert len(rec.analyze("Son IBAN : FR14 2004 1010 0505 0001 3M02 606")) == 1
    assert len(rec.analyze("DE89 3704 0044 0532 0130 00")) == 1


def test_lower_case_iban(rng):
    v = gen_iban(rng).lower()
    assert len(rec.analyze(f"iban {v}")) == 1


def test_invalid_iban(rng):
    v = gen_iban(rng)
    bad = v[:2] + ("00" if v[2:4] != "00" else "01") + v[4:]
    assert rec.analyze(f"IBAN {bad}") == []  # a wrong checksum: not an IBAN (the bank refused it)
    assert rec.analyze("de 2024 les agents ont fait 1234 heures") == []
    assert rec.analyze("Check the IBAN format FR76 and its check digits in general") == []


@pytest.mark.parametrize("evasion", ["spaces", "dots", "dashes", "zero_width", "fullwidth", "line_break"])
def test_evasions(rng, evasion):
    v = gen_iban(rng)
    shown = evade_number(v, "IBAN_CODE", evasion, rng)
    assert len(rec.analyze(f"RIB : {shown}")) == 1
