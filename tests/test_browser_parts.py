"""The browser path's parts on their own: configuration, catalogue hosts, the PAC, the CA command, the
generic web adapter's extraction (in-process, on the pipeline's seams)."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace

import anyio
import pytest
import yaml

from gateway.adapters.web import WebAdapter, basic_password
from gateway.cli import main as gardefou
from gateway.config import ConfigError, parse_config
from gateway.proxy.ca import ca_problem, init_ca
from gateway.proxy.pac import pac_script, proxy_directive
from gateway.testing.factories import tconfig, tincoming, tpipeline
from policies.catalogue import Catalogue, merge_services, parse_host_entry

WEB = WebAdapter()


def config_error(text: str, environ=None) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "c.yaml", environ=environ)
    return str(exc.value)


# -- configuration --------------------------------------------------------------------------------

def test_proxy_defaults():
    proxy = parse_config("").proxy
    assert (proxy.enabled, proxy.host, proxy.port, proxy.ca_dir, proxy.upstream_ca_file, proxy.ack_minutes) == (
        False, "127.0.0.1", 3128, "./gardefou-ca", None, 30)
    assert all(not s.inspect for s in parse_config("").catalogue().services.values())


def test_proxy_typos_and_types_are_refused_with_their_line():
    msg = config_error("proxy:\n  enabled: true\n  prot: 3129\n  ack_minute: 5\n  ca_dir: ./ca\n")
    assert "c.yaml: line 3: proxy.prot: unknown key, did you mean 'port'?" in msg
    assert "c.yaml: line 4: proxy.ack_minute: unknown key, did you mean 'ack_minutes'?" in msg
    msg = config_error('proxy:\n  enabled: "true"\n  port: 70000\n')
    assert "line 2: proxy.enabled: Input should be a valid boolean (true or false, without quotes)" in msg
    assert "line 3: proxy.port: Input should be less than or equal to 65535" in msg
    msg = config_error("services:\n  - id: mistral\n    inspect: 'yes'\n")
    assert "line 3: services.0.inspect: Input should be a valid boolean (true or false, without quotes)" in msg
    msg = config_error("services:\n  - id: mistral\n    hostz: [a.fr]\n")
    assert "line 3: services.0.hostz: unknown key, did you mean 'hosts'?" in msg


@pytest.mark.parametrize("entry,problem", [
    ("*.ai", "at least two labels"), ("chat..mistral.ai", "is not a host name"), ("https://chat.mistral.ai", "not a host"),
    ("chat.mistral.ai:0", "between 1 and 65535"), ("*", "not a host"), ("chat mistral", "not a host"),
])
def test_bad_host_entries_are_refused_with_their_line(entry, problem):
    msg = config_error(yaml.safe_dump({"services": [{"id": "mistral", "hosts": ["ok.example", entry]}]}))
    assert "c.yaml: line 4: services.0.hosts.1: " in msg and problem in msg


def test_a_host_listed_by_two_services_is_refused():
    text = ("services:\n  - id: a\n    name: A\n    hosts: [x.example]\n"
            "  - id: b\n    name: B\n    hosts: [y.example, X.example]\n")
    msg = config_error(text)
    assert "line 7: services.1.hosts.1: host 'x.example' is already listed by service 'a'" in msg
    msg = config_error("services:\n  - id: b\n    name: B\n    hosts: [chatgpt.com]\n")
    assert "host 'chatgpt.com' is already listed by service 'openai'" in msg
    # a more specific entry than a built-in wildcard is not a duplicate: it wins (most specific first)
    cat = parse_config("services:\n  - id: lab\n    name: Lab\n    hosts: [labs.mistral.ai]\n").catalogue()
    assert cat.by_host("labs.mistral.ai").id == "lab" and cat.by_host("chat.mistral.ai").id == "mistral"


def test_the_proxy_port_must_be_its_own():
    msg = config_error("listen: {port: 9000}\nproxy:\n  enabled: true\n  port: 9000\n")
    assert "line 4: proxy.port: the proxy needs its own port, not listen.port (9000)" in msg
    parse_config("listen: {port: 9000}\nproxy:\n  enabled: false\n  port: 9000\n")  # disabled: no listener


def test_inspected_services_need_the_institution_ca(tmp_path):
    text = yaml.safe_dump({"proxy": {"enabled": True, "ca_dir": str(tmp_path / "ca")},
                           "services": [{"id": "openai", "inspect": True}], "detectors": {"spacy": False}})
    msg = config_error(text, environ={})
    assert "proxy.ca_dir: no institution CA in" in msg and "gardefou ca init --config FILE" in msg
    assert "services openai are inspected" in msg
    parse_config(text)  # schema alone: valid (what ca init needs to read its ca_dir)
    init_ca(tmp_path / "ca")
    parse_config(text, environ={})
    (tmp_path / "ca" / "mitmproxy-ca.pem").write_text("garbage")
    assert "does not hold an unencrypted private key" in config_error(text, environ={})


def test_check_config_refuses_what_serve_refuses(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"proxy": {"enabled": True, "ca_dir": str(tmp_path / "none"),
                                              "upstream_ca_file": str(tmp_path / "missing.pem")},
                                    "services": [{"id": "mistral", "inspect": True}],
                                    "detectors": {"spacy": False}}))
    assert gardefou(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "proxy.upstream_ca_file: cannot read" in err and "proxy.ca_dir: no institution CA" in err
    assert gardefou(["serve", "--config", str(path)]) == 2
    assert "proxy.ca_dir: no institution CA" in capsys.readouterr().err
    assert gardefou(["proxy", "--config", str(path)]) == 2
    assert not (tmp_path / "gardefou-audit.db").exists()


def test_gardefou_proxy_needs_the_proxy_enabled(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("detectors: {spacy: false}\n")
    assert gardefou(["proxy", "--config", str(path)]) == 2
    assert "proxy.enabled: false" in capsys.readouterr().err


# -- the CA command -------------------------------------------------------------------------------

def test_ca_init_creates_the_ca_with_a_private_key_only_the_owner_reads(tmp_path, capsys):
    ca_dir = tmp_path / "ca"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"proxy": {"ca_dir": str(ca_dir)}}))
    assert gardefou(["ca", "init", "--config", str(path), "--name", "CHU Exemple"]) == 0
    out = capsys.readouterr().out
    cert_path = ca_dir / "mitmproxy-ca-cert.pem"
    assert out.strip().splitlines()[-1] == str(cert_path)
    assert "PRIVATE" not in out
    for name in ("mitmproxy-ca.pem", "mitmproxy-ca.p12"):
        assert stat.S_IMODE(os.stat(ca_dir / name).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(ca_dir).st_mode) == 0o700
    assert b"PRIVATE KEY" in (ca_dir / "mitmproxy-ca.pem").read_bytes()
    assert b"PRIVATE KEY" not in cert_path.read_bytes()
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert "CHU Exemple" in cert.subject.rfc4514_string()
    assert ca_problem(ca_dir) is None
    before = (ca_dir / "mitmproxy-ca.pem").read_bytes()
    assert gardefou(["ca", "init", "--config", str(path)]) == 2  # never overwritten by mistake
    assert "already holds a CA" in capsys.readouterr().err
    assert (ca_dir / "mitmproxy-ca.pem").read_bytes() == before
    assert gardefou(["ca", "init", "--config", str(path), "--force"]) == 0
    assert (ca_dir / "mitmproxy-ca.pem").read_bytes() != before
    assert stat.S_IMODE(os.stat(ca_dir / "mitmproxy-ca.pem").st_mode) == 0o600


def test_ca_init_refuses_an_invalid_configuration(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("proxy:\n  ca_dri: ./x\n")
    assert gardefou(["ca", "init", "--config", str(path)]) == 2
    assert "line 2: proxy.ca_dri: unknown key, did you mean 'ca_dir'?" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


# -- catalogue hosts and the PAC ------------------------------------------------------------------

def test_host_entries_and_the_most_specific_match():
    assert str(parse_host_entry(" Chat.Mistral.AI. ")) == "chat.mistral.ai"
    assert str(parse_host_entry("Café.example:8443")) == "xn--caf-dma.example:8443"
    cat = Catalogue(merge_services([
        {"id": "wild", "name": "W", "hosts": ["*.corp.example"]},
        {"id": "exact", "name": "E", "hosts": ["ai.corp.example"]},
        {"id": "port", "name": "P", "hosts": ["ai.corp.example:8443", "*.lab.corp.example:9000"]},
    ]))
    assert cat.by_host("ai.corp.example", 443).id == "exact"
    assert cat.by_host("ai.corp.example", 8443).id == "port"
    assert cat.by_host("x.y.corp.example", 443).id == "wild"
    assert cat.by_host("a.lab.corp.example", 9000).id == "port" and cat.by_host("a.lab.corp.example", 443).id == "wild"
    assert cat.by_host("corp.example", 443) is None  # *.domain is not the domain itself
    assert cat.by_host("evilcorp.example", 443) is None and cat.by_host("corp.example.evil", 443) is None
    assert cat.by_host("chat.mistral.ai", 443).id == "mistral" and cat.by_host("mistral.ai", 443).id == "mistral"


def test_pac_follows_the_catalogue_and_names_the_proxy():
    from pypac.parser import PACFile

    cat = Catalogue(merge_services([{"id": "p", "name": "P", "hosts": ["ai.corp.example:8443", "*.lab.corp.example:9000"]}]))
    pac = PACFile(pac_script(cat, proxy_directive("gardefou.chu.example", 3128)))
    proxy = "PROXY gardefou.chu.example:3128"
    assert pac.find_proxy_for_url("https://ai.corp.example:8443/x", "ai.corp.example") == proxy
    assert pac.find_proxy_for_url("https://ai.corp.example/x", "ai.corp.example") == "DIRECT"
    assert pac.find_proxy_for_url("https://a.lab.corp.example:9000/", "a.lab.corp.example") == proxy
    assert pac.find_proxy_for_url("http://a.lab.corp.example:9000/", "a.lab.corp.example") == proxy
    assert pac.find_proxy_for_url("https://a.lab.corp.example/", "a.lab.corp.example") == "DIRECT"
    assert pac.find_proxy_for_url("wss://chatgpt.com/ws", "chatgpt.com") == proxy
    assert pac.find_proxy_for_url("https://ab.chatgpt.com/", "ab.chatgpt.com") == proxy
    assert pac.find_proxy_for_url("https://chatgpt.com.evil.example/", "chatgpt.com.evil.example") == "DIRECT"
    assert proxy_directive("::1", 3128) == "PROXY [::1]:3128"
    with pytest.raises(ValueError):
        proxy_directive('evil"; return "DIRECT', 3128)


def test_pac_names_the_host_the_browser_used_when_the_proxy_listens_everywhere(sqlite_gateway_factory):
    import httpx

    gw = sqlite_gateway_factory(proxy={"enabled": True, "host": "0.0.0.0", "port": 3999})
    text = httpx.get(gw.url + "/proxy.pac", headers={"host": "gardefou.chu.example:8080"}).text
    assert 'var GARDEFOU = "PROXY gardefou.chu.example:3999";' in text
    bad = httpx.get(gw.url + "/proxy.pac", headers={"host": "a_b"})
    assert bad.status_code == 400


# -- the web adapter ------------------------------------------------------------------------------

def extract(raw: bytes | str, content_type: str = "", query: str = "", **headers):
    inc = tincoming(raw, headers={"content-type": content_type, **headers})
    inc.params = {"query": query}
    raw_b = raw.encode() if isinstance(raw, str) else raw
    out = WEB.extract("request", WEB.parse(raw_b, inc))
    return out.parts, out.uninspectable


def test_json_strings_and_json_nested_in_strings_are_all_read():
    deep = json.dumps({"t": "le plus profond"})
    for _ in range(4):
        deep = json.dumps([deep])
    parts, _ = extract(json.dumps({"a": "un", "n": 42, "f.req": deep, "role": "user"}), "application/json")
    # "f.req" is not a plain name (a key is content then); "user" is an enumeration value, skipped
    assert parts == ["f.req", "un", "42", "le plus profond"]


def test_json_nesting_is_bounded_and_what_is_left_is_still_scanned():
    deep = "fond"
    for _ in range(12):
        deep = json.dumps([deep])
    parts, _ = extract(deep, "application/json")
    assert len(parts) == 1 and "fond" in parts[0]  # past MAX_NESTING the string is scanned as it is


def test_form_values_keys_and_query_values_are_read():
    parts, _ = extract("prompt=bonjour+%C3%A0+tous&Jean+Dupont=1&at=AJvL", "application/x-www-form-urlencoded",
                       query="text=Salut&sl=fr")
    assert parts == ["Salut", "fr", "bonjour à tous", "Jean Dupont", "1", "AJvL"]


def test_multipart_text_parts_file_names_and_text_files_are_read_binary_files_are_not():
    boundary = "----gf"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nRésume\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"Dupont_Jean.txt\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\nligne un\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"j\"; filename=\"d.json\"\r\n"
        "Content-Type: application/json\r\n\r\n{\"note\": \"texte du fichier\"}\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"cr.pdf\"\r\n"
        "Content-Type: application/pdf\r\n\r\n"
    ).encode() + b"%PDF-1.7\x00\x01\x02\x03" * 50 + f"\r\n--{boundary}--\r\n".encode()
    parts, uninspectable = extract(body, f"multipart/form-data; boundary={boundary}")
    assert "Résume" in parts and "ligne un" in parts and "texte du fichier" in parts
    assert any("Dupont_Jean.txt" in p for p in parts) and any("cr.pdf" in p for p in parts)
    assert uninspectable == ["file"]


@pytest.mark.parametrize("mangle", [
    lambda b: b"preambule\r\n" + b,   # text before the first boundary
    lambda b: b + b"epilogue",        # text after the last one
    lambda b: b[: len(b) // 2],       # truncated
])
def test_malformed_multipart_is_refused(mangle):
    from gateway.pipeline import Refusal

    body = b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\nvaleur\r\n--b--\r\n'
    extract(body, "multipart/form-data; boundary=b")
    with pytest.raises(Refusal) as exc:
        extract(mangle(body), "multipart/form-data; boundary=b")
    assert exc.value.rule == "request.invalid_multipart" and exc.value.status == 400


def test_other_bodies_are_text_when_they_decode_as_text():
    assert extract("café ; 12".encode("cp1252"), "text/csv") == (["café ; 12"], [])
    assert extract(b"\xef\xbb\xbfbonjour", "") == (["bonjour"], [])
    assert extract(bytes(range(256)), "application/octet-stream") == ([], ["file"])
    assert extract(b"", "application/json") == ([], [])


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEyMyJ9.c2lnbmF0dXJlLWhlcmU"


def test_custom_headers_and_the_referers_url_are_read_browser_headers_and_credentials_are_not():
    parts, _ = extract("", "application/json", **{
        "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0", "accept-language": "fr-FR,fr;q=0.9",
        "sec-ch-ua": '"Chromium";v="120"', "sec-fetch-mode": "cors", "origin": "https://app.example",
        "cookie": "session=Jean Dupont 06 12 34 56 78", "authorization": f"Bearer {JWT}",
        "x-note": "patient Jean Dupont", "x-meta": json.dumps({"q": "dans le JSON"}), "x-encoded": "texte%20encod%C3%A9",
        "x-csrf-token": "Zk3b9Qx+T2mPq8Lw/Rz1Yc==", "oai-device-id": "6f1d2a4e-8b3c-4d5e-9f00-112233445566",
        "x-session": JWT, "x-hash": "9ec249fc9ad08861ab01",
        "x-id": "185057800608491abcdefABCDEF",  # token-shaped, but a run of digits: read
        "sec-websocket-protocol": "chat, texte libre",
        "referer": "https://app.example/c/Jean%20Dupont?q=ma+question&hl=fr",
    })
    assert parts == ["patient Jean Dupont", "dans le JSON", "texte encodé", "185057800608491abcdefABCDEF",
                     "chat, texte libre", "Jean Dupont", "ma question", "fr"]


def test_a_websocket_message_reads_its_content_only():
    inc = tincoming("bonjour", headers={"x-note": "en-tête"})
    inc.params = {"websocket": "text"}
    assert WEB.extract("websocket", WEB.parse(b"bonjour", inc)).parts == ["bonjour"]


def test_basic_credentials():
    import base64

    assert basic_password("Basic " + base64.b64encode(b"poste:cle-1").decode()) == "cle-1"
    assert basic_password("Basic " + base64.b64encode(b"poste:").decode()) is None
    assert basic_password("Bearer abc") is None and basic_password("Basic !!!") is None


def test_the_web_adapter_on_the_pipeline_routes_by_host_and_forwards_the_body_unchanged():
    cfg = tconfig(services=[{"id": "app", "name": "App", "hosts": ["app.example"], "hosting": "eu",
                             "trains_on_inputs": False, "inspect": True}])
    pipeline, scanner, store = tpipeline(cfg)
    raw = '{"b": 1,  "a": "bonjour"}'
    inc = tincoming(raw, headers={"content-type": "application/json"})
    inc.host, inc.port, inc.ack_warnings = "app.example", 443, True
    ex, verdict = anyio.run(pipeline.process, WEB, inc)
    assert verdict.forward and ex.upstream_body == raw.encode()  # not re-serialised
    rec = store.records[ex.audit_id]
    assert rec["service_id"] == "app" and rec["host"] == "app.example" and rec["api"] == "web" and rec["model"] is None
    inc = tincoming("[[health]]", headers={"content-type": "text/plain"})
    inc.host, inc.port = "app.example", 443
    assert anyio.run(pipeline.process, WEB, inc)[1].code == "gardefou_blocked"
    inc = tincoming("x", headers={})
    inc.host, inc.port = "elsewhere.example", 8443
    ex, verdict = anyio.run(pipeline.process, WEB, inc)
    assert verdict.decision.rule_ids == ("service.unknown",) and store.records[ex.audit_id]["host"] == "elsewhere.example:8443"


def test_a_browser_warning_needs_an_acknowledgement_whatever_warn_mode():
    cfg = tconfig(services=[{"id": "us", "name": "US", "hosts": ["us.example"]}])  # non-compliant
    pipeline, _, _ = tpipeline(cfg)
    assert pipeline.policy.warn_mode == "forward"

    def run(ack_warnings, acknowledged):
        inc = tincoming("bonjour", headers={"content-type": "text/plain", "x-gardefou-ack": "1"})
        inc.host, inc.port, inc.ack_warnings, inc.acknowledged = "us.example", 443, ack_warnings, acknowledged
        return anyio.run(pipeline.process, WEB, inc)[1]

    assert run(False, False).forward and run(False, False).decision.action == "warn"  # a tunnel: warned, forwarded
    refused = run(True, False)  # the header is not an acknowledgement on the browser path: « Continuer » is
    assert not refused.forward and refused.code == "gardefou_ack_required"
    assert run(True, True).forward


def test_acknowledgements_expire_and_tokens_are_bound_to_client_and_service():
    import time

    from gateway.proxy.acks import Acknowledgements, client_key

    acks = Acknowledgements(30)
    alice, bob = client_key("Basic YTpi", "10.0.0.1"), client_key(None, "10.0.0.2")
    assert alice.startswith("cred:") and "YTpi" not in alice and bob == "addr:10.0.0.2"
    token = acks.token(alice, "openai")
    assert acks.check(token, alice, "openai")
    assert not acks.check(token, bob, "openai") and not acks.check(token, alice, "anthropic")
    assert not acks.check("1." + token.split(".")[1], alice, "openai")  # expired (1970)
    assert not anyio.run(acks.holds, alice, "openai")
    acks.ttl = 0.05
    anyio.run(acks.grant, alice, "openai")
    assert anyio.run(acks.holds, alice, "openai") and not anyio.run(acks.holds, bob, "openai")
    assert not anyio.run(acks.holds, alice, None)
    time.sleep(0.1)
    assert not anyio.run(acks.holds, alice, "openai")


def test_acknowledgements_are_kept_in_the_audit_store_and_outlive_the_process(db_url):
    """What one process granted, another (a restart, another worker) sees; an expired one is gone."""
    from datetime import UTC, datetime, timedelta

    from gateway.audit import AuditStore
    from gateway.proxy.acks import Acknowledgements, client_key, token_key

    store = AuditStore(db_url)
    store.migrate()
    alice, bob = client_key("Basic YTpi", None), client_key(None, "10.0.0.2")
    before = Acknowledgements(30, store, token_key(b"k" * 32))
    anyio.run(before.grant, alice, "openai")
    after = Acknowledgements(30, store, token_key(b"k" * 32))  # a new process: nothing in memory
    assert anyio.run(after.holds, alice, "openai")
    assert not anyio.run(after.holds, alice, "anthropic") and not anyio.run(after.holds, bob, "openai")
    expiry = store.ack_expiry(alice, "openai")
    assert timedelta(minutes=29) < expiry - datetime.now(UTC) <= timedelta(minutes=30)
    assert after.check(before.token(alice, "openai"), alice, "openai")  # the token key is shared too
    assert not Acknowledgements(30, store).check(before.token(alice, "openai"), alice, "openai")  # unless keyless
    store.grant_ack(bob, "openai", datetime.now(UTC) - timedelta(seconds=1))  # expired
    assert not anyio.run(Acknowledgements(30, store).holds, bob, "openai")
    anyio.run(before.grant, alice, "openai")  # granted again: replaced, expired rows deleted on the way
    with store.reading() as conn:
        from sqlalchemy import func, select

        from gateway.audit.schema import browser_acks

        assert conn.execute(select(func.count()).select_from(browser_acks)).scalar_one() == 1
    store.dispose()


def test_an_acknowledgement_store_that_fails_never_grants():
    from gateway.audit import AuditError
    from gateway.proxy.acks import Acknowledgements
    from gateway.testing.factories import MemoryStore

    store = MemoryStore()
    acks = Acknowledgements(30, store)
    anyio.run(acks.grant, "addr:10.0.0.1", "openai")
    store.fail = True
    assert not anyio.run(Acknowledgements(30, store).holds, "addr:10.0.0.1", "openai")  # unreadable: asked again
    with pytest.raises(AuditError):
        anyio.run(acks.grant, "addr:10.0.0.2", "openai")
    assert not anyio.run(acks.holds, "addr:10.0.0.2", "openai")


# -- the apps' own reply formats ----------------------------------------------------------------------

from gateway.proxy import apps  # noqa: E402
from policies.decision import Decision  # noqa: E402
from policies.messages import Institution, InternalTool, Messages  # noqa: E402
from tests.app_streams import READERS, fixture  # noqa: E402

APP_REQUESTS = [("chatgpt", "request.json"), ("chatgpt", "request-legacy.json"), ("lechat", "request.json"),
                ("lechat", "request-legacy.json"), ("claude", "request.json"), ("claude", "request-legacy.json")]
ANSWER_TEXT = "Voici une version plus claire : la réunion de service est reportée à jeudi, 14 h."


@pytest.mark.parametrize("app,answer", [(a, n) for a in ("chatgpt", "lechat", "claude")
                                        for n in ("answer.txt", "answer-legacy.txt")])
def test_the_readers_read_the_apps_sample_answers(app, answer):
    """The test-side readers read each app's sample answer: they are fit to judge the proxy's replies."""
    assert READERS[app](fixture(app, answer)) == ANSWER_TEXT
    try:  # a stream cut before its end is refused, or (Le Chat's legacy records have no end) incomplete
        cut = READERS[app](fixture(app, answer).rsplit("\n", 3)[0])
    except (AssertionError, KeyError, ValueError, IndexError):
        cut = None
    assert cut != ANSWER_TEXT


@pytest.mark.parametrize("app,request_file", APP_REQUESTS)
def test_each_app_reply_reads_as_the_app_reads_it_in_the_encoding_the_request_asked_for(app, request_file):
    text = "**Garde-fou a bloqué ce message**\n\nRéférence : `1234` — « guillemets », \"quotes\" et \\ barre."
    reply = apps.FORMATS[app].reply(text, fixture(app, request_file).encode())
    body = reply.body.decode("utf-8")
    assert READERS[app](body) == text
    legacy = request_file.endswith("legacy.json")
    if app == "chatgpt":
        assert reply.content_type.startswith("text/event-stream")
        assert body.startswith("event: delta_encoding\ndata: \"v1\"") is not legacy
        assert "6b3c1f0e-5d2a-4c8b-9f1e-2a7d4e6c8b10" in body or not legacy  # the conversation it belongs to
    elif app == "lechat":
        assert body.startswith("15:") is not legacy and body.startswith("0:") is legacy
        if not legacy:
            assert '"chatId":"9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"' in body
            assert '"parentId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"' in body
    else:
        assert ("event: message_start" in body) is not legacy and ("event: completion" in body) is legacy


def test_a_reply_echoes_only_identifiers_never_text_from_the_request():
    for app, key in (("chatgpt", "conversation_id"), ("lechat", "chatId"), ("claude", "parent_message_uuid")):
        body = json.loads(fixture(app, "request.json"))
        body[key] = "NIR 185057800608491"
        if app == "lechat":
            body["messageId"] = "185057800608491"
        reply = apps.FORMATS[app].reply("message", json.dumps(body).encode()).body.decode()
        assert "185057800608491" not in reply
        assert READERS[app](reply) == "message"
    for app in apps.FORMATS:  # whatever the request (not JSON, empty), the reply is the app's
        for raw in (b"", b"\xff\xfe", b"[1, 2]", b"{" * 5000):
            assert READERS[app](apps.FORMATS[app].reply("ok", raw).body.decode()) == "ok"


@pytest.mark.parametrize("app,method,path,handled", [
    ("chatgpt", "POST", "/backend-api/conversation", True), ("chatgpt", "POST", "/backend-api/f/conversation", True),
    ("chatgpt", "POST", "/backend-api/f/conversation/prepare", False), ("chatgpt", "GET", "/backend-api/conversation", False),
    ("chatgpt", "POST", "/backend-api/conversations", False), ("lechat", "POST", "/api/chat", True),
    ("lechat", "POST", "/api/trpc/message.newChat", False), ("lechat", "POST", "/api/chat/x", False),
    ("claude", "POST", "/api/organizations/o-1/chat_conversations/c-2/completion", True),
    ("claude", "POST", "/api/organizations/o-1/chat_conversations/c-2/retry_completion", True),
    ("claude", "POST", "/api/organizations/o-1/chat_conversations/c-2", False),
    ("claude", "POST", "/api/organizations/o-1/chat_conversations/c-2/completion/x", False),
])
def test_which_requests_get_the_apps_format(app, method, path, handled):
    services = {s.id: s for s in merge_services([])}
    service = {"chatgpt": services["openai"], "lechat": services["mistral"], "claude": services["anthropic"]}[app]
    assert service.web_app == app  # the built-in catalogue names the apps of its services
    assert (apps.for_request(service, method, path + "?x=1") is not None) is handled
    assert apps.for_request(services["google-gemini"], method, path) is None  # an app the proxy does not know


def test_the_conversation_text_names_categories_what_to_do_and_the_audit_id():
    decision = Decision("block", ("charter.personal", "charter.health"), ("La requête contient des données personnelles.",),
                        ("personal", "health"), blocked_categories=("personal", "health"))
    messages = Messages(Institution(internal_tool=InternalTool(name="LLM interne (DSN)",
                                                               url="https://llm.interne.example/")))
    text = apps.conversation_text("gardefou_blocked", "ChatGPT", decision, "…", "aid-1", messages)
    assert "Garde-fou a bloqué ce message" in text and "« ChatGPT »" in text
    assert "données personnelles, données de santé" in text and "ni affiché ni conservé" in text
    assert "LLM interne (DSN) (https://llm.interne.example/)" in text and "`aid-1`" in text and "DPO" in text
    warn = Decision("warn", ("charter.non_compliant", "warn.ack_required"), ("Service non conforme.",), ack_required=True)
    text = apps.conversation_text("gardefou_ack_required", "ChatGPT", warn, None, "aid-2", Messages())
    assert "avertissement" in text and "« Continuer »" in text and "pas encore été envoyé" in text and "aid-2" in text
    refused = Decision("refuse", ("gateway.busy",), ("Garde-fou est saturé.",))
    text = apps.conversation_text("gardefou_busy", "ChatGPT", refused, "Garde-fou est saturé.", None, Messages())
    assert text == "**Garde-fou n'a pas transmis ce message.** Garde-fou est saturé."  # unrecorded: no reference


def test_web_app_is_checked_in_the_configuration():
    msg = config_error("services:\n  - id: mistral\n    web_app: gemini\n")
    assert "line 3: services.0.web_app: " in msg and "'chatgpt', 'lechat' or 'claude'" in msg
    catalogue = parse_config("services:\n  - id: llm-interne\n    name: LLM\n    web_app: chatgpt\n").catalogue()
    assert catalogue.get("llm-interne").web_app == "chatgpt" and catalogue.get("deepl").web_app is None


def test_websocket_messages_text_read_binary_uninspectable():
    def frame(kind: str, raw: bytes):
        inc = replace(tincoming(raw, headers={"upgrade": "websocket"}), params={"websocket": kind})
        return WEB.extract("websocket", WEB.parse(raw, inc))

    text = frame("text", json.dumps({"event": "send", "content": [{"type": "text", "text": "NIR 1 85 05 78 006 084 91"}]}).encode())
    assert "NIR 1 85 05 78 006 084 91" in text.parts and text.uninspectable == []
    assert frame("text", '{"a": "{\\"b\\": \\"imbriqué\\"}"}'.encode()).parts == ["imbriqué"]
    assert frame("binary", b"texte en clair").uninspectable == ["websocket"]  # binary: never read
    assert frame("text", b"\xff\xfe").uninspectable == ["websocket"]
    # the handshake itself is a request like the others: its URL is read, nothing marked
    inc = replace(tincoming(b"", headers={"upgrade": "websocket"}), params={"query": "q=bonjour"})
    handshake = WEB.extract("request", WEB.parse(b"", inc))
    assert handshake.parts == ["bonjour"] and handshake.uninspectable == []


# -- PDF and .docx files: their text is inspected ------------------------------------------------------

from gateway import documents  # noqa: E402
from tests.documents_support import make_docx, make_pdf, replace_zip_entry, with_zip_entry  # noqa: E402

NIR_TEXT = "NIR 1 85 05 78 006 084 91"


def upload(data: bytes, name: str, mime: str):
    """What the web adapter reads of a multipart upload of one file."""
    boundary = "----gf"
    raw = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
           f"Content-Type: {mime}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    inc = tincoming(raw, headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    return WEB.extract("request", WEB.parse(raw, inc))


def body(data: bytes, mime: str):
    return WEB.extract("request", WEB.parse(data, tincoming(data, headers={"content-type": mime})))


def test_pdf_text_comments_and_every_page_are_read():
    pdf = make_pdf(["Compte rendu de consultation.", f"Patient {NIR_TEXT}, né le 12/03/1985."],
                   comment="Relu par le Dr Martin")
    out = upload(pdf, "cr.pdf", "application/pdf")
    assert "Compte rendu de consultation." in out.parts and f"Patient {NIR_TEXT}, né le 12/03/1985." in out.parts
    assert "Relu par le Dr Martin" in out.parts and out.uninspectable == []
    # found by its content: a raw body, whatever type or name it claims
    assert f"Patient {NIR_TEXT}, né le 12/03/1985." in body(pdf, "application/octet-stream").parts
    assert f"Patient {NIR_TEXT}, né le 12/03/1985." in upload(pdf, "photo.png", "image/png").parts


def test_docx_body_tables_headers_footers_and_comments_are_read():
    data = make_docx(["Synthèse de la réunion de service."], table=[["Nom", "NIR"], ["Dupont", NIR_TEXT]],
                     header="Confidentiel — usage interne", footer="CHU Exemple", comment="À anonymiser")
    mime = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    out = upload(data, "synthese.docx", mime)
    for text in ("Synthèse de la réunion de service.", NIR_TEXT, "Dupont", "Confidentiel — usage interne",
                 "CHU Exemple", "À anonymiser"):
        assert text in out.parts, text
    assert out.uninspectable == []
    assert NIR_TEXT in body(data, mime).parts


@pytest.mark.parametrize("make", [
    pytest.param(lambda: make_pdf([f"Patient {NIR_TEXT}"], password="secret"), id="encrypted-pdf"),
    pytest.param(lambda: make_pdf(["Texte"])[:300], id="truncated-pdf"),
    pytest.param(lambda: b"%PDF-1.7\n" + bytes(range(256)) * 20, id="garbage-pdf"),
    pytest.param(lambda: make_pdf(["Page lisible."], scanned_page=True), id="scanned-page"),
    pytest.param(lambda: replace_zip_entry(make_docx(["Texte"]), "word/document.xml", b"<w:document"), id="bad-docx-xml"),
    pytest.param(lambda: with_zip_entry(make_docx(["Texte"]), "word/embeddings/oleObject1.bin", b"\x00" * 64),
                 id="docx-with-embedded-object"),
    pytest.param(lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), id="encrypted-office-or-doc"),
])
def test_unreadable_documents_are_uninspectable(make):
    out = upload(make(), "document.pdf", "application/pdf")
    assert out.uninspectable == ["file"]
    assert not any(NIR_TEXT in p for p in out.parts)


def test_document_reading_is_bounded_and_a_partial_read_is_never_silent(monkeypatch):
    pdf = make_pdf([f"Page {i} : rien de sensible." for i in range(4)])
    monkeypatch.setattr(documents, "MAX_PAGES", 3)
    assert upload(pdf, "a.pdf", "application/pdf").uninspectable == ["file"]
    monkeypatch.setattr(documents, "MAX_PAGES", 500)
    monkeypatch.setattr(documents, "MAX_CHARS", 50)
    out = upload(pdf, "a.pdf", "application/pdf")
    assert out.uninspectable == ["file"] and 0 < sum(len(p) for p in out.parts if p.startswith("Page")) <= 50
    monkeypatch.setattr(documents, "MAX_CHARS", 1_000_000)
    monkeypatch.setattr(documents, "BUDGET_S", -1.0)  # no time left: nothing read, and said so
    assert upload(pdf, "a.pdf", "application/pdf").uninspectable == ["file"]
    monkeypatch.setattr(documents, "BUDGET_S", 5.0)
    monkeypatch.setattr(documents, "MAX_UNZIPPED", 10_000)  # a package that unzips past the bound: a ZIP bomb
    big = with_zip_entry(make_docx(["Texte"]), "word/media/padding.xml", b"<a/>" * 10_000)
    assert upload(big, "a.docx", "application/octet-stream").uninspectable == ["file"]


def test_other_zip_files_and_binaries_stay_uninspectable():
    import io
    import zipfile

    xlsx = io.BytesIO()
    with zipfile.ZipFile(xlsx, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    assert documents.read_document(xlsx.getvalue()) is None
    assert upload(xlsx.getvalue(), "t.xlsx", "application/vnd.ms-excel").uninspectable == ["file"]
    assert documents.read_document(b"plain text") is None
