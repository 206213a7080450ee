"""The DPO's pages in a real headless Chromium (issue 15), like ``tests/test_admin_dashboard.py``: AI
services outside the catalogue with a catalogue entry drafted from the page, the register of AI
systems and the weekly summary; French everywhere, nothing clipped or scrolled sideways at 1400 px,
screenshots kept (pytest's tmp dir, and ``$GARDEFOU_SCREENSHOT_DIR`` when set)."""

from __future__ import annotations

import httpx
import pytest
import yaml

from tests.admin_support import start_admin
from tests.dpo_support import seed_unknown_hosts, seed_week_blocks
from tests.test_admin_dashboard import LAYOUT_JS, browser, chromium_path, keep_screenshot, login, texts  # noqa: F401


@pytest.fixture
def dpo_site(tmp_path):
    srv = start_admin(f"sqlite:///{tmp_path / 'audit.db'}", extra={
        "discovery": {"drafts_dir": str(tmp_path / "brouillons")},
        "services": [{"id": "mistral", "contract": "Contrat entreprise, DPA art. 28",
                      "governance": {"purpose": "Reformulation de courriers non nominatifs", "ai_act_risk": "minimal",
                                     "dpia": "done", "validated_by": "M. Dupont (DPO)", "validated_on": "2026-02-01",
                                     "reviewed_on": "2026-03-01"}}]})
    seed_unknown_hosts(srv.store)
    seed_week_blocks(srv.store)
    srv.drafts = tmp_path / "brouillons"
    yield srv
    srv.stop()
    srv.store.dispose()


def wide(browser) -> None:  # noqa: F811
    browser.call("Emulation.setDeviceMetricsOverride", session=True, width=1400, height=1000, deviceScaleFactor=1,
                 mobile=False)


