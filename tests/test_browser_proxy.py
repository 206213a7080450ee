"""The browser path end to end: real fake AI web apps over HTTPS, reached through the real proxy
(mitmproxy in the gateway's event loop, on the API's pipeline) with httpx and with curl.

What the audit must hold runs on SQLite and on the live PostgreSQL (``db_url``); the rest on SQLite.
"""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import time

import httpx
import pytest

from gateway.proxy.ca import init_ca
from tests.browser_support import (
    CLEAN,
    NIR,
    NIR_DIGITS,
    browser_config,
    make_pki,
    start_apps,
    start_browser_gateway,
)
from tests.conftest import wait_ready

HTML = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def apps(pki):
    apps = start_apps(pki)
    yield apps
    for app in apps.all():
        app.stop()


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("institution-ca")
    init_ca(directory)
    return directory


@pytest.fixture
def browser_factory(apps, pki, ca_dir, scanner):
    started = []

    def factory(audit_url: str, store=None, more_services=(), **extra):
        for app in apps.all():
            app.clear()
            app.release.clear()
        cfg = browser_config(apps, pki, audit_url, ca_dir, **extra)
        cfg["services"].extend(more_services)
        gw = start_browser_gateway(cfg, scanner=scanner, store=store)
        started.append(gw)
        return gw

    yield factory
    for gw in started:
        gw.stop()


@pytest.fixture
def bgw(browser_factory, tmp_path):
    """The gateway with its proxy on SQLite."""
    return browser_factory(f"sqlite:///{tmp_path / 'audit.db'}")


@pytest.fixture
def bgw_db(browser_factory, db_url):
    """The same on SQLite and on PostgreSQL (what the audit must hold)."""
    return browser_factory(db_url)


def curl(gw, *args: str, cacert=None) -> subprocess.CompletedProcess:
    cmd = ["curl", "-sS", "--max-time", "15", "--noproxy", "", "--proxy", gw.proxy_url, "-o", "-",
           "-w", "\n%{http_code}"]
    if cacert is not None:
        cmd += ["--cacert", str(cacert)]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})


# -- destinations decided at CONNECT ----------------------------------------------------------------

def test_connect_to_a_denied_host_is_refused_and_audited(bgw_db, apps):
    with bgw_db.client() as client, pytest.raises(httpx.ProxyError) as exc:
        client.get(f"https://127.0.0.1:{apps.denied.port}/")
    assert "403" in str(exc.value)
    (rec,) = bgw_db.records(endpoint="connect")
    assert rec["decision"] == "block" and rec["rule_ids"] == ["service.denied"] and rec["forwarded"] is False
    assert rec["service_id"] == "deniedapp" and rec["host"] == f"127.0.0.1:{apps.denied.port}"
    assert rec["status_code"] == 403 and rec["api"] == "web"
    assert "interdit par la politique" in rec["reasons"][0]
    assert apps.denied.received == []


def test_curl_connect_to_a_denied_host_is_refused(bgw, apps):
    out = curl(bgw, f"https://127.0.0.1:{apps.denied.port}/", cacert=bgw.ca_cert)
    assert out.returncode == 56 and "CONNECT tunnel failed, response 403" in out.stderr
    assert apps.denied.received == []
    assert bgw.records(endpoint="connect")[0]["rule_ids"] == ["service.denied"]


def test_a_host_outside_the_catalogue_is_refused(bgw, apps):
    with bgw.client() as client, pytest.raises(httpx.ProxyError):
        client.get(f"https://127.0.0.1:{apps.outside.port}/")
    (rec,) = bgw.records(endpoint="connect")
    assert rec["decision"] == "block" and rec["rule_ids"] == ["service.unknown"] and rec["service_id"] is None
    assert apps.outside.received == []


def test_a_service_without_inspect_is_tunnelled_and_the_connection_audited(bgw_db, apps, pki):
    app_ca = ssl.create_default_context(cafile=str(pki.upstream_ca_file))
    with bgw_db.client(verify=app_ca) as client:  # the app's own certificate: TLS is not terminated
        resp = client.post(f"https://localhost:{apps.tunnel.port}/translate", data={"texte": "bonjour " * 50})
    assert resp.status_code == 200 and resp.json()["app"] == "tunnel"
    assert "x-gardefou-decision" not in resp.headers  # nothing added: the proxy did not read it
    (got,) = apps.tunnel.received
    assert got.body.startswith(b"texte=bonjour")
    (rec,) = bgw_db.records(endpoint="connect")
    rec = bgw_db.record(rec["id"], outcome=True)
    assert rec["decision"] == "allow" and rec["forwarded"] is True and rec["service_id"] == "tunnelapp"
    assert rec["host"] == f"localhost:{apps.tunnel.port}" and rec["client_addr"] == "127.0.0.1"
    assert rec["bytes_up"] > 400 and rec["bytes_down"] > 100 and rec["total_ms"] > 0  # TLS records both ways
    assert rec["prompt_chars"] == 0  # nothing was read
    # the institution CA does not sign what this tunnel carries
    with bgw_db.client() as client, pytest.raises(httpx.ConnectError):
        client.get(f"https://localhost:{apps.tunnel.port}/")


def test_a_non_compliant_tunnel_is_warned_or_refused_under_require_ack(browser_factory, tmp_path, apps, pki):
    """Without inspection nobody can press « Continuer »: under require_ack the CONNECT is refused."""
    us = {"id": "usapp", "name": "Service hors UE", "hosts": [f"127.0.0.1:{apps.outside.port}"]}
    app_ca = ssl.create_default_context(cafile=str(pki.upstream_ca_file))
    gw = browser_factory(f"sqlite:///{tmp_path / 'a.db'}", more_services=[us])
    with gw.client(verify=app_ca) as client:
        assert client.get(f"https://127.0.0.1:{apps.outside.port}/").status_code == 200
    (rec,) = gw.records(endpoint="connect")
    assert rec["decision"] == "warn" and rec["rule_ids"] == ["charter.non_compliant"] and rec["forwarded"] is True
    gw.stop()
    apps.outside.clear()
    gw = browser_factory(f"sqlite:///{tmp_path / 'b.db'}", more_services=[us], policy={"warn_mode": "require_ack"})
    with gw.client(verify=app_ca) as client, pytest.raises(httpx.ProxyError):
        client.get(f"https://127.0.0.1:{apps.outside.port}/")
    (rec,) = gw.records(endpoint="connect")
    assert rec["decision"] == "warn" and rec["forwarded"] is False and "warn.ack_required" in rec["rule_ids"]
    assert apps.outside.received == []


def test_curl_through_a_tunnel_sees_the_apps_own_certificate(bgw, apps, pki):
    out = curl(bgw, f"https://localhost:{apps.tunnel.port}/", cacert=pki.upstream_ca_file)
    assert out.returncode == 0 and out.stdout.endswith("\n200") and "Application tunnel" in out.stdout
    out = curl(bgw, f"https://localhost:{apps.tunnel.port}/", cacert=bgw.ca_cert)
    assert out.returncode == 60  # not the institution CA's certificate: nobody in the middle


