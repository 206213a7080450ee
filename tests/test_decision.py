"""The charter's decision matrix, as a pure function."""

import pytest

from policies.catalogue import BUILTIN_SERVICES, Catalogue, Service, is_compliant, merge_services
from policies.decision import Policy, decide

EU = Service(id="eu", name="EU", hosting="eu", trains_on_inputs=False)
US = Service(id="us", name="US", hosting="non-eu", trains_on_inputs=True)
EU_TRAINING = Service(id="eut", name="EUT", hosting="eu", trains_on_inputs=True)
INTERNAL = Service(id="in", name="Interne", hosting="internal", trains_on_inputs=False, accepts=("personal", "health"))
DENIED = Service(id="no", name="Interdit", hosting="eu", trains_on_inputs=False, status="denied")
P = Policy()


def test_compliance_rule():
    assert is_compliant(EU) and is_compliant(INTERNAL)
    assert not is_compliant(US) and not is_compliant(EU_TRAINING)


@pytest.mark.parametrize("cat", ["personal", "health", "confidential", "secret"])
@pytest.mark.parametrize("svc", [EU, US, EU_TRAINING])
def test_sensitive_blocked_on_external(cat, svc):
    d = decide([cat], svc, P)
    assert d.action == "block" and d.rule_ids == (f"charter.{cat}",) and not d.forwarded


def test_matrix_for_non_sensitive():
    assert decide([], EU, P).action == "allow"
    assert decide([], US, P).action == "warn" and decide([], US, P).forwarded
    assert decide([], EU_TRAINING, P).action == "warn"


def test_internal_accepts_what_it_lists_only():
    assert decide(["personal", "health"], INTERNAL, P).action == "allow"
    d = decide(["personal", "confidential"], INTERNAL, P)
    assert d.action == "block" and d.blocked_categories == ("confidential",)


def test_unknown_and_denied():
    assert decide([], None, P, service_ref="x").rule_ids == ("service.unknown",)
    assert decide([], DENIED, P).rule_ids == ("service.denied",)


def test_uninspectable():
    assert decide(["uninspectable"], EU, P).action == "block"
    assert decide(["uninspectable"], EU, Policy(uninspectable="allow")).action == "allow"
    assert decide(["uninspectable"], INTERNAL, P).action == "allow"


def test_require_ack():
    pol = Policy(warn_mode="require_ack")
    d = decide([], US, pol)
    assert d.action == "warn" and d.ack_required and not d.forwarded
    d = decide([], US, pol, acknowledged=True)
    assert d.forwarded and not d.ack_required
    assert decide([], EU, pol).action == "allow"


def test_reasons_are_french_and_name_the_service():
    d = decide(["health", "personal"], US, P)
    assert "données de santé" in d.reasons[0] and "données personnelles" in d.reasons[0] and "« US »" in d.reasons[0]
    assert d.categories == ("personal", "health")


def test_builtin_catalogue_has_the_charter_services():
    ids = {s["id"] for s in BUILTIN_SERVICES}
    assert ids == {"mistral", "openai", "anthropic", "google-gemini", "microsoft-copilot", "xai-grok",
                   "midjourney", "elevenlabs", "deepl", "google-translate"}
    cat = Catalogue(merge_services([]))
    assert is_compliant(cat.get("mistral"))
    assert [s.id for s in cat.services.values() if is_compliant(s)] == ["mistral"]
    assert cat.by_host("chat.mistral.ai").id == "mistral" and cat.by_host("chatgpt.com").id == "openai"
    assert cat.by_host("example.org") is None


def test_merge_and_aliases():
    cat = Catalogue(merge_services([{"id": "openai", "trains_on_inputs": False, "hosting": "eu"}]), {"vite": "mistral/small"})
    assert is_compliant(cat.get("openai")) and cat.get("openai").base_url == "https://api.openai.com/v1"
    assert cat.resolve_model("vite") == ("mistral", "small")
    assert cat.resolve_model("anthropic/claude-x") == ("anthropic", "claude-x")
    assert cat.resolve_model("gpt-4o") == (None, "gpt-4o")


def test_unsure_categories_ask_for_confirmation_then_pass_as_a_warning():
    d = decide([], EU, P, unsure=["health"])
    assert d.action == "warn" and d.ack_required and not d.forwarded
    assert "données de santé" in d.reasons[0] and "sans certitude" in d.reasons[0]
    d = decide([], EU, P, unsure=["health"], acknowledged=True)
    assert d.action == "warn" and d.forwarded and "warn.acknowledged" in d.rule_ids
    # found for sure: a block, whatever the doubt; accepted by an internal service: no question asked
    assert decide(["health"], EU, P, unsure=["health"]).action == "block"
    assert decide([], INTERNAL, P, unsure=["health"]).action == "allow"
