"""Records written by a running gateway (insert, then outcome via complete()) form a chain that verifies,
and tampering with an outcome written after the response is detected."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import text

BENIGN = "Reformule ce paragraphe : la réunion est reportée à jeudi."
NIR = "1 85 05 78 006 084 91"


def chat(gw, content: str, model: str = "mistral/mistral-small-latest") -> httpx.Response:
    return httpx.post(gw.v1 + "/chat/completions", timeout=10,
                      json={"model": model, "messages": [{"role": "user", "content": content}]})


def wait_outcome(gw, audit_id: str) -> dict:
    deadline = time.monotonic() + 5
    while True:
        rec = gw.store.get(audit_id)
        if rec["total_ms"] is not None or time.monotonic() > deadline:
            return rec
        time.sleep(0.02)


def test_gateway_traffic_verifies(gateway):
    ids = []
    for content in (BENIGN, f"NIR {NIR}", BENIGN, "Bonjour"):
        r = chat(gateway, content)
        ids.append(r.headers["x-gardefou-audit-id"])
    r = chat(gateway, BENIGN, model="xai-grok/grok-2")  # denied service
    ids.append(r.headers["x-gardefou-audit-id"])
    recs = [wait_outcome(gateway, i) for i in ids]
    assert recs[0]["upstream_status"] == 200 and recs[1]["decision"] == "block"
    res = gateway.store.verify()
    assert res.ok, res.problem
    assert res.checked == 5
    # the outcome added after the response is covered too
    with gateway.store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET upstream_status=201 WHERE id=:i"), {"i": ids[2]})
    res = gateway.store.verify()
    assert (res.problem.kind, res.problem.id) == ("outcome_changed", ids[2])
