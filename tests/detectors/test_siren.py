from bench.corpus import gen_siren, gen_siret
from detectors.siren import SirenRecognizer


def test_siren_only_with_natural_person_context(rng):
    rec = SirenRecognizer()
    v = gen_siren(rng)
    assert [f.type for f in rec.analyze(f"Je suis auto-entrepreneur, SIREN {v}")] == ["FR_SIREN"]
    assert rec.analyze(f"La société Alpha SA, SIREN {v}, a remporté le marché.") == []


def test_siren_always_option(rng):
    v = gen_siren(rng)
    assert len(SirenRecognizer(always=True).analyze(f"SIREN {v}")) == 1


def test_siret(rng):
    v = gen_siret(rng)
    text = f"Infirmier libéral, SIRET {v[:3]} {v[3:6]} {v[6:9]} {v[9:]}"
    assert "FR_SIRET" in [f.type for f in SirenRecognizer().analyze(text)]


def test_invalid_siren(rng):
    v = gen_siren(rng)
    bad = v[:-1] + str((int(v[-1]) + 1) % 10)
    assert SirenRecognizer(always=True).analyze(f"SIREN {bad}") == []
