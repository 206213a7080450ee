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


# -- issue 15: what a DPO reads ----------------------------------------------------------------

def csv_rows(r: httpx.Response) -> tuple[list[str], list[dict]]:
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline=""), delimiter=";"))
    return rows[0], [dict(zip(rows[0], row)) for row in rows[1:]]


def test_refusals_counted_apart_from_blocks(admin):
    """``refuse`` (technical) is its own decision in the stats, the filters and the exports; it is never
    added to ``block`` (the charter), and the stats say both in French."""
    from tests.admin_support import seed_dpo_extras

    extra = seed_dpo_extras(admin.store)
    s = get(admin, "/admin/api/stats", group_by="decision").json()
    assert s["by_decision"] == {"allow": 13, "warn": 7, "block": 13, "refuse": 3}
    assert {g["key"]: (g["count"], g["label"]) for g in s["groups"]} == {
        "allow": (13, "autorisée"), "warn": (7, "avertissement"), "block": (13, "bloquée"),
        "refuse": (3, "refusée (technique)")}
    assert s["decision_labels"]["refuse"] == "refusée (technique)"
    # every group is split by decision: the refusals of a service are not its blocks
    svc = {g["key"]: g for g in get(admin, "/admin/api/stats", group_by="service").json()["groups"]}
    assert (svc["mistral"]["refuse"], svc["mistral"]["block"]) == (1, 4)
    assert svc["mistral"]["label"] == "Le Chat / La Plateforme (Mistral AI)"
    assert svc["inconnu-x"]["label"] == "inconnu-x (hors catalogue)" and svc[None]["label"] == "(non renseigné)"
    cats = {g["key"]: g["label"] for g in get(admin, "/admin/api/stats", group_by="category").json()["groups"]}
    assert cats["health"] == "données de santé"
    # filters
    items = get(admin, "/admin/api/decisions", decision="refuse").json()["items"]
    assert {i["id"] for i in items} == {extra[f"refuse{i}"]["id"] for i in range(3)}
    assert all(i["decision"] != "refuse" for i in get(admin, "/admin/api/decisions", decision="block",
                                                     limit="1000").json()["items"])
    header, rows = csv_rows(get(admin, "/admin/api/export.csv", decision="refuse"))
    assert [(r["decision"], r["libelle_decision"]) for r in rows] == [("refuse", "refusée (technique)")] * 3


def test_export_csv_french_columns_and_paris_time(admin):
    """The CSV keeps its columns in place (codes, UTC) and adds, after them, the Paris time and the
    French labels of the decision, rules, categories and detected types."""
    from gateway.audit.query import CSV_COLUMNS
    from tests.admin_support import seed_dpo_extras

    extra = seed_dpo_extras(admin.store)
    header, rows = csv_rows(get(admin, "/admin/api/export.csv"))
    assert header[:31] == [
        "id", "horodatage_utc", "client", "departement", "adresse_client", "api", "point_acces", "hote", "service_ia",
        "modele", "decision", "transmis", "regles", "motifs", "categories", "types_detectes", "detections", "nb_parties",
        "nb_caracteres", "statut_http", "statut_fournisseur", "erreur_fournisseur", "inspection_ms", "fournisseur_ms",
        "total_ms", "octets_envoyes", "octets_recus", "erreur", "empreinte", "empreinte_precedente", "empreinte_resultat"]
    assert header[31:36] == ["horodatage_paris", "libelle_decision", "libelles_regles", "libelles_categories",
                             "libelles_types_detectes"] and len(header) == len(CSV_COLUMNS)
    assert header[36:] == ["nb_messages", "avis", "jetons_entree", "jetons_sortie", "energie_estimee_wh",
                           "co2e_estime_g", "estimation", "methode_estimation"]  # sobriety, after the rest
    by_id = {r["id"]: r for r in rows}
    winter = by_id[admin.records[0]["id"]]
    assert (winter["horodatage_utc"], winter["horodatage_paris"]) == ("2026-03-02 08:00:00", "2026-03-02 09:00:00")
    summer = by_id[extra["summer"]["id"]]
    assert (summer["horodatage_utc"], summer["horodatage_paris"]) == ("2026-07-14 10:00:00", "2026-07-14 12:00:00")
    block = by_id[extra["block"]["id"]]
    assert block["decision"] == "block" and block["libelle_decision"] == "bloquée"
    assert block["regles"] == "charter.health" and block["libelles_regles"] == "charte : données de santé"
    assert block["libelles_categories"] == "données personnelles | données de santé"
    assert block["types_detectes"] == "HEALTH_TEXT, PHONE_NUMBER"
    assert block["libelles_types_detectes"] == "santé (texte libre) | téléphone"
    refused = by_id[extra["refuse1"]["id"]]
    assert refused["libelles_regles"] == "authentification : clé absente ou invalide"
    assert by_id[extra["long"]["id"]]["libelles_regles"] == (
        "charte : service non conforme | avertissement : confirmation demandée | détection incertaine")
    # JSONL stays the machine's: codes and UTC
    line = json.loads(get(admin, "/admin/api/export.jsonl", decision="block").text.splitlines()[-1])
    assert line["rule_ids"] == ["charter.health"] and line["ts"] == "2026-03-04T10:00:00Z"


