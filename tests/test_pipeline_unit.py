"""The pipeline's steps in-process, on the test seams (a fake scanner, a memory store, an Exchange
factory): fast, and each proves a behaviour the end-to-end tests also see through uvicorn."""

from __future__ import annotations

import gzip
import json

import anyio
import pytest

from gateway.adapters import AnthropicAdapter, OpenAIAdapter
from gateway.testing.factories import FakeScanner, MemoryStore, tconfig, texchange, tincoming, tpipeline

OPENAI, ANTHROPIC = OpenAIAdapter(), AnthropicAdapter()
INTERNAL = {"id": "internal", "name": "LLM interne", "api": "openai", "base_url": "http://127.0.0.1:9/v1",
            "hosting": "internal", "trains_on_inputs": False, "accepts": ["health", "personal"]}


def chat(text: str, model: str = "mistral/mistral-small-latest") -> bytes:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": text}]}).encode()


def run(pipeline, adapter, inc):
    return anyio.run(pipeline.process, adapter, inc)


def test_clean_prompt_is_forwarded_with_its_upstream_body():
    pipeline, scanner, store = tpipeline()
    ex, verdict = run(pipeline, OPENAI, tincoming(chat("Bonjour")))
    assert verdict.forward and verdict.decision.action == "allow"
    assert json.loads(ex.upstream_body)["model"] == "mistral-small-latest"
    assert store.records[ex.audit_id]["decision"] == "allow" and scanner.calls


def test_charter_block_is_recorded_as_block_and_technical_refusal_as_refuse():
    pipeline, _, store = tpipeline()
    ex, verdict = run(pipeline, OPENAI, tincoming(chat("voici [[health]]")))
    assert not verdict.forward and verdict.status == 403 and verdict.code == "gardefou_blocked"
    assert store.records[ex.audit_id]["decision"] == "block"
    ex2, verdict2 = run(pipeline, OPENAI, tincoming(b"{not json"))
    assert verdict2.code == "invalid_json" and verdict2.decision.action == "refuse"
    assert store.records[ex2.audit_id]["decision"] == "refuse" and store.records[ex2.audit_id]["forwarded"] is False


@pytest.mark.parametrize("body,code", [
    (b"[1]", "invalid_request"),
    (json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode(), "missing_model"),
    (json.dumps({"model": "sans-service", "messages": [{"role": "user", "content": "x"}]}).encode(), "invalid_model"),
    (chat("x", model="anthropic/claude-sonnet-4-5"), "wrong_api_format"),
])
def test_malformed_requests_are_technical_refusals(body, code):
    pipeline, scanner, store = tpipeline()
    ex, verdict = run(pipeline, OPENAI, tincoming(body))
    assert verdict.code == code and store.records[ex.audit_id]["decision"] == "refuse"
    assert scanner.calls == []  # refused before any inspection


def test_bad_key_is_refused_and_recorded_as_refuse():
    pipeline, _, store = tpipeline(tconfig(auth={"mode": "api_key", "clients": [
        {"id": "poste-1", "key_sha256": "0" * 64}]}))
    ex, verdict = run(pipeline, OPENAI, tincoming(chat("Bonjour"), headers={"authorization": "Bearer faux"}))
    assert verdict.status == 401 and store.records[ex.audit_id]["decision"] == "refuse"


def test_detector_failure_fails_closed():
    pipeline, _, store = tpipeline(scanner=FakeScanner(fail=RuntimeError("boom")))
    ex, verdict = run(pipeline, OPENAI, tincoming(chat("Bonjour")))
    assert not verdict.forward and verdict.status == 503
    assert store.records[ex.audit_id]["rule_ids"] == ["gateway.detector_failure"]


