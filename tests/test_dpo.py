"""What the DPO reads beyond the log (issue 15): the AI host list and its use in the decision and the
PAC, the discovery API and drafted catalogue entries, the register of AI systems (CSV, Markdown, ODS,
the command), the weekly summary (file, command, API) and the threshold webhook against a real local
HTTP server. Stores are real (SQLite, and the live PostgreSQL where ``db_url`` is used)."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.audit import AuditStore
from gateway.config import ConfigError, parse_config
from policies.catalogue import Catalogue, merge_services
from policies.decision import Policy, decide
from policies.discovery import KINDS, load_discovery
from tests.admin_support import auth, start_admin
from tests.dpo_support import seed_unknown_hosts, seed_week_blocks

NS = {"table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
      "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
      "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0"}


# -- the list ------------------------------------------------------------------------------------

def test_the_bundled_list_is_dated_sourced_and_matches_hosts_like_the_catalogue():
    lst = load_discovery()
    assert lst.source == "bundled" and lst.date == date(2026, 12, 1) and len(lst.data.sources) >= 2
    assert set(KINDS) == {s.kind for s in lst.data.services}  # chat, translation, transcription, image, code...
    assert lst.by_host("chat.deepseek.com").id == "deepseek"
    assert lst.by_host("deepseek.com").id == "deepseek"
    assert lst.by_host("evildeepseek.com") is None and lst.by_host("deepseek.com.example.org") is None
    assert lst.by_host("otter.ai").kind == "transcription" and lst.by_host("api.githubcopilot.com").kind == "code"
    assert lst.by_host("www.reverso.net").kind == "translation" and lst.by_host("app.leonardo.ai").kind == "image"
    # general sites that carry an AI feature among others are not listed (the proxy would see everything)
    for host in ("www.google.com", "github.com", "huggingface.co", "www.bing.com", "www.notion.so", "www.canva.com"):
        assert lst.by_host(host) is None, host
    # the catalogue's own hosts, where the list has them, belong to the same service id
    catalogue = Catalogue(merge_services([]))
    for pattern, listed in lst.patterns:
        svc = catalogue.by_host(pattern.name if not pattern.wildcard else "x." + pattern.name)
        if svc is not None:
            assert svc.id == listed.id, (str(pattern), svc.id, listed.id)


def test_a_newer_list_replaces_the_bundled_one_and_a_bad_one_is_refused(tmp_path):
    newer = tmp_path / "ai-hosts.yaml"
    newer.write_text(yaml.safe_dump({"date": "2027-01-15", "sources": ["liste de la DSN"], "services": [
        {"id": "nouvelle-ia", "name": "Nouvelle IA", "kind": "chat", "hosts": ["nouvelle-ia.example", "*.nouvelle-ia.example"]}]}))
    cfg = parse_config(yaml.safe_dump({"discovery": {"hosts_file": str(newer)}}), environ={})
    lst = cfg.discovery_list()
    assert lst.date == date(2027, 1, 15) and lst.source == str(newer)
    assert lst.by_host("chat.nouvelle-ia.example").id == "nouvelle-ia" and lst.by_host("chat.deepseek.com") is None
    assert parse_config(yaml.safe_dump({"discovery": {"enabled": False}})).discovery_list() is None

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"date": "2027-01-15", "sources": ["x"], "services": [
        {"id": "a", "name": "A", "kind": "chat", "hosts": ["a.example"]},
        {"id": "b", "name": "B", "kind": "poem", "hosts": ["b.example"]}]}))
    text = yaml.safe_dump({"discovery": {"hosts_file": str(bad)}})
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "gf.yaml", environ={})
    assert "line 2: discovery.hosts_file:" in str(exc.value) and "services.1.kind" in str(exc.value)
    with pytest.raises(ConfigError, match="cannot read"):
        parse_config(yaml.safe_dump({"discovery": {"hosts_file": str(tmp_path / "none.yaml")}}), environ={})


def test_an_unknown_ai_service_is_blocked_or_warned_by_the_policy():
    listed = load_discovery().by_host("chat.deepseek.com")
    d = decide([], None, Policy(), listed=listed)
    assert d.action == "block" and d.rule_ids == ("service.unknown", "discovery.listed")
    assert "« DeepSeek » (assistant conversationnel)" in d.reasons[0] and "catalogue" in d.reasons[0]
    warn = decide([], None, Policy(unknown_service="warn"), listed=listed)
    assert warn.action == "warn" and warn.forwarded and warn.rule_ids == ("service.unknown", "discovery.listed")
    ack = decide([], None, Policy(unknown_service="warn", warn_mode="require_ack"), listed=listed)
    assert ack.ack_required and not ack.forwarded
    assert decide([], None, Policy(unknown_service="warn", warn_mode="require_ack"), listed=listed,
                  acknowledged=True).forwarded
    # nothing sensitive goes to it, whatever the setting
    sensitive = decide(["health"], None, Policy(unknown_service="warn"), listed=listed)
    assert sensitive.action == "block" and "charter.health" in sensitive.rule_ids
    # a destination nobody recognises stays refused as before
    assert decide([], None, Policy(unknown_service="warn"), service_ref="inconnu").rule_ids == ("service.unknown",)


def test_the_pac_sends_listed_hosts_to_the_proxy_and_the_rest_direct():
    from pypac.parser import PACFile

    from gateway.proxy.pac import pac_script

    cat = Catalogue(merge_services([]))
    proxy = "PROXY gardefou.chu.example:3128"
    with_list = PACFile(pac_script(cat, proxy, load_discovery()))
    without = PACFile(pac_script(cat, proxy))

    def route(pac, url):
        return pac.find_proxy_for_url(url, httpx.URL(url).host)

    for url in ("https://chat.deepseek.com/", "https://www.perplexity.ai/search", "https://otter.ai/",
                "https://api.githubcopilot.com/chat", "https://deepseek.com/", "https://translate.systran.net/"):
        assert route(with_list, url) == proxy, url
        assert route(without, url) == "DIRECT", url
    for url in ("https://www.google.com/", "https://github.com/", "https://intranet.chu.example/",
                "https://evildeepseek.com/", "https://huggingface.co/"):
        assert route(with_list, url) == "DIRECT", url
    assert route(with_list, "https://chatgpt.com/") == route(without, "https://chatgpt.com/") == proxy


# -- discovery: API and drafts --------------------------------------------------------------------

@pytest.fixture
def dpo_admin(db_url, tmp_path):
    srv = start_admin(db_url, extra={"discovery": {"drafts_dir": str(tmp_path / "drafts")},
                                     "services": [{"id": "mistral", "contract": "Contrat entreprise, DPA art. 28",
                                                   "governance": {"purpose": "Reformulation de courriers",
                                                                  "ai_act_risk": "minimal", "dpia": "done",
                                                                  "validated_by": "M. Dupont (DPO)",
                                                                  "validated_on": "2026-02-01", "reviewed_on": "2026-03-01"}}]})
    srv.unknown = seed_unknown_hosts(srv.store)
    srv.week = seed_week_blocks(srv.store)
    srv.drafts = tmp_path / "drafts"
    yield srv
    srv.stop()
    srv.store.dispose()


def test_discovery_api_lists_unknown_ai_hosts_by_volume_clients_departments(dpo_admin):
    from tests.dpo_support import web_unknown

    # a wrong proxy credential on a catalogue host: refused before routing, not a discovery
    dpo_admin.store.insert(web_unknown(90, "chatgpt.com", datetime(2026, 3, 10, tzinfo=UTC), decision="refuse",
                                       listed=False))
    resp = httpx.get(dpo_admin.url + "/admin/api/discovery", params={"since": "2026-03-01"}, headers=auth("rssi"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["list"]["date"] == "2026-12-01" and body["unknown_service"] == "block"
    hosts = {h["host"]: h for h in body["hosts"]}
    assert list(hosts) == ["chat.deepseek.com", "www.perplexity.ai"]  # most used first
    ds = hosts["chat.deepseek.com"]
    assert ds["count"] == 5 and ds["clients"] == 3 and ds["by_decision"]["block"] == 5
    assert ds["listed_service"] == {"id": "deepseek", "name": "DeepSeek", "kind": "chat",
                                    "kind_label": "assistant conversationnel"}
    assert ds["departments"] == [{"department": "urgences", "count": 3}, {"department": "pharmacie", "count": 2}]
    assert ds["first_seen"] == "2026-03-02T10:00:00Z" and ds["last_seen"] == "2026-03-10T08:00:00Z"
    assert hosts["www.perplexity.ai"]["by_decision"]["warn"] == 1
    assert [h["host"] for h in body["other_hosts"]] == ["intranet.example.org"]
    # the period: since 9 March (Paris), deepseek was seen before it, perplexity is new
    week = httpx.get(dpo_admin.url + "/admin/api/discovery", params={"since": "2026-03-09"}, headers=auth("dpo")).json()
    new = {h["host"]: h["new"] for h in week["hosts"]}
    assert new == {"chat.deepseek.com": False, "www.perplexity.ai": True}
    assert {h["host"]: h["count"] for h in week["hosts"]}["chat.deepseek.com"] == 3
    # refused without a role, recorded in the access log
    assert httpx.get(dpo_admin.url + "/admin/api/discovery").status_code == 401
    assert httpx.get(dpo_admin.url + "/admin/api/discovery", params={"x": "1"}, headers=auth("dpo")).status_code == 400
    actions = [r["action"] for r in dpo_admin.store.access_log(20)]
    assert actions.count("discovery") >= 3


def test_a_drafted_entry_is_a_file_to_review_valid_for_the_configuration(tmp_path):
    from gateway.dpo.discovery import DraftError, draft_entry, write_draft

    lst = load_discovery()
    cat = parse_config(yaml.safe_dump({"services": [{"id": "openai", "hosts": ["chatgpt.com", "*.chatgpt.com"]}]})).catalogue()
    now = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
    path = write_draft(tmp_path / "drafts", "chat.deepseek.com", None, lst, cat, "dpo.user", now)
    assert path == tmp_path / "drafts" / "deepseek.yaml" and oct(path.stat().st_mode & 0o777) == "0o640"
    text = path.read_text()
    assert "par dpo.user" in text and "10/03/2026 à 10:30" in text and "RIEN N'EST APPLIQUÉ" in text
    entry = yaml.safe_load(text)["services"][0]
    assert entry["id"] == "deepseek" and entry["status"] == "denied" and entry["hosting"] == "non-eu"
    assert entry["hosts"] == ["deepseek.com", "*.deepseek.com"] and entry["governance"]["dpia"] == "to_do"
    # pasted under services:, the configuration takes it and the host becomes a denied catalogue service
    merged = parse_config(yaml.safe_dump({"services": [entry]}), environ={}).catalogue()
    assert merged.by_host("chat.deepseek.com").status == "denied"
    # never written over, never for a host the catalogue covers
    with pytest.raises(DraftError, match="existe déjà"):
        write_draft(tmp_path / "drafts", "chat.deepseek.com", None, lst, cat, "dpo.user", now)
    with pytest.raises(DraftError, match="déjà couvert"):
        draft_entry("chatgpt.com", lst, cat)
    # a catalogue service missing some of its hosts: the draft completes that entry
    entry, what = draft_entry("files.oaiusercontent.com", lst, cat)
    assert entry == {"id": "openai", "hosts": ["chatgpt.com", "*.chatgpt.com", "openai.com", "*.openai.com",
                                               "oaiusercontent.com", "*.oaiusercontent.com"]}
    assert "ajoutés au service" in what
    assert parse_config(yaml.safe_dump({"services": [entry]})).catalogue().by_host("files.oaiusercontent.com").id == "openai"
    # a host on no list: a service of its own, named after the host
    assert draft_entry("ia.exemple.org", lst, cat)[0]["id"] == "ia-exemple-org"


# -- the register ---------------------------------------------------------------------------------

def test_register_rows_exports_csv_markdown_and_ods(dpo_admin, tmp_path):
    from gateway.dpo import register as R

    config = parse_config(yaml.safe_dump({"services": [{"id": "mistral", "hds": False,
                                                        "governance": {"ai_act_risk": "minimal", "dpia": "done",
                                                                       "validated_on": "2026-02-01"}}]}))
    from gateway.audit import query as Q

    period = R.Period(Q.parse_time("since", "2026-03-01", tz=Q.PARIS), Q.parse_time("until", "2026-03-15", end=True, tz=Q.PARIS))
    rows, outside = R.register_rows(dpo_admin.store, period, config.catalogue())
    by_id = {r.service.id: r for r in rows}
    assert set(by_id) == set(config.catalogue().services)  # every catalogue service, used or not
    mistral, openai = by_id["mistral"], by_id["openai"]
    seeded = [r for r in dpo_admin.week if r["service_id"] == "mistral"]
    assert mistral.total == len(seeded) and mistral.by_decision["block"] == sum(r["decision"] == "block" for r in seeded)
    assert dict(openai.departments).keys() == {"urgences", "pharmacie"}
    assert outside == 8  # the browser-path records outside the catalogue
    assert by_id["deepl"].total == 0

    text = R.to_csv(rows)
    assert text.startswith("\ufeff") and "\r\n" in text
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    head = table[0]
    for col in ("Finalité", "Niveau de risque (AI Act)", "AIPD", "Validé par", "Validé le", "Dernière revue",
                "Hébergement", "Entraînement sur les données saisies", "Contrat", "Hébergeur de données de santé (HDS)",
                "Catégories acceptées", "Statut", "Départements utilisateurs", "Bloquées (charte)"):
        assert col in head, col
    row = dict(zip(head, next(r for r in table if r[0] == "mistral")))
    assert row["Niveau de risque (AI Act)"] == "minimal" and row["AIPD"] == "réalisée" and row["Validé le"] == "2026-02-01"
    assert row["Hébergement"] == "Union européenne" and row["Conforme à la charte"] == "oui"
    assert row["Requêtes sur la période"] == str(mistral.total)
    xai = dict(zip(head, next(r for r in table if r[0] == "xai-grok")))
    assert xai["Entraînement sur les données saisies"] == "oui" and xai["AIPD"] == "" and xai["Catégories acceptées"] == "aucune"

    md = R.to_markdown(rows, period, outside, datetime(2026, 3, 16, 12, tzinfo=UTC), R.TITLE)
    assert md.startswith("# Registre des systèmes d'IA") and "du 01/03/2026 au 15/03/2026" in md
    assert "| Identifiant | Service | Finalité |" in md and "| mistral |" in md and "01/02/2026" in md
    assert md.count("\n| ") == len(rows) + 1

    ods = tmp_path / "registre.ods"
    ods.write_bytes(R.to_ods(rows, period, outside, datetime(2026, 3, 16, 12, tzinfo=UTC), R.TITLE))
    sheet = read_ods(ods)
    assert sheet[0] == head and len(sheet) == len(rows) + 1
    got = dict(zip(head, next(r for r in sheet if r[0] == "mistral")))
    assert got["Validé le"] == "2026-02-01" and got["Requêtes sur la période"] == str(mistral.total)
    soffice = shutil.which("libreoffice") or shutil.which("soffice")
    if soffice:  # the file LibreOffice itself reads back, when it is installed
        out = tmp_path / "lo"
        subprocess.run([soffice, "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):59,34,76", "--outdir",
                        str(out), str(ods)], capture_output=True, timeout=180, check=True,
                       env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
        lo = list(csv.reader(io.StringIO((out / "registre.csv").read_text(encoding="utf-8")), delimiter=";"))
        assert lo[0] == head and any(r[0] == "mistral" and r[1] == mistral.service.name for r in lo)


def read_ods(path: Path) -> list[list[str]]:
    """The first sheet of an .ods as text rows (dates as their ISO value), read with the standard library."""
    with zipfile.ZipFile(path) as z:
        first = z.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert z.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
        assert "content.xml" in z.read("META-INF/manifest.xml").decode()
        root = ET.fromstring(z.read("content.xml"))
    table = root.find(".//table:table", NS)
    rows = []
    for tr in table.findall("table:table-row", NS):
        cells = []
        for tc in tr.findall("table:table-cell", NS):
            date_value = tc.get(f"{{{NS['office']}}}date-value")
            cells.append(date_value or "\n".join("".join(p.itertext()) for p in tc.findall("text:p", NS)))
        rows.append(cells)
    return rows


def test_register_export_command_and_api(dpo_admin, tmp_path):
    from gateway.cli import main

    cfg = tmp_path / "gf.yaml"
    cfg.write_text(yaml.safe_dump({"audit": {"url": str(dpo_admin.store.engine.url.render_as_string(hide_password=False))},
                                   "services": [{"id": "mistral", "governance": {"purpose": "Courriers"}}]}))
    out = tmp_path / "registre.ods"
    assert main(["register", "export", "--config", str(cfg), "--format", "ods", "--from", "2026-03-01",
                 "--to", "2026-03-15", "-o", str(out)]) == 0
    rows = read_ods(out)
    mistral = dict(zip(rows[0], next(r for r in rows if r[0] == "mistral")))
    assert mistral["Finalité"] == "Courriers" and int(mistral["Requêtes sur la période"]) > 0
    md = tmp_path / "registre.md"
    assert main(["register", "export", "--config", str(cfg), "--format", "md", "--from", "2026-03-09", "-o", str(md)]) == 0
    assert "du 09/03/2026 au" in md.read_text()
    assert main(["register", "export", "--config", str(cfg), "--from", "2026-03-15", "--to", "2026-03-01"]) == 2
    logged = [r for r in dpo_admin.store.access_log(50) if r["action"] == "register.export"]
    assert logged and logged[0]["channel"] == "cli" and logged[-1]["params"]["format"] == "ods"

    resp = httpx.get(dpo_admin.url + "/admin/api/register.ods", params={"since": "2026-03-01"}, headers=auth("dpo"))
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/vnd.oasis.opendocument.spreadsheet"
    assert "registre-systemes-ia-" in resp.headers["content-disposition"]
    api_ods = tmp_path / "api.ods"
    api_ods.write_bytes(resp.content)
    assert read_ods(api_ods)[0][0] == "Identifiant"
    body = httpx.get(dpo_admin.url + "/admin/api/register", params={"since": "2026-03-01"}, headers=auth("dpo")).json()
    svc = {s["id"]: s for s in body["services"]}["mistral"]
    assert svc["governance"]["purpose"] == "Reformulation de courriers" and svc["contract"].startswith("Contrat entreprise")
    assert svc["columns_fr"]["AIPD"] == "réalisée"


# -- the weekly summary -------------------------------------------------------------------------------

def test_weeks_are_paris_iso_weeks():
    from gateway.dpo.weekly import Week, WeekError

    w = Week.parse("2026-W11")
    assert w.monday == date(2026, 3, 9) and str(w.shifted(-1)) == "2026-W10"
    f = w.filters()
    assert f.since == datetime(2026, 3, 8, 23, 0, tzinfo=UTC) and f.until == datetime(2026, 3, 15, 23, 0, tzinfo=UTC)
    summer = Week.parse("2026-W13").filters()  # 23-29 March: the clocks go forward on the 29th
    assert summer.until - summer.since == timedelta(hours=167)
    assert str(Week.last_complete(datetime(2026, 3, 11, 12, tzinfo=UTC))) == "2026-W10"
    assert Week.parse("2026-W53").monday == date(2026, 12, 28)  # 2026 has 53 ISO weeks, 2025 has 52
    for bad in ("2026-11", "2025-W53", "2026-W54", "semaine", "2026-W00"):
        with pytest.raises(WeekError, match="invalide"):
            Week.parse(bad)


def test_weekly_summary_file_command_and_api(dpo_admin, tmp_path):
    from gateway.cli import main
    from gateway.dpo import weekly as W

    config = parse_config("{}")
    summary = W.weekly(dpo_admin.store, W.Week.parse("2026-W11"), config.catalogue(), config.discovery_list(),
                       datetime(2026, 3, 16, 7, tzinfo=UTC))
    assert summary.by_decision["block"] == 6 + 3 + 1 + 1 and summary.by_decision["refuse"] == 1  # + unknown hosts
    assert summary.previous_by_decision["block"] == 1 + 2  # 2026-W10: one charter block, two deepseek
    assert dict(summary.blocks_by_category) == {"health": 4, "personal": 3}
    assert dict(summary.category_departments["health"]) == {"urgences": 3, "pharmacie": 1}
    assert dict(summary.blocks_by_department)["pharmacie"] == 3 + 2
    assert [h.host for h in summary.new_hosts] == ["www.perplexity.ai"]
    assert [h.host for h in summary.unknown_hosts] == ["chat.deepseek.com", "www.perplexity.ai"]
    assert summary.top_services[0]["key"] is None  # the browser-path requests outside the catalogue
    md = W.to_markdown(summary)
    assert "semaine 11 de 2026, du lundi 09/03/2026 au dimanche 15/03/2026" in md.lower()
    assert "| données de santé | 4 | urgences (3), pharmacie (1) |" in md
    assert "www.perplexity.ai | Perplexity | assistant conversationnel | 2 |" in md
    assert "Déjà vus les semaines précédentes et toujours utilisés : chat.deepseek.com (3)" in md

    cfg = tmp_path / "gf.yaml"
    cfg.write_text(yaml.safe_dump({"audit": {"url": dpo_admin.store.engine.url.render_as_string(hide_password=False)}}))
    html = tmp_path / "synthese.html"
    assert main(["report", "weekly", "--config", str(cfg), "--week", "2026-W11", "-o", str(html)]) == 0
    page = html.read_text()
    assert page.startswith("<!doctype html>") and "<style>" in page and "http" not in page.split("<body>")[1]
    assert 'id="w-block"><strong>11</strong>' in page and "www.perplexity.ai" in page
    assert main(["report", "weekly", "--config", str(cfg), "--week", "2026-W99"]) == 2
    resp = httpx.get(dpo_admin.url + "/admin/api/weekly.md", params={"week": "2026-W11"}, headers=auth("dpo"))
    assert resp.status_code == 200 and "| données de santé | 4 |" in resp.text
    data = httpx.get(dpo_admin.url + "/admin/api/weekly", params={"week": "2026-W11"}, headers=auth("dpo")).json()
    assert data["blocks_by_category"][0] == {"category": "health", "label": "données de santé", "count": 4}
    assert [h["host"] for h in data["new_unknown_ai_hosts"]] == ["www.perplexity.ai"]


# -- threshold alerts -------------------------------------------------------------------------------

class Hook:
    """A real local webhook receiver: records every POST, answers ``status``."""

    def __init__(self, status: int = 204):
        received: list[tuple[dict, bytes]] = []
        self.received, self.status = received, status
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["content-length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/gardefou"

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.stop()


def test_a_webhook_alert_when_blocks_of_a_category_pass_the_threshold(db_url, hook):
    from gateway.config import AlertsConfig
    from gateway.dpo.alerts import AlertWatcher

    store = AuditStore(db_url)
    store.migrate()
    recs = seed_week_blocks(store)
    now = recs[5]["ts"] + timedelta(minutes=1)  # an hour after the first W11 health block
    cfg = AlertsConfig(webhook_url=hook.url, secret_env="GF_HOOK_SECRET", rules=[
        {"category": "health", "blocks": 4, "window_minutes": 60}, {"category": "personal", "blocks": 5},
        {"category": "any", "blocks": 6, "window_minutes": 30}])
    watcher = AlertWatcher(store, cfg, {"GF_HOOK_SECRET": "s3cret"})
    try:
        sent = watcher.check(now)
        assert [s["category"] for s in sent] == ["health", "any"]  # personal: 3 blocks, under its 5
        assert len(hook.received) == 2
        headers, body = hook.received[0]
        assert headers["content-type"].startswith("application/json")
        assert headers["x-gardefou-signature"] == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        alert = json.loads(body)
        assert alert["event"] == "gardefou.blocks_threshold" and alert["blocks"] == 4 and alert["threshold"] == 4
        assert alert["category_label"] == "données de santé" and alert["window_minutes"] == 60
        assert alert["departments"] == [{"department": "urgences", "blocks": 3}, {"department": "pharmacie", "blocks": 1}]
        assert alert["dashboard_path"] == "/admin/?since=2026-03-11&decision=block&category=health"
        assert "4 blocage(s) de la charte (données de santé) en 60 min, seuil 4" in alert["text"]
        # counts, categories and departments only: no client, no address, no finding, no reason
        flat = body.decode()
        for absent in ("poste", "10.1.2.3", "client", "findings", "Données de santé détectées"):
            assert absent not in flat
        # one alert per window
        assert watcher.check(now + timedelta(minutes=5)) == [] and len(hook.received) == 2
        # a webhook that fails: tried three times, then the rule may fire again at the next check
        hook.status = 500
        other = AlertWatcher(store, AlertsConfig(webhook_url=hook.url, rules=[{"category": "health", "blocks": 4}]), {})
        assert other.check(now) == [] and len(hook.received) == 5
        hook.status = 200
        assert [s["category"] for s in other.check(now)] == ["health"]
        other.close()
    finally:
        watcher.close()
        store.dispose()


def test_alert_rules_need_a_webhook_and_the_secret_variable():
    with pytest.raises(ConfigError, match="alerts.webhook_url: alerts.rules are set"):
        parse_config(yaml.safe_dump({"alerts": {"rules": [{"category": "health", "blocks": 3}]}}))
    text = yaml.safe_dump({"alerts": {"webhook_url": "http://127.0.0.1:9/h", "secret_env": "GF_NOPE",
                                      "rules": [{"category": "health", "blocks": 3}]}})
    with pytest.raises(ConfigError, match="GF_NOPE, which is not set"):
        parse_config(text, environ={})
    with pytest.raises(ConfigError, match="category"):
        parse_config(yaml.safe_dump({"alerts": {"webhook_url": "http://127.0.0.1:9/h", "rules": [{"category": "x", "blocks": 1}]}}))


def test_serve_runs_the_alert_watcher_beside_the_listener(tmp_path, hook):
    """``gardefou serve`` as a program: a health block recorded through the API reaches the webhook."""
    import os
    import sys

    from tests.conftest import wait_ready
    from tests.test_browser_proxy import free_port
    from tests.test_cli import ROOT

    port = free_port()
    cfg = tmp_path / "gf.yaml"
    cfg.write_text(yaml.safe_dump({
        "listen": {"port": port}, "audit": {"url": f"sqlite:///{tmp_path / 'audit.db'}"},
        "detectors": {"spacy": False},
        "alerts": {"webhook_url": hook.url, "check_interval_s": 1, "rules": [{"category": "health", "blocks": 1}]},
    }))
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--config", str(cfg)], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}/readyz", timeout=90)
        resp = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json={
            "model": "mistral/mistral-small-latest",
            "messages": [{"role": "user", "content": "Patiente de 54 ans, HbA1c à 9 %, NIR 1 85 05 78 006 084 91."}]})
        assert resp.status_code == 403
        deadline = datetime.now() + timedelta(seconds=20)
        while not hook.received and datetime.now() < deadline:
            proc.poll()
            assert proc.returncode is None
            threading.Event().wait(0.2)
        assert hook.received, "no alert reached the webhook"
        alert = json.loads(hook.received[0][1])
        assert alert["category"] == "health" and alert["blocks"] == 1
        assert "185057800608491" not in hook.received[0][1].decode() and "1 85 05" not in hook.received[0][1].decode()
    finally:
        proc.terminate()
        proc.wait(20)


def test_the_weekly_systemd_unit_runs_the_report_into_its_state_directory(tmp_path):
    import shlex

    from gateway.cli import main
    from tests.test_deploy import unit

    service = unit("gardefou-weekly.service")["Service"]
    first = {k: v[0] for k, v in service.items()}
    purge = {k: v[0] for k, v in unit("gardefou-purge.service")["Service"].items()}
    for key in ("User", "ProtectSystem", "NoNewPrivileges", "CapabilityBoundingSet", "SystemCallFilter", "Type"):
        assert first[key] == purge[key], key
    argv = shlex.split(first["ExecStart"])
    assert argv[1:3] == ["report", "weekly"] and argv[-1] == "/var/lib/gardefou/reports/"
    assert "gardefou/reports" in first["StateDirectory"].split()  # writable under ProtectSystem=strict
    timer = unit("gardefou-weekly.timer")["Timer"]
    assert timer["Unit"] == ["gardefou-weekly.service"] and timer["OnCalendar"][0].startswith("Mon ")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"audit": {"url": f"sqlite:///{tmp_path / 'a.db'}"}}), encoding="utf-8")
    reports = tmp_path / "reports"
    reports.mkdir()
    args = argv[1:]
    args[args.index("--config") + 1] = str(cfg)
    args[-1] = str(reports) + "/"
    assert main(args) == 0
    (written,) = reports.iterdir()
    assert written.name.startswith("garde-fou-synthese-20") and written.suffix == ".html"
    assert "Aucun blocage cette semaine." in written.read_text()
