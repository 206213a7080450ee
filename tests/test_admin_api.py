"""The admin API: roles, access log, filters, keyset pages, stats, streamed exports."""

import csv
import io
import json
from datetime import timedelta

import httpx
import pytest

from tests.admin_support import T0, TOKENS, auth, start_admin
from tests.test_audit_chain import make_record


def get(admin, path: str, role: str | None = "dpo", **params) -> httpx.Response:
    return httpx.get(admin.url + path, params=params, headers=auth(role) if role else {}, timeout=10)


def log_rows(admin) -> list[dict]:
    return admin.store.access_log(1000)


def test_auth_required_and_roles(admin):
    for path in ("/admin/api/decisions", "/admin/api/stats", "/admin/api/export.csv", "/admin/api/access-log",
                 f"/admin/api/decisions/{admin.records[0]['id']}"):
        r = get(admin, path, role=None)
        assert r.status_code == 401, path
        assert r.json()["error"]["code"] == "unauthenticated"
        assert "Authorization" in r.json()["error"]["message"]
        assert r.headers["www-authenticate"].startswith("Bearer")
        r = httpx.get(admin.url + path, headers={"Authorization": "Bearer wrong"}, timeout=10)
        assert r.status_code == 401
        r = httpx.get(admin.url + path, headers={"Authorization": f"Basic {TOKENS['admin']}"}, timeout=10)
        assert r.status_code == 401
    for role in ("dpo", "rssi", "admin"):
        assert get(admin, "/admin/api/decisions", role).status_code == 200
        assert get(admin, "/admin/api/stats", role).status_code == 200
        assert get(admin, "/admin/api/export.jsonl", role).status_code == 200
    for role in ("dpo", "rssi"):
        r = get(admin, "/admin/api/access-log", role)
        assert r.status_code == 403
        assert f"({role})" in r.json()["error"]["message"] and "journal des accès" in r.json()["error"]["message"]
    assert get(admin, "/admin/api/access-log", "admin").status_code == 200


def test_every_read_is_logged(admin):
    get(admin, "/admin/api/decisions", "dpo", decision="block", limit="5")
    get(admin, f"/admin/api/decisions/{admin.records[3]['id']}", "rssi")
    get(admin, "/admin/api/stats", "dpo", group_by="service")
    get(admin, "/admin/api/export.csv", "rssi", department="urgences")
    get(admin, "/admin/api/access-log", "dpo")  # refused, but logged
    get(admin, "/admin/api/decisions", None)  # unauthenticated, logged
    get(admin, "/admin/api/decisions", "dpo", decision="maybe")  # invalid, logged
    rows = list(reversed(log_rows(admin)))
    summary = [(r["user_id"], r["action"], r["outcome"]) for r in rows]
    assert summary == [
        ("dpo.user", "decisions.list", "ok"),
        ("rssi.user", "decisions.get", "ok"),
        ("dpo.user", "stats", "ok"),
        ("rssi.user", "export.csv", "ok"),
        ("dpo.user", "access_log.list", "denied"),
        (None, "decisions.list", "unauthenticated"),
        ("dpo.user", "decisions.list", "invalid"),
    ]
    assert rows[0]["params"] == {"decision": "block", "limit": "5"} and rows[0]["role"] == "dpo"
    assert rows[1]["params"] == {"id": admin.records[3]["id"]}
    assert rows[3]["params"] == {"department": "urgences"} and rows[3]["channel"] == "api"
    assert rows[0]["client_addr"] == "127.0.0.1"
    # only admin reads it, and that read is logged too
    r = get(admin, "/admin/api/access-log", "admin", limit="3")
    body = r.json()
    assert [i["action"] for i in body["items"]] == ["access_log.list", "decisions.list", "decisions.list"]
    assert body["items"][0]["user_id"] == "admin.user" and body["next_cursor"]
    r2 = get(admin, "/admin/api/access-log", "admin", limit="3", cursor=body["next_cursor"])
    assert r2.json()["items"][0]["seq"] < body["items"][-1]["seq"]


