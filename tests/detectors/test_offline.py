"""The detectors must work with no network (tldextract must not download the suffix list)."""

import socket

import pytest


@pytest.fixture
def no_network(monkeypatch):
    def guard(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", guard)
    monkeypatch.setattr(socket, "create_connection", guard)
    monkeypatch.setattr(socket, "getaddrinfo", guard)


def test_scanner_builds_and_scans_offline(no_network, tmp_path, monkeypatch):
    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path))  # empty cache: a download would be needed
    from detectors.scanner import build_default_scanner

    s = build_default_scanner({"spacy": False})
    res = s.scan("Écris à jean.dupont@chu-lyon.fr ou jean [at] exemple [dot] com")
    assert [f.type for f in res.findings] == ["EMAIL_ADDRESS", "EMAIL_ADDRESS"]


def test_presidio_email_recognizer_offline(no_network):
    from detectors.offline import patch_presidio

    assert patch_presidio()
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    rec = EmailRecognizer()
    results = rec.analyze("contact: jean.dupont@chu-lyon.fr", ["EMAIL_ADDRESS"])
    assert results and results[0].entity_type == "EMAIL_ADDRESS"
