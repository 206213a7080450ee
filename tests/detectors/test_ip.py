from detectors.ip import IpRecognizer

rec = IpRecognizer()


def found(text):
    return [text[f.start : f.end] for f in rec.analyze(text)]


def test_ipv4_ipv6():
    assert found("poste 192.168.12.40 bloqué") == ["192.168.12.40"]
    assert found("serveur 2a01:e0a:1f2::8a2e:370:7334") == ["2a01:e0a:1f2::8a2e:370:7334"]
    assert found("le sous-réseau 192.168.10.0/24 du bloc") == ["192.168.10.0"]  # a real subnet of the institution


def test_textbook_addresses_are_not_anybodys():
    assert found("exemple : 192.0.2.15, 198.51.100.7, 2001:db8::8a2e:370:7334") == []
    assert found("différence entre 10.0.0.0/8, 172.16.0.0/12 et 192.168.0.0/16 ?") == []
    assert found("notre réseau 10.0.0.0/16") == ["10.0.0.0"]  # not the reserved block itself


def test_negatives():
    assert found("écoute sur 127.0.0.1 et 0.0.0.0") == []
    assert found("version 1.2.3.4") == []
    assert found("999.1.1.1") == []
    assert found("il est 12:30:45") == []


def test_netmasks_are_not_addresses():
    assert found("c'est pareil que 255.255.255.0 ou 255.255.240.0 ?") == []


def test_internal_addresses_are_confidential_public_ones_personal():
    cats = {f.category for f in rec.analyze("le NAS est en 10.20.0.5")}
    assert cats == {"confidential"}
    assert {f.category for f in rec.analyze("connexion depuis 82.64.12.3")} == {"personal"}


def test_the_ipv4_pattern_matches_as_its_plain_form_did():
    """``_V4`` opens on a digit (its lookbehind moved after it, for speed): the same matches as the
    plain form, on addresses, longer dotted runs, versions and numbers glued to dots."""
    import random
    import re

    from detectors.ip import _V4

    plain = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]|\.\d)")
    rng = random.Random(11)
    pieces = ["192.168.1.1", "1.2.3.4.5", "10.0.0", "255.255.255.255", ".", "1", "12", "123", "1234", "a", "v"]
    texts = ["".join(rng.choice(pieces) + rng.choice([" ", "", ".", "-", "_"]) for _ in range(rng.randint(1, 6)))
             for _ in range(20_000)]
    assert sum(bool(_V4.search(t)) for t in texts) > 1000
    assert [t for t in texts if [m.span() for m in _V4.finditer(t)] != [m.span() for m in plain.finditer(t)]] == []