def test_filters(admin):
    recs = admin.records

    def ids(**params):
        r = get(admin, "/admin/api/decisions", limit="1000", **params)
        assert r.status_code == 200, r.text
        return {i["id"] for i in r.json()["items"]}

    assert len(ids()) == 30
    assert ids(decision="block") == {r["id"] for r in recs if r["decision"] == "block"}
    assert ids(service="openai") == {r["id"] for r in recs if r["service_id"] == "openai"}
    assert ids(client="poste-1") == {r["id"] for r in recs if r["client_id"] == "poste-1"}
    assert ids(department="urgences") == {r["id"] for r in recs if r["department"] == "urgences"}
    assert ids(category="health") == {r["id"] for r in recs if ",health," in r["categories"]}
    assert ids(category="personal") == {r["id"] for r in recs if ",personal," in r["categories"]}
    assert ids(finding_type="FR_NIR") == {r["id"] for r in recs if ",FR_NIR," in r["finding_types"]}
    assert ids(category="secret") == set()
    day2 = {r["id"] for r in recs if r["ts"].date() == (T0 + timedelta(days=1)).date()}
    assert ids(since="2026-03-03", until="2026-03-03") == day2  # a bare "until" date includes that day
    assert ids(since="2026-03-03T00:00:00Z", until="2026-03-04T00:00:00+00:00") == day2
    assert ids(since="2026-03-03T01:00:00+01:00", until="2026-03-03") == day2  # offsets are honoured
    assert ids(since="2026-03-04", department="urgences", decision="block") == {
        r["id"] for r in recs[20:] if r["department"] == "urgences" and r["decision"] == "block"}
    item = get(admin, "/admin/api/decisions", decision="block", limit="1").json()["items"][0]
    assert item["categories"] and isinstance(item["categories"], list)
    assert item["ts"].endswith("Z") and item["record_hash"]


@pytest.mark.parametrize("params, word", [
    ({"since": "hier"}, "since"), ({"until": "2026-13-45"}, "until"), ({"decision": "maybe"}, "decision"),
    ({"category": "santé"}, "category"), ({"finding_type": "%"}, "finding_type"), ({"limit": "0"}, "limit"),
    ({"limit": "abc"}, "limit"), ({"cursor": "!!"}, "cursor"), ({"servcie": "x"}, "servcie"),
    ({"since": "2026-03-04", "until": "2026-03-02"}, "since"), ({"client": "x" * 200}, "client"),
])
def test_bad_filters_400_in_french(admin, params, word):
    r = get(admin, "/admin/api/decisions", **params)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "invalid_parameter" and word in err["message"]
    assert any(w in err["message"] for w in ("invalide", "inconnu"))


def test_bad_stats_and_export_params(admin):
    r = get(admin, "/admin/api/stats", group_by="week")
    assert r.status_code == 400 and "group_by" in r.json()["error"]["message"]
    assert get(admin, "/admin/api/export.csv", decision="nope").status_code == 400
    assert get(admin, "/admin/api/export.jsonl", since="x").status_code == 400
    r = get(admin, "/admin/api/decisions/does-not-exist")
    assert r.status_code == 404 and "Aucun enregistrement" in r.json()["error"]["message"]


