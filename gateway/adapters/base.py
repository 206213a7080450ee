"""What an adapter is: one wire format, everything the pipeline and the ingress need to know of it.

An adapter declares its routes, reads the client's key and the request's target (service and model),
extracts the text, builds the upstream body, URL and headers, and shapes errors the way its clients'
SDKs expect them. Adding a provider format (Gemini's model-in-URL and ``x-goog-api-key``, Mistral's
native endpoints) means one new subclass; the pipeline does not change.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from gateway.extract import Extracted, walk
from gateway.pipeline import Incoming, Refusal, parse_json_object
from policies.catalogue import Catalogue, Service
from policies.vocabulary import Wire


@dataclass(frozen=True)
class Route:
    """A path the gateway serves: the endpoint's name (audit), the path appended to the service's
    base URL upstream, and the body field that must carry the prompt."""

    endpoint: str
    upstream_path: str
    prompt_field: str


# Client headers relayed upstream by every adapter (everything else, the client's own key and
# User-Agent included, is dropped). Their values are scanned with the body.
_FORWARDED_REQUEST_HEADERS = ("accept",)

MODEL_FORM_FR = "SERVICE/MODELE (par exemple mistral/mistral-small-latest)"


class Adapter:
    api: ClassVar[Wire]
    #: path -> route, for the requests this format forwards
    routes: ClassVar[dict[str, Route]]
    #: the client headers of this API relayed upstream (lower case), on top of ``accept``
    forwarded_headers: ClassVar[tuple[str, ...]] = ()
    #: HTTP status -> the error ``type`` this format's SDKs expect
    error_types: ClassVar[dict[int, str]] = {}
    #: a request without a client key is the client at its address (even under ``auth.mode: api_key``)
    key_optional: ClassVar[bool] = False
    #: the request must speak its service's API format (``Service.api``); not for the browser path
    speaks_service_api: ClassVar[bool] = True
    #: its extraction may read documents (PDF, .docx): always off the event loop, whatever the size
    reads_documents: ClassVar[bool] = False

    # -- request --------------------------------------------------------------------------------
    def client_key(self, headers: Mapping[str, str]) -> str | None:
        """The key the client presents to the gateway (``x-api-key`` or a bearer token)."""
        key = headers.get("x-api-key")
        auth = headers.get("authorization", "")
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        return key or None

    def parse(self, raw: bytes, inc: Incoming) -> Any:
        return parse_json_object(raw)

    def target(self, inc: Incoming, body: Any, catalogue: Catalogue) -> tuple[str | None, str | None]:
        """(service reference, upstream model) from the body's ``model``, aliases resolved."""
        model = body.get("model")
        if not isinstance(model, str) or not model.strip():
            raise Refusal(400, "missing_model", f"Le champ « model » est obligatoire, sous la forme {MODEL_FORM_FR}.",
                          "request.missing_model", "model")
        service_ref, upstream_model = catalogue.resolve_model(model)
        if service_ref is None:
            raise Refusal(400, "invalid_model", f"Le modèle demandé doit être de la forme {MODEL_FORM_FR} "
                          "ou un alias configuré.", "request.invalid_model", "model")
        return service_ref, upstream_model

    def extract(self, endpoint: str, body: Any) -> Extracted:
        self.validate(endpoint, body)
        out = Extracted()
        walk(body, out)
        return out

    def validate(self, endpoint: str, body: dict[str, Any]) -> None:
        """Refuse a body whose prompt field has the wrong shape (the SDKs' own checks, in French)."""

    def message_count(self, endpoint: str, body: Any) -> int | None:
        """How many messages of a conversation the request carries (long conversations: the sobriety
        notice); None when the format has no list of messages."""
        messages = body.get("messages") if isinstance(body, dict) else None
        return len(messages) if isinstance(messages, list) else None

    def client_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The client headers to relay upstream: an allow-list of names; the pipeline scans their values."""
        allowed = _FORWARDED_REQUEST_HEADERS + self.forwarded_headers
        return {k.lower(): v for k, v in headers.items() if k.lower() in allowed}

    # -- upstream -------------------------------------------------------------------------------
    def upstream_body(self, body: Any, model: str | None) -> bytes:
        return json.dumps({**body, "model": model}, ensure_ascii=False).encode("utf-8")

    def upstream_url(self, service: Service, route: Route) -> str:
        raise NotImplementedError

    def upstream_headers(self, service: Service, forwarded: dict[str, str]) -> dict[str, str]:
        out = dict(forwarded)
        out["content-type"] = "application/json"
        out["accept-encoding"] = "identity"
        return out

    # -- errors ---------------------------------------------------------------------------------
    def error_body(self, status: int, code: str, message: str, param: str | None = None) -> dict:
        raise NotImplementedError

    def route_for(self, path: str) -> Route | None:
        return self.routes.get(path)

    def owns(self, path: str) -> bool:
        """Whether an error on ``path`` should be shaped by this adapter."""
        return any(path == p or path.startswith(p + "/") for p in self.routes)


def upstream_key(service: Service) -> str | None:
    if not service.api_key_env:
        return None
    key = os.environ.get(service.api_key_env)
    if not key:
        raise Refusal(
            502, "gardefou_upstream_not_configured",
            f"La clé d'API du service « {service.name} » n'est pas configurée sur la passerelle "
            f"(variable d'environnement {service.api_key_env}). Contactez la DSN.",
            "upstream.not_configured",
        )
    return key


def require(cond: bool, message: str, param: str) -> None:
    if not cond:
        raise Refusal(400, "invalid_request", message, "request.invalid", param)