# -- inspected requests -----------------------------------------------------------------------------

def test_a_nir_in_a_json_body_is_blocked_with_a_json_403_and_never_reaches_the_app(bgw_db, apps):
    body = {"model": "auto", "messages": [{"role": "user", "content": f"Courrier pour le patient NIR {NIR}"}]}
    with bgw_db.client() as client:
        resp = client.post(f"https://localhost:{apps.chat.port}/api/chat", json=body)
    assert resp.status_code == 403 and resp.headers["content-type"].startswith("application/json")
    err = resp.json()["error"]
    assert err["code"] == "gardefou_blocked" and err["type"] == "policy_violation"
    assert "données personnelles" in err["message"] and "« Chat conforme »" in err["message"]
    assert NIR not in resp.text and NIR_DIGITS not in resp.text
    assert resp.headers["x-gardefou-decision"] == "block"
    audit_id = resp.headers["x-gardefou-audit-id"]
    assert err["audit_id"] == audit_id
    assert apps.chat.received == []
    rec = bgw_db.record(audit_id)
    assert rec["decision"] == "block" and rec["forwarded"] is False and rec["endpoint"] == "request"
    assert "personal" in rec["categories"] and "FR_NIR" in rec["finding_types"]
    assert rec["service_id"] == "chatapp" and rec["host"] == f"localhost:{apps.chat.port}" and rec["api"] == "web"
    dumped = json.dumps(bgw_db.store.recent(100), default=str)
    assert NIR not in dumped and NIR_DIGITS not in dumped


