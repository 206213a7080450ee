"""The institution's charter, accepted before first use: a 403 ``gardefou_charter_required`` on the API
until the client key accepts (``POST /gardefou/charte`` or the ``X-Gardefou-Charter-Accept`` header),
an interstitial with « J'accepte » on the browser path, every acceptance recorded (who, when, version)
and listed for the DPO, asked again when the version changes. Off without a ``charter`` section.
Real gateways, the real fake provider and fake web apps, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re

import httpx
import openai
import pytest
from sqlalchemy import text

from gateway.config import hash_key
from gateway.sobriety import NOTICE_LONG_FR
from tests.browser_support import CLEAN

BENIGN = "Reformule ce paragraphe pour le rendre plus clair : la réunion est reportée à jeudi."
CHARTER = {"version": "2026-01", "url": "https://intranet.chu-exemple.fr/charte-ia.pdf",
           "text": "Article 1 : aucune donnée de patient dans un service externe.\n\nArticle 2 : relire chaque réponse."}
CLIENTS = [{"id": "poste-urg-1", "department": "urgences", "key_sha256": hash_key("cle-urg")},
           {"id": "poste-pha-1", "department": "pharmacie", "key_sha256": hash_key("cle-pha")}]
KEYED = {"auth": {"mode": "api_key", "clients": CLIENTS}}


def chat(gw, key: str = "cle-urg", **headers) -> httpx.Response:
    return httpx.post(gw.v1 + "/chat/completions", timeout=10, headers={"authorization": f"Bearer {key}", **headers},
                      json={"model": "mistral/mistral-small-latest", "messages": [{"role": "user", "content": BENIGN}]})


def accept(gw, key: str = "cle-urg", version: str | None = "2026-01") -> httpx.Response:
    params = {"version": version} if version is not None else {}
    return httpx.post(gw.url + "/gardefou/charte", params=params, headers={"authorization": f"Bearer {key}"}, timeout=10)


def acceptances(gw) -> list[dict]:
    return list(reversed(gw.store.acceptances(100)))


def test_no_charter_configured_nothing_is_asked(gateway, fake):
    assert chat(gateway, key="any").status_code == 200
    assert httpx.get(gateway.url + "/gardefou/charte", timeout=10).status_code == 404
    resp = httpx.post(gateway.url + "/gardefou/charte", params={"version": "1"}, timeout=10)
    assert resp.status_code == 404 and "Aucune charte" in resp.json()["error"]["message"]
    assert acceptances(gateway) == []


def test_api_key_must_accept_once_then_passes(gateway_factory, fake):
    gw = gateway_factory(charter=CHARTER, **KEYED)
    first = chat(gw)
    assert first.status_code == 403
    err = first.json()["error"]
    assert err["code"] == "gardefou_charter_required" and err["type"] == "policy_violation"
    message = err["message"]
    assert "accepter" in message and "version 2026-01" in message and CHARTER["url"] in message
    assert f'curl -X POST -H "Authorization: Bearer VOTRE_CLE" "{gw.url}/gardefou/charte?version=2026-01"' in message
    assert "X-Gardefou-Charter-Accept: 2026-01" in message
    assert fake.received == []  # nothing forwarded before the charter is accepted
    rec = gw.store.get(first.headers["x-gardefou-audit-id"])
    assert rec["decision"] == "refuse" and rec["rule_ids"] == ["charter_ack.required"] and rec["forwarded"] is False
    assert rec["client_id"] == "poste-urg-1" and rec["status_code"] == 403

    # the charter and how to accept it, for a person reading it with curl, or a script (JSON)
    page = httpx.get(gw.url + "/gardefou/charte", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    assert "version 2026-01" in page.text and "Article 2 : relire chaque réponse." in page.text
    assert CHARTER["url"] in page.text and "?version=2026-01" in page.text
    info = httpx.get(gw.url + "/gardefou/charte", headers={"accept": "application/json"}, timeout=10).json()
    assert info["version"] == "2026-01" and info["accept"]["header"] == "X-Gardefou-Charter-Accept: 2026-01"

    # a wrong or missing version, or a wrong key, accepts nothing
    wrong = accept(gw, version="2025-06")
    assert wrong.status_code == 409 and "2026-01" in wrong.json()["error"]["message"]
    assert accept(gw, version=None).status_code == 409
    assert accept(gw, key="fausse").status_code == 401
    assert acceptances(gw) == [] and chat(gw).status_code == 403

    ok = accept(gw)
    assert ok.status_code == 200
    body = ok.json()
    assert body["accepted"] is True and body["first_acceptance"] is True and body["client"] == "poste-urg-1"
    assert accept(gw).json()["first_acceptance"] is False  # once is enough; the first stays recorded
    passed = chat(gw)
    assert passed.status_code == 200 and passed.json()["choices"][0]["message"]["content"] == "Réponse du fournisseur."
    assert len(fake.received) == 1
    assert chat(gw, key="cle-pha").status_code == 403  # per client key
    (row,) = acceptances(gw)
    assert row["subject"] == "client:poste-urg-1" and row["client_id"] == "poste-urg-1"
    assert row["department"] == "urgences" and row["version"] == "2026-01" and row["channel"] == "api"
    assert row["method"] == "endpoint" and row["client_addr"] == "127.0.0.1" and row["ts"] is not None
    audit = gw.store.get(row["audit_id"])
    assert audit["rule_ids"] == ["charter_ack.accepted"] and audit["endpoint"] == "charter_ack"
    assert audit["client_id"] == "poste-urg-1" and audit["forwarded"] is False
    refused = [r for r in gw.records() if r["endpoint"] == "charter_ack" and r["decision"] == "refuse"]
    assert {r["rule_ids"][0] for r in refused} == {"charter_ack.invalid", "auth.failed"}


def test_the_header_accepts_for_a_script_that_cannot_call_first(gateway_factory, fake):
    gw = gateway_factory(charter=CHARTER, **KEYED)
    client = openai.OpenAI(base_url=gw.v1, api_key="cle-pha", max_retries=0,
                           default_headers={"X-Gardefou-Charter-Accept": "2026-01"})
    raw = client.chat.completions.with_raw_response.create(model="mistral/mistral-small-latest",
                                                           messages=[{"role": "user", "content": BENIGN}])
    assert raw.headers["x-gardefou-decision"] == "allow"
    assert "x-gardefou-charter-accept" not in fake.received[0].headers  # never relayed upstream
    (row,) = acceptances(gw)
    assert row["subject"] == "client:poste-pha-1" and row["method"] == "header"
    assert row["audit_id"] == raw.headers["x-gardefou-audit-id"]  # the request that accepted
    assert chat(gw, key="cle-pha").status_code == 200  # remembered without the header
    # an outdated version in the header accepts nothing
    assert chat(gw, key="cle-urg", **{"X-Gardefou-Charter-Accept": "2025-06"}).status_code == 403
    assert len(acceptances(gw)) == 1


def test_a_new_version_is_asked_again_and_processes_share_acceptances(db_url, fake, scanner):
    from tests.conftest import _serve_gateways

    factory_gen = _serve_gateways(fake, db_url, scanner)
    factory = next(factory_gen)
    try:
        one = factory(charter=CHARTER, **KEYED)
        two = factory(charter=CHARTER, **KEYED)  # another gateway process on the same audit database
        assert chat(two).status_code == 403
        assert accept(one).status_code == 200
        assert chat(two).status_code == 200  # read from the store on a miss
        newer = factory(charter={**CHARTER, "version": "2026-09"}, **KEYED)
        resp = chat(newer)
        assert resp.status_code == 403 and "version 2026-09" in resp.json()["error"]["message"]
        assert accept(newer, version="2026-01").status_code == 409
        assert accept(newer, version="2026-09").status_code == 200 and chat(newer).status_code == 200
        assert [(r["subject"], r["version"]) for r in acceptances(newer)] == [
            ("client:poste-urg-1", "2026-01"), ("client:poste-urg-1", "2026-09")]
    finally:
        next(factory_gen, None)


def test_without_keys_the_client_is_its_address(gateway_factory, fake):
    gw = gateway_factory(charter=CHARTER)
    assert chat(gw, key="n-importe").status_code == 403
    assert accept(gw, key="autre").status_code == 200
    assert chat(gw, key="encore-une").status_code == 200
    (row,) = acceptances(gw)
    assert row["subject"] == "adresse:127.0.0.1" and row["client_id"] is None


def test_an_acceptance_store_that_fails_forwards_nothing(gateway_factory, fake):
    gw = gateway_factory(charter=CHARTER, **KEYED)
    with gw.store.engine.begin() as conn:
        conn.execute(text("DROP TABLE charter_acceptances"))
    resp = chat(gw)
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "gardefou_unavailable"
    resp = chat(gw, **{"X-Gardefou-Charter-Accept": "2026-01"})
    assert resp.status_code == 503
    assert accept(gw).status_code == 503
    assert fake.received == []


# -- the browser path ---------------------------------------------------------------------------------

HTML = {"accept": "text/html,application/xhtml+xml"}
LONGER = ("Le comité de pilotage de la nouvelle signalétique se réunira jeudi en salle trois pour valider les "
          "maquettes, puis le calendrier des travaux du hall sera envoyé à chaque service.")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    from tests.browser_support import make_pki

    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def apps(pki):
    from tests.browser_support import start_apps

    apps = start_apps(pki)
    yield apps
    for app in apps.all():
        app.stop()


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory):
    from gateway.proxy.ca import init_ca

    directory = tmp_path_factory.mktemp("institution-ca")
    init_ca(directory)
    return directory


@pytest.fixture
def browser_gw(apps, pki, ca_dir, scanner, db_url):
    from tests.browser_support import browser_config, start_browser_gateway

    started = []

    def start(more_services=(), **extra):
        for app in apps.all():
            app.clear()
        cfg = browser_config(apps, pki, db_url, ca_dir, **extra)
        cfg["services"].extend(more_services)
        gw = start_browser_gateway(cfg, scanner=scanner)
        started.append(gw)
        return gw

    yield start
    for gw in started:
        gw.stop()


def test_browser_first_use_shows_the_charter_then_j_accepte(browser_gw, apps):
    gw = browser_gw(charter=CHARTER)
    base = f"https://localhost:{apps.chat.port}"
    with gw.client() as client:
        api = client.post(f"{base}/api/chat", json={"p": CLEAN})  # the app's own call: JSON, how to accept
        assert api.status_code == 403 and api.json()["error"]["code"] == "gardefou_charter_required"
        assert "J'accepte" in api.json()["error"]["message"]
        page = client.get(f"{base}/c/nouveau?x=1", headers=HTML)
        assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
        assert "J'accepte</button>" in page.text and "version <span id=\"charter-version\">2026-01</span>" in page.text
        assert "Article 1 : aucune donnée de patient dans un service externe." in page.text
        assert CHARTER["url"] in page.text and "<script" not in page.text.lower()
        assert apps.chat.received == []
        token = re.search(r'name="jeton" value="([^"]+)"', page.text).group(1)
        back = re.search(r'name="retour" value="([^"]+)"', page.text).group(1)
        assert back == "/c/nouveau?x=1"
        forged = client.post(f"{base}/__gardefou/charte", data={"jeton": "1.faux", "retour": "/"}, headers=HTML)
        assert forged.status_code == 403 and "J'accepte" in html.unescape(forged.text)
        assert acceptances(gw) == []
        ok = client.post(f"{base}/__gardefou/charte", data={"jeton": token, "retour": back}, headers=HTML)
        assert ok.status_code == 303 and ok.headers["location"] == "/c/nouveau?x=1"
        after = client.get(f"{base}/c/nouveau?x=1", headers=HTML)
        assert after.status_code == 200 and "Application chat" in after.text
        assert client.post(f"{base}/api/chat", json={"p": CLEAN}).status_code == 200
    (row,) = acceptances(gw)
    assert row["subject"] == "adresse:127.0.0.1" and row["channel"] == "browser" and row["method"] == "page"
    assert row["version"] == "2026-01"
    rec = gw.record(row["audit_id"])
    assert rec["rule_ids"] == ["charter_ack.accepted"] and rec["service_id"] == "chatapp"
    assert [r.path for r in apps.chat.received] == ["/c/nouveau?x=1", "/api/chat"]
    # the token is bound to who saw the page: another client (a key) cannot reuse it
    with gw.client(auth=("x", "cle-pha")) as other:
        assert other.post(f"{base}/__gardefou/charte", data={"jeton": token, "retour": "/"},
                          headers=HTML).status_code == 403


def test_browser_key_holder_accepted_on_the_api_is_not_asked_again(browser_gw, apps):
    """The same key is the same person on both paths."""
    gw = browser_gw(charter=CHARTER, **KEYED)
    resp = httpx.post(gw.url + "/gardefou/charte", params={"version": "2026-01"},
                      headers={"authorization": "Bearer cle-urg"}, timeout=10)
    assert resp.status_code == 200
    with gw.client(auth=("agent", "cle-urg")) as client:
        assert client.get(f"https://localhost:{apps.chat.port}/", headers=HTML).status_code == 200
    with gw.client(auth=("agent", "cle-pha")) as client:
        page = client.get(f"https://localhost:{apps.chat.port}/", headers=HTML)
        assert page.status_code == 403 and "J'accepte" in page.text


def test_browser_long_request_notice_and_tokens_of_an_api_answer(browser_gw, fake, apps):
    """Through the proxy, a provider's JSON answer (the fake provider as a plain-HTTP catalogue host) has
    its tokens read and estimated; a long request's answer carries the notice (web bodies: by their
    characters), and a page the proxy serves for one shows the banner."""
    plain = {"id": "plainapp", "name": "API en clair", "hosts": [fake.url.removeprefix("http://")],
             "inspect": True, "hosting": "eu", "trains_on_inputs": False}
    gw = browser_gw(more_services=[plain], sobriety={"services": {"plainapp": {"provider": "mistralai"}},
                                                     "long_conversation": {"max_tokens": 40}})
    fake.clear()
    with httpx.Client(proxy=gw.proxy_url, timeout=10, trust_env=False) as client:
        short = client.post(f"{fake.url}/v1/chat/completions",
                            json={"model": "mistral-small-latest", "messages": [{"role": "user", "content": "Un titre ?"}]})
        assert short.status_code == 200 and "x-gardefou-notice" not in short.headers
        long = client.post(f"{fake.url}/v1/chat/completions",
                           json={"model": "mistral-small-latest", "messages": [{"role": "user", "content": LONGER}]})
        assert long.status_code == 200 and long.headers["x-gardefou-notice"].startswith("Conversation longue")
        assert dict(long.headers.raw)[b"x-gardefou-notice"].decode("latin-1") == NOTICE_LONG_FR  # as on the API
        blocked = client.get(f"{fake.url}/recherche", headers=HTML,
                             params={"q": f"{LONGER} NIR 1 85 05 78 006 084 91"})
    assert blocked.status_code == 403 and 'id="gardefou-notice"' in blocked.text
    assert "commencez une nouvelle conversation" in blocked.text
    rec = gw.record(short.headers["x-gardefou-audit-id"], outcome=True)
    assert (rec["input_tokens"], rec["output_tokens"], rec["impact_status"]) == (5, 3, "estimated")
    assert rec["energy_wh"] > 0 and rec["notice"] is None
    assert gw.record(long.headers["x-gardefou-audit-id"], outcome=True)["notice"] == "long_conversation"
    # an app's page carries no usage: nothing is estimated for it (not counted as « non estimée »)
    with gw.client() as client:
        page = client.get(f"https://localhost:{apps.chat.port}/", headers=HTML)
    assert page.status_code == 200
    rec = gw.record(page.headers["x-gardefou-audit-id"], outcome=True)
    assert rec["impact_status"] is None and rec["input_tokens"] is None and rec["upstream_status"] == 200
