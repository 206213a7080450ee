"""What the DPO reads of sobriety and of the charter: the admin API (stats sums, the acceptances and
their CSV) and the dashboard pages in a real headless Chromium (French labels, numbers in French, no
column clipped at 1400 px), over SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.admin_support import T0, auth, seed, start_admin
from tests.test_admin_dashboard import LAYOUT_JS, Browser, chromium_path, keep_screenshot, login, texts  # noqa: F401
from tests.test_audit_chain import make_record

CHARTER = {"version": "2026-02", "url": "https://intranet.chu-exemple.fr/charte-ia.pdf"}


def seed_sobriety(store) -> list[dict]:
    """Four forwarded requests with their tokens and estimates (two departments, two services), one
    not estimated, one long conversation; plus the charter accepted by three clients."""
    figures = [  # service, department, in, out, Wh, g, status, notice
        ("mistral", "urgences", 120, 30, 0.012345, 0.000789, "estimated", "long_conversation"),
        ("mistral", "urgences", 80, 20, 0.010001, 0.000501, "estimated", None),
        ("openai", "pharmacie", 50, 400, 1.25, 0.5, "estimated", None),
        ("openai", "pharmacie", 10, 5, None, None, "unknown_model", None),
    ]
    recs = []
    for i, (service, dep, tin, tout, wh, g, status, notice) in enumerate(figures):
        rec = make_record(200 + i, ts=T0 + timedelta(days=1, hours=i), service=service, department=dep,
                          client=f"poste-{dep}")
        rec.update(notice=notice, prompt_messages=40 if notice else 2)
        store.insert(rec)
        store.complete(rec["id"], {"status_code": 200, "upstream_status": 200, "upstream_ms": 800.0, "total_ms": 810.0,
                                   "input_tokens": tin, "output_tokens": tout, "energy_wh": wh, "gco2e_g": g,
                                   "impact_status": status, "impact_method": "ecologits 0.11.3"})
        recs.append(rec)
    for i, (client, dep, version, channel, method) in enumerate((
            ("poste-urgences", "urgences", "2026-01", "api", "endpoint"),
            ("poste-urgences", "urgences", "2026-02", "browser", "page"),
            ("poste-pharmacie", "pharmacie", "2026-02", "api", "header"))):
        store.record_acceptance({"subject": f"client:{client}", "client_id": client, "department": dep,
                                 "client_addr": "10.1.2.3", "version": version, "channel": channel, "method": method,
                                 "audit_id": recs[i]["id"], "ts": datetime(2026, 3, 2, 9 + i, 0, tzinfo=UTC)})
    store.record_acceptance({"subject": "adresse:10.9.9.9", "client_addr": "10.9.9.9", "version": "2026-02",
                             "channel": "browser", "method": "page", "ts": datetime(2026, 3, 4, 12, 0, tzinfo=UTC)})
    return recs


@pytest.fixture
def browser(chromium_path):  # noqa: F811 - chromium_path is the session fixture imported above
    b = Browser(chromium_path)
    yield b
    b.close()


@pytest.fixture
def sob_admin(db_url):
    srv = start_admin(db_url, extra={"charter": CHARTER})
    srv.records = seed(srv.store)
    srv.sobriety = seed_sobriety(srv.store)
    yield srv
    srv.stop()
    srv.store.dispose()


def get(srv, path: str, role: str = "dpo", **params) -> httpx.Response:
    return httpx.get(srv.url + path, params=params, headers=auth(role), timeout=10)


def test_stats_and_acceptances_in_the_admin_api(sob_admin):
    deps = {g["key"]: g for g in get(sob_admin, "/admin/api/stats", group_by="department").json()["groups"]}
    assert deps["urgences"]["input_tokens"] == 200 and deps["urgences"]["output_tokens"] == 50
    assert deps["urgences"]["energy_wh"] == pytest.approx(0.022346) and deps["urgences"]["long_conversations"] == 1
    assert deps["pharmacie"]["estimated"] == 1 and deps["pharmacie"]["not_estimated"] == 1
    assert deps["pharmacie"]["gco2e_g"] == pytest.approx(0.5)
    body = get(sob_admin, "/admin/api/stats", group_by="service").json()
    assert body["sobriety"]["energy_wh"] == pytest.approx(1.272346) and body["sobriety"]["output_tokens"] == 455
    assert {g["key"]: g["output_tokens"] for g in body["groups"]} == {"mistral": 50, "openai": 405, "anthropic": 0}

    resp = get(sob_admin, "/admin/api/charter-acceptances")
    assert resp.status_code == 200
    data = resp.json()
    assert data["charter"] == {"version": "2026-02", "title": "Charte d'utilisation des services d'intelligence "
                                                              "artificielle", "url": CHARTER["url"]}
    items = data["items"]
    assert [(i["subject"], i["version"]) for i in items] == [
        ("adresse:10.9.9.9", "2026-02"), ("client:poste-pharmacie", "2026-02"), ("client:poste-urgences", "2026-02"),
        ("client:poste-urgences", "2026-01")]
    assert items[1]["method_fr"] == "en-tête X-Gardefou-Charter-Accept" and items[2]["channel_fr"] == "navigateur"
    assert items[0]["ts"] == "2026-03-04T12:00:00Z"
    current = get(sob_admin, "/admin/api/charter-acceptances", version="2026-02", department="urgences").json()["items"]
    assert [i["client_id"] for i in current] == ["poste-urgences"]
    by_addr = get(sob_admin, "/admin/api/charter-acceptances", client="10.9.9.9").json()["items"]
    assert [i["subject"] for i in by_addr] == ["adresse:10.9.9.9"]
    page = get(sob_admin, "/admin/api/charter-acceptances", limit="2").json()
    rest = get(sob_admin, "/admin/api/charter-acceptances", limit="2", cursor=page["next_cursor"]).json()
    assert len(page["items"]) == 2 and len(rest["items"]) == 2 and rest["next_cursor"] is None
    assert get(sob_admin, "/admin/api/charter-acceptances", verison="x").status_code == 400
    assert httpx.get(sob_admin.url + "/admin/api/charter-acceptances", timeout=10).status_code == 401

    csv_resp = get(sob_admin, "/admin/api/charter-acceptances.csv", role="rssi")
    assert csv_resp.status_code == 200 and csv_resp.headers["content-type"].startswith("text/csv")
    lines = csv_resp.text.lstrip("\ufeff").strip().split("\r\n")
    assert lines[0] == "horodatage_utc;horodatage_paris;qui;client;departement;adresse_client;version;canal;moyen;id_audit"
    assert lines[1].startswith("2026-03-04 12:00:00;2026-03-04 13:00:00;adresse:10.9.9.9;;;10.9.9.9;2026-02;navigateur;")
    assert len(lines) == 5
    actions = {(r["action"], r["outcome"]) for r in sob_admin.store.access_log(100)}
    assert {("acceptances.list", "ok"), ("acceptances.export", "ok"), ("acceptances.list", "invalid"),
            ("acceptances.list", "unauthenticated")} <= actions


def test_sobriety_and_charter_pages_in_chromium(sob_admin, browser, tmp_path):
    browser.call("Emulation.setDeviceMetricsOverride", session=True, width=1400, height=1000,
                 deviceScaleFactor=1, mobile=False)
    login(browser, sob_admin.url, "dpo")
    # the dashboard's totals, French words and French numbers
    browser.goto(sob_admin.url + "/admin/?since=2026-03-01")
    assert texts(browser, "#total-energy") == ["1,2723 énergie estimée (Wh)"]
    assert texts(browser, "#total-co2e") == ["0,5013 CO₂e estimé (g)"]
    assert texts(browser, "#total-long") == ["1 conversations longues"]
    assert "Sobriété" in browser.js("document.querySelector('header nav').innerText")
    assert browser.js("document.getElementById('sobriety-link').getAttribute('href')") == "/admin/sobriete?since=2026-03-01"
    assert browser.js(LAYOUT_JS) == []

    browser.submit("document.getElementById('sobriety-link').click()")
    keep_screenshot(browser, tmp_path, "sobriety-1400.png")
    heads = texts(browser, "#sobriety-services thead th")
    assert heads == ["Service", "Requêtes", "Jetons en entrée", "Jetons en sortie", "Énergie estimée (Wh)",
                     "CO₂e estimé (g)", "Requêtes estimées", "Non estimées", "Conversations longues"]
    services = {r[0]: r for r in browser.js(
        "Array.from(document.querySelectorAll('#sobriety-services tbody tr')).map(r => Array.from(r.cells).map(c => c.innerText))")}
    openai_row = services["openai — ChatGPT / API OpenAI"]
    assert openai_row[2:] == ["60", "405", "1,2500", "0,5000", "1", "1", "0"]
    assert services["mistral — Le Chat / La Plateforme (Mistral AI)"][4] == "0,0223"
    deps = {r[0]: r for r in browser.js(
        "Array.from(document.querySelectorAll('#sobriety-departments tbody tr')).map(r => Array.from(r.cells).map(c => c.innerText))")}
    assert deps["urgences"][8] == "1" and deps["pharmacie"][8] == "0"
    assert deps["urgences"][1] == "17"  # every request of the department is counted, 2 of them with figures
    method = browser.js("document.getElementById('sobriety-method').innerText")
    assert "EcoLogits" in method and "n'est pas estimé" in method and "30 messages" in method
    assert browser.js(LAYOUT_JS) == []
    # filtered by department through the form
    browser.submit("document.getElementById('s-department').value = 'pharmacie';"
                   "document.getElementById('sobriety-filters').submit()")
    assert texts(browser, "#total-energy") == ["1,2500 énergie estimée (Wh)"]

    # a record's detail: its tokens, estimate, method and notice
    browser.goto(sob_admin.url + f"/admin/decisions/{sob_admin.sobriety[0]['id']}")
    detail = browser.js("document.getElementById('sobriety').innerText")
    assert "jetons : 120 en entrée, 30 en sortie ; 40 message(s)" in detail
    assert "estimé (EcoLogits) : énergie estimée 0,012345 Wh, CO₂e estimé 0,000789 g (ecologits 0.11.3)" in detail
    assert "conversation longue" in detail
    browser.goto(sob_admin.url + f"/admin/decisions/{sob_admin.sobriety[3]['id']}")
    assert "modèle inconnu d'EcoLogits" in browser.js("document.getElementById('sobriety').innerText")

    # the charter's acceptances
    browser.goto(sob_admin.url + "/admin/charte")
    keep_screenshot(browser, tmp_path, "charter-1400.png")
    assert browser.js("document.getElementById('charter-version').innerText") == "2026-02"
    rows = browser.js("Array.from(document.querySelectorAll('#acceptances tbody tr')).map(r => Array.from(r.cells).map(c => c.innerText))")
    assert len(rows) == 4
    assert rows[0][:7] == ["04/03/2026 13:00:00 UTC+1", "adresse:10.9.9.9", "—", "10.9.9.9", "2026-02", "navigateur",
                           "bouton « J'accepte »"]
    assert rows[1][1] == "poste-pharmacie" and rows[1][6] == "en-tête X-Gardefou-Charter-Accept"
    assert rows[3][4] == "2026-01 ancienne"  # an earlier version, marked
    assert browser.js(LAYOUT_JS) == []
    browser.submit("document.getElementById('c-version').value = '2026-01';"
                   "document.getElementById('charter-filters').submit()")
    assert len(texts(browser, "#acceptances tbody tr")) == 1
    assert "version=2026-01" in browser.js("document.getElementById('charter-export-csv').href")
    browser.submit("document.querySelector('#acceptances a').click()")  # the decision that accepted
    assert "Décision" in browser.js("document.querySelector('h1').innerText")


def test_charter_page_without_a_charter(admin, browser):
    login(browser, admin.url, "rssi")
    browser.goto(admin.url + "/admin/charte")
    assert "Aucune charte n'est configurée" in browser.js("document.getElementById('charter-none').innerText")
    assert texts(browser, "#acceptances tbody tr") == ["Aucune acceptation ne correspond aux filtres."]
