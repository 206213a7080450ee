import pytest

from bench.corpus import break_check, evade_number, gen_adeli, gen_finess, gen_rpps
from detectors.health_ids import AdeliRecognizer, FinessRecognizer, RppsRecognizer


def test_rpps(rng):
    rec = RppsRecognizer()
    v = gen_rpps(rng)
    assert [f.type for f in rec.analyze(f"Dr X, RPPS {v}")] == ["FR_RPPS"]
    assert rec.analyze(f"RPPS {break_check(v, rng)}") == []
    # An 11-digit Luhn number not in the RPPS range needs the context word.
    assert rec.analyze("commande 79927398713") == []
    assert len(rec.analyze("n° RPPS 79927398713")) == 1


@pytest.mark.parametrize("evasion", ["spaces", "dots", "zero_width", "fullwidth", "line_break"])
def test_rpps_evasion(rng, evasion):
    v = gen_rpps(rng)
    shown = evade_number(v, "FR_RPPS", evasion, rng)
    assert len(RppsRecognizer().analyze(f"prescripteur {shown}")) == 1


def test_adeli_needs_context(rng):
    rec = AdeliRecognizer()
    v = gen_adeli(rng)
    assert [f.type for f in rec.analyze(f"n° ADELI {v}")] == ["FR_ADELI"]
    assert rec.analyze(f"référence {v}") == []


def test_finess_context_and_key(rng):
    rec = FinessRecognizer()
    v = gen_finess(rng)
    assert [f.type for f in rec.analyze(f"FINESS : {evade_number(v, 'FR_FINESS', 'spaces', rng)}")] == ["FR_FINESS"]
    assert rec.analyze(f"FINESS : {break_check(v, rng)}") == []
    assert rec.analyze(f"lot {v}") == []
