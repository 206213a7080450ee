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


def test_netmasks_are_not_addresses():
    assert found("c'est pareil que 255.255.255.0 ou 255.255.240.0 ?") == []


def test_internal_addresses_are_confidential_public_ones_personal():
    cats = {f.category for f in rec.analyze("le NAS est en 10.20.0.5")}
    assert cats == {"confidential"}
    assert {f.category for f in rec.analyze("connexion depuis 82.64.12.3")} == {"personal"}
