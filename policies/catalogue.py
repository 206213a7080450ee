"""The service catalogue: AI services and their compliance attributes, as data.

The built-in catalogue lists the external services named by the seed charters. Institutions merge
their own entries over it by ``id`` (configuration key ``services``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from policies.vocabulary import AiActRisk, Api, AuditCategory, DpiaStatus, Hosting, ServiceStatus, WebApp

# A host entry of the catalogue: an exact name or a ``*.domain`` wildcard (any name ending in
# ``.domain``, at any depth, not ``domain`` itself), optionally ``:port`` (that port only; without it,
# any port). Names are lower-case ASCII (IDN names are stored in their punycode form).
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_ENTRY = re.compile(rf"(?P<wild>\*\.)?(?P<name>{_LABEL}(?:\.{_LABEL})*)(?::(?P<port>[0-9]{{1,5}}))?")


@dataclass(frozen=True)
class HostPattern:
    """One parsed ``hosts`` entry."""

    name: str
    wildcard: bool = False
    port: int | None = None

    def matches(self, host: str, port: int | None) -> bool:
        if self.port is not None and self.port != port:
            return False
        return host.endswith("." + self.name) if self.wildcard else host == self.name

    def __str__(self) -> str:
        return ("*." if self.wildcard else "") + self.name + (f":{self.port}" if self.port is not None else "")


def parse_host_entry(entry: str) -> HostPattern:
    """``chat.mistral.ai``, ``*.mistral.ai``, ``localhost:8443``... as a ``HostPattern`` (ValueError if
    it is none of these)."""
    text = entry.strip().lower().rstrip(".")
    try:  # an IDN name in Unicode: its ASCII (punycode) form, the one browsers and the PAC see
        text = ".".join(label if label.isascii() or label == "*" else label.encode("idna").decode("ascii")
                        for label in text.split("."))
    except UnicodeError:
        raise ValueError(f"{entry!r} is not a valid host name") from None
    m = _HOST_ENTRY.fullmatch(text)
    if not m:
        raise ValueError(f"{entry!r} is not a host name, a '*.domain' wildcard or either with ':port'")
    port = int(m.group("port")) if m.group("port") else None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"{entry!r}: the port must be between 1 and 65535")
    if m.group("wild") and "." not in m.group("name"):
        raise ValueError(f"{entry!r}: a wildcard must name a domain with at least two labels (not a whole TLD)")
    return HostPattern(m.group("name"), bool(m.group("wild")), port)


def _host_entry(value: str) -> str:
    return str(parse_host_entry(value))


#: a ``hosts`` entry, validated and written in its normal form
HostEntry = Annotated[str, AfterValidator(_host_entry)]


class Governance(BaseModel):
    """What the register of AI systems records about a service beyond its compliance attributes: the
    fields the ESMS guide's validation steps ask for, and the AI Act's risk level. Informative (the
    decision never reads them); exported by ``gardefou register export`` and the dashboard."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: what the institution uses it for (finalité)
    purpose: str | None = None
    ai_act_risk: AiActRisk | None = None
    #: the data-protection impact assessment (AIPD)
    dpia: DpiaStatus | None = None
    validated_by: str | None = None
    validated_on: date | None = None
    #: date of the last review of this entry
    reviewed_on: date | None = None


class Service(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str
    api: Api | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    hosts: tuple[HostEntry, ...] = ()
    hosting: Hosting = "non-eu"
    # strict booleans: a quoted "false" is a mistake to report, not a value to guess
    trains_on_inputs: StrictBool = True
    nominative_account: StrictBool = False
    accepts: tuple[AuditCategory, ...] = ()
    status: ServiceStatus = "allowed"
    #: the contract under which it is used (free text: "CGU grand public", "contrat entreprise + DPA
    #: art. 28 signé le ..."); None: none recorded
    contract: str | None = None
    #: the host is certified to hold health data (HDS, art. L.1111-8 CSP); informative, like ``contract``
    hds: StrictBool = False
    governance: Governance | None = None
    models: tuple[str, ...] = ()
    #: browser path: TLS terminated with the institution CA and every request inspected (False: the
    #: destination alone decides, the connection is tunnelled unread)
    inspect: StrictBool = False
    #: browser path: the web app whose own reply format a refusal is written in, for the app's
    #: conversation requests (None: the generic JSON 403)
    web_app: WebApp | None = None


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
        hosts=("mistral.ai", "*.mistral.ai"),
        web_app="lechat",
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
        hosts=("chatgpt.com", "*.chatgpt.com", "openai.com", "*.openai.com"),
        web_app="chatgpt",
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
        hosts=("claude.ai", "*.claude.ai", "api.anthropic.com"),
        web_app="claude",
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
        hosts=("grok.com", "*.grok.com", "x.ai", "*.x.ai"),
        hosting="non-eu",
        trains_on_inputs=True,
        nominative_account=True,
        models=("grok-4",),
    ),
    dict(
        id="midjourney",
        name="Midjourney",
        hosts=("midjourney.com", "*.midjourney.com"),
        hosting="non-eu",
        trains_on_inputs=True,
        nominative_account=True,
    ),
    dict(
        id="elevenlabs",
        name="ElevenLabs",
        hosts=("elevenlabs.io", "*.elevenlabs.io"),
        hosting="non-eu",
        trains_on_inputs=True,
        nominative_account=True,
    ),
    dict(
        id="deepl",
        name="DeepL",
        hosts=("deepl.com", "*.deepl.com"),
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
        #: every host entry with its service, most specific first (exact before wildcard, a port before
        #: none, a longer wildcard domain before a shorter one): the order ``by_host`` tries them in
        self.host_patterns: list[tuple[HostPattern, Service]] = sorted(
            ((parse_host_entry(h), svc) for svc in self.services.values() for h in svc.hosts),
            key=lambda item: (item[0].wildcard, item[0].port is None, -len(item[0].name)))

    def get(self, service_id: str | None) -> Service | None:
        return self.services.get(service_id) if service_id else None

    def resolve_model(self, model: str) -> tuple[str | None, str]:
        """Split ``SERVICE_ID/UPSTREAM_MODEL`` (after alias expansion) into its two parts."""
        model = self.aliases.get(model, model)
        service_id, sep, upstream = model.partition("/")
        if not sep or not upstream:
            return None, model
        return service_id, upstream

    def by_host(self, host: str, port: int | None = None) -> Service | None:
        """The service a host (and port) belongs to: the most specific matching entry of any service,
        allowed or denied; None for a host outside the catalogue."""
        host = host.lower().rstrip(".")
        for pattern, svc in self.host_patterns:
            if pattern.matches(host, port):
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
