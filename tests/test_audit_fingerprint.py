"""Data minimisation: no raw detected value in the audit store; the optional keyed fingerprint lets
the DPO see that the same value was sent twice without being able to read it back."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import text

NIR = "1 85 05 78 006 084 91"
NIR_OTHER = "2 69 05 49 588 157 80"


def send(gw, content: str) -> str:
    r = httpx.post(gw.v1 + "/chat/completions", timeout=10,
                   json={"model": "mistral/mistral-small-latest", "messages": [{"role": "user", "content": content}]})
    assert r.status_code == 403, r.text
    return r.headers["x-gardefou-audit-id"]


def dump(store) -> str:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_records")).all()
    return json.dumps([[str(v) for v in r] for r in rows], ensure_ascii=False)


def fps(gw, audit_id: str) -> list[str]:
    return [f["fp"] for f in gw.store.get(audit_id)["findings"] if f["type"] == "FR_NIR"]


def test_same_value_same_fingerprint_no_raw_value(gateway_factory, db_url, monkeypatch):
    monkeypatch.setenv("GF_FP_KEY", "clé-de-test-empreintes")
    gw = gateway_factory(audit={"url": db_url, "fingerprint_key_env": "GF_FP_KEY"})
    a = send(gw, f"Patient NIR {NIR}, compte rendu à résumer.")
    b = send(gw, f"Autre formulation : numéro de sécu {NIR.replace(' ', '')} à vérifier.")
    c = send(gw, f"Patiente NIR {NIR_OTHER}.")
    assert fps(gw, a) and fps(gw, a) == fps(gw, b)
    assert fps(gw, c) != fps(gw, a)
    blob = dump(gw.store)
    for raw in (NIR, NIR.replace(" ", ""), NIR_OTHER, NIR_OTHER.replace(" ", ""), "clé-de-test-empreintes"):
        assert raw not in blob
    assert gw.store.verify().ok


def test_no_fingerprint_without_key(gateway, db_url):
    a = send(gateway, f"Patient NIR {NIR}.")
    findings = gateway.store.get(a)["findings"]
    assert findings and all("fp" not in f for f in findings)
    assert NIR.replace(" ", "") not in dump(gateway.store)