def test_label_tables_cover_every_type_and_rule():
    """Every finding type a detector emits and every rule the gateway or the policy records has a
    French label: read from the source, so a new recognizer or refusal without one fails here."""
    import ast
    from pathlib import Path

    from detectors.base import UNSURE_TYPES, WINDOW_TYPES
    from policies.labels import FINDING_TYPE_LABELS_FR, RULE_LABELS_FR, finding_type_fr, rule_fr

    root = Path(__file__).parent.parent
    emitted: set[str] = set(WINDOW_TYPES)
    for path in (root / "detectors").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                if name in ("finding", "Finding", "RecognizerResult") and node.args and isinstance(node.args[0], ast.Constant):
                    emitted.add(node.args[0].value)
                if name == "get" and len(node.args) == 2 and getattr(node.args[0], "value", None) == "type":
                    emitted.add(node.args[1].value)  # a configured pattern's or term's default type
            targets = [getattr(t, "id", None) for t in getattr(node, "targets", [])] + [getattr(getattr(node, "target", None), "id", None)]
            value = getattr(node, "value", None)
            if {"entity", "type"} & set(targets) and value is not None:
                emitted |= {c.value for c in ast.walk(value) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
            if isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values):
                    if getattr(k, "value", None) == "type" and isinstance(v, ast.Constant):
                        emitted.add(v.value)
    emitted.discard("")  # the recognizer base class's empty default
    assert {"FR_NIR", "PHONE_NUMBER", "HEALTH_TEXT", "FR_SIRET", "FR_NDA", "CREDIT_CARD", "LOCATION"} <= emitted
    assert emitted - set(FINDING_TYPE_LABELS_FR) == set()
    for unsure in UNSURE_TYPES:
        assert finding_type_fr(unsure) != unsure and "incertain" in finding_type_fr(unsure)
    assert finding_type_fr("HEALTH_TEXT_UNSURE") == "santé (texte libre, incertain)"
    assert finding_type_fr("FR_NIR") == "NIR" and finding_type_fr("PHONE_NUMBER") == "téléphone"
    assert finding_type_fr("PROJET_ATLAS") == "PROJET_ATLAS"  # an institution's own dictionary type, as written

    import re

    families = "|".join(("charter", "service", "policy", "detect", "warn", "auth", "request", "gateway", "upstream"))
    recorded: set[str] = set()
    for folder in ("gateway", "policies"):
        for path in (root / folder).rglob("*.py"):
            recorded |= set(re.findall(rf'"((?:{families})\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    recorded |= {f"charter.{c}" for c in ("personal", "health", "confidential", "secret", "uninspectable")}  # f"charter.{c}"
    assert {"auth.failed", "request.invalid_json", "gateway.busy", "service.unknown", "detect.unsure"} <= recorded
    assert recorded - set(RULE_LABELS_FR) == set()
    assert rule_fr("charter.health") == "charte : données de santé"
    assert rule_fr("request.brand_new") == "requête : brand new"  # readable fallback for a rule added later
    assert rule_fr("odd") == "odd"


def test_paris_dates_and_days():
    """The dashboard's dates are Paris days (a spring-forward day lasts 23 hours); the API's stay UTC."""
    from datetime import UTC, datetime

    from gateway.audit import query as Q

    f = Q.parse_filters({"since": "2026-03-29", "until": "2026-03-29"}, tz=Q.PARIS)
    assert f.since == datetime(2026, 3, 28, 23, tzinfo=UTC) and f.until == datetime(2026, 3, 29, 22, tzinfo=UTC)
    f = Q.parse_filters({"since": "2026-07-01T08:00:00"}, tz=Q.PARIS)  # naive: Paris time
    assert f.since == datetime(2026, 7, 1, 6, tzinfo=UTC)
    f = Q.parse_filters({"since": "2026-07-01T08:00:00Z"}, tz=Q.PARIS)  # an offset is honoured
    assert f.since == datetime(2026, 7, 1, 8, tzinfo=UTC)
    assert Q.parse_filters({"since": "2026-03-29"}).since == datetime(2026, 3, 29, tzinfo=UTC)  # API: UTC


def test_stats_by_paris_day(admin):
    from gateway.audit import query as Q
    from tests.admin_support import seed_dpo_extras

    seed_dpo_extras(admin.store)
    utc = {g["key"]: g["refuse"] for g in Q.stats(admin.store, Q.Filters(), "day")["groups"]}
    paris = {g["key"]: g for g in Q.stats(admin.store, Q.Filters(), "day", tz=Q.PARIS)["groups"]}
    assert utc["2026-03-03"] == 3 and "2026-03-04" not in {k for k, v in utc.items() if v}
    assert paris["2026-03-04"]["refuse"] == 3 and paris["2026-03-03"]["refuse"] == 0
    assert sum(g["count"] for g in paris.values()) == 36 and "2026-07-14" in paris
    # the API's days stay UTC days (documented)
    assert {g["key"]: g["refuse"] for g in get(admin, "/admin/api/stats", group_by="day").json()["groups"]} == utc


def test_access_log_filters_pagination_and_export(admin):
    """``GET access-log`` filters on user, action, outcome and period, pages keyset; ``access-log.csv``
    exports the same rows in French, neutralises formulas, and is itself in the access log."""
    for role in ("dpo", "rssi", "dpo", "rssi"):
        get(admin, "/admin/api/decisions", role)
    get(admin, "/admin/api/access-log", "rssi")  # denied
    get(admin, "/admin/api/decisions", "dpo", **{"=HYPERLINK(\"http://x\")": "1"})  # invalid, logged as sent

    def items(**params):
        r = get(admin, "/admin/api/access-log", "admin", **params)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    assert [(i["user_id"], i["outcome"]) for i in items(user="rssi.user")] == [
        ("rssi.user", "denied"), ("rssi.user", "ok"), ("rssi.user", "ok")]
    assert [i["user_id"] for i in items(outcome="denied")] == ["rssi.user"]
    assert {i["action"] for i in items(action="decisions.list")} == {"decisions.list"}
    assert len(items(action="decisions.list", outcome="ok", user="dpo.user")) == 2
    assert items(until="2000-01-02") == [] and len(items(since="2000-01-01", limit="1000")) >= 6
    body = get(admin, "/admin/api/access-log", "admin", limit="2", action="decisions.list").json()
    assert body["filters"] == {"action": "decisions.list"} and body["next_cursor"]
    more = get(admin, "/admin/api/access-log", "admin", limit="2", action="decisions.list",
               cursor=body["next_cursor"]).json()["items"]
    assert more and more[0]["seq"] < body["items"][-1]["seq"] and all(i["action"] == "decisions.list" for i in more)
    for bad in ({"outcome": "peut-être"}, {"action": "DROP TABLE"}, {"since": "hier"}, {"utilisateur": "x"}):
        r = get(admin, "/admin/api/access-log", "admin", **bad)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_parameter", bad

    r = get(admin, "/admin/api/access-log.csv", "admin", user="rssi.user")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="gardefou-journal-acces-' in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf") and b"\r\n" in r.content
    header, rows = csv_rows(r)
    assert header[:3] == ["horodatage_utc", "horodatage_paris", "utilisateur"]
    assert [(x["utilisateur"], x["action"], x["libelle_action"], x["resultat"], x["libelle_resultat"]) for x in rows] == [
        ("rssi.user", "decisions.list", "liste des décisions", "ok", "accordé"),
        ("rssi.user", "decisions.list", "liste des décisions", "ok", "accordé"),
        ("rssi.user", "access_log.list", "journal des accès", "denied", "refusé (rôle)")]  # chronological
    assert all(x["horodatage_paris"] != x["horodatage_utc"] for x in rows)  # Paris is UTC+1 or +2
    _, invalid = csv_rows(get(admin, "/admin/api/access-log.csv", "admin", outcome="invalid"))
    assert invalid[0]["parametres"].startswith("'=HYPERLINK(")  # a spreadsheet will not run it
    assert get(admin, "/admin/api/access-log.csv", "dpo").status_code == 403
    assert get(admin, "/admin/api/access-log.csv", "admin", outcome="x").status_code == 400
    # the exports are in the access log like every read, with their filters
    logged = [(r["user_id"], r["action"], r["outcome"], r["params"]) for r in reversed(log_rows(admin))
              if r["action"] == "access_log.export"]
    assert logged == [("admin.user", "access_log.export", "ok", {"user": "rssi.user"}),
                      ("admin.user", "access_log.export", "ok", {"outcome": "invalid"}),
                      ("dpo.user", "access_log.export", "denied", {}),
                      ("admin.user", "access_log.export", "invalid", {"outcome": "x"})]
