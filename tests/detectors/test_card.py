import pytest

from bench.corpus import break_check, evade_number, gen_card
from detectors.card import CreditCardRecognizer

rec = CreditCardRecognizer()


def test_valid_cards(rng):
    for _ in range(20):
        v = gen_card(rng)
        assert len(rec.analyze(f"carte {v}")) == 1
    assert len(rec.analyze("Amex 3782 822463 10005")) == 1


def test_invalid_and_lookalikes(rng):
    assert rec.analyze(f"carte {break_check(gen_card(rng), rng)}") == []
    # Luhn-valid but a 13-digit number with a Mastercard prefix is not a card.
    assert rec.analyze("facture 5560144507702") == []
    assert rec.analyze("1111 1111 1111 1111") == []


def test_not_inside_invalid_iban():
    assert rec.analyze("FR76 3552 0972 5148 3939 7394 594") == []


@pytest.mark.parametrize("evasion", ["spaces", "dots", "dashes", "slashes", "zero_width", "fullwidth", "arabic_digits", "line_break"])
def test_evasions(rng, evasion):
    v = gen_card(rng)
    shown = evade_number(v, "CREDIT_CARD", evasion, rng)
    text = f"CB : {shown}"
    res = rec.analyze(text)
    assert len(res) == 1 and text[res[0].start : res[0].end] == shown
