from detectors.ip import IpRecognizer

rec = IpRecognizer()


def found(text):
    return [text[f.start : f.end] for f in rec.analyze(text)]


def test_ipv4_ipv6():
    assert found("poste 192.168.12.40 bloqué") == ["192.168.12.40"]
    assert found("serveur 2001:db8::8a2e:370:7334") == ["2001:db8::8a2e:370:7334"]


def test_negatives():
    assert found("écoute sur 127.0.0.1 et 0.0.0.0") == []
    assert found("version 1.2.3.4") == []
    assert found("999.1.1.1") == []
    assert found("il est 12:30:45") == []
