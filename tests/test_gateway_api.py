"""End to end through the official SDKs: gateway (real server) -> fake provider (real server)."""

from __future__ import annotations

import json
import time

import anthropic
import httpx
import openai
import pytest

NIR = "1 85 05 78 006 084 91"  # valid key
NIR_COMPACT = "185057800608491"
BENIGN = "Reformule ce paragraphe pour le rendre plus clair : la réunion est reportée à jeudi."


def oa(gw, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.v1, api_key=kw.pop("api_key", "client-key"), max_retries=0, **kw)


def an(gw, **kw) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=kw.pop("api_key", "client-key"), max_retries=0, **kw)


def record(gw, audit_id: str, outcome: bool = False) -> dict:
    """The audit record; with ``outcome``, wait for the upstream outcome added after the response."""
    deadline = time.monotonic() + 5
    while True:
        rec = gw.store.get(audit_id)
        assert rec is not None, "every response must have a committed audit record"
        if not outcome or rec["total_ms"] is not None or time.monotonic() > deadline:
            return rec
        time.sleep(0.02)


# -- allowed requests arrive intact -----------------------------------------------------------

def test_chat_completion_allowed_arrives_intact(gateway, fake):
    raw = oa(gateway).chat.completions.with_raw_response.create(
        model="mistral/mistral-small-latest",
        messages=[{"role": "system", "content": "Tu es concis."}, {"role": "user", "content": BENIGN}],
        temperature=0.2,
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "Réponse du fournisseur."
    assert raw.headers["x-gardefou-decision"] == "allow"
    (got,) = fake.received
    assert got.path == "/v1/chat/completions"
    assert got.body["model"] == "mistral-small-latest"
    assert got.body["messages"][1]["content"] == BENIGN
    assert got.body["temperature"] == 0.2
    # the client's key never leaves; the configured upstream key is used
    assert got.headers["authorization"] == "Bearer upstream-mistral_api_key"
    assert "client-key" not in json.dumps(got.headers)
    rec = record(gateway, raw.headers["x-gardefou-audit-id"], outcome=True)
    assert rec["decision"] == "allow" and rec["forwarded"] is True
    assert rec["service_id"] == "mistral" and rec["model"] == "mistral-small-latest"
    assert rec["upstream_status"] == 200 and rec["status_code"] == 200
    assert rec["endpoint"] == "chat.completions" and rec["api"] == "openai"


def test_chat_completion_stream_relayed(gateway, fake):
    stream = oa(gateway).chat.completions.create(
        model="mistral/mistral-small-latest", messages=[{"role": "user", "content": BENIGN}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream)
    assert text == "Réponse du fournisseur."
    assert fake.received[0].body["stream"] is True


def test_stream_is_relayed_chunk_by_chunk(gateway, fake):
    """The first chunk reaches the client while the provider still holds back the rest."""
    fake.release.clear()
    body = {"model": "mistral/gated", "messages": [{"role": "user", "content": BENIGN}], "stream": True}
    try:
        with httpx.stream("POST", gateway.v1 + "/chat/completions", json=body, timeout=10) as resp:
            assert resp.status_code == 200
            chunks = resp.iter_raw()
            first = next(chunks)
            assert b"data:" in first and not fake.release.is_set()
            fake.release.set()
            rest = b"".join(chunks)
        assert b"[DONE]" in rest
    finally:
        fake.release.set()


def test_other_openai_endpoints(gateway, fake):
    client = oa(gateway)
    assert client.completions.create(model="mistral/m", prompt="Il était une fois").choices[0].text == "suite"
    emb = client.embeddings.create(model="rapide", input=["bonjour", "au revoir"])
    assert len(emb.data) == 2
    assert fake.received[-1].body["model"] == "mistral-small-latest"  # alias expanded
    resp = client.responses.create(model="mistral/m", instructions="Sois bref.", input=BENIGN)
    assert resp.output_text == "Réponse du fournisseur."
    assert [r.path for r in fake.received] == ["/v1/completions", "/v1/embeddings", "/v1/responses"]
    ids = [m.id for m in client.models.list()]
    assert "mistral/mistral-small-latest" in ids and "rapide" in ids
    assert not any(i.startswith("xai-grok/") for i in ids)  # denied services are not offered
    assert client.models.retrieve("mistral/mistral-small-latest").owned_by == "mistral"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nowhere/x")


def test_anthropic_messages(gateway, fake):
    client = an(gateway)
    raw = client.messages.with_raw_response.create(
        model="anthropic/claude-sonnet-4-5", max_tokens=50, system="Sois bref.",
        messages=[{"role": "user", "content": BENIGN}],
    )
    msg = raw.parse()
    assert msg.content[0].text == "Réponse du fournisseur."
    assert raw.headers["x-gardefou-decision"] == "warn"  # Claude is not compliant by default
    got = fake.received[0]
    assert got.path == "/v1/messages" and got.body["model"] == "claude-sonnet-4-5"
    assert got.headers["x-api-key"] == "upstream-anthropic_api_key"
    assert got.headers.get("anthropic-version")
    count = client.messages.count_tokens(model="anthropic/claude-sonnet-4-5", messages=[{"role": "user", "content": BENIGN}])
    assert fake.received[-1].path == "/v1/messages/count_tokens" and count.input_tokens == 5
    with pytest.raises(anthropic.PermissionDeniedError):
        client.messages.count_tokens(model="anthropic/claude-sonnet-4-5", messages=[{"role": "user", "content": HIDDEN}])
    with client.messages.stream(model="anthropic/claude-sonnet-4-5", max_tokens=50,
                                messages=[{"role": "user", "content": BENIGN}]) as stream:
        assert "".join(stream.text_stream) == "Réponse du fournisseur."


# -- blocks ---------------------------------------------------------------------------------

def test_blocked_prompt_never_reaches_provider(gateway, fake):
    with pytest.raises(openai.PermissionDeniedError) as err:
        oa(gateway).chat.completions.create(
            model="mistral/mistral-small-latest",
            messages=[{"role": "user", "content": f"Voici le NIR du patient : {NIR}, rédige le courrier."}],
        )
    assert fake.received == []
    e = err.value
    assert e.status_code == 403
    assert e.body["code"] == "gardefou_blocked" and e.body["type"] == "policy_violation"
    assert e.body["param"] is None
    assert "données personnelles" in e.body["message"] and "Mistral" in e.body["message"]
    assert NIR not in e.body["message"] and "084" not in e.body["message"]
    assert e.response.headers["x-gardefou-decision"] == "block"
    rec = record(gateway, e.response.headers["x-gardefou-audit-id"])
    assert rec["decision"] == "block" and rec["forwarded"] is False
    assert rec["categories"] == ",personal," and rec["finding_types"] == ",FR_NIR,"
    assert rec["findings"][0]["type"] == "FR_NIR" and rec["findings"][0]["start"] == 26
    dump = json.dumps(rec, default=str)
    assert NIR not in dump and NIR_COMPACT not in dump


def test_anthropic_block_format(gateway, fake):
    with pytest.raises(anthropic.PermissionDeniedError) as err:
        an(gateway).messages.create(
            model="anthropic/claude-sonnet-4-5", max_tokens=20,
            messages=[{"role": "user", "content": "Écris à jean.dupont@example.fr"}],
        )
    body = err.value.body
    assert body["type"] == "error" and body["error"]["type"] == "permission_error"
    assert "Claude" in body["error"]["message"] and "jean.dupont" not in body["error"]["message"]
    assert fake.received == []


HIDDEN = "Rappeler le 06 12 34 56 78"

@pytest.mark.parametrize(
    "path,body",
    [
        ("/chat/completions", {"messages": [{"role": "user", "content": [{"type": "text", "text": HIDDEN}]}]}),
        ("/chat/completions", {"messages": [{"role": "user", "content": "ok"}, {"role": "assistant", "content": None,
          "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": json.dumps({"q": HIDDEN})}}]},
          {"role": "tool", "tool_call_id": "c1", "content": HIDDEN}]}),
        ("/chat/completions", {"messages": [{"role": "user", "content": "ok"}], "user": "jean.dupont@example.fr"}),
        ("/chat/completions", {"messages": [{"role": "user", "content": "ok"}], "metadata": {HIDDEN: "x"}}),
        ("/chat/completions", {"messages": [{"role": "user", "content": "ok", "id": "185057800608491"}]}),
        ("/completions", {"prompt": ["bonjour", HIDDEN]}),
        ("/embeddings", {"input": ["bonjour", HIDDEN]}),
        ("/responses", {"instructions": HIDDEN, "input": "bonjour"}),
        ("/responses", {"input": [{"role": "user", "content": [{"type": "input_text", "text": HIDDEN}]}]}),
        ("/responses", {"input": [{"type": "function_call_output", "call_id": "c", "output": HIDDEN}]}),
    ],
    ids=["parts", "tool-args-and-results", "user-field", "object-key", "id-field", "completion-list", "embeddings", "instructions",
         "responses-parts", "function-output"],
)
def test_text_hidden_anywhere_is_found(gateway, fake, path, body):
    resp = httpx.post(gateway.v1 + path, json={"model": "mistral/m", **body})
    assert resp.status_code == 403, resp.text
    assert resp.json()["error"]["code"] == "gardefou_blocked"
    assert fake.received == []