def test_keyset_pagination(admin):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": "7", "department": "urgences"}
        if cursor:
            params["cursor"] = cursor
        body = get(admin, "/admin/api/decisions", **params).json()
        seen += [i["seq"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and len(seen) == 15 == len(set(seen))
    assert seen == sorted(seen, reverse=True)  # newest first, no duplicates, no gaps
    # a record added meanwhile does not shift the next page (keyset, not OFFSET)
    first = get(admin, "/admin/api/decisions", limit="10").json()
    admin.store.insert(make_record(99, ts=T0 + timedelta(days=5)))
    second = get(admin, "/admin/api/decisions", limit="10", cursor=first["next_cursor"]).json()
    assert second["items"][0]["seq"] == first["items"][-1]["seq"] - 1


def test_decision_detail(admin):
    rec = admin.records[0]
    body = get(admin, f"/admin/api/decisions/{rec['id']}").json()
    assert body["id"] == rec["id"] and body["decision"] == "block"
    assert body["categories"] == ["personal", "health"]
    assert body["findings"][0]["type"] == "FR_NIR" and "record_hash" in body


def test_stats(admin):
    recs = admin.records

    def s(**params):
        r = get(admin, "/admin/api/stats", **params)
        assert r.status_code == 200, r.text
        return r.json()

    by_day = s(group_by="day")
    assert by_day["total"] == 30
    assert [(g["key"], g["count"]) for g in by_day["groups"]] == [
        ("2026-03-02", 10), ("2026-03-03", 10), ("2026-03-04", 10)]
    assert by_day["by_decision"] == {"allow": 12, "warn": 6, "block": 12, "refuse": 0}
    assert sum(g["block"] for g in by_day["groups"]) == 12
    svc = s(group_by="service")
    assert {g["key"]: g["count"] for g in svc["groups"]} == {"mistral": 10, "openai": 10, "anthropic": 10}
    cats = s(group_by="category")
    assert {g["key"]: g["count"] for g in cats["groups"]} == {"personal": 12, "health": 6}
    assert s(group_by="decision", department="urgences")["total"] == 15
    dec = {g["key"]: g["count"] for g in s(group_by="decision", department="urgences")["groups"]}
    assert dec == {d: sum(1 for r in recs if r["department"] == "urgences" and r["decision"] == d)
                   for d in ("allow", "warn", "block")}
    clients = s(group_by="client", decision="block", limit="2")
    assert len(clients["groups"]) == 2
    deps = s(group_by="department", category="health")
    assert {g["key"]: g["count"] for g in deps["groups"]} == {"pharmacie": 3, "urgences": 3}


def test_export_csv(admin):
    r = get(admin, "/admin/api/export.csv", department="urgences")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    raw = r.content
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel detects the encoding
    assert b"\r\n" in raw and raw.count(b"\r\n") == 16
    text_ = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text_, newline=""), delimiter=";"))
    header, data = rows[0], rows[1:]
    assert header[:3] == ["id", "horodatage_utc", "client"] and len(data) == 15
    assert all(len(row) == len(header) for row in data)
    col = dict(zip(header, data[0]))
    first = next(rec for rec in admin.records if rec["department"] == "urgences")
    assert col["id"] == first["id"] and col["departement"] == "urgences"
    assert col["horodatage_utc"] == first["ts"].strftime("%Y-%m-%d %H:%M:%S")
    assert col["inspection_ms"] == f"{round(first['inspect_ms'], 3):.3f}".replace(".", ",")  # decimal comma
    assert col["transmis"] in ("oui", "non")
    motifs = [dict(zip(header, row))["motifs"] for row in data]
    assert "Données de santé détectées." in motifs  # accents survive


def test_export_csv_neutralises_formulas(admin):
    rec = make_record(1, service="mistral")
    rec["model"] = "=HYPERLINK(\"http://x\")"
    admin.store.insert(rec)
    text_ = get(admin, "/admin/api/export.csv", client=rec["client_id"]).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text_, newline=""), delimiter=";"))
    header = rows[0]
    models = [dict(zip(header, row))["modele"] for row in rows[1:]]
    assert "'=HYPERLINK(\"http://x\")" in models


def test_export_jsonl(admin):
    r = get(admin, "/admin/api/export.jsonl", decision="block")
    lines = r.text.splitlines()
    assert len(lines) == 12
    items = [json.loads(line) for line in lines]
    assert all(i["decision"] == "block" for i in items)
    assert [i["seq"] for i in items] == sorted(i["seq"] for i in items)  # chronological
    assert items[0]["findings"] and items[0]["record_hash"]


def test_export_is_streamed_in_batches(admin, monkeypatch):
    """Exports read keyset batches: never the whole table at once."""
    from gateway.audit import store as store_mod

    sizes = []
    real = store_mod.AuditStore.iter_records

    def spy(self, where=None, ascending=True, batch=None):
        sizes.append(batch)
        return real(self, where, ascending, batch=7)

    monkeypatch.setattr(store_mod.AuditStore, "iter_records", spy)
    with httpx.stream("GET", admin.url + "/admin/api/export.jsonl", headers=auth("dpo"), timeout=10) as r:
        chunks = list(r.iter_bytes())
    assert sizes and len(b"".join(chunks).splitlines()) == 30


def test_dashboard_session_cookie(admin):
    """The dashboard's login exchanges the token for an HttpOnly session cookie, usable by the export links."""
    with httpx.Client(base_url=admin.url, timeout=10) as c:
        r = c.get("/admin/")
        assert r.status_code == 303 and r.headers["location"] == "/admin/login"
        assert c.post("/admin/login", data={"token": "faux"}).status_code == 401
        r = c.post("/admin/login", data={"token": TOKENS["rssi"]})
        assert r.status_code == 303
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/admin" in cookie
        assert TOKENS["rssi"].lower() not in cookie
        r = c.get("/admin/")
        assert r.status_code == 303 and r.headers["location"].startswith("/admin/?since=")
        r = c.get("/admin/", params={"since": "2026-03-01"})
        assert r.status_code == 200 and "Tableau de bord" in r.text
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'none'" in csp
        assert "<script" not in r.text and "http://" not in r.text.replace(admin.url, "")
        r = c.get("/admin/api/export.csv", params={"decision": "block"})
        assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
        assert c.get("/admin/api/access-log").status_code == 403  # rssi
        # an explicit wrong bearer is refused even with a valid session
        assert c.get("/admin/api/decisions", headers={"Authorization": "Bearer faux"}).status_code == 401
        assert c.get("/admin/access-log").status_code == 403
        c.post("/admin/logout")
        assert c.get("/admin/api/decisions").status_code == 401
    actions = [(r["channel"], r["action"], r["outcome"]) for r in reversed(admin.store.access_log(100))]
    assert ("api", "export.csv", "ok") in actions and ("dashboard", "dashboard", "ok") in actions


