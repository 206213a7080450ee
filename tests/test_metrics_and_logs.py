"""What a DSN watches: Prometheus metrics on the admin listener and one JSON log line per decision,
counts and words of the vocabulary only (never a detected value)."""

from __future__ import annotations

import json
import logging

import httpx

from gateway import metrics
from tests.admin_support import start_admin

NIR = "1 85 05 78 006 084 91"


def value(name: str, **labels) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def chat(gw, text: str, model: str = "mistral/mistral-small-latest") -> httpx.Response:
    return httpx.post(gw.v1 + "/chat/completions", json={"model": model, "messages": [{"role": "user", "content": text}]})


def test_decisions_stages_and_failures_are_counted(sqlite_gateway_factory, fake):
    gw = sqlite_gateway_factory()
    allowed = value("gardefou_decisions_total", ingress="openai", decision="allow", service="mistral")
    blocked = value("gardefou_decisions_total", ingress="openai", decision="block", service="mistral")
    health = value("gardefou_categories_total", category="personal", decision="block")
    detect = value("gardefou_stage_seconds_count", stage="detect")
    assert chat(gw, "Bonjour, une recette de crêpes ?").status_code == 200
    assert chat(gw, f"Mon NIR : {NIR}").status_code == 403
    assert httpx.post(gw.v1 + "/chat/completions", content=b"{oops").status_code == 400
    assert value("gardefou_decisions_total", ingress="openai", decision="allow", service="mistral") == allowed + 1
    assert value("gardefou_decisions_total", ingress="openai", decision="block", service="mistral") == blocked + 1
    assert value("gardefou_categories_total", category="personal", decision="block") == health + 1
    assert value("gardefou_decisions_total", ingress="openai", decision="refuse", service="(inconnu)") >= 1
    assert value("gardefou_stage_seconds_count", stage="detect") == detect + 2
    assert value("gardefou_stage_seconds_count", stage="upstream") >= 1
    assert value("gardefou_open_streams") == 0 and value("gardefou_scans_in_flight") == 0


def test_one_json_line_per_decision_without_values(sqlite_gateway_factory, fake, caplog):
    gw = sqlite_gateway_factory()
    with caplog.at_level(logging.INFO, logger="gardefou.decision"):
        resp = chat(gw, f"Patiente Mme Durand, NIR {NIR}, diabète")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "gardefou.decision"]
    (line,) = [x for x in lines if x["audit_id"] == resp.headers["x-gardefou-audit-id"]]
    assert line["decision"] == "block" and "personal" in line["categories"] and line["status"] == 403
    assert line["finding_counts"]["FR_NIR"] == 1 and line["service"] == "mistral" and line["forwarded"] is False
    text = caplog.text
    assert NIR not in text and NIR.replace(" ", "") not in text and "Durand" not in text


def test_a_forwarded_request_logs_its_line_with_its_outcome(sqlite_gateway_factory, fake, caplog):
    """A forwarded request's line is written once its answer has been relayed (off the request's
    path), with the upstream status; one line per request all the same."""
    gw = sqlite_gateway_factory()
    with caplog.at_level(logging.INFO, logger="gardefou.decision"):
        resp = chat(gw, "Reformule ce courriel pour annoncer la réunion de service de jeudi.")
        assert resp.status_code == 200 and resp.headers["x-gardefou-decision"] == "allow"
        assert gw.store.flush()
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "gardefou.decision"]
    (line,) = [x for x in lines if x["audit_id"] == resp.headers["x-gardefou-audit-id"]]
    assert line["decision"] == "allow" and line["forwarded"] is True and line["status"] == 200
    assert line["upstream_status"] == 200 and line["upstream_error"] is None and line["total_ms"] > 0
    assert line["service"] == "mistral" and line["inspect_ms"] >= 0


def test_metrics_are_served_on_the_admin_listener(tmp_path):
    admin = start_admin(f"sqlite:///{tmp_path / 'audit.db'}")
    try:
        resp = httpx.get(admin.url + "/metrics")
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
        assert "gardefou_decisions_total" in resp.text and "gardefou_stage_seconds_bucket" in resp.text
        assert admin.store.access_log(10) == []  # not an audited read
    finally:
        admin.server.should_exit = True
        admin.thread.join(10)
        admin.store.dispose()


def test_audit_write_failures_are_counted():
    import anyio

    from gateway.adapters import OpenAIAdapter
    from gateway.testing.factories import MemoryStore, tincoming, tpipeline

    store = MemoryStore()
    pipeline, _, _ = tpipeline(store=store)
    store.fail = True
    before = value("gardefou_audit_failures_total")
    body = json.dumps({"model": "mistral/m", "messages": [{"role": "user", "content": "x"}]})
    _, verdict = anyio.run(pipeline.process, OpenAIAdapter(), tincoming(body))
    assert not verdict.forward and value("gardefou_audit_failures_total") == before + 1