def test_anthropic_system_and_tool_results_scanned(gateway, fake):
    for body in (
        {"system": [{"type": "text", "text": HIDDEN}], "messages": [{"role": "user", "content": "ok"}]},
        {"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
                                                     "content": [{"type": "text", "text": HIDDEN}]}]}]},
        {"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f",
                                                          "input": {"phone": HIDDEN}}]}]},
    ):
        resp = httpx.post(gateway.url + "/v1/messages", json={"model": "anthropic/claude-sonnet-4-5", "max_tokens": 5, **body})
        assert resp.status_code == 403 and resp.json()["error"]["type"] == "permission_error"
    assert fake.received == []


def test_images_are_uninspectable_and_blocked_externally_but_not_internally(gateway, fake):
    content = [{"type": "text", "text": "Décris cette image"},
               {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]
    msgs = [{"role": "user", "content": content}]
    resp = httpx.post(gateway.v1 + "/chat/completions", json={"model": "mistral/m", "messages": msgs})
    assert resp.status_code == 403
    assert "non inspectable" in resp.json()["error"]["message"]
    assert fake.received == []
    resp = httpx.post(gateway.v1 + "/chat/completions", json={"model": "internal/llm", "messages": msgs})
    assert resp.status_code == 200 and resp.headers["x-gardefou-decision"] == "allow"
    assert len(fake.received) == 1


def test_internal_tool_may_receive_personal_data(gateway, fake):
    raw = oa(gateway).chat.completions.with_raw_response.create(
        model="internal/llm", messages=[{"role": "user", "content": f"NIR {NIR}"}])
    assert raw.headers["x-gardefou-decision"] == "allow"
    assert fake.received[0].body["messages"][0]["content"] == f"NIR {NIR}"
    assert fake.received[0].headers["authorization"] == "Bearer upstream-internal_api_key"


def test_unknown_and_denied_services_blocked(gateway, fake):
    for model, needle in (("nowhere/x", "n'est pas dans le catalogue"), ("xai-grok/grok-4", "interdit")):
        resp = httpx.post(gateway.v1 + "/chat/completions", json={"model": model, "messages": [{"role": "user", "content": "bonjour"}]})
        assert resp.status_code == 403 and needle in resp.json()["error"]["message"]
        assert resp.headers["x-gardefou-decision"] == "block"
    assert fake.received == []


# -- warnings ---------------------------------------------------------------------------------

def test_non_compliant_service_warns_and_forwards(gateway, fake):
    raw = oa(gateway).chat.completions.with_raw_response.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": BENIGN}])
    assert raw.headers["x-gardefou-decision"] == "warn"
    # the charter's warning reaches the caller, in French (Latin-1 header: accents intact)
    assert raw.headers["x-gardefou-warning"].startswith("Le service « ChatGPT / API OpenAI » n'est pas conforme")
    assert "hébergement hors UE" in raw.headers["x-gardefou-warning"]
    assert len(fake.received) == 1
    assert record(gateway, raw.headers["x-gardefou-audit-id"])["decision"] == "warn"


def test_require_ack_mode(gateway_factory, fake):
    gw = gateway_factory(policy={"warn_mode": "require_ack"})
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": BENIGN}]}
    resp = httpx.post(gw.v1 + "/chat/completions", json=body)
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "gardefou_ack_required"
    assert "X-Gardefou-Ack" in resp.json()["error"]["message"]
    assert fake.received == []
    resp = httpx.post(gw.v1 + "/chat/completions", json=body, headers={"X-Gardefou-Ack": "1"})
    assert resp.status_code == 200 and resp.headers["x-gardefou-decision"] == "warn"
    assert len(fake.received) == 1
    # a compliant service needs no acknowledgement
    body["model"] = "mistral/m"
    assert httpx.post(gw.v1 + "/chat/completions", json=body).status_code == 200


# -- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "content,status,code",
    [
        (b"{not json", 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_request"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', 400, "missing_model"),
        (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}', 400, "invalid_model"),
        (b'{"model": "mistral/m", "messages": "x"}', 400, "invalid_request"),
        (b'{"model": "mistral/m", "messages": []}', 400, "invalid_request"),
        (b'{"model": "anthropic/claude-sonnet-4-5", "messages": [{"role": "user", "content": "x"}]}', 400, "wrong_api_format"),
        (b'{"model": "mistral/m", "messages": [{"role": "user", "content": "' + b"a" * 300_000 + b'"}]}', 413, "request_too_large"),
        (b'{"model": "mistral/m", "messages": [{"role": "user", "content": ' + b"[" * 5000 + b"]" * 5000 + b'}]}', 400, "invalid_json"),
    ],
)
def test_bad_input_gets_clear_openai_error(gateway, fake, content, status, code):
    resp = httpx.post(gateway.v1 + "/chat/completions", content=content, headers={"content-type": "application/json"})
    assert resp.status_code == status
    err = resp.json()["error"]
    assert err["code"] == code and err["message"] and "Traceback" not in resp.text
    assert resp.headers["x-gardefou-decision"] == "refuse"  # a technical refusal, not a charter block
    rec = record(gateway, resp.headers["x-gardefou-audit-id"])
    assert rec["status_code"] == status and rec["decision"] == "refuse"
    assert fake.received == []


def test_count_tokens_errors_are_anthropic_shaped(gateway, fake):
    resp = httpx.post(gateway.url + "/v1/messages/count_tokens", content=b"{oops",
                      headers={"content-type": "application/json"})
    assert resp.status_code == 400 and resp.json()["type"] == "error"
    assert resp.json()["error"]["type"] == "invalid_request_error" and fake.received == []
    resp = httpx.get(gateway.url + "/v1/messages/count_tokens")
    assert resp.status_code == 405 and resp.json()["type"] == "error"


def test_wrong_method_on_a_known_route_is_405(gateway, fake):
    resp = httpx.get(gateway.v1 + "/chat/completions")
    assert resp.status_code == 405 and resp.json()["error"]["code"] == "method_not_allowed"
    assert record(gateway, resp.headers["x-gardefou-audit-id"])["decision"] == "refuse"


def test_bad_input_anthropic_format(gateway, fake):
    resp = httpx.post(gateway.url + "/v1/messages", content=b"{oops")
    assert resp.status_code == 400
    assert resp.json()["type"] == "error" and resp.json()["error"]["type"] == "invalid_request_error"
    resp = httpx.post(gateway.url + "/v1/messages", json={"model": "mistral/m", "messages": [{"role": "user", "content": "x"}]})
    assert resp.status_code == 400 and "openai" in resp.json()["error"]["message"]


def test_unknown_endpoint_404(gateway):
    resp = httpx.post(gateway.v1 + "/images/generations", json={"model": "openai/dall-e-3", "prompt": "chat"})
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "unknown_endpoint"


@pytest.mark.parametrize("model,status,code,upstream_error", [
    ("mistral/fail-500", 502, "gardefou_upstream_error", "upstream_5xx"),
    ("mistral/slow", 504, "gardefou_upstream_timeout", "timeout"),
])
def test_upstream_failures(gateway, fake, model, status, code, upstream_error):
    resp = httpx.post(gateway.v1 + "/chat/completions", json={"model": model, "messages": [{"role": "user", "content": "x"}]}, timeout=10)
    assert resp.status_code == status and resp.json()["error"]["code"] == code
    rec = record(gateway, resp.headers["x-gardefou-audit-id"])
    assert rec["status_code"] == status and rec["upstream_error"] == upstream_error


def test_upstream_unreachable(gateway_factory):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    gw = gateway_factory(services=[{"id": "mistral", "base_url": f"http://127.0.0.1:{dead}/v1"}])
    with pytest.raises(openai.InternalServerError) as err:
        oa(gw).chat.completions.create(model="mistral/m", messages=[{"role": "user", "content": "x"}])
    assert err.value.status_code == 502 and err.value.body["code"] == "gardefou_upstream_unreachable"
    rec = record(gw, err.value.response.headers["x-gardefou-audit-id"])
    assert rec["upstream_error"] == "unreachable" and rec["decision"] == "allow"


def test_missing_upstream_key(gateway, fake, monkeypatch):
    monkeypatch.delenv("MISTRAL_API_KEY")
    resp = httpx.post(gateway.v1 + "/chat/completions", json={"model": "mistral/m", "messages": [{"role": "user", "content": "x"}]})
    assert resp.status_code == 502 and "MISTRAL_API_KEY" in resp.json()["error"]["message"]
    assert fake.received == []


# -- client authentication ----------------------------------------------------------------------

def test_api_key_auth(gateway_factory, fake):
    from gateway.config import hash_key

    gw = gateway_factory(auth={"mode": "api_key", "clients": [
        {"id": "agent-7f3a", "department": "Pharmacie", "key_sha256": hash_key("s3cret-key")}]})
    with pytest.raises(openai.AuthenticationError) as err:
        oa(gw, api_key="wrong").chat.completions.create(model="mistral/m", messages=[{"role": "user", "content": "x"}])
    assert err.value.status_code == 401 and err.value.body["code"] == "invalid_api_key"
    with pytest.raises(anthropic.AuthenticationError) as aerr:
        an(gw, api_key="wrong").messages.create(model="anthropic/claude-sonnet-4-5", max_tokens=5,
                                                 messages=[{"role": "user", "content": "x"}])
    assert aerr.value.body["error"]["type"] == "authentication_error"
    assert fake.received == []
    raw = oa(gw, api_key="s3cret-key").chat.completions.with_raw_response.create(
        model="mistral/m", messages=[{"role": "user", "content": "x"}])
    rec = record(gw, raw.headers["x-gardefou-audit-id"])
    assert rec["client_id"] == "agent-7f3a" and rec["department"] == "Pharmacie"
    assert fake.received[0].headers["authorization"] == "Bearer upstream-mistral_api_key"


# -- fail closed --------------------------------------------------------------------------------

class ExplodingRecognizer:
    name = "exploding"

    def analyze(self, text):
        raise RuntimeError("model crashed")


def test_detector_failure_refuses(gateway_factory, fake):
    from detectors import Scanner

    gw = gateway_factory(app_kwargs={"scanner": Scanner([ExplodingRecognizer()])})
    resp = httpx.post(gw.v1 + "/chat/completions", json={"model": "mistral/m", "messages": [{"role": "user", "content": "x"}]})
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "gardefou_unavailable"
    assert resp.headers["x-gardefou-decision"] == "refuse"
    assert fake.received == []
    rec = record(gw, resp.headers["x-gardefou-audit-id"])
    assert rec["rule_ids"] == ["gateway.detector_failure"] and rec["decision"] == "refuse"


def test_audit_failure_refuses(gateway, fake):
    from sqlalchemy import text

    with gateway.store.engine.begin() as conn:  # the store breaks behind the gateway's back
        conn.execute(text("DROP TABLE audit_records"))
    resp = httpx.post(gateway.v1 + "/chat/completions", json={"model": "mistral/m", "messages": [{"role": "user", "content": "x"}]})
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "gardefou_unavailable"
    assert resp.headers["x-gardefou-audit-id"] == "unrecorded"
    assert fake.received == []
    ready = httpx.get(gateway.url + "/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["audit_store"] is False


def test_health_and_readiness(gateway):
    assert httpx.get(gateway.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(gateway.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"detectors": True, "audit_store": True}


def test_client_disconnect_mid_stream_is_recorded(gateway, fake):
    """The client leaves while the provider holds the rest of its answer: the relay stops at once
    (the provider is not waited for) and the record says the client disconnected."""
    fake.release.clear()
    body = {"model": "mistral/gated", "messages": [{"role": "user", "content": BENIGN}], "stream": True}
    try:
        with httpx.stream("POST", gateway.v1 + "/chat/completions", json=body, timeout=10) as resp:
            audit_id = resp.headers["x-gardefou-audit-id"]
            next(resp.iter_raw())
        # the client went away before the end of the answer; the provider still holds the rest
        rec = record(gateway, audit_id, outcome=True)
    finally:
        fake.release.set()
    assert rec["upstream_status"] == 200 and rec["upstream_error"] == "client_disconnected"
    assert rec["total_ms"] is not None
    # ended by the disconnect, not by the upstream read timeout (1.5 s in this configuration)
    assert rec["upstream_ms"] < 1000


def test_duplicate_keys_cannot_smuggle_content(gateway, fake):
    """What is forwarded is what was inspected: the body is re-serialised from the parsed object."""
    raw = ('{"model": "mistral/m", "messages": [{"role": "user", "content": "bonjour"}], '
           '"messages": [{"role": "user", "content": "' + HIDDEN + '"}]}').encode()
    resp = httpx.post(gateway.v1 + "/chat/completions", content=raw, headers={"content-type": "application/json"})
    assert resp.status_code == 403
    assert fake.received == []


def test_text_documents_are_inspected_not_refused(gateway, fake):
    doc = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": HIDDEN}}
    resp = httpx.post(gateway.url + "/v1/messages", json={"model": "anthropic/claude-sonnet-4-5", "max_tokens": 5,
                                                         "messages": [{"role": "user", "content": [doc]}]})
    assert resp.status_code == 403 and "personnelles" in resp.json()["error"]["message"]
    doc["source"]["data"] = "Un texte anodin sur la météo."
    resp = httpx.post(gateway.url + "/v1/messages", json={"model": "anthropic/claude-sonnet-4-5", "max_tokens": 5,
                                                         "messages": [{"role": "user", "content": [doc]}]})
    assert resp.status_code == 200 and resp.headers["x-gardefou-decision"] == "warn"
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}}
    resp = httpx.post(gateway.url + "/v1/messages", json={"model": "anthropic/claude-sonnet-4-5", "max_tokens": 5,
                                                         "messages": [{"role": "user", "content": [pdf]}]})
    assert resp.status_code == 403 and "non inspectable" in resp.json()["error"]["message"]


def test_deeply_nested_text_is_still_found(gateway, fake):
    deep = HIDDEN
    for _ in range(900):
        deep = {"a": deep}
    resp = httpx.post(gateway.v1 + "/chat/completions",
                      json={"model": "mistral/m", "messages": [{"role": "user", "content": "x", "metadata": deep}]})
    assert resp.status_code == 403 and fake.received == []


@pytest.mark.parametrize("category,label,prompt", [
    ("personal", "données personnelles",
     "Prépare une réponse pour Mme Sophie Marchand, joignable au 06 12 34 56 78."),
    ("health", "données de santé",
     "Résume : patiente de 54 ans, diabète de type 2, HbA1c à 9 %, hospitalisée en cardiologie le 12/03."),
    ("confidential", "informations confidentielles",
     "CONFIDENTIEL - ne pas diffuser. Analyse l'offre du candidat B pour le lot 3 de l'appel d'offres restauration."),
    ("secret", "secrets d'authentification",
     "Pourquoi ma connexion échoue ? postgres://admin:Hopital2024!@db.interne:5432/dpi"),
])
def test_blocked_per_category_through_http(gateway, fake, category, label, prompt):
    with pytest.raises(openai.PermissionDeniedError) as err:
        oa(gateway).chat.completions.create(model="mistral/mistral-small-latest",
                                            messages=[{"role": "user", "content": prompt}])
    assert fake.received == []
    assert label in err.value.body["message"]
    rec = record(gateway, err.value.response.headers["x-gardefou-audit-id"])
    assert f",{category}," in rec["categories"] and rec["decision"] == "block"
    dump = json.dumps(rec, default=str)
    for secret_bit in ("Marchand", "06 12 34 56 78", "HbA1c", "Hopital2024"):
        assert secret_bit not in dump


def test_medical_knowledge_question_is_allowed(gateway, fake):
    question = "Quels sont les effets secondaires du paracétamol ? Explique la physiopathologie du diabète de type 2."
    raw = oa(gateway).chat.completions.with_raw_response.create(
        model="mistral/mistral-small-latest", messages=[{"role": "user", "content": question}])
    assert raw.headers["x-gardefou-decision"] == "allow"
    assert fake.received[0].body["messages"][0]["content"] == question


@pytest.mark.parametrize("evasive", [
    "NIR : 1\u200b85\u200b05\u200b78\u200b006\u200b084\u200b91",      # zero-width spaces
    "NIR : １ ８５ ０５ ７８ ００６ ０８４ ９１",                            # full-width digits
    "écris à jean.dupont [at] chu-exemple point fr",                  # spelled-out e-mail
    "tél. 06.12.\n34.56.78",                                          # line break inside the number
])
def test_evasion_forms_blocked_through_http(gateway, fake, evasive):
    resp = httpx.post(gateway.v1 + "/chat/completions",
                      json={"model": "mistral/m", "messages": [{"role": "user", "content": evasive}]})
    assert resp.status_code == 403 and "données personnelles" in resp.json()["error"]["message"]
    assert fake.received == []


def test_data_in_the_model_name_is_blocked_and_not_stored(gateway, fake):
    resp = httpx.post(gateway.v1 + "/chat/completions",
                      json={"model": f"mistral/{NIR_COMPACT}", "messages": [{"role": "user", "content": "bonjour"}]})
    assert resp.status_code == 403 and fake.received == []
    rec = record(gateway, resp.headers["x-gardefou-audit-id"])
    assert rec["model"] == "(masqué)" and NIR_COMPACT not in json.dumps(rec, default=str)


def test_dated_model_names_are_kept_in_the_audit(gateway, fake):
    resp = httpx.post(gateway.url + "/v1/messages", json={"model": "anthropic/claude-3-5-sonnet-20241022", "max_tokens": 5,
                                                         "messages": [{"role": "user", "content": "bonjour"}]})
    assert resp.status_code == 200
    assert record(gateway, resp.headers["x-gardefou-audit-id"])["model"] == "claude-3-5-sonnet-20241022"


def test_confirmation_band_asks_then_forwards_with_the_acknowledgement(sqlite_gateway_factory, fake):
    from detectors import build_default_scanner

    scanner = build_default_scanner({"spacy": False, "free_text_confirm_band": 0.3})
    gw = sqlite_gateway_factory(app_kwargs={"scanner": scanner})
    body = {"model": "mistral/mistral-small-latest",
            "messages": [{"role": "user", "content": "la dame de la 5 est un peu confuse ce soir"}]}
    resp = httpx.post(gw.v1 + "/chat/completions", json=body)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "gardefou_ack_required"
    assert "sans certitude" in resp.json()["error"]["message"] and "X-Gardefou-Ack" in resp.json()["error"]["message"]
    assert fake.received == []
    resp = httpx.post(gw.v1 + "/chat/completions", json=body, headers={"X-Gardefou-Ack": "1"})
    assert resp.status_code == 200 and resp.headers["x-gardefou-decision"] == "warn"
    rec = record(gw, resp.headers["x-gardefou-audit-id"])
    assert rec["decision"] == "warn" and "detect.unsure" in rec["rule_ids"] and len(fake.received) == 1


# -- an unexpected error ----------------------------------------------------------------------

def test_an_unexpected_error_is_a_500_without_trace_and_nothing_forwarded(sqlite_gateway_factory, fake, tmp_path):
    """A bug (here the store raising something that is not an audit error) on the API routes' fast
    path and on a framework route alike: a 500 in the API's error shape, no stack trace, nothing
    forwarded, and the gateway keeps serving."""
    from gateway.audit import AuditStore

    class BrokenStore(AuditStore):
        broken = True

        def insert(self, record):
            if self.broken:
                raise RuntimeError("bug in the record's code")
            super().insert(record)

    store = BrokenStore(f"sqlite:///{tmp_path / 'broken.db'}")
    store.migrate()
    gw = sqlite_gateway_factory({"store": store})
    for method, path, body in (("POST", "/v1/chat/completions", {"model": "mistral/mistral-small-latest",
                                                                 "messages": [{"role": "user", "content": BENIGN}]}),
                               ("POST", "/v1/messages", {"model": "mistral/mistral-small-latest", "max_tokens": 5,
                                                         "messages": [{"role": "user", "content": BENIGN}]}),
                               ("GET", "/v1/models", None)):
        r = httpx.request(method, gw.url + path, json=body, headers={"Authorization": "Bearer client-key",
                                                                     "x-api-key": "client-key"})
        assert r.status_code == 500, (path, r.text)
        assert r.headers["x-gardefou-decision"] == "refuse" and r.headers["x-gardefou-audit-id"] == "unrecorded"
        err = r.json()["error"]
        assert (err.get("code") or err.get("type")) in ("gardefou_internal_error", "api_error"), err
        assert "Erreur interne de Garde-fou" in err["message"]
        assert "Traceback" not in r.text and "RuntimeError" not in r.text
    assert fake.received == []
    store.broken = False
    ok = oa(gw).chat.completions.with_raw_response.create(
        model="mistral/mistral-small-latest", messages=[{"role": "user", "content": BENIGN}])
    assert ok.headers["x-gardefou-decision"] == "allow"