def test_a_nir_inside_a_json_string_nested_in_json_is_blocked(bgw, apps):
    inner = json.dumps([["wrb.fr", json.dumps([[f"Résume le dossier {NIR}", 0], None, "fr"])]])
    with bgw.client() as client:
        resp = client.post(f"https://localhost:{apps.chat.port}/api/chat", json={"f.req": inner, "at": "tok"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "gardefou_blocked"
    assert apps.chat.received == []


def test_a_form_value_is_blocked(bgw, apps):
    with bgw.client() as client:
        resp = client.post(f"https://localhost:{apps.chat.port}/form", data={"q": f"NIR du patient : {NIR}"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "gardefou_blocked"
    assert apps.chat.received == []


def test_gemini_style_form_with_nested_json_is_blocked(bgw, apps):
    freq = json.dumps([None, json.dumps([[f"patient {NIR}", 0, None]])])
    with bgw.client() as client:
        resp = client.post(f"https://localhost:{apps.chat.port}/form?rpcids=XqA3Ic&hl=fr", data={"f.req": freq})
    assert resp.status_code == 403
    assert apps.chat.received == []


def test_a_nir_in_the_query_string_is_blocked(bgw, apps):
    with bgw.client() as client:
        resp = client.get(f"https://localhost:{apps.chat.port}/traduire", params={"text": f"NIR {NIR}"})
    assert resp.status_code == 403 and apps.chat.received == []


def test_a_nir_in_the_url_path_is_blocked_and_ordinary_paths_pass(bgw, apps):
    import urllib.parse

    with bgw.client() as client:
        for path in (f"/c/{NIR.replace(' ', '-')}", "/recherche/" + urllib.parse.quote(f"patient {NIR}")):
            resp = client.get(f"https://localhost:{apps.chat.port}{path}")
            assert resp.status_code == 403, path
        assert apps.chat.received == []
        resp = client.get(f"https://localhost:{apps.chat.port}/c/6f1d2a4e-8b3c-4d5e-9f00-112233445566")
    assert resp.status_code != 403 and len(apps.chat.received) == 1


def test_a_nir_in_a_custom_header_is_blocked_and_the_apps_credentials_pass_unscanned(bgw_db, apps):
    """Custom headers are read; cookies, the app's authorization and token-shaped values are relayed
    unread (they would be taken for leaked secrets) and never recorded."""
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEyMyIsInNpZCI6ImFiYyJ9.c2lnbmF0dXJlLWhlcmUtMTIz"
    app_headers = {"cookie": f"__Secure-session={jwt}; theme=sombre", "authorization": f"Bearer {jwt}",
                   "x-csrf-token": "Zk3b9Qx+T2mPq8Lw/Rz1Yc==", "oai-device-id": "6f1d2a4e-8b3c-4d5e-9f00-112233445566",
                   # a browser's own header: "120.0.0.0" would read as an IP address
                   "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36"}
    url = f"https://localhost:{apps.chat.port}/api/chat"
    with bgw_db.client() as client:
        blocked = client.post(url, json={"p": CLEAN}, headers={**app_headers, "x-patient": f"NIR {NIR}"})
        assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "gardefou_blocked"
        assert apps.chat.received == []
        referer = client.get(f"https://localhost:{apps.chat.port}/",
                             headers={"referer": f"https://localhost:{apps.chat.port}/recherche?q={NIR_DIGITS}"})
        assert referer.status_code == 403 and apps.chat.received == []
        allowed = client.post(url, json={"p": CLEAN}, headers={**app_headers, "x-client-version": "prod 4.2 (fr)"})
    assert allowed.status_code == 200 and allowed.headers["x-gardefou-decision"] == "allow"
    (got,) = apps.chat.received
    assert all(got.headers[k] == v for k, v in app_headers.items())  # relayed as received
    rec = bgw_db.record(blocked.headers["x-gardefou-audit-id"])
    assert rec["decision"] == "block" and "FR_NIR" in rec["finding_types"]
    rec = bgw_db.record(allowed.headers["x-gardefou-audit-id"])
    assert rec["decision"] == "allow" and rec["finding_types"] == ""  # no secret taken in the app's credentials
    dumped = json.dumps(bgw_db.store.recent(100), default=str)
    assert NIR not in dumped and NIR_DIGITS not in dumped and jwt not in dumped and "Zk3b9Qx" not in dumped


def test_a_multipart_text_file_is_blocked(bgw, apps):
    csv = f"nom;nir;service\nDupont;{NIR};cardiologie\n".encode("cp1252")
    files = {"file": ("export.csv", csv, "text/csv")}
    with bgw.client() as client:
        resp = client.post(f"https://localhost:{apps.chat.port}/upload", files=files, data={"prompt": "Analyse ce fichier"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "gardefou_blocked"
    assert apps.chat.received == []


def test_a_binary_upload_follows_the_uninspectable_policy(bgw, apps):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    with bgw.client() as client:
        resp = client.post(f"https://localhost:{apps.chat.port}/upload", files={"image": ("scan.png", png, "image/png")})
    assert resp.status_code == 403 and "contenu non inspectable" in resp.json()["error"]["message"]
    rec = bgw.record(resp.headers["x-gardefou-audit-id"])
    assert rec["categories"] == ",uninspectable," and rec["rule_ids"] == ["charter.uninspectable"]
    assert apps.chat.received == []


def test_a_clean_multipart_text_file_is_forwarded_intact(bgw, apps):
    text = "Ordre du jour : budget formation, planning des congés d'été.\n".encode()
    with bgw.client() as client:
        resp = client.post(f"https://localhost:{apps.chat.port}/upload", files={"file": ("odj.md", text, "text/markdown")})
    assert resp.status_code == 200 and resp.json()["path"] == "/upload"
    (got,) = apps.chat.received
    assert text in got.body and got.headers["content-type"].startswith("multipart/form-data")


def test_a_clean_prompt_is_forwarded_and_its_sse_answer_streamed(bgw_db, apps):
    apps.chat.release.clear()
    body = {"messages": [{"role": "user", "content": CLEAN}], "gated": True}
    try:
        with bgw_db.client() as client, client.stream("POST", f"https://localhost:{apps.chat.port}/api/chat",
                                                      json=body) as resp:
            assert resp.status_code == 200 and resp.headers["content-type"] == "text/event-stream"
            assert resp.headers["x-gardefou-decision"] == "allow"
            lines = resp.iter_lines()
            first = next(lines)
            # the first event arrived while the app still holds back the rest: streamed, not buffered
            assert first == 'data: {"delta": "Bonjour"}' and not apps.chat.release.is_set()
            apps.chat.release.set()
            rest = [line for line in lines if line]
    finally:
        apps.chat.release.set()
    assert rest == ['data: {"delta": ", voici "}', 'data: {"delta": "la réponse."}', "data: [DONE]"]
    (got,) = apps.chat.received
    assert json.loads(got.body) == body  # the body arrives exactly as sent
    rec = bgw_db.record(resp.headers["x-gardefou-audit-id"], outcome=True)
    assert rec["decision"] == "allow" and rec["forwarded"] is True and rec["upstream_status"] == 200
    assert rec["bytes_up"] == len(got.body) and rec["bytes_down"] > 50 and rec["prompt_chars"] >= len(CLEAN)


def test_curl_inspected_block_and_allow(bgw, apps):
    url = f"https://localhost:{apps.chat.port}/api/chat"
    out = curl(bgw, url, "-H", "content-type: application/json", "-d", json.dumps({"p": f"NIR {NIR}"}),
               cacert=bgw.ca_cert)
    assert out.returncode == 0 and out.stdout.endswith("\n403") and "gardefou_blocked" in out.stdout
    assert apps.chat.received == []
    out = curl(bgw, url, "-H", "content-type: application/json", "-d", json.dumps({"p": CLEAN}), cacert=bgw.ca_cert)
    assert out.returncode == 0 and out.stdout.endswith("\n200") and "data: [DONE]" in out.stdout
    assert len(apps.chat.received) == 1


def test_an_untrusted_upstream_certificate_is_refused_never_bypassed(bgw, apps):
    with bgw.client() as client:
        resp = client.post(f"https://localhost:{apps.badcert.port}/api/chat", json={"p": CLEAN})
    assert resp.status_code == 502 and resp.json()["error"]["code"] == "gardefou_upstream_untrusted"
    assert "certificat" in resp.json()["error"]["message"]
    assert apps.badcert.received == []
    rec = bgw.record(resp.headers["x-gardefou-audit-id"], outcome=True)
    assert rec["upstream_error"] == "tls_failed" and rec["forwarded"] is False and rec["status_code"] == 502
    out = curl(bgw, f"https://localhost:{apps.badcert.port}/", "-H", "accept: text/html", cacert=bgw.ca_cert)
    assert out.stdout.endswith("\n502") and "Le certificat présenté par le service" in out.stdout
    assert apps.badcert.received == []


def test_plain_http_through_the_proxy_is_inspected(browser_factory, tmp_path, fake):
    """An absolute-form http:// request to a catalogue host is inspected like the rest (the fake
    provider, plain HTTP, stands in for such a host)."""
    plain = {"id": "plainapp", "name": "Service en clair", "hosts": [fake.url.removeprefix("http://")],
             "inspect": True, "hosting": "eu", "trains_on_inputs": False}
    gw = browser_factory(f"sqlite:///{tmp_path / 'audit.db'}", more_services=[plain])
    fake.clear()
    url = f"{fake.url}/v1/chat/completions"
    out = curl(gw, url, "-H", "content-type: application/json",
               "-d", json.dumps({"messages": [{"role": "user", "content": f"NIR {NIR}"}]}))
    assert out.stdout.endswith("\n403") and "gardefou_blocked" in out.stdout
    assert fake.received == []
    out = curl(gw, url, "-H", "content-type: application/json", "--proxy-user", "x:y",
               "-d", json.dumps({"model": "m", "messages": [{"role": "user", "content": CLEAN}]}))
    assert out.stdout.endswith("\n200") and len(fake.received) == 1
    assert "proxy-authorization" not in fake.received[0].headers  # the proxy's credential never leaves
    (rec,) = gw.records(decision="allow")
    assert rec["service_id"] == "plainapp" and rec["endpoint"] == "request"


# -- pages for people -------------------------------------------------------------------------------

def test_a_blocked_navigation_gets_a_french_page_naming_categories_never_values(bgw, apps):
    with bgw.client() as client:
        resp = client.get(f"https://localhost:{apps.chat.port}/recherche", params={"q": f"dossier {NIR}"}, headers=HTML)
    assert resp.status_code == 403 and resp.headers["content-type"].startswith("text/html")
    page = resp.text
    assert "a été bloqué" in page and "données personnelles" in page
    assert "LLM interne (DSN)" in page and "https://llm.interne.example/" in page  # the internal tool
    assert "délégué à la protection des données" in page
    assert resp.headers["x-gardefou-audit-id"] in page
    assert NIR not in page and NIR_DIGITS not in page and "185057" not in page
    assert "script" not in page.lower() and "default-src 'none'" in resp.headers["content-security-policy"]
    assert apps.chat.received == []


def test_warning_page_then_continue_then_passing(bgw_db, apps):
    base = f"https://127.0.0.1:{apps.warn.port}"
    with bgw_db.client() as client:
        api = client.post(f"{base}/api/chat", json={"p": CLEAN})  # the app's own call, before any « Continuer »
        assert api.status_code == 403 and api.json()["error"]["code"] == "gardefou_ack_required"
        assert "Continuer" in api.json()["error"]["message"]
        page = client.get(f"{base}/c/nouveau?x=1", headers=HTML)
        assert page.status_code == 403 and "Continuer</button>" in page.text
        assert "n'est pas conforme à la charte" in page.text and "30 minutes" in page.text
        assert apps.warn.received == []
        token = re.search(r'name="jeton" value="([^"]+)"', page.text).group(1)
        back = re.search(r'name="retour" value="([^"]+)"', page.text).group(1)
        assert back == "/c/nouveau?x=1"
        forged = client.post(f"{base}/__gardefou/continuer", data={"jeton": "1.bad", "retour": "/"}, headers=HTML)
        assert forged.status_code == 403 and "expiré" in forged.text
        ack = client.post(f"{base}/__gardefou/continuer", data={"jeton": token, "retour": back}, headers=HTML)
        assert ack.status_code == 303 and ack.headers["location"] == "/c/nouveau?x=1"
        ack_id = ack.headers["x-gardefou-audit-id"]
        assert apps.warn.received == []  # the acknowledgement itself goes nowhere
        after = client.get(f"{base}/c/nouveau?x=1", headers=HTML)
        assert after.status_code == 200 and "Application warn" in after.text
        api = client.post(f"{base}/api/chat", json={"p": CLEAN})
        assert api.status_code == 200 and "data: [DONE]" in api.text
        blocked = client.post(f"{base}/api/chat", json={"p": f"NIR {NIR}"})  # still inspected after the warning
        assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "gardefou_blocked"
    assert [r.path for r in apps.warn.received] == ["/c/nouveau?x=1", "/api/chat"]
    rec = bgw_db.record(ack_id)
    assert rec["decision"] == "warn" and rec["rule_ids"] == ["warn.acknowledged"] and rec["endpoint"] == "ack"
    assert rec["service_id"] == "warnapp" and rec["client_addr"] == "127.0.0.1"
    warned = [r for r in bgw_db.records(endpoint="request") if r["forwarded"]]
    assert len(warned) == 2 and all(r["decision"] == "warn" and r["rule_ids"] == ["charter.non_compliant"]
                                    for r in warned)
    refused = bgw_db.records(endpoint="ack", decision="refuse")
    assert len(refused) == 1 and refused[0]["rule_ids"] == ["warn.ack_invalid"]


def test_an_acknowledgement_survives_a_restart_of_the_proxy(browser_factory, db_url, apps):
    """« Continuer » is kept in the audit database: after a restart the same client is not asked again."""
    base = f"https://127.0.0.1:{apps.warn.port}"
    gw = browser_factory(db_url)
    with gw.client() as client:
        page = client.get(f"{base}/", headers=HTML)
        token = re.search(r'name="jeton" value="([^"]+)"', page.text).group(1)
        ack = client.post(f"{base}/__gardefou/continuer", data={"jeton": token, "retour": "/"}, headers=HTML)
    assert ack.status_code == 303 and apps.warn.received == []
    gw.stop()
    gw = browser_factory(db_url)  # a new process: nothing in memory, the same audit database
    with gw.client() as client:
        after = client.get(f"{base}/", headers=HTML)
    assert after.status_code == 200 and "Application warn" in after.text
    assert [r.path for r in apps.warn.received] == ["/"]
    rec = gw.record(after.headers["x-gardefou-audit-id"])
    assert rec["decision"] == "warn" and rec["rule_ids"] == ["charter.non_compliant"] and rec["forwarded"] is True


def test_continue_cannot_be_replayed_by_another_client(browser_factory, tmp_path, apps):
    """The token is bound to who saw the page: another client (here: another key) cannot use it."""
    from gateway.config import hash_key

    clients = [{"id": "alice", "key_sha256": hash_key("cle-alice")}, {"id": "bob", "key_sha256": hash_key("cle-bob")}]
    gw = browser_factory(f"sqlite:///{tmp_path / 'audit.db'}", auth={"mode": "api_key", "clients": clients})
    base = f"https://127.0.0.1:{apps.warn.port}"
    with gw.client(auth=("alice", "cle-alice")) as alice:
        token = re.search(r'name="jeton" value="([^"]+)"', alice.get(base + "/", headers=HTML).text).group(1)
    with gw.client(auth=("bob", "cle-bob")) as bob:
        assert bob.post(f"{base}/__gardefou/continuer", data={"jeton": token, "retour": "/"}).status_code == 403
        assert bob.get(base + "/", headers=HTML).status_code == 403
    with gw.client(auth=("alice", "cle-alice")) as alice:
        assert alice.post(f"{base}/__gardefou/continuer", data={"jeton": token, "retour": "//evil.example/"},
                          headers=HTML).headers["location"] == "/"  # never to another site
        assert alice.get(base + "/", headers=HTML).status_code == 200
    assert apps.warn.received[0].headers.get("proxy-authorization") is None


# -- who --------------------------------------------------------------------------------------------

def test_proxy_authorization_names_the_client_else_its_address(browser_factory, db_url, apps):
    from gateway.config import hash_key

    clients = [{"id": "cardio-poste-12", "department": "cardiologie", "key_sha256": hash_key("cle-12")}]
    gw = browser_factory(db_url, auth={"mode": "api_key", "clients": clients})
    url = f"https://localhost:{apps.chat.port}/api/chat"
    with gw.client(auth=("poste12", "cle-12")) as client:
        named = client.post(url, json={"p": CLEAN})
    with gw.client() as client:
        anonymous = client.post(url, json={"p": CLEAN})
    with gw.client(auth=("poste12", "mauvaise")) as client, pytest.raises(httpx.ProxyError) as exc:
        client.post(url, json={"p": CLEAN})
    assert "407" in str(exc.value)
    rec = gw.record(named.headers["x-gardefou-audit-id"])
    assert rec["client_id"] == "cardio-poste-12" and rec["department"] == "cardiologie"
    rec = gw.record(anonymous.headers["x-gardefou-audit-id"])
    assert rec["client_id"] is None and rec["client_addr"] == "127.0.0.1"
    (bad,) = gw.records(endpoint="connect")
    assert bad["decision"] == "refuse" and bad["rule_ids"] == ["auth.failed"] and bad["status_code"] == 401
    dumped = json.dumps(gw.store.recent(100), default=str)
    assert "cle-12" not in dumped and "mauvaise" not in dumped
    assert all("proxy-authorization" not in r.headers for r in apps.chat.received)


# -- fail closed ------------------------------------------------------------------------------------

def test_an_audit_store_that_cannot_record_refuses_everything(browser_factory, tmp_path, apps, pki):
    from gateway.testing.factories import MemoryStore

    store = MemoryStore()
    gw = browser_factory(f"sqlite:///{tmp_path / 'audit.db'}", store=store)
    store.fail = True
    with gw.client() as client:
        resp = client.post(f"https://localhost:{apps.chat.port}/api/chat", json={"p": CLEAN})
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "gardefou_unavailable"
    app_ca = ssl.create_default_context(cafile=str(pki.upstream_ca_file))
    with gw.client(verify=app_ca) as client, pytest.raises(httpx.ProxyError) as exc:
        client.get(f"https://localhost:{apps.tunnel.port}/")
    assert "503" in str(exc.value)
    assert apps.chat.received == [] and apps.tunnel.received == []


def test_an_error_in_the_ingress_forwards_nothing(bgw, apps, monkeypatch):
    from gateway.adapters.web import WebAdapter

    def broken(self, endpoint, body):
        raise RuntimeError("bug")

    monkeypatch.setattr(WebAdapter, "extract", broken)
    with bgw.client() as client:
        resp = client.post(f"https://localhost:{apps.chat.port}/api/chat", json={"p": CLEAN})
    assert resp.status_code == 503 and resp.headers["x-gardefou-decision"] == "refuse"
    assert apps.chat.received == []


def test_an_upload_over_the_size_limit_is_refused_and_audited(bgw, apps):
    with bgw.client() as client:
        resp = client.post(f"https://localhost:{apps.chat.port}/upload", content=b"a" * 300_000,
                           headers={"content-type": "text/plain"})
    assert resp.status_code == 413
    assert apps.chat.received == []
    deadline = time.monotonic() + 5
    while not bgw.records(rule_ids=["request.too_large"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    (rec,) = bgw.records(rule_ids=["request.too_large"])
    assert rec["decision"] == "refuse" and rec["status_code"] == 413


# -- what browsers fetch from the API listener ------------------------------------------------------

def test_ca_crt_serves_the_public_certificate_only(bgw, ca_dir):
    resp = httpx.get(bgw.url + "/ca.crt")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/x-x509-ca-cert"
    assert resp.content == (ca_dir / "mitmproxy-ca-cert.pem").read_bytes()
    assert b"BEGIN CERTIFICATE" in resp.content and b"PRIVATE KEY" not in resp.content
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(resp.content)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True


def test_the_pac_file_sends_ai_hosts_to_the_proxy_without_direct_fallback(bgw, apps):
    from pypac.parser import PACFile

    resp = httpx.get(bgw.url + "/proxy.pac")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/x-ns-proxy-autoconfig")
    pac = PACFile(resp.text)
    proxy = f"PROXY 127.0.0.1:{bgw.proxy_port}"

    def route(url: str) -> str:
        return pac.find_proxy_for_url(url, httpx.URL(url).host)

    assert route(f"https://localhost:{apps.chat.port}/api") == proxy  # an exact name with its port
    assert route(f"https://127.0.0.1:{apps.denied.port}/") == proxy  # denied hosts too: to be refused
    assert route("https://localhost:1/") == "DIRECT" and route("https://localhost/") == "DIRECT"
    assert route("https://chat.mistral.ai/") == proxy and route("https://a.b.mistral.ai/") == proxy  # *.mistral.ai
    assert route("https://mistral.ai/") == proxy and route("https://CHATGPT.com/") == proxy
    assert route("https://gemini.google.com/app") == proxy and route("https://www.google.com/") == "DIRECT"
    assert route("https://evilmistral.ai/") == "DIRECT" and route("https://mistral.ai.example.org/") == "DIRECT"
    assert route("https://intranet.chu.example/") == "DIRECT"
    assert "DIRECT" not in route("https://claude.ai/")  # no fallback that would bypass the control


def test_pac_and_ca_without_proxy_or_ca_are_french_404s(sqlite_gateway_factory):
    gw = sqlite_gateway_factory()
    pac = httpx.get(gw.url + "/proxy.pac")
    assert pac.status_code == 404 and "n'est pas activé" in pac.text
    ca = httpx.get(gw.url + "/ca.crt")
    assert ca.status_code == 404 and "gardefou ca init" in ca.text


# -- the program itself -----------------------------------------------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gardefou_serve_runs_the_proxy_beside_the_api_listener(tmp_path, apps, pki):
    """``gardefou ca init`` then ``gardefou serve`` as programs: one process, both listeners."""
    import os
    import signal
    import sys

    import yaml

    from tests.test_cli import ROOT

    api_port, proxy_port = free_port(), free_port()
    cfg = tmp_path / "gardefou.yaml"
    cfg.write_text(yaml.safe_dump({
        "listen": {"host": "127.0.0.1", "port": api_port},
        "proxy": {"enabled": True, "host": "127.0.0.1", "port": proxy_port, "ca_dir": str(tmp_path / "ca"),
                  "upstream_ca_file": str(pki.upstream_ca_file)},
        "audit": {"url": f"sqlite:///{tmp_path / 'audit.db'}"},
        "services": [{"id": "chatapp", "name": "Chat", "hosts": [f"localhost:{apps.chat.port}"], "inspect": True,
                      "hosting": "eu", "trains_on_inputs": False}],
        "detectors": {"spacy": False},
    }))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    init = subprocess.run([sys.executable, "-m", "gateway.cli", "ca", "init", "--config", str(cfg)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    cert = init.stdout.strip().splitlines()[-1]
    assert cert == str(tmp_path / "ca" / "mitmproxy-ca-cert.pem")
    apps.chat.clear()
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--config", str(cfg)], cwd=tmp_path,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(proc, f"http://127.0.0.1:{api_port}/readyz", timeout=90)
        pac = httpx.get(f"http://127.0.0.1:{api_port}/proxy.pac").text
        assert f'"PROXY 127.0.0.1:{proxy_port}"' in pac
        ctx = ssl.create_default_context(cafile=cert)
        with httpx.Client(proxy=f"http://127.0.0.1:{proxy_port}", verify=ctx, timeout=10, trust_env=False) as client:
            url = f"https://localhost:{apps.chat.port}/api/chat"
            assert client.post(url, json={"p": f"NIR {NIR}"}).status_code == 403
            assert client.post(url, json={"p": CLEAN}).status_code == 200
        assert len(apps.chat.received) == 1
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(20)
    assert code in (0, -signal.SIGINT)  # uvicorn re-raises the interrupt once every listener has stopped
    with pytest.raises(httpx.ConnectError):  # the proxy stopped with the process
        httpx.get(f"http://127.0.0.1:{proxy_port}/", timeout=2)


# -- the apps' own reply formats (ChatGPT, Le Chat, Claude) ------------------------------------------

from tests.app_streams import READERS, fixture  # noqa: E402

APP_SERVICES = {"chatgpt": "openai", "lechat": "mistral", "claude": "anthropic"}  # the built-in entries


@pytest.fixture(scope="module")
def web_apps(pki):
    """One fake app per known format, each standing in for the built-in service of that app."""
    from gateway.testing.webapp import start_fake_webapp

    started = {name: start_fake_webapp(pki.server_context(pki.trusted), name) for name in APP_SERVICES}
    yield started
    for app in started.values():
        app.stop()


def app_services(web_apps, compliant: bool = True) -> list[dict]:
    """The built-in ``openai``, ``mistral`` and ``anthropic`` entries (their ``web_app`` included) on the
    fake apps' hosts, inspected; compliant unless told otherwise."""
    out = []
    for name, service in APP_SERVICES.items():
        entry = {"id": service, "hosts": [f"localhost:{web_apps[name].port}"], "inspect": True}
        if compliant:
            entry.update(hosting="eu", trains_on_inputs=False)
        out.append(entry)
    return out


def app_request(app: str, request_file: str, prompt: str | None = None) -> tuple[str, bytes]:
    """(path, body) of the app's sample conversation request, its prompt replaced."""
    body = json.loads(fixture(app, request_file))
    if app == "chatgpt":
        path = "/backend-api/f/conversation" if request_file == "request.json" else "/backend-api/conversation"
        if prompt is not None:
            body["messages"][-1]["content"]["parts"] = [prompt]
    elif app == "lechat":
        path = "/api/chat"
        if prompt is not None:
            legacy = isinstance(body["messageInput"], str)
            body["messageInput"] = prompt if legacy else [{"type": "text", "text": prompt}]
    else:
        path = fixture("claude", "path.txt").strip()
        if prompt is not None:
            if "completion" in body:
                body["completion"]["prompt"] = body["text"] = prompt
            else:
                body["prompt"] = prompt
    return path, json.dumps(body, ensure_ascii=False).encode()


APP_CASES = [("chatgpt", "request.json"), ("chatgpt", "request-legacy.json"), ("lechat", "request.json"),
             ("lechat", "request-legacy.json"), ("claude", "request.json"), ("claude", "request-legacy.json")]


@pytest.mark.parametrize("app,request_file", APP_CASES)
def test_a_blocked_conversation_request_is_answered_in_the_apps_own_format(browser_factory, tmp_path, web_apps, app,
                                                                          request_file):
    gw = browser_factory(f"sqlite:///{tmp_path / 'audit.db'}", more_services=app_services(web_apps))
    web_apps[app].clear()
    path, body = app_request(app, request_file, f"Rédige le courrier de sortie de M. Martin, NIR {NIR}, diabétique.")
    headers = {"content-type": "application/json", "accept": "text/event-stream"}
    with gw.client() as client:
        resp = client.post(f"https://localhost:{web_apps[app].port}{path}", content=body, headers=headers)
    assert resp.status_code == 200 and resp.headers["x-gardefou-decision"] == "block"
    assert resp.headers["content-type"] == ("text/plain; charset=utf-8" if app == "lechat"
                                            else "text/event-stream; charset=utf-8")
    audit_id = resp.headers["x-gardefou-audit-id"]
    text = READERS[app](resp.text)  # what the person reads in the conversation
    assert text.startswith("**Garde-fou a bloqué ce message**") and "données personnelles" in text
    assert "Retirez" not in text and "retirez de votre texte" in text and f"`{audit_id}`" in text
    assert "LLM interne (DSN)" in text  # the internal tool to use instead
    assert NIR not in resp.text and NIR_DIGITS not in resp.text and "Martin" not in resp.text
    assert web_apps[app].received == []  # the app received nothing
    rec = gw.record(audit_id)
    assert rec["decision"] == "block" and rec["forwarded"] is False and rec["status_code"] == 403
    assert rec["service_id"] == APP_SERVICES[app] and "FR_NIR" in rec["finding_types"]


@pytest.mark.parametrize("app", list(APP_SERVICES))
def test_a_clean_conversation_request_reaches_the_app_unchanged(browser_factory, tmp_path, web_apps, app):
    gw = browser_factory(f"sqlite:///{tmp_path / 'audit.db'}", more_services=app_services(web_apps))
    web_apps[app].clear()
    path, body = app_request(app, "request.json")
    with gw.client() as client:
        resp = client.post(f"https://localhost:{web_apps[app].port}{path}", content=body,
                           headers={"content-type": "application/json"})
    assert resp.status_code == 200 and resp.headers["x-gardefou-decision"] == "allow"
    assert "data: [DONE]" in resp.text if path == "/api/chat" else resp.json()["app"] == app  # the app's own answer
    (got,) = web_apps[app].received
    assert got.path == path and got.body == body


def test_an_app_request_needing_acknowledgement_says_so_in_the_conversation(browser_factory, tmp_path, web_apps):
    """ChatGPT as the catalogue has it (non-compliant): before « Continuer », the conversation says what
    to do; the other calls of the app get the JSON refusal, a navigation the warning page."""
    gw = browser_factory(f"sqlite:///{tmp_path / 'audit.db'}", more_services=app_services(web_apps, compliant=False))
    web_apps["chatgpt"].clear()
    base = f"https://localhost:{web_apps['chatgpt'].port}"
    path, body = app_request("chatgpt", "request.json")
    with gw.client() as client:
        resp = client.post(base + path, content=body, headers={"content-type": "application/json"})
        prepare = client.post(base + "/backend-api/f/conversation/prepare", content=body,
                              headers={"content-type": "application/json"})
        page = client.get(base + "/", headers=HTML)
    assert resp.status_code == 200 and resp.headers["x-gardefou-decision"] == "warn"
    text = READERS["chatgpt"](resp.text)
    assert "avertissement avant d'utiliser « ChatGPT / API OpenAI »" in text and "« Continuer »" in text
    assert "n'est pas conforme à la charte" in text and resp.headers["x-gardefou-audit-id"] in text
    assert prepare.status_code == 403 and prepare.json()["error"]["code"] == "gardefou_ack_required"
    assert page.status_code == 403 and "Continuer</button>" in page.text
    assert web_apps["chatgpt"].received == []
    rec = gw.record(resp.headers["x-gardefou-audit-id"])
    assert rec["decision"] == "warn" and rec["rule_ids"] == ["charter.non_compliant", "warn.ack_required"]


def test_the_apps_other_requests_and_unknown_apps_keep_the_generic_answers(browser_factory, tmp_path, web_apps, apps):
    gw = browser_factory(f"sqlite:///{tmp_path / 'audit.db'}", more_services=app_services(web_apps))
    web_apps["chatgpt"].clear()
    apps.chat.clear()
    leak = {"partial_query": {"content": {"parts": [f"NIR {NIR}"]}}}
    with gw.client() as client:
        other = client.post(f"https://localhost:{web_apps['chatgpt'].port}/backend-api/f/conversation/prepare", json=leak)
        nav = client.get(f"https://localhost:{web_apps['chatgpt'].port}/backend-api/conversation",
                         params={"q": NIR}, headers=HTML)
        # the same path on a service without a web_app: the JSON 403
        unknown = client.post(f"https://localhost:{apps.chat.port}/backend-api/conversation", json=leak)
    assert other.status_code == 403 and other.json()["error"]["code"] == "gardefou_blocked"
    assert nav.status_code == 403 and nav.headers["content-type"].startswith("text/html") and "a été bloqué" in nav.text
    assert unknown.status_code == 403 and unknown.json()["error"]["code"] == "gardefou_blocked"
    assert web_apps["chatgpt"].received == [] and apps.chat.received == []


# -- WebSocket (Copilot style): every message the client sends is inspected -----------------------------

@pytest.fixture(scope="module")
def wss(pki):
    from gateway.testing.webapp import start_fake_wsapp

    app = start_fake_wsapp(pki.server_context(pki.trusted), "copilot")
    yield app
    app.stop()


def ws_service(wss, **extra) -> dict:
    return {"id": "wsapp", "name": "Copilote conforme", "hosts": [f"localhost:{wss.port}"], "inspect": True,
            "hosting": "eu", "trains_on_inputs": False, **extra}


def ws_connect(gw, wss, path: str = "/c/api/chat?api-version=2"):
    import websocket

    return websocket.create_connection(f"wss://localhost:{wss.port}{path}", timeout=10, http_proxy_host="127.0.0.1",
                                       http_proxy_port=gw.proxy_port, proxy_type="http",
                                       sslopt={"ca_certs": str(gw.ca_cert)}, suppress_origin=True)


def copilot_send(text: str) -> str:
    return json.dumps({"event": "send", "conversationId": "c1", "content": [{"type": "text", "text": text}],
                       "mode": "chat"})


def close_of(ws) -> tuple[int, str] | None:
    """The close frame's code and reason; None: the connection was cut without one (an abnormal
    closure, 1006 to a browser)."""
    import struct

    import websocket

    try:
        opcode, frame = ws.recv_data_frame(control_frame=True)
    except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
        return None
    assert opcode == websocket.ABNF.OPCODE_CLOSE, opcode
    return struct.unpack("!H", frame.data[:2])[0], frame.data[2:].decode("utf-8")


def test_websocket_text_messages_are_inspected_one_by_one(browser_factory, db_url, wss):
    gw = browser_factory(db_url, more_services=[ws_service(wss)])
    wss.clear()
    ws = ws_connect(gw, wss)
    try:
        ws.send(copilot_send(CLEAN))
        assert json.loads(ws.recv()) == {"event": "received", "app": "copilot", "kind": "text",
                                         "size": len(copilot_send(CLEAN))}
        ws.send(copilot_send(f"Résume le dossier du patient NIR {NIR}"))
        refusal = json.loads(ws.recv())["error"]  # the refusal, as a text frame, in French
        assert refusal["code"] == "gardefou_blocked" and "données personnelles" in refusal["message"]
        # then a close frame: policy violation, with a short French reason (not an abnormal closure)
        assert close_of(ws) == (1008, f"Message bloqué par Garde-fou (réf. {refusal['audit_id']}).")
    finally:
        ws.close()
    deadline = time.monotonic() + 5
    while wss.closes == [] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert wss.closes == [1008]  # the app was told too
    assert wss.received == [copilot_send(CLEAN)]  # the message with a NIR never arrived
    assert wss.handshakes == ["/c/api/chat?api-version=2"]
    (handshake,) = gw.records(endpoint="request")
    assert handshake["decision"] == "allow" and gw.record(handshake["id"], outcome=True)["status_code"] == 101
    frames = sorted(gw.records(endpoint="websocket"), key=lambda r: r["decision"])
    assert [r["decision"] for r in frames] == ["allow", "block"]
    allowed, blocked = frames
    assert allowed["forwarded"] is True and allowed["service_id"] == "wsapp" and allowed["api"] == "web"
    assert gw.record(allowed["id"], outcome=True)["bytes_up"] == len(copilot_send(CLEAN))
    assert blocked["forwarded"] is False and "FR_NIR" in blocked["finding_types"] and blocked["status_code"] == 403
    assert refusal["audit_id"] == blocked["id"]
    dumped = json.dumps(gw.store.recent(100), default=str)
    assert NIR not in dumped and NIR_DIGITS not in dumped


def test_a_binary_websocket_message_is_refused_on_an_external_service(browser_factory, tmp_path, wss):
    gw = browser_factory(f"sqlite:///{tmp_path / 'audit.db'}", more_services=[ws_service(wss)])
    wss.clear()
    ws = ws_connect(gw, wss)
    try:
        ws.send_binary(b"\x00\x01DeepL" + bytes(range(256)))
        refusal = json.loads(ws.recv())["error"]
        assert refusal["code"] == "gardefou_blocked" and "non inspectable" in refusal["message"]
        assert close_of(ws)[0] == 1008
    finally:
        ws.close()
    assert wss.received == []
    (rec,) = gw.records(endpoint="websocket")
    assert rec["decision"] == "block" and rec["categories"] == ",uninspectable," and rec["rule_ids"] == ["charter.uninspectable"]


def test_a_binary_websocket_message_follows_the_uninspectable_policy(browser_factory, tmp_path, wss):
    """Under ``policy.uninspectable: allow`` the same binary message goes through (and is recorded so)."""
    gw = browser_factory(f"sqlite:///{tmp_path / 'audit.db'}", more_services=[ws_service(wss)],
                         policy={"uninspectable": "allow"})
    wss.clear()
    ws = ws_connect(gw, wss)
    try:
        ws.send_binary(bytes(range(256)))
        assert json.loads(ws.recv())["kind"] == "binary"
    finally:
        ws.close()
    assert wss.received == [bytes(range(256))]
    (rec,) = gw.records(endpoint="websocket")
    assert rec["decision"] == "allow" and "policy.uninspectable_allowed" in rec["rule_ids"]


def test_a_websocket_handshake_is_inspected_like_a_request(browser_factory, tmp_path, wss):
    import websocket

    gw = browser_factory(f"sqlite:///{tmp_path / 'audit.db'}", more_services=[ws_service(wss)])
    wss.clear()
    with pytest.raises(websocket.WebSocketBadStatusException) as exc:
        ws_connect(gw, wss, f"/c/api/chat?q=NIR%20{NIR_DIGITS}")
    assert exc.value.status_code == 403
    assert wss.handshakes == [] and wss.received == []
    (rec,) = gw.records(endpoint="request")
    assert rec["decision"] == "block" and "FR_NIR" in rec["finding_types"]


def test_websocket_messages_to_a_non_compliant_service_wait_for_continuer(browser_factory, tmp_path, wss):
    """Before « Continuer » the handshake is refused (ack required); after it, messages pass and are still
    inspected one by one."""
    import websocket

    gw = browser_factory(f"sqlite:///{tmp_path / 'audit.db'}",
                         more_services=[ws_service(wss, hosting="non-eu", trains_on_inputs=True)])
    wss.clear()
    with pytest.raises(websocket.WebSocketBadStatusException):
        ws_connect(gw, wss)
    base = f"https://localhost:{wss.port}"
    with gw.client() as client:
        page = client.get(base + "/", headers=HTML)
        token = re.search(r'name="jeton" value="([^"]+)"', page.text).group(1)
        assert client.post(base + "/__gardefou/continuer", data={"jeton": token, "retour": "/"}).status_code == 303
    ws = ws_connect(gw, wss)
    try:
        ws.send(copilot_send(CLEAN))
        assert json.loads(ws.recv())["kind"] == "text"
        ws.send(copilot_send(f"NIR {NIR}"))
        assert json.loads(ws.recv())["error"]["code"] == "gardefou_blocked"
    finally:
        ws.close()
    assert wss.received == [copilot_send(CLEAN)]
    assert [r["decision"] for r in sorted(gw.records(endpoint="websocket"), key=lambda r: r["decision"])] == ["block", "warn"]


def test_an_error_inspecting_a_websocket_message_drops_it(browser_factory, tmp_path, wss, monkeypatch):
    from gateway.adapters.web import WebAdapter

    gw = browser_factory(f"sqlite:///{tmp_path / 'audit.db'}", more_services=[ws_service(wss)])
    wss.clear()
    ws = ws_connect(gw, wss)

    def broken(self, endpoint, body):
        raise RuntimeError("bug")

    monkeypatch.setattr(WebAdapter, "extract", broken)
    try:
        ws.send(copilot_send(CLEAN))
        assert json.loads(ws.recv())["error"]["code"] in ("gardefou_unavailable", "gardefou_refused")
        code, reason = close_of(ws)
        assert code == 1011 and "Garde-fou" in reason  # an internal error, not a policy decision
    finally:
        ws.close()
    assert wss.received == []


# -- PDF and .docx uploads ---------------------------------------------------------------------------

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize("kind", ["pdf", "docx"])
def test_a_document_upload_is_inspected_by_its_text(bgw_db, apps, kind):
    from tests.documents_support import make_docx, make_pdf

    def make(text: str) -> tuple[str, bytes, str]:
        if kind == "pdf":
            return "compte-rendu.pdf", make_pdf(["Compte rendu de consultation.", text]), "application/pdf"
        return "synthese.docx", make_docx(["Synthèse de la réunion."], table=[["Patient", text]]), DOCX

    url = f"https://localhost:{apps.chat.port}/upload"
    with bgw_db.client() as client:
        blocked = client.post(url, files={"file": make(f"M. Dupont, NIR {NIR}")}, data={"prompt": "Résume ce document"})
        assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "gardefou_blocked"
        assert "données personnelles" in blocked.json()["error"]["message"] and apps.chat.received == []
        name, clean, mime = make("Ordre du jour : budget formation.")
        allowed = client.post(url, files={"file": (name, clean, mime)})
    assert allowed.status_code == 200
    (got,) = apps.chat.received
    assert clean in got.body  # the file arrives byte for byte
    rec = bgw_db.record(blocked.headers["x-gardefou-audit-id"])
    assert rec["decision"] == "block" and "FR_NIR" in rec["finding_types"] and "uninspectable" not in rec["categories"]
    rec = bgw_db.record(allowed.headers["x-gardefou-audit-id"])
    assert rec["decision"] == "allow" and rec["prompt_chars"] > 30
    dumped = json.dumps(bgw_db.store.recent(100), default=str)
    assert NIR not in dumped and NIR_DIGITS not in dumped


def test_an_encrypted_pdf_body_is_uninspectable(bgw, apps):
    from tests.documents_support import make_pdf

    pdf = make_pdf([f"Patient NIR {NIR}"], password="secret")
    with bgw.client() as client:
        resp = client.post(f"https://localhost:{apps.chat.port}/upload", content=pdf,
                           headers={"content-type": "application/pdf"})
    assert resp.status_code == 403 and "contenu non inspectable" in resp.json()["error"]["message"]
    rec = bgw.record(resp.headers["x-gardefou-audit-id"])
    assert rec["categories"] == ",uninspectable," and rec["rule_ids"] == ["charter.uninspectable"]
    assert apps.chat.received == []


# -- malformed proxy requests --------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b"CONNECT\r\n\r\n",                                   # no target
    b"CONNECT localhost:notaport HTTP/1.1\r\n\r\n",       # a port that is not a number
    b"GARBAGE / HTTP/1.1\r\nHost: x\r\n\r\n",             # not a method
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 32,  # TLS spoken to the proxy port
])
def test_malformed_proxy_requests_are_refused_and_nothing_is_forwarded(bgw, apps, raw):
    import socket

    apps.chat.clear()
    with socket.create_connection(("127.0.0.1", bgw.proxy_port), timeout=5) as s:
        s.sendall(raw)
        try:
            answer = s.recv(4096)
        except (ConnectionResetError, TimeoutError):
            answer = b""
    assert not answer.startswith(b"HTTP/1.1 200") and not answer.startswith(b"HTTP/1.0 200")
    assert apps.chat.received == []
    # the proxy still serves the next client
    with bgw.client() as client:
        assert client.post(f"https://localhost:{apps.chat.port}/api/chat",
                           json={"messages": [{"role": "user", "content": f"NIR {NIR}"}]}).status_code == 403


# -- HTTP/2: inspected like HTTP/1.1 ----------------------------------------------------------------

@pytest.fixture(scope="module")
def h2app(pki):
    """An app that speaks HTTP/2 only: mitmproxy mirrors its ALPN, so the client's side is HTTP/2 too."""
    from gateway.testing.webapp import start_fake_h2app

    app = start_fake_h2app(pki.server_context(pki.trusted), "h2")
    yield app
    app.stop()


def h2_service(h2app) -> dict:
    return {"id": "h2app", "name": "Chat HTTP/2", "hosts": [f"localhost:{h2app.port}"], "inspect": True,
            "hosting": "eu", "trains_on_inputs": False}


def test_http2_requests_are_inspected_and_their_answers_streamed(browser_factory, db_url, h2app):
    gw = browser_factory(db_url, more_services=[h2_service(h2app)])
    h2app.clear()
    h2app.release.clear()
    url = f"https://localhost:{h2app.port}/api/chat"
    leak = {"messages": [{"role": "user", "content": f"Courrier pour le patient NIR {NIR}"}]}
    clean = {"messages": [{"role": "user", "content": CLEAN}], "gated": True}
    try:
        with gw.client(http2=True) as client:
            blocked = client.post(url, json=leak)
            assert blocked.http_version == "HTTP/2"  # negotiated with the proxy, not downgraded
            assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "gardefou_blocked"
            assert NIR not in blocked.text and h2app.received == []  # never reached the app
            with client.stream("POST", url, json=clean) as resp:
                assert resp.http_version == "HTTP/2" and resp.status_code == 200
                assert resp.headers["x-gardefou-decision"] == "allow"
                lines = resp.iter_lines()
                # the first event arrived while the app still holds back the rest: streamed, not buffered
                assert next(lines) == 'data: {"delta": "Bonjour"}' and not h2app.release.is_set()
                h2app.release.set()
                rest = [line for line in lines if line]
    finally:
        h2app.release.set()
    assert rest == ['data: {"delta": ", voici "}', 'data: {"delta": "la réponse."}', "data: [DONE]"]
    (got,) = h2app.received
    assert got.http_version == "HTTP/2" and got.method == "POST" and json.loads(got.body) == clean
    rec = gw.record(blocked.headers["x-gardefou-audit-id"])
    assert rec["decision"] == "block" and rec["forwarded"] is False and "FR_NIR" in rec["finding_types"]
    assert rec["service_id"] == "h2app" and rec["endpoint"] == "request"
    rec = gw.record(resp.headers["x-gardefou-audit-id"], outcome=True)
    assert rec["decision"] == "allow" and rec["upstream_status"] == 200 and rec["bytes_up"] == len(got.body)
    assert rec["bytes_down"] > 50


def test_curl_http2_through_the_proxy(browser_factory, tmp_path, h2app):
    gw = browser_factory(f"sqlite:///{tmp_path / 'audit.db'}", more_services=[h2_service(h2app)])
    h2app.clear()
    url = f"https://localhost:{h2app.port}/api/chat"

    def post(prompt: str) -> subprocess.CompletedProcess:
        return curl(gw, "--http2", "-w", "\n%{http_code} %{http_version}", url, "-H", "content-type: application/json",
                    "-d", json.dumps({"p": prompt}), cacert=gw.ca_cert)

    out = post(f"NIR {NIR}")
    assert out.returncode == 0 and out.stdout.endswith("\n403 2") and "gardefou_blocked" in out.stdout
    assert h2app.received == []
    out = post(CLEAN)
    assert out.returncode == 0 and out.stdout.endswith("\n200 2") and "data: [DONE]" in out.stdout
    (got,) = h2app.received
    assert got.http_version == "HTTP/2" and json.loads(got.body) == {"p": CLEAN}
