"""Client-supplied text never lands in the audit store, its exports or the dashboard.

A run sends identifiers in every client-controlled field the gateway records (model, URL path,
X-Forwarded-For, a whole letter as the model, an admin query string on a 401); then the SQLite file
and its WAL, the CSV and JSONL exports and the dashboard pages are searched for the raw values.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.admin_support import TOKENS, auth, start_admin
from tests.conftest import gateway_config, start_gateway

NIR_COMPACT = "185057800608491"
PHONE = "0612345678"
IBAN = "FR7630006000011234567890189"
ADMIN_SECRET = "tok-admin-secret-Qz7"
LETTER_MARK = "Madame Bérénice Quintard-Vollaire"
LETTER = (f"Compte rendu d'hospitalisation de {LETTER_MARK}, née le 03/04/1951, hospitalisée pour décompensation "
          "cardiaque. " * 400)


def test_client_text_is_not_stored_or_shown(fake, tmp_path: Path, scanner):
    db = tmp_path / "audit.db"
    url = f"sqlite:///{db}"
    gw = start_gateway(gateway_config(fake.url, url), scanner=scanner)
    fake.clear()
    user = [{"role": "user", "content": "Bonjour"}]
    try:
        sent = [
            httpx.post(gw.v1 + "/chat/completions", json={"model": "mistral/" + LETTER, "messages": user}, timeout=20),
            httpx.post(gw.v1 + "/chat/completions", json={"model": LETTER, "messages": user}, timeout=20),
            httpx.post(gw.v1 + "/chat/completions", json={"model": f"mistral/modele-{PHONE}", "messages": user},
                       timeout=10),
            httpx.post(gw.v1 + "/chat/completions", json={"model": f"{PHONE}/x", "messages": user}, timeout=10),
            httpx.post(gw.v1 + "/chat/completions", json={"model": f"pas un modèle {PHONE}", "messages": user},
                       timeout=10),
            httpx.post(gw.v1 + f"/{IBAN}/chat", json={"model": "mistral/x", "messages": user}, timeout=10),
            httpx.post(gw.v1 + "/chat/completions", json={"model": "mistral/x", "messages": user},
                       headers={"X-Forwarded-For": NIR_COMPACT, "X-Real-IP": NIR_COMPACT}, timeout=10),
        ]
        assert all(r.status_code in (400, 403, 404) for r in sent[:-1]) and sent[-1].status_code == 200
        assert sent[5].status_code == 404
        assert fake.received and all(NIR_COMPACT not in str(r.headers) for r in fake.received)
        for r in sent[:-1]:  # nothing echoed back either
            assert LETTER_MARK not in r.text and PHONE not in r.text and IBAN not in r.text
        records = gw.records()
        assert len(records) == len(sent)
        assert {r["client_addr"] for r in records} == {"127.0.0.1"}
    finally:
        gw.stop()

    admin = start_admin(url)
    try:
        # an unauthenticated request's query string (here holding a token) is not stored
        assert httpx.get(admin.url + "/admin/api/decisions", params={"token": ADMIN_SECRET}, timeout=10).status_code == 401
        pages = []
        for path in ("/admin/api/export.csv", "/admin/api/export.jsonl", "/admin/api/decisions", "/admin/api/access-log"):
            r = httpx.get(admin.url + path, headers=auth("admin"), timeout=20)
            assert r.status_code == 200, path
            pages.append(r.text)
        with httpx.Client(base_url=admin.url, timeout=20) as c:
            assert c.post("/admin/login", data={"token": TOKENS["admin"]}).status_code == 303
            r = c.get("/admin/", params={"since": "2000-01-01"})
            assert r.status_code == 200
            pages.append(r.text)
            for rec in records:
                r = c.get(f"/admin/decisions/{rec['id']}")
                assert r.status_code == 200
                pages.append(r.text)
            pages.append(c.get("/admin/access-log").text)
    finally:
        admin.stop()
        admin.store.dispose()

    stored = b"".join(p.read_bytes() for p in tmp_path.glob("audit.db*"))
    assert len(stored) > 10_000
    shown = "\n".join(pages)
    assert "(masqué)" in shown
    for raw in (NIR_COMPACT, PHONE, IBAN, ADMIN_SECRET, LETTER_MARK, "Quintard"):
        assert raw.encode() not in stored, raw
        assert raw not in shown, raw
    # the stored reasons are the gateway's own words, bounded
    assert max(len(r) for rec in records for r in rec["reasons"]) < 400