def test_large_export_memory_stays_flat(db_url, monkeypatch):
    """20 000 records exported: peak Python memory is bounded by the batch, not by the export size
    (measured: ~7-9 MB peak with the default 1000-row batch for 10 000 as for 40 000 records)."""
    import tracemalloc

    from gateway.audit import store as store_mod

    monkeypatch.setattr(store_mod, "BATCH", 200)
    from sqlalchemy import insert as sa_insert

    from gateway.audit import chain
    from gateway.audit.schema import audit_records

    srv = start_admin(db_url)
    try:
        rows = [chain.normalise(make_record(i, ts=T0 + timedelta(seconds=i), decision="block",
                                            categories=("health",), types=("FR_NIR",))) for i in range(20_000)]
        with srv.store.engine.begin() as conn:  # bulk load (the chain is not what is measured here)
            conn.execute(sa_insert(audit_records), rows)
        del rows
        tracemalloc.start()
        size = 0
        with httpx.stream("GET", srv.url + "/admin/api/export.csv", headers=auth("dpo"), timeout=120) as r:
            for chunk in r.iter_bytes():
                size += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert size > 6_000_000
        print(f"export {size} bytes, peak traced memory {peak} bytes")
        assert peak < size / 3, (peak, size)
    finally:
        srv.stop()
        srv.store.dispose()


def test_login_body_is_bounded(admin):
    r = httpx.post(admin.url + "/admin/login", content=b"token=" + b"x" * 10_000,
                   headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert r.status_code == 413


def test_login_from_a_foreign_origin_is_refused(admin):
    from tests.admin_support import TOKENS as T

    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Referer": "https://evil.example/x"},
                    {"Sec-Fetch-Site": "cross-site", "Origin": "null"}):
        r = httpx.post(admin.url + "/admin/login", data={"token": T["dpo"]}, headers=headers, timeout=10)
        assert r.status_code == 403 and "set-cookie" not in r.headers
    r = httpx.post(admin.url + "/admin/login", data={"token": T["dpo"]}, headers={"Origin": admin.url}, timeout=10)
    assert r.status_code == 303


def test_huge_cursor_is_a_400_not_a_500(admin):
    import base64

    cursor = base64.urlsafe_b64encode(b"s" + b"9" * 40).decode()
    for path in ("/admin/api/decisions", "/admin/api/access-log"):
        role = "admin"
        assert get(admin, path, role, cursor=cursor).status_code == 400


def test_store_failure_is_a_503_in_french(admin):
    """The audit store failing behind the listener's back: a French 503, not a stack trace (API,
    exports included, and dashboard); the access log, still writable, records the attempt."""
    from sqlalchemy import text

    rec_id = admin.records[0]["id"]
    with admin.store.engine.begin() as conn:
        conn.execute(text("DROP TABLE audit_records"))
    for path in ("/admin/api/decisions", f"/admin/api/decisions/{rec_id}", "/admin/api/stats",
                 "/admin/api/export.csv", "/admin/api/export.jsonl"):
        r = get(admin, path)
        assert r.status_code == 503, (path, r.text)
        err = r.json()["error"]
        assert err["code"] == "audit_store_unavailable" and "Journal d'audit indisponible" in err["message"]
        assert r.headers["content-security-policy"] and r.headers["cache-control"] == "no-store"
    with httpx.Client(base_url=admin.url, timeout=10) as c:
        assert c.post("/admin/login", data={"token": TOKENS["dpo"]}).status_code == 303
        for path in ("/admin/?since=2026-03-01", f"/admin/decisions/{rec_id}"):
            r = c.get(path)
            assert r.status_code == 503 and "text/html" in r.headers["content-type"]
            assert "Journal d&#39;audit indisponible" in r.text and "Traceback" not in r.text
    actions = [(r["channel"], r["action"]) for r in log_rows(admin)]
    assert ("api", "export.jsonl") in actions and ("dashboard", "decisions.get") in actions