def test_audit_failure_fails_closed_and_is_not_recorded():
    store = MemoryStore()
    pipeline, _, _ = tpipeline(store=store)
    store.fail = True
    ex, verdict = run(pipeline, OPENAI, tincoming(chat("Bonjour")))
    assert not verdict.forward and not verdict.recorded and verdict.status == 503
    assert verdict.decision.action == "refuse" and "gateway.audit_failure" in verdict.decision.rule_ids


def test_internal_service_says_it_accepted_the_categories_found():
    pipeline, _, store = tpipeline(tconfig(services=[INTERNAL]))
    ex, verdict = run(pipeline, OPENAI, tincoming(chat("voici [[health]]", model="internal/llm")))
    assert verdict.forward and verdict.decision.action == "allow"
    assert verdict.decision.rule_ids == ("service.accepts",)
    assert "données de santé acceptées par ce service interne" in verdict.decision.reasons[0]
    ex, verdict = run(pipeline, OPENAI, tincoming(chat("voici [[secret]]", model="internal/llm")))
    assert not verdict.forward and verdict.decision.action == "block"


def test_ack_wording_belongs_to_the_ingress_not_the_pipeline():
    pipeline, _, _ = tpipeline(tconfig(policy={"warn_mode": "require_ack"}))
    _, verdict = run(pipeline, OPENAI, tincoming(chat("Bonjour", model="openai/gpt-4o-mini")))
    assert verdict.code == "gardefou_ack_required" and "X-Gardefou-Ack" not in (verdict.message or "")
    _, verdict = run(pipeline, OPENAI, tincoming(chat("Bonjour", model="openai/gpt-4o-mini"),
                                                 headers={"x-gardefou-ack": "1"}))
    assert verdict.forward and verdict.decision.action == "warn"


def test_gzip_body_is_read_and_a_bomb_refused():
    pipeline, _, _ = tpipeline()
    _, verdict = run(pipeline, OPENAI, tincoming(gzip.compress(chat("voici [[personal]]")),
                                                 headers={"content-encoding": "gzip"}))
    assert verdict.decision.action == "block"
    bomb = gzip.compress(b"{" + b" " * 20_000_000 + b"}")
    _, verdict = run(pipeline, OPENAI, tincoming(bomb, headers={"content-encoding": "gzip"}))
    assert verdict.status == 413 and verdict.decision.action == "refuse"


def test_relayed_headers_are_scanned_and_others_dropped():
    pipeline, scanner, _ = tpipeline()
    ex, verdict = run(pipeline, OPENAI, tincoming(chat("Bonjour"), headers={
        "openai-project": "[[personal]]", "user-agent": "[[secret]]"}))
    assert verdict.decision.action == "block" and verdict.decision.categories == ("personal",)
    assert "user-agent" not in ex.forwarded_headers


def test_rate_limit_is_a_refusal_with_retry_after():
    pipeline, _, store = tpipeline(tconfig(limits={"client_requests_per_minute": 1}))
    run(pipeline, OPENAI, tincoming(chat("Bonjour")))
    ex, verdict = run(pipeline, OPENAI, tincoming(chat("Bonjour")))
    assert verdict.status == 429 and verdict.retry_after and verdict.retry_after >= 1
    assert store.records[ex.audit_id]["decision"] == "refuse"


def test_each_adapter_shapes_its_own_errors():
    assert ANTHROPIC.error_body(400, "invalid_json", "m") == {
        "type": "error", "error": {"type": "invalid_request_error", "message": "m"}}
    assert OPENAI.error_body(400, "invalid_json", "m", "model")["error"]["param"] == "model"
    assert ANTHROPIC.owns("/v1/messages/count_tokens") and not OPENAI.owns("/v1/messages/count_tokens")


def test_texchange_goes_straight_to_inspection():
    pipeline, _, store = tpipeline()
    ex = texchange("rien", "et [[confidential]]", catalogue=pipeline.catalogue)
    verdict = pipeline.inspect_sync(ex)
    assert verdict.decision.categories == ("confidential",)
    assert store.records[ex.audit_id]["findings"][0]["part"] == 1
