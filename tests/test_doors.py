"""Every way around the scan that was found by trying, closed: each test sends the payload through the
real HTTP path and proves on the recording fake provider that it never arrived.

These run on SQLite only: what they prove is about extraction and the decision, not the store.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.conftest import gateway_config, start_gateway

NIR = "1 85 05 78 006 084 91"  # valid key
NIR_DASHED = "1-85-05-78-006-084-91"
EMAIL_AT = "claire.moreau(at)chu-exemple.fr"
PHONE_DOTS = "06.12.34.56.78"
IBAN_DASHES = "FR76-3000-6000-0112-3456-7890-189"
API_KEY = "sk-proj-Xq7tR2mN9vB4kL8pW3zY6cJ1hF5dG0aS"  # 40 characters after sk-proj-
PAYLOADS = [NIR_DASHED, EMAIL_AT, PHONE_DOTS, IBAN_DASHES, API_KEY]
USER = {"role": "user", "content": "Reformule ce paragraphe pour le rendre plus clair."}


@pytest.fixture
def gw_factory(sqlite_gateway_factory):
    return sqlite_gateway_factory


@pytest.fixture
def gw(gw_factory):
    return gw_factory()


def post(gw, body: dict, path: str = "/chat/completions", **headers) -> httpx.Response:
    return httpx.post(gw.v1 + path, json=body, headers=headers, timeout=10)


def assert_refused(resp: httpx.Response, fake) -> None:
    assert resp.status_code == 403, resp.text
    assert resp.headers["x-gardefou-decision"] == "block"
    assert fake.received == [], "a refused request must never reach the provider"


def chat(**extra) -> dict:
    return {"model": "mistral/mistral-small-latest", "messages": [USER], **extra}


# -- 1. numbers are data ----------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    chat(metadata={"n": 1850578006084.91}),
    chat(seed=185057800608491),
    chat(metadata={"n": 185057800608491.0}),
    chat(tools=[{"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"x": {"type": "number", "default": 1850578006084.91}}}}}]),
    chat(tools=[{"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"x": {"type": "number", "examples": [1850578006084.91]}}}}}]),
], ids=["metadata-float", "seed", "float-with-zero", "schema-default", "schema-examples"])
def test_numbers_are_scanned(gw, fake, body):
    assert_refused(post(gw, body), fake)


def test_ordinary_numbers_still_pass(gw, fake):
    resp = post(gw, chat(temperature=0.2, top_p=1, max_tokens=500, seed=42, metadata={"ratio": 3.14}))
    assert resp.status_code == 200
    assert fake.received[0].body["temperature"] == 0.2 and fake.received[0].body["seed"] == 42


# -- 2. routing fields hold only their grammar ------------------------------------------------

ROUTING_KEYS = ["id", "role", "type", "tool_call_id", "call_id", "model", "voice", "status", "cache_control",
                "previous_response_id", "object", "detail"]


@pytest.mark.parametrize("key", ROUTING_KEYS)
@pytest.mark.parametrize("payload", PAYLOADS, ids=["nir", "email", "phone", "iban", "api-key"])
def test_routing_keys_do_not_hide_data(gw, fake, key, payload):
    message = {"role": "user", "content": "Reformule ce paragraphe.", key: payload}
    if key == "role":
        message = {"role": payload, "content": "Reformule ce paragraphe."}
    assert_refused(post(gw, {"model": "mistral/mistral-small-latest", "messages": [message]}), fake)


@pytest.mark.parametrize("payload", PAYLOADS, ids=["nir", "email", "phone", "iban", "api-key"])
def test_routing_values_nested_deep(gw, fake, payload):
    body = {"model": "mistral/x", "input": [{"type": "function_call_output", "call_id": payload, "output": "ok"}]}
    assert_refused(post(gw, body, "/responses"), fake)
    body = {"model": "mistral/x", "input": "Bonjour", "previous_response_id": payload}
    assert_refused(post(gw, body, "/responses"), fake)


def test_data_in_the_upstream_model_is_blocked(gw, fake):
    assert_refused(post(gw, {"model": f"mistral/{NIR_DASHED}", "messages": [USER]}), fake)


def test_real_routing_values_pass(gw, fake):
    body = {"model": "mistral/mistral-small-latest", "messages": [
        {"role": "system", "content": "Tu es concis."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_9f2a8b7c", "type": "function", "function": {"name": "meteo", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_9f2a8b7c", "content": "Il fait beau."},
        USER,
    ], "response_format": {"type": "json_object"}, "reasoning_effort": "low", "service_tier": "auto"}
    resp = post(gw, body)
    assert resp.status_code == 200, resp.text
    assert fake.received[0].body["messages"][1]["tool_calls"][0]["id"] == "call_9f2a8b7c"


# -- 3. client headers: an allow-list, scanned ---------------------------------------------------

def test_unknown_client_headers_are_not_forwarded(gw, fake):
    resp = post(gw, chat(), **{"User-Agent": f"patient {NIR}", "OpenAI-Patient": NIR, "X-Note": NIR})
    assert resp.status_code == 200
    (got,) = fake.received
    assert NIR not in json.dumps(got.headers)
    assert "openai-patient" not in got.headers and "x-note" not in got.headers


def test_known_headers_are_forwarded_and_scanned(gw, fake):
    resp = post(gw, chat(), **{"OpenAI-Organization": "org-chu", "OpenAI-Beta": "assistants=v2"})
    assert resp.status_code == 200
    assert fake.received[0].headers["openai-organization"] == "org-chu"
    assert fake.received[0].headers["openai-beta"] == "assistants=v2"
    fake.clear()
    assert_refused(post(gw, chat(), **{"OpenAI-Project": f"proj {NIR}"}), fake)
    body = {"model": "anthropic/claude", "max_tokens": 10, "messages": [USER]}
    resp = httpx.post(gw.url + "/v1/messages", json=body, timeout=10,
                      headers={"anthropic-version": "2023-06-01", "anthropic-beta": f"x-{PHONE_DOTS}"})
    assert_refused(resp, fake)


# -- 4. binary parts: only the payload is uninspectable -------------------------------------------

PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2).decode()


@pytest.mark.parametrize("body", [
    {"model": "mistral/x", "type": "image", "messages": [{"role": "user", "content": f"NIR {NIR}"}]},
    chat(messages=[{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": PNG}, "caption": f"patient {NIR}"}]}]),
    chat(messages=[{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"},
                                                  "note": f"NIR {NIR}"}]}]),
    chat(messages=[{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-abc", "filename": f"{NIR}.pdf"}}]}]),
], ids=["top-level-type", "image-sibling", "audio-sibling", "file-name"])
def test_text_beside_binary_parts_is_scanned(gw_factory, fake, body):
    gw = gw_factory(policy={"uninspectable": "allow"})
    assert_refused(post(gw, body), fake)


def test_secret_beside_an_image_is_blocked_on_an_internal_service(gw, fake):
    body = {"model": "internal/llm", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": PNG}}, {"type": "text", "text": f"clé : {API_KEY}"}]}]}
    assert_refused(post(gw, body), fake)
    body["messages"][0]["content"][1]["text"] = "Décris cette image."
    assert post(gw, body).status_code == 200  # the internal tool accepts the image itself


@pytest.mark.parametrize("url", [
    "data:text/plain;base64," + base64.b64encode(f"NIR du patient : {NIR}".encode()).decode(),
    "data:text/plain," + f"NIR%20du%20patient%20{NIR.replace(' ', '%20')}",
    "data:application/json;base64," + base64.b64encode(json.dumps({"nir": NIR}).encode()).decode(),
    "data:image/png;base64," + base64.b64encode(f"NIR du patient : {NIR}".encode()).decode(),
], ids=["text-base64", "text-percent", "json", "text-disguised-as-png"])
def test_textual_data_urls_are_decoded(gw_factory, fake, url):
    gw = gw_factory(policy={"uninspectable": "allow"})
    body = chat(messages=[{"role": "user", "content": [{"type": "input_file", "file_data": url, "filename": "a.txt"}]}])
    assert_refused(post(gw, body), fake)


def test_binary_blob_under_an_unknown_name_is_uninspectable(gw, fake):
    blob = base64.b64encode(bytes(range(256)) * 4).decode()
    body = {"model": "mistral/x", "contents": [{"parts": [{"inlineData": {"mimeType": "image/jpeg", "data": blob}}]}],
            "messages": [USER]}
    resp = post(gw, body)
    assert_refused(resp, fake)
    assert "non inspectable" in resp.json()["error"]["message"]


# -- 5. Anthropic documents: every field ------------------------------------------------------------

def doc(**block) -> dict:
    return {"model": "anthropic/claude", "max_tokens": 10, "messages": [
        {"role": "user", "content": [{"type": "document", **block}, {"type": "text", "text": "Résume."}]}]}


@pytest.mark.parametrize("body", [
    doc(source={"type": "text", "media_type": "text/plain", "data": f"NIR {NIR}"}),
    doc(source={"type": "content", "content": [{"type": "text", "text": f"NIR {NIR}"}]}),
    doc(source={"type": "text", "media_type": f"text/plain; patient={NIR}", "data": "Compte rendu."}),
    doc(source={"type": "text", "media_type": "text/plain", "data": "Compte rendu.", "extra": NIR}),
    doc(source={"type": "base64", "media_type": "text/plain",
                "data": base64.b64encode(f"NIR {NIR}".encode()).decode()}),
    doc(source={"type": "text", "media_type": "text/plain", "data": "Compte rendu."}, title=f"Dossier {NIR}"),
    doc(source={"type": "text", "media_type": "text/plain", "data": "Compte rendu."}, context=f"NIR {NIR}"),
], ids=["data", "content", "media-type", "other-field", "base64-text", "title", "context"])
def test_anthropic_document_fields_are_scanned(gw, fake, body):
    resp = httpx.post(gw.url + "/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}, timeout=10)
    assert_refused(resp, fake)


# -- 6. separators and splits ---------------------------------------------------------------------

SEPARATORS = [",", "|", "+", ":", "*", "~", "'", "\\", "·", "•", "\u2028", "\u2029", "\u0085", "\x0b", "\x0c",
              "\x00", "\x1c", "\x1d", "\x1e", "\x1f"]


@pytest.mark.parametrize("sep", SEPARATORS, ids=[f"U+{ord(s):04X}" for s in SEPARATORS])
def test_nir_with_any_separator(gw, fake, sep):
    text = "Numéro du patient : " + sep.join(NIR.split())
    assert_refused(post(gw, chat(messages=[{"role": "user", "content": text}])), fake)


@pytest.mark.parametrize("middle", [[], [{"role": "user", "content": "."}], [{"role": "assistant", "content": "."}]],
                         ids=["two-messages", "dot-message", "dot-answer"])
def test_nir_split_over_messages(gw, fake, middle):
    first, second = "1 85 05 78   ", "  006 084 91"
    messages = [{"role": "user", "content": first}, *middle, {"role": "user", "content": second}]
    assert_refused(post(gw, chat(messages=messages)), fake)


def test_table_of_numbers_is_not_a_nir():
    from detectors.nir import NirRecognizer

    text = "Effectifs par service : 12, 34, 56, 78, 90, 11, 23, 45, 67, 89, 10, 20, 30, 40 | 1 | 85 | 2"
    assert NirRecognizer().analyze(text) == []


# -- 7. token arrays ------------------------------------------------------------------------------

@pytest.mark.parametrize("prompt", [[1, 2, 3.0], [[1, 2], [3.5]]], ids=["flat", "nested"])
def test_token_arrays_with_floats_are_token_input(gw, fake, prompt):
    resp = post(gw, {"model": "mistral/x", "prompt": prompt}, "/completions")
    assert_refused(resp, fake)
    assert "non inspectable" in resp.json()["error"]["message"]


# -- readiness reflects reality ------------------------------------------------------------------

def test_readyz_fails_when_the_sqlite_store_is_locked(gw, tmp_path):
    import sqlite3
    import time

    assert httpx.get(gw.url + "/readyz", timeout=10).status_code == 200
    holder = sqlite3.connect(tmp_path / "audit.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        t0 = time.monotonic()
        r = httpx.get(gw.url + "/readyz", timeout=20)
        assert r.status_code == 503 and r.json()["checks"]["audit_store"] is False
        assert time.monotonic() - t0 < 8
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert httpx.get(gw.url + "/readyz", timeout=20).status_code == 200


def test_readyz_fails_when_a_detector_raises(fake, tmp_path, scanner, monkeypatch):
    gw = start_gateway(gateway_config(fake.url, f"sqlite:///{tmp_path / 'a.db'}"), scanner=scanner)
    try:
        assert httpx.get(gw.url + "/readyz", timeout=10).status_code == 200
        rec = scanner.recognizers[0]
        monkeypatch.setattr(rec, "analyze_ctx", lambda ctx: (_ for _ in ()).throw(RuntimeError("boom")))
        r = httpx.get(gw.url + "/readyz", timeout=10)
        assert r.status_code == 503 and r.json()["checks"]["detectors"] is False
    finally:
        gw.stop()


# -- bounded work ----------------------------------------------------------------------------------

def test_text_over_the_scan_budget_is_refused(gw_factory, fake):
    gw = gw_factory(limits={"max_body_bytes": 200_000, "max_scan_chars": 5000, "upstream_timeout_s": 1.5})
    resp = post(gw, chat(messages=[{"role": "user", "content": "Bonjour. " * 1000}]))
    assert resp.status_code == 413 and fake.received == []
    assert post(gw, chat()).status_code == 200


def test_scan_past_its_deadline_is_refused(gw_factory, fake, scanner, monkeypatch):
    import time as _time

    gw = gw_factory(limits={"max_body_bytes": 200_000, "scan_timeout_s": 0.05, "upstream_timeout_s": 1.5})
    rec = scanner.recognizers[0]
    original = rec.analyze_ctx
    monkeypatch.setattr(rec, "analyze_ctx", lambda ctx: (_time.sleep(0.2), original(ctx))[1])
    resp = post(gw, chat())
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "gardefou_unavailable"
    assert fake.received == []
    (rec_,) = gw.records()
    assert "gateway.scan_timeout" in rec_["rule_ids"]


def test_findings_are_bounded_and_counts_exact(gw, fake):
    text = " ".join(f"0{6 + i % 2} {i % 90 + 10:02d} 34 56 78," for i in range(400))
    resp = post(gw, chat(messages=[{"role": "user", "content": text}]))
    assert resp.status_code == 403
    (rec,) = gw.records()
    assert len(rec["findings"]) <= 200
    assert rec["finding_counts"]["PHONE_NUMBER"] > 200


# -- robustness ------------------------------------------------------------------------------------

def test_lone_surrogate_is_a_clean_400(gw, fake):
    raw = b'{"model": "mistral/x", "messages": [{"role": "user", "content": "bonjour \\ud800"}]}'
    resp = httpx.post(gw.v1 + "/chat/completions", content=raw, headers={"content-type": "application/json"}, timeout=10)
    assert resp.status_code == 400 and fake.received == []
    (rec,) = gw.records()
    assert rec["forwarded"] is False and rec["status_code"] == 400


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
def test_head_and_options_are_audited(gw, method):
    resp = httpx.request(method, gw.v1 + "/chat/completions", timeout=10)
    assert resp.status_code == 405
    audit_id = resp.headers["x-gardefou-audit-id"]
    assert audit_id != "unrecorded" and gw.store.get(audit_id)["status_code"] == 405


def test_aborted_upload_is_recorded_without_a_500(gw, fake):
    import socket
    import time
    from urllib.parse import urlsplit

    u = urlsplit(gw.url)
    with socket.create_connection((u.hostname, u.port)) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000\r\n\r\n" + b'{"model": "mistral/x", "messages": [')
        time.sleep(0.3)
    deadline = time.monotonic() + 5
    while not gw.records() and time.monotonic() < deadline:
        time.sleep(0.05)
    (rec,) = gw.records()
    assert rec["forwarded"] is False and "request.aborted" in rec["rule_ids"]
    assert fake.received == []


def test_long_endpoint_and_client_fields_fit_their_columns(fake, tmp_path, scanner, pg_ready):
    """On PostgreSQL a value longer than its String(n) column would fail the insert and refuse the request."""
    from gateway.pipeline import Client, Exchange
    from tests.conftest import drop_pg_schema, new_pg_schema_url

    url, schema = new_pg_schema_url()
    gw = start_gateway(gateway_config(fake.url, url), scanner=scanner)
    try:
        pipeline = gw.server.config.app.state.pipeline
        ex = Exchange(api="openai", endpoint="x" * 200, client=Client(id="c" * 300, department="d" * 300, addr="127.0.0.1"))
        verdict = pipeline.inspect_sync(ex)
        assert verdict.recorded and len(gw.store.get(ex.audit_id)["endpoint"]) == 64
    finally:
        gw.stop()
        gw.store.dispose()
        drop_pg_schema(schema)


def test_vignette_framed_by_knowledge_questions_is_blocked(gw, fake):
    vignette = ("Patiente de 67 ans, hospitalisée depuis le 3 mars en cardiologie pour une insuffisance cardiaque "
                "décompensée, créatinine à 180, sous furosémide 80 mg, elle a chuté cette nuit.")
    before = "Question de cours : quels sont les critères diagnostiques de l'insuffisance cardiaque selon la HAS ? "
    after = " Question de cours : quelle est la posologie habituelle du furosémide chez l'adulte ?"
    resp = post(gw, chat(messages=[{"role": "user", "content": before * 3 + vignette + after * 3}]))
    assert_refused(resp, fake)
    assert "santé" in resp.json()["error"]["message"]


# -- per-client limits, a full pool, slow bodies ------------------------------------------------------

def test_client_rate_limit_answers_429_with_retry_after(gw_factory, fake):
    gw = gw_factory(limits={"max_body_bytes": 200_000, "client_requests_per_minute": 3, "upstream_timeout_s": 1.5})
    codes = [post(gw, chat()).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    resp = post(gw, chat())
    assert resp.status_code == 429 and int(resp.headers["retry-after"]) >= 1
    assert resp.json()["error"]["code"] == "rate_limited" and len(fake.received) == 3


def test_full_scan_pool_answers_503_promptly(gw_factory, fake, scanner, monkeypatch):
    import threading
    import time as _time

    gw = gw_factory(limits={"max_body_bytes": 200_000, "max_concurrent_scans": 1, "max_queued_scans": 0,
                            "upstream_timeout_s": 1.5})
    release = threading.Event()
    rec = scanner.recognizers[0]
    original = rec.analyze_ctx
    monkeypatch.setattr(rec, "analyze_ctx", lambda ctx: (release.wait(10), original(ctx))[1])
    slow = threading.Thread(target=lambda: post(gw, chat()))
    slow.start()
    _time.sleep(0.5)
    t0 = _time.monotonic()
    resp = post(gw, chat())
    assert resp.status_code == 503 and resp.headers["retry-after"] == "1"
    assert _time.monotonic() - t0 < 2
    release.set()
    slow.join(10)
    assert len(fake.received) == 1


def test_queued_text_is_bounded_but_a_lone_request_passes(gw_factory, fake, scanner, monkeypatch):
    """With an inspection in flight, a request whose text would pass max_queued_scan_chars waits for
    nobody: 503 at once; a short one queues; alone, a request larger than the bound is inspected."""
    import threading
    import time as _time

    gw = gw_factory(limits={"max_concurrent_scans": 1, "max_queued_scans": 10, "max_queued_scan_chars": 3000,
                            "upstream_timeout_s": 1.5})
    big = {"model": "mistral/mistral-small-latest",
           "messages": [{"role": "user", "content": " ".join(
               f"Point {i} de l'ordre du jour : le calendrier des travaux du bâtiment {i} et la signalétique." for i in range(60))}]}
    assert post(gw, big).status_code == 200  # alone: admitted although longer than the bound
    release = threading.Event()
    rec = scanner.recognizers[0]
    original = rec.analyze_ctx
    monkeypatch.setattr(rec, "analyze_ctx", lambda ctx: (release.wait(10), original(ctx))[1])
    slow = threading.Thread(target=lambda: post(gw, chat()))
    slow.start()
    _time.sleep(0.5)
    t0 = _time.monotonic()
    resp = post(gw, big)
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "gardefou_busy"
    assert _time.monotonic() - t0 < 2
    queued = threading.Thread(target=lambda: post(gw, chat()))
    queued.start()
    _time.sleep(0.3)
    release.set()
    slow.join(10)
    queued.join(10)
    assert len(fake.received) == 3  # the big one alone, then both short ones: the big one queued never went


def test_trickling_body_gets_408(gw_factory, fake):
    import socket
    import time as _time
    from urllib.parse import urlsplit

    gw = gw_factory(limits={"max_body_bytes": 200_000, "body_timeout_s": 0.5, "upstream_timeout_s": 1.5})
    u = urlsplit(gw.url)
    with socket.create_connection((u.hostname, u.port), timeout=5) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{")
        t0 = _time.monotonic()
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408") and _time.monotonic() - t0 < 3
    assert fake.received == []


# -- compressed bodies: inspected after decoding, bounded, never forwarded unread ----------------------

def _compressed(body: dict, coding: str) -> bytes:
    import gzip
    import zlib

    raw = json.dumps(body).encode()
    return gzip.compress(raw) if coding == "gzip" else zlib.compress(raw)


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_compressed_bodies_are_inspected(gw, fake, coding):
    blocked = chat(messages=[{"role": "user", "content": f"NIR {NIR}"}])
    resp = httpx.post(gw.v1 + "/chat/completions", content=_compressed(blocked, coding), timeout=10,
                      headers={"content-type": "application/json", "content-encoding": coding})
    assert_refused(resp, fake)
    resp = httpx.post(gw.v1 + "/chat/completions", content=_compressed(chat(), coding), timeout=10,
                      headers={"content-type": "application/json", "content-encoding": coding})
    assert resp.status_code == 200 and fake.received[0].body["messages"] == [USER]


def test_decompression_bomb_is_413(gw, fake):
    import gzip

    bomb = gzip.compress(b'{"model": "mistral/x", "messages": [{"role": "user", "content": "' + b"a" * 5_000_000 + b'"}]}')
    assert len(bomb) < 200_000
    resp = httpx.post(gw.v1 + "/chat/completions", content=bomb, timeout=20,
                      headers={"content-type": "application/json", "content-encoding": "gzip"})
    assert resp.status_code == 413 and fake.received == []


@pytest.mark.parametrize("coding", ["br", "zstd", "gzip"])
def test_unreadable_encodings_are_refused(gw, fake, coding):
    resp = httpx.post(gw.v1 + "/chat/completions", content=b"\x00\x01not compressed", timeout=10,
                      headers={"content-type": "application/json", "content-encoding": coding})
    assert resp.status_code == 415 and fake.received == []


def test_a_body_full_of_names_is_scanned_in_linear_time(gw, fake):
    import time as _time

    text = "Marie MARTIN, " * 10_000  # 140,000 characters, 10,000 names
    t0 = _time.monotonic()
    resp = post(gw, chat(messages=[{"role": "user", "content": text}]))
    elapsed = _time.monotonic() - t0
    assert resp.status_code == 403 and fake.received == []
    assert elapsed < 15, elapsed  # was minutes: a per-name scan of the whole text
    (rec,) = gw.records()
    assert len(rec["findings"]) <= 200 and rec["finding_counts"]["PERSON"] >= 9_000


def test_trickling_headers_lose_their_connection(gw_factory, fake):
    import socket
    import time as _time
    from urllib.parse import urlsplit

    gw = gw_factory(limits={"max_body_bytes": 200_000, "header_timeout_s": 0.5, "upstream_timeout_s": 1.5})
    u = urlsplit(gw.url)
    socks = []
    try:
        for _ in range(20):  # a small slowloris: request line, one header, then silence
            s = socket.create_connection((u.hostname, u.port), timeout=5)
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        t0 = _time.monotonic()
        for s in socks:
            assert s.recv(1024) == b""  # closed by the gateway
        assert _time.monotonic() - t0 < 4
    finally:
        for s in socks:
            s.close()
    assert post(gw, chat()).status_code == 200  # normal clients are unaffected
