"""Sobriety: the provider's token counts in the audit record (streamed or not, OpenAI and Anthropic
formats), the EcoLogits energy / CO2e estimate committed with the outcome, long-conversation notices,
and their sums in the statistics. End to end through the official SDKs and the real fake provider, on
SQLite and PostgreSQL; the usage reader alone on chunks cut at every byte."""

from __future__ import annotations

import gzip
import json
import time

import anthropic
import httpx
import openai
import pytest

from gateway.audit import query as Q
from gateway.sobriety import MAX_JSON, NOTICE_LONG_FR, ImpactEstimator, Usage, UsageMeter, read_usage

BENIGN = "Reformule ce paragraphe pour le rendre plus clair : la réunion est reportée à jeudi."
METHOD = "ecologits 0.11.3"


def outcome(gw, audit_id: str) -> dict:
    """The record once the outcome (and its estimate) was committed after the response."""
    deadline = time.monotonic() + 5
    while True:
        rec = gw.store.get(audit_id)
        assert rec is not None
        if rec["total_ms"] is not None or time.monotonic() > deadline:
            return rec
        time.sleep(0.02)


def oa(gw, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.v1, api_key="client-key", max_retries=0, **kw)


def an(gw) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key="client-key", max_retries=0)


def ecologits_wh(provider: str, model: str, output_tokens: int, upstream_ms: float) -> float:
    """What EcoLogits says for this request, computed here independently (midpoint of its range, in Wh)."""
    from ecologits.tracers.utils import llm_impacts

    value = llm_impacts(provider, model, output_tokens, upstream_ms / 1000).energy.value
    low, high = (value.min, value.max) if hasattr(value, "min") else (value, value)
    return (low + high) / 2 * 1000


# -- the usage reader -----------------------------------------------------------------------------

def _sse(*events: dict, crlf: bool = False) -> bytes:
    nl = "\r\n" if crlf else "\n"
    return "".join(f"event: x{nl}data: {json.dumps(e)}{nl}{nl}" for e in events).encode()


OPENAI_SSE = _sse({"choices": [{"delta": {"content": "usage: au revoir"}}]},
                  {"model": "gpt-4o-mini-2024-07-18", "choices": [],
                   "usage": {"prompt_tokens": 21, "completion_tokens": 13, "total_tokens": 34}}) + b"data: [DONE]\n\n"
ANTHROPIC_SSE = _sse(
    {"type": "message_start", "message": {"model": "claude-sonnet-4-5", "usage": {
        "input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 5}}},
    {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "x"}},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 42}},
    crlf=True)
RESPONSES_SSE = _sse({"type": "response.output_text.delta", "delta": "x"},
                     {"type": "response.completed", "response": {"model": "gpt-4.1", "output": [{"text": "y" * 5000}],
                                                                 "usage": {"input_tokens": 7, "output_tokens": 70}}})


@pytest.mark.parametrize(("stream", "expected"), [
    (OPENAI_SSE, (21, 13, "gpt-4o-mini-2024-07-18")),
    (ANTHROPIC_SSE, (115, 42, "claude-sonnet-4-5")),  # cached input counted; the final output count wins
    (RESPONSES_SSE, (7, 70, "gpt-4.1")),
], ids=["openai", "anthropic", "responses"])
@pytest.mark.parametrize("size", [1, 7, 4096])
def test_usage_is_read_from_an_event_stream_cut_anywhere(stream, expected, size):
    meter = UsageMeter("text/event-stream; charset=utf-8")
    for i in range(0, len(stream), size):
        meter.feed(stream[i:i + size])
    usage = meter.result()
    assert (usage.input_tokens, usage.output_tokens, usage.model) == expected


