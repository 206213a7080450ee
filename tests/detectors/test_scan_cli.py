import json

from detectors.scan_cli import scan_record


def test_scan_record_masks(scanner):
    text = "NIR 1 85 05 78 006 084 42 ou 2 84 12 75 114 027 58, mail jean.dupont@chu-lyon.fr"
    rec = scan_record(scanner, text)
    assert rec["categories"][0] == "personal"  # (the classifier may add a category for the whole text)
    email = next(f for f in rec["findings"] if f["type"] == "EMAIL_ADDRESS")
    assert email["excerpt"] != "jean.dupont@chu-lyon.fr" and "*" in email["excerpt"]
    assert set(email) >= {"type", "category", "start", "end", "score", "excerpt"}
    json.dumps(rec)
