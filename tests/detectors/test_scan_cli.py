import json

from detectors.scan_cli import scan_lines, scan_record


def test_scan_record_masks(scanner):
    text = "NIR 1 85 05 78 006 084 42 ou 2 84 12 75 114 027 58, mail jean.dupont@chu-lyon.fr"
    rec = scan_record(scanner, text)
    assert rec["categories"] == ["personal"]
    email = next(f for f in rec["findings"] if f["type"] == "EMAIL_ADDRESS")
    assert email["excerpt"] != "jean.dupont@chu-lyon.fr" and "*" in email["excerpt"]
    assert set(email) >= {"type", "category", "start", "end", "score", "excerpt"}
    json.dumps(rec)


def test_scan_lines(scanner):
    lines = [json.dumps({"id": 1, "text": "Patiente de 54 ans, diabète, hospitalisée le 12/03."}), "", "Bonjour à tous"]
    out = list(scan_lines(scanner, lines))
    assert out[0]["id"] == 1 and out[0]["categories"] == ["health"]
    assert out[1]["categories"] == []