def test_usage_of_a_json_answer_and_of_a_large_one():
    body = json.dumps({"model": "mistral-small-latest", "choices": [], "usage": {"prompt_tokens": 3,
                                                                                   "completion_tokens": 2}}).encode()
    meter = UsageMeter("application/json")
    for i in range(0, len(body), 5):
        meter.feed(body[i:i + 5])
    assert meter.result() == Usage(3, 2, "mistral-small-latest")
    # past MAX_JSON only the tail is kept, and the usage at its end is still found
    big = json.dumps({"data": [{"embedding": [0.123456789] * 1000}] * (MAX_JSON // 10000 + 20),
                      "usage": {"prompt_tokens": 8, "total_tokens": 8}}).encode()
    assert len(big) > MAX_JSON
    meter = UsageMeter("application/json")
    for i in range(0, len(big), 65536):
        meter.feed(big[i:i + 65536])
    assert len(meter._body) <= 3 * 64 * 1024  # never the whole answer in memory
    assert (meter.result().input_tokens, meter.usage.output_tokens) == (8, None)


def test_what_the_reader_leaves_alone():
    meter = UsageMeter("application/json", "gzip")  # compressed: not read (nothing is decompressed here)
    meter.feed(gzip.compress(b'{"usage": {"prompt_tokens": 1, "completion_tokens": 1}}'))
    assert meter.result() == Usage()
    meter = UsageMeter("text/html")
    meter.feed(b'<p>"usage": {"prompt_tokens": 1}</p>')
    assert meter.result() == Usage()
    meter = UsageMeter("text/event-stream")
    meter.feed(b"data: " + b"x" * (2 * 1024 * 1024))  # a line past MAX_LINE is dropped, the next one read
    meter.feed(b'\ndata: {"usage": {"prompt_tokens": 4, "completion_tokens": 2}}\n')
    assert (meter.result().input_tokens, meter.usage.output_tokens) == (4, 2)
    assert len(meter._line) == 0
    usage = Usage()
    read_usage({"usage": {"prompt_tokens": -1, "completion_tokens": True, "model": 3}}, usage)
    assert usage == Usage()  # only counts are kept, never anything else


def test_the_estimate_comes_from_ecologits_and_unknown_models_are_not_estimated():
    est = ImpactEstimator({"mistral": ("mistralai", None), "fr": ("mistralai", "FRA")})
    impact = est.estimate("mistral", (None, "mistral-small-latest"), 500, 2.0)
    assert impact.status == "estimated" and impact.method == METHOD
    assert impact.energy_wh == pytest.approx(ecologits_wh("mistralai", "mistral-small-latest", 500, 2000), rel=1e-6)
    assert impact.gco2e_g > 0
    french = est.estimate("fr", ("mistral-small-latest",), 500, 2.0)  # same energy, the French electricity mix
    assert french.energy_wh == impact.energy_wh and french.gco2e_g != impact.gco2e_g
    # the provider's reported model first, the requested one next
    assert est.estimate("mistral", ("nope", "mistral-small-latest"), 500, 2.0).status == "estimated"
    assert est.estimate("mistral", ("modele-maison",), 500, 2.0).fields() == {
        "impact_status": "unknown_model", "impact_method": METHOD, "energy_wh": None, "gco2e_g": None}
    assert est.estimate("internal", ("mistral-small-latest",), 500, 2.0).status == "unknown_model"
    assert est.estimate("mistral", ("mistral-small-latest",), None, 2.0).status == "no_usage"
    with pytest.raises(ValueError, match="electricity mix"):
        ImpactEstimator({"x": ("openai", "ZZZ")})


def test_ecologits_graph_is_sorted_once_in_the_order_it_would_sort_it(monkeypatch):
    """``_sort_dags_once``: EcoLogits' computation graph is sorted once, in graphlib's own order (so
    that the computation is the same), not again at every estimate; its figures are unchanged."""
    import graphlib

    import ecologits.impacts.dag as dag_module
    from ecologits.impacts.llm import dag

    est = ImpactEstimator({"mistral": ("mistralai", None)})
    first = est.estimate("mistral", ("mistral-small-latest",), 300, 1.5)
    expected = list(graphlib.TopologicalSorter(dag._DAG__dependencies).static_order())
    assert list(dag.build_dag().static_order()) == expected
    sorts = []

    class Counting(graphlib.TopologicalSorter):
        def __init__(self, *args, **kwargs):
            sorts.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(dag_module, "TopologicalSorter", Counting)
    for _ in range(20):
        again = est.estimate("mistral", ("mistral-small-latest",), 300, 1.5)
        assert (again.energy_wh, again.gco2e_g) == (first.energy_wh, first.gco2e_g)
    assert sorts == []
    assert first.energy_wh == round(ecologits_wh("mistralai", "mistral-small-latest", 300, 1500), 6)


# -- end to end: tokens and estimate in the audit record -------------------------------------------

def test_non_streamed_openai_answer(gateway, fake):
    raw = oa(gateway).chat.completions.with_raw_response.create(
        model="mistral/mistral-small-latest", messages=[{"role": "user", "content": BENIGN}])
    assert raw.parse().usage.completion_tokens == 3  # relayed unchanged
    rec = outcome(gateway, raw.headers["x-gardefou-audit-id"])
    assert (rec["input_tokens"], rec["output_tokens"]) == (5, 3)
    assert rec["impact_status"] == "estimated" and rec["impact_method"] == METHOD
    assert rec["energy_wh"] == pytest.approx(ecologits_wh("mistralai", "mistral-small-latest", 3, rec["upstream_ms"]),
                                             rel=1e-2)
    assert rec["gco2e_g"] > 0 and rec["prompt_messages"] == 1 and rec["notice"] is None
    assert gateway.store.verify().ok  # the outcome hash covers the new fields


def test_streamed_openai_answer_with_usage(gateway, fake):
    with oa(gateway).chat.completions.with_streaming_response.create(
            model="mistral/mistral-small-latest", messages=[{"role": "user", "content": BENIGN}], stream=True,
            stream_options={"include_usage": True}) as raw:
        chunks = list(raw.parse())
        audit_id = raw.headers["x-gardefou-audit-id"]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Réponse du fournisseur."
    assert chunks[-1].usage.completion_tokens == 7
    rec = outcome(gateway, audit_id)
    assert (rec["input_tokens"], rec["output_tokens"], rec["impact_status"]) == (11, 7, "estimated")
    assert rec["energy_wh"] > 0 and gateway.store.verify().ok


def test_streamed_answer_without_usage_is_recorded_as_such(gateway, fake):
    stream = oa(gateway).chat.completions.create(model="mistral/mistral-small-latest",
                                                 messages=[{"role": "user", "content": BENIGN}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream) == "Réponse du fournisseur."
    rec = outcome(gateway, gateway.records()[0]["id"])
    assert rec["input_tokens"] is None and rec["output_tokens"] is None
    assert rec["impact_status"] == "no_usage" and rec["energy_wh"] is None and rec["gco2e_g"] is None
    assert "stream_options" not in fake.received[0].body  # the request is never changed to ask for it


def test_anthropic_answers_streamed_or_not(gateway, fake):
    client = an(gateway)
    raw = client.messages.with_raw_response.create(model="anthropic/claude-sonnet-4-5", max_tokens=50,
                                                   messages=[{"role": "user", "content": BENIGN}])
    rec = outcome(gateway, raw.headers["x-gardefou-audit-id"])
    assert (rec["input_tokens"], rec["output_tokens"], rec["impact_status"]) == (5, 3, "estimated")
    assert rec["energy_wh"] == pytest.approx(ecologits_wh("anthropic", "claude-sonnet-4-5", 3, rec["upstream_ms"]),
                                             rel=1e-2)
    with client.messages.stream(model="anthropic/claude-sonnet-4-5", max_tokens=50,
                                messages=[{"role": "user", "content": BENIGN}]) as stream:
        assert stream.get_final_text() == "Réponse du fournisseur."
    rec = outcome(gateway, gateway.records()[0]["id"])
    # message_start said 1 output token, message_delta the final 3
    assert (rec["input_tokens"], rec["output_tokens"], rec["impact_status"]) == (5, 3, "estimated")


def test_other_endpoints_unknown_models_and_services(gateway, fake):
    client = oa(gateway)
    client.responses.create(model="openai/gpt-4o-mini", input=BENIGN)
    client.completions.create(model="mistral/mistral-small-latest", prompt="Il était une fois")  # no usage in it
    client.chat.completions.create(model="mistral/modele-maison", messages=[{"role": "user", "content": BENIGN}])
    client.chat.completions.create(model="internal/llama-3", messages=[{"role": "user", "content": BENIGN}])
    client.embeddings.create(model="mistral/mistral-embed", input="bonjour")
    recs = {r["endpoint"] + ":" + r["model"]: outcome(gateway, r["id"]) for r in gateway.records()}
    responses = recs["responses:gpt-4o-mini"]
    assert (responses["input_tokens"], responses["output_tokens"], responses["impact_status"]) == (9, 4, "estimated")
    assert recs["completions:mistral-small-latest"]["impact_status"] == "no_usage"
    for key in ("chat.completions:modele-maison", "chat.completions:llama-3"):  # unknown to EcoLogits
        rec = recs[key]
        assert (rec["input_tokens"], rec["output_tokens"]) == (5, 3)  # the tokens are kept all the same
        assert rec["impact_status"] == "unknown_model" and rec["impact_method"] == METHOD
        assert rec["energy_wh"] is None and rec["gco2e_g"] is None
    emb = recs["embeddings:mistral-embed"]
    assert (emb["input_tokens"], emb["output_tokens"], emb["impact_status"]) == (1, None, "unknown_model")
    assert gateway.store.verify().ok


def test_estimates_off_and_a_service_mapped_by_configuration(gateway_factory, fake):
    off = gateway_factory(sobriety={"impacts": False})
    raw = oa(off).chat.completions.with_raw_response.create(model="mistral/mistral-small-latest",
                                                            messages=[{"role": "user", "content": BENIGN}])
    rec = outcome(off, raw.headers["x-gardefou-audit-id"])
    assert (rec["input_tokens"], rec["output_tokens"]) == (5, 3)
    assert rec["impact_status"] is None and rec["impact_method"] is None and rec["energy_wh"] is None
    mapped = gateway_factory(sobriety={"services": {"internal": {"provider": "mistralai", "zone": "FRA"}}})
    raw = oa(mapped).chat.completions.with_raw_response.create(model="internal/mistral-small-latest",
                                                               messages=[{"role": "user", "content": BENIGN}])
    rec = outcome(mapped, raw.headers["x-gardefou-audit-id"])
    assert rec["impact_status"] == "estimated" and rec["energy_wh"] > 0


def test_the_usage_reader_does_not_hold_the_stream_back(gateway, fake):
    """With the usage reader on the relay, the first chunk still reaches the client while the provider
    holds back the rest (usage included)."""
    fake.release.clear()
    body = {"model": "mistral/gated", "messages": [{"role": "user", "content": BENIGN}], "stream": True,
            "stream_options": {"include_usage": True}}
    try:
        with httpx.stream("POST", gateway.v1 + "/chat/completions", json=body, timeout=10) as resp:
            chunks = resp.iter_raw()
            first = next(chunks)
            assert b"data:" in first and not fake.release.is_set()
            fake.release.set()
            rest = b"".join(chunks)
        assert b'"usage"' in rest and b"[DONE]" in rest
    finally:
        fake.release.set()
    rec = outcome(gateway, resp.headers["x-gardefou-audit-id"])
    assert (rec["input_tokens"], rec["output_tokens"]) == (11, 7)


# -- long conversations ---------------------------------------------------------------------------

TURNS = ["Peux-tu proposer un titre pour une note sur le tri des déchets au bureau ?", "Voici trois idées de titres.",
         "Rends le deuxième plus court.", "Le tri au bureau, simplement.",
         "Ajoute un sous-titre sur le recyclage du papier.", "Moins de papier, plus de tri.", "Traduis-le en anglais.",
         "Less paper, more sorting.", "Merci, propose aussi une affiche.", "Une affiche verte avec trois pictogrammes."]
#: one long pasted text (about 1,100 tokens by the characters / 4 estimate), harmless
PASTED = " ".join(f"Le point {i} de l'ordre du jour porte sur le budget de la signalétique et le choix des couleurs "
                  f"du hall numéro {i}." for i in range(40))


def _conversation(n: int) -> list[dict]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": TURNS[i]} for i in range(n)]


def test_a_long_conversation_gets_a_french_notice(gateway_factory, fake):
    gw = gateway_factory(sobriety={"long_conversation": {"max_messages": 6, "max_tokens": 400}})
    client = oa(gw)
    short = client.chat.completions.with_raw_response.create(model="mistral/mistral-small-latest",
                                                             messages=_conversation(6))
    assert "x-gardefou-notice" not in short.headers
    long = client.chat.completions.with_raw_response.create(model="mistral/mistral-small-latest",
                                                            messages=_conversation(7))
    assert long.headers["x-gardefou-notice"] == NOTICE_LONG_FR and "nouvelle conversation" in NOTICE_LONG_FR
    assert long.parse().choices[0].message.content == "Réponse du fournisseur."  # still answered
    # one long pasted message: past the tokens (estimated from the characters)
    pasted = client.chat.completions.with_raw_response.create(
        model="mistral/mistral-small-latest", messages=[{"role": "user", "content": PASTED}])
    assert "x-gardefou-notice" in pasted.headers
    an_long = an(gw).messages.with_raw_response.create(model="anthropic/claude-sonnet-4-5", max_tokens=10,
                                                       messages=_conversation(9))
    assert "x-gardefou-notice" in an_long.headers
    recs = {r["id"]: r for r in gw.records()}
    assert recs[short.headers["x-gardefou-audit-id"]]["notice"] is None
    assert recs[short.headers["x-gardefou-audit-id"]]["prompt_messages"] == 6
    for raw in (long, pasted, an_long):
        assert recs[raw.headers["x-gardefou-audit-id"]]["notice"] == "long_conversation"
    assert recs[long.headers["x-gardefou-audit-id"]]["prompt_messages"] == 7
    assert gw.store.verify().ok


def test_the_notice_header_is_latin1_french(gateway_factory, fake):
    gw = gateway_factory(sobriety={"long_conversation": {"max_messages": 1, "max_tokens": None}})
    resp = httpx.post(gw.v1 + "/chat/completions", timeout=10,
                      json={"model": "mistral/mistral-small-latest", "messages": _conversation(2)})
    assert resp.status_code == 200
    raw = dict(resp.headers.raw)[b"x-gardefou-notice"]
    assert raw.decode("latin-1") == NOTICE_LONG_FR  # accents intact, as HTTP header values carry them


# -- the sums in the statistics -------------------------------------------------------------------

def test_stats_sum_tokens_energy_and_long_conversations_by_service_and_department(gateway_factory, fake):
    from gateway.config import hash_key

    clients = [{"id": "poste-urg", "department": "urgences", "key_sha256": hash_key("cle-urg")},
               {"id": "poste-pha", "department": "pharmacie", "key_sha256": hash_key("cle-pha")}]
    gw = gateway_factory(auth={"mode": "api_key", "clients": clients},
                         sobriety={"long_conversation": {"max_messages": 4}})
    urg = openai.OpenAI(base_url=gw.v1, api_key="cle-urg", max_retries=0)
    pha = openai.OpenAI(base_url=gw.v1, api_key="cle-pha", max_retries=0)
    urg.chat.completions.create(model="mistral/mistral-small-latest", messages=_conversation(5))  # long
    urg.chat.completions.create(model="mistral/mistral-small-latest", messages=_conversation(1))
    pha.chat.completions.create(model="openai/gpt-4o-mini", messages=_conversation(1))
    pha.chat.completions.create(model="mistral/modele-maison", messages=_conversation(1))  # not estimated
    recs = [outcome(gw, r["id"]) for r in gw.records()]
    assert len(recs) == 4
    deps = {g["key"]: g for g in Q.stats(gw.store, Q.Filters(), "department")["groups"]}
    assert deps["urgences"]["input_tokens"] == 10 and deps["urgences"]["output_tokens"] == 6
    assert deps["urgences"]["long_conversations"] == 1 and deps["pharmacie"]["long_conversations"] == 0
    assert deps["urgences"]["estimated"] == 2 and deps["pharmacie"]["estimated"] == 1
    assert deps["pharmacie"]["not_estimated"] == 1
    urg_wh = sum(r["energy_wh"] for r in recs if r["department"] == "urgences")
    assert deps["urgences"]["energy_wh"] == pytest.approx(urg_wh, abs=1e-6) and urg_wh > 0
    svc = {g["key"]: g for g in Q.stats(gw.store, Q.Filters(), "service")["groups"]}
    assert svc["openai"]["estimated"] == 1 and svc["mistral"]["not_estimated"] == 1
    assert svc["openai"]["gco2e_g"] == pytest.approx(next(r["gco2e_g"] for r in recs if r["service_id"] == "openai"))
    total = Q.stats(gw.store, Q.Filters(), "day")
    assert total["sobriety"]["output_tokens"] == 12 and total["sobriety"]["long_conversations"] == 1
    assert total["sobriety"]["energy_wh"] == pytest.approx(sum(r["energy_wh"] or 0 for r in recs), abs=1e-6)
    paris = Q.stats(gw.store, Q.Filters(), "day", tz=Q.PARIS)["groups"]
    assert sum(g["output_tokens"] for g in paris) == 12
    # the CSV export carries them, in French number format
    csv_text = "".join(Q.export_csv(gw.store, Q.Filters(department="urgences")))
    header, *rows = csv_text.lstrip("\ufeff").strip().split("\r\n")
    cols = header.split(";")
    assert cols[-8:] == ["nb_messages", "avis", "jetons_entree", "jetons_sortie", "energie_estimee_wh",
                         "co2e_estime_g", "estimation", "methode_estimation"]
    cells = [dict(zip(cols, r.split(";"))) for r in rows]
    assert {c["avis"] for c in cells} == {"long_conversation", ""}
    assert all("," in c["energie_estimee_wh"] and c["methode_estimation"] == METHOD for c in cells)


def test_configuration_errors_name_the_key():
    from gateway.config import ConfigError, parse_config

    for text, expected in (
        ("sobriety:\n  services:\n    internal: {provider: azure}\n", "line 3: sobriety.services.internal.provider"),
        ("sobriety:\n  services:\n    inconnu: {provider: openai}\n", "sobriety.services.inconnu: unknown service"),
        ("sobriety:\n  services:\n    openai: {provider: openai, zone: France}\n", "sobriety.services.openai.zone"),
        ("sobriety:\n  long_conversation: {max_messages: 0}\n", "sobriety.long_conversation.max_messages"),
        ("charter:\n  version: v1\n", "charter: give the charter's url, its text, or both"),
        ("charter:\n  version: 'v 1'\n  url: https://x.example/c\n", "charter.version"),
    ):
        with pytest.raises(ConfigError) as exc:
            parse_config(text)
        assert expected in str(exc.value), str(exc.value)
    cfg = parse_config("sobriety:\n  long_conversation: {max_messages: null, max_tokens: null}\n")
    assert cfg.sobriety.long_conversation.max_messages is None and cfg.charter is None
