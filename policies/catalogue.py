"""The service catalogue: AI services and their compliance attributes, as data.

The built-in catalogue lists the external services named by the seed charters. Institutions merge
their own entries over it by ``id`` (configuration key ``services``).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from policies.vocabulary import Api, AuditCategory, Hosting, ServiceStatus


class Service(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str
    api: Api | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    hosts: tuple[str, ...] = ()
    hosting: Hosting = "non-eu"
    trains_on_inputs: bool = True
    nominative_account: bool = False
    accepts: tuple[AuditCategory, ...] = ()
    status: ServiceStatus = "allowed"
    models: tuple[str, ...] = ()


def is_compliant(service: Service) -> bool:
    """The charter's definition: hosted in the EU (or internal) and not training on inputs."""
    return service.hosting in ("eu", "internal") and not service.trains_on_inputs


# Honest defaults: consumer offers of US providers are hosted outside the EU and may train on
# inputs unless an enterprise contract says otherwise; an institution with such a contract
# overrides the entry in its configuration.
BUILTIN_SERVICES: list[dict] = [
    dict(
        id="mistral",
        name="Le Chat / La Plateforme (Mistral AI)",
        api="openai",
        base_url="https://api.mistral.ai/v1",
        api_key_env="MISTRAL_API_KEY",
        hosts=("chat.mistral.ai", "api.mistral.ai", "console.mistral.ai"),
        hosting="eu",
        trains_on_inputs=False,
        models=("mistral-small-latest", "mistral-medium-latest", "mistral-large-latest", "mistral-embed"),
    ),
    dict(
        id="openai",
        name="ChatGPT / API OpenAI",
        api="openai",
        base_url="https://api.openai.com/v1",
        api_key_env="OPENAI_API_KEY",
        hosts=("chatgpt.com", "chat.openai.com", "api.openai.com", "openai.com"),
        hosting="non-eu",
        trains_on_inputs=True,
        nominative_account=True,
        models=("gpt-4o-mini", "gpt-4o", "gpt-4.1", "text-embedding-3-small"),
    ),
    dict(
        id="anthropic",
        name="Claude (Anthropic)",
        api="anthropic",
        base_url="https://api.anthropic.com",
        api_key_env="ANTHROPIC_API_KEY",
        hosts=("claude.ai", "api.anthropic.com"),
        hosting="non-eu",
        trains_on_inputs=True,
        nominative_account=True,
        models=("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"),
    ),
    dict(
        id="google-gemini",
        name="Gemini (Google)",
        api="openai",
        base_url="https://generativelanguage.googleapis.com/v1beta/openai",
        api_key_env="GEMINI_API_KEY",
        hosts=("gemini.google.com", "generativelanguage.googleapis.com", "aistudio.google.com"),
        hosting="non-eu",
        trains_on_inputs=True,
        nominative_account=True,
        models=("gemini-2.5-flash", "gemini-2.5-pro"),
    ),
    dict(
        id="microsoft-copilot",
        name="Copilot (Microsoft)",
        hosts=("copilot.microsoft.com", "copilot.cloud.microsoft", "m365.cloud.microsoft"),
        hosting="non-eu",
        trains_on_inputs=True,
        nominative_account=True,
    ),
    dict(
        id="xai-grok",
        name="Grok (xAI)",
        api="openai",
        base_url="https://api.x.ai/v1",
        api_key_env="XAI_API_KEY",
        hosts=("grok.com", "x.ai", "api.x.ai"),
        hosting="non-eu",
        trains_on_inputs=True,
        nominative_account=True,
        models=("grok-4",),
    ),
    dict(
        id="midjourney",
        name="Midjourney",
        hosts=("midjourney.com", "www.midjourney.com"),
        hosting="non-eu",
        trains_on_inputs=True,
        nominative_account=True,
    ),
    dict(
        id="elevenlabs",
        name="ElevenLabs",
        hosts=("elevenlabs.io", "api.elevenlabs.io"),
        hosting="non-eu",
        trains_on_inputs=True,
        nominative_account=True,
    ),
    dict(
        id="deepl",
        name="DeepL",
        hosts=("www.deepl.com", "deepl.com", "api.deepl.com", "api-free.deepl.com"),
        hosting="eu",
        # The free offer may use texts to improve the service; DeepL Pro does not.
        trains_on_inputs=True,
    ),
    dict(
        id="google-translate",
        name="Google Traduction",
        hosts=("translate.google.com", "translate.google.fr", "translation.googleapis.com"),
        hosting="non-eu",
        trains_on_inputs=True,
    ),
]


class Catalogue:
    """Services by id, plus model aliases (``alias -> "service/model"``)."""

    def __init__(self, services: list[Service], aliases: dict[str, str] | None = None):
        self.services: dict[str, Service] = {s.id: s for s in services}
        self.aliases = dict(aliases or {})

    def get(self, service_id: str | None) -> Service | None:
        return self.services.get(service_id) if service_id else None

    def resolve_model(self, model: str) -> tuple[str | None, str]:
        """Split ``SERVICE_ID/UPSTREAM_MODEL`` (after alias expansion) into its two parts."""
        model = self.aliases.get(model, model)
        service_id, sep, upstream = model.partition("/")
        if not sep or not upstream:
            return None, model
        return service_id, upstream

    def by_host(self, host: str) -> Service | None:
        host = host.lower().rstrip(".")
        for svc in self.services.values():
            for h in svc.hosts:
                if host == h or host.endswith("." + h):
                    return svc
        return None


def merge_service_data(overrides: list[dict]) -> dict[str, dict]:
    """Configured service entries merged over the built-in ones, field by field, by id (not validated)."""
    merged: dict[str, dict] = {s["id"]: dict(s) for s in BUILTIN_SERVICES}
    for entry in overrides:
        base = merged.get(entry["id"], {})
        merged[entry["id"]] = {**base, **entry}
    return merged


def merge_services(overrides: list[dict]) -> list[Service]:
    """Merge configured service entries over the built-in ones, field by field, by id."""
    return [Service(**data) for data in merge_service_data(overrides).values()]


# A model or service name as clients and providers write them ("mistral-small-latest",
# "gpt-4o-2024-08-06"): letters first, no run of 9 digits (a phone, a NIR, a SIREN).
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._:+-]{0,63}")
_DATA_LIKE = re.compile(r"\d{9}|\d(?:[ .-]?\d){8}")


def client_name(value: str | None) -> str | None:
    """A client-supplied model or service name, fit to store or to quote; ``"(masqué)"`` when it
    does not look like a name (it may be data: the audit never keeps client text)."""
    if value is None or (_NAME.fullmatch(value) and not _DATA_LIKE.search(value)):
        return value
    return "(masqué)"