def test_discovery_page_and_a_drafted_catalogue_entry(dpo_site, browser, tmp_path):  # noqa: F811
    wide(browser)
    login(browser, dpo_site.url, "dpo")
    browser.goto(dpo_site.url + "/admin/discovery?since=2026-03-01")
    assert browser.js(LAYOUT_JS) == []
    keep_screenshot(browser, tmp_path, "discovery-1400.png")
    body = browser.js("document.body.innerText")
    assert "Services d'IA hors catalogue" in body and "01/12/2026" in body and "bloquée" in body
    rows = browser.js("Array.from(document.querySelectorAll('#unknown-ai tbody tr')).map(r => r.dataset.host)")
    assert rows == ["chat.deepseek.com", "www.perplexity.ai"]
    deepseek = texts(browser, "#unknown-ai tbody tr[data-host='chat.deepseek.com'] td")
    assert deepseek[1].startswith("DeepSeek") and deepseek[1].endswith("assistant conversationnel")
    assert deepseek[2].startswith("5") and "5 bloquées" in deepseek[2] and deepseek[3] == "3"
    assert "urgences (3)" in deepseek[4] and "pharmacie (2)" in deepseek[4]
    assert deepseek[5] == "02/03/2026 11:00:00 UTC+1"  # first seen, Paris time with its zone
    assert texts(browser, "#unknown-other tbody tr td:first-child") == ["intranet.example.org"]
    # the week view marks the host first seen in it
    browser.goto(dpo_site.url + "/admin/discovery?since=2026-03-09")
    assert texts(browser, "#unknown-ai tr[data-host='www.perplexity.ai'] .tag.new") == ["nouveau"]
    assert texts(browser, "#unknown-ai tr[data-host='chat.deepseek.com'] .tag.new") == []

    # « Préparer une fiche »: a file to review, named on the page; nothing applied
    browser.submit("document.querySelector(\"#unknown-ai tr[data-host='chat.deepseek.com'] form.draft\").submit()")
    done = browser.js("document.getElementById('draft-done').innerText")
    draft = dpo_site.drafts / "deepseek.yaml"
    assert str(draft) in done and "Rien n'est appliqué" in done
    keep_screenshot(browser, tmp_path, "discovery-draft.png")
    entry = yaml.safe_load(draft.read_text())["services"][0]
    assert entry["id"] == "deepseek" and entry["status"] == "denied"
    assert "3 requête(s), 2 poste(s)" in draft.read_text()  # what was seen, over the page's period (since 9 March)
    # again: refused, the first draft kept
    browser.goto(dpo_site.url + "/admin/discovery?since=2026-03-01")
    browser.submit("document.querySelector(\"#unknown-ai tr[data-host='chat.deepseek.com'] form.draft\").submit()")
    assert "existe déjà" in browser.js("document.getElementById('draft-error').innerText")
    actions = [(r["action"], r["outcome"], r["params"].get("host")) for r in dpo_site.store.access_log(50)]
    assert ("discovery.draft", "ok", "chat.deepseek.com") in actions

    # a role that may read but not draft sees no button; a post from another site is refused
    browser.submit("document.querySelector('form.inline').submit()")
    login(browser, dpo_site.url, "rssi")
    browser.goto(dpo_site.url + "/admin/discovery?since=2026-03-01")
    assert browser.js("document.querySelectorAll('form.draft').length") == 0
    assert "rôles DPO et admin" in texts(browser, "#unknown-ai tbody tr")[0]
    foreign = httpx.post(dpo_site.url + "/admin/discovery/draft", data={"host": "www.perplexity.ai"},
                         headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"})
    assert foreign.status_code == 403 and not (dpo_site.drafts / "perplexity.yaml").exists()


def test_register_page(dpo_site, browser, tmp_path):  # noqa: F811
    wide(browser)
    login(browser, dpo_site.url, "dpo")
    browser.goto(dpo_site.url + "/admin/register")
    assert browser.js("location.search").startswith("?since=")  # default: the last twelve months
    browser.goto(dpo_site.url + "/admin/register?since=2026-03-01&until=2026-03-15")
    assert browser.js(LAYOUT_JS) == []
    keep_screenshot(browser, tmp_path, "register-1400.png")
    services = browser.js("Array.from(document.querySelectorAll('#register tbody tr')).map(r => r.dataset.service)")
    assert len(services) == 10 and "mistral" in services and "xai-grok" in services
    mistral = browser.js("document.querySelector(\"#register tr[data-service='mistral']\").innerText")
    for expected in ("Reformulation de courriers non nominatifs", "risque (AI Act) : minimal", "AIPD : réalisée",
                     "validé par : M. Dupont (DPO)", "validé le : 01/02/2026", "hébergement : Union européenne",
                     "contrat : Contrat entreprise, DPA art. 28", "urgences", "bloquées"):
        assert expected in mistral, expected
    grok = browser.js("document.querySelector(\"#register tr[data-service='deepl']\").innerText")
    assert "AIPD : non renseigné" in grok and "non renseignée" in grok
    assert "du 01/03/2026 au 15/03/2026" in browser.js("document.getElementById('register-period').innerText")
    href = browser.js("document.getElementById('register-ods').href")
    assert href.startswith(dpo_site.url + "/admin/api/register.ods?since=2026-02-28T23")
    # the export link works with the session cookie (what a click downloads)
    cookie = browser.call("Network.getCookies", session=True, urls=[dpo_site.url + "/admin/"])["cookies"][0]
    resp = httpx.get(href, cookies={cookie["name"]: cookie["value"]})
    assert resp.status_code == 200 and resp.content[:2] == b"PK"


def test_weekly_page(dpo_site, browser, tmp_path):  # noqa: F811
    wide(browser)
    login(browser, dpo_site.url, "dpo")
    browser.goto(dpo_site.url + "/admin/weekly?week=2026-W11")
    assert browser.js(LAYOUT_JS) == []
    keep_screenshot(browser, tmp_path, "weekly-1400.png")
    assert "Semaine 11 de 2026, du lundi 09/03/2026 au dimanche 15/03/2026" in browser.js(
        "document.getElementById('w-label').innerText")
    assert texts(browser, "#w-block strong") == ["11"] and texts(browser, "#w-refuse strong") == ["1"]
    assert "semaine précédente : 3" in texts(browser, "#w-block")[0]
    cats = browser.js("Array.from(document.querySelectorAll('#w-categories tbody tr')).map(r => r.innerText)")
    assert cats[0].startswith("données de santé\t4") and "urgences (3)" in cats[0]
    assert texts(browser, "#w-new-hosts tbody tr td:first-child") == ["www.perplexity.ai"]
    assert "chat.deepseek.com (3)" in browser.js("document.getElementById('w-old-hosts').innerText")
    assert browser.js("document.getElementById('weekly-md').getAttribute('href')") == "/admin/api/weekly.md?week=2026-W11"
    browser.submit("document.getElementById('w-previous').click()")
    assert browser.js("location.search") == "?week=2026-W10"
    assert texts(browser, "#w-block strong") == ["3"]
    browser.goto(dpo_site.url + "/admin/weekly?week=hier")
    assert "invalide" in browser.js("document.getElementById('filter-error').innerText")
