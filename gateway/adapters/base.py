"""What every API adapter provides to the server."""

from __future__ import annotations

import os
from typing import Any, ClassVar, Protocol

from gateway.extract import Extracted
from policies.catalogue import Service


class BadRequest(Exception):
    """A request the gateway refuses before inspection. ``message`` is in French, for the user."""

    def __init__(self, message: str, param: str | None = None, status: int = 400, code: str = "invalid_request"):
        super().__init__(message)
        self.message = message
        self.param = param
        self.status = status
        self.code = code


# Client headers relayed upstream, by name (everything else, the client's own key and User-Agent
# included, is dropped). Their values are scanned with the body.
_FORWARDED_REQUEST_HEADERS = ("accept",)


class Adapter(Protocol):
    api: ClassVar[str]
    #: the client headers of this API relayed upstream (lower case), on top of ``accept``
    forwarded_headers: ClassVar[tuple[str, ...]]

    def extract(self, endpoint: str, body: dict[str, Any]) -> Extracted: ...

    def error_body(self, status: int, code: str, message: str, param: str | None = None) -> dict: ...

    def upstream_url(self, service: Service, path: str) -> str: ...

    def upstream_headers(self, service: Service, headers: dict[str, str]) -> dict[str, str]: ...


def client_headers(adapter: Adapter, headers) -> dict[str, str]:
    """The client headers to relay upstream: an allow-list of names; the caller scans their values."""
    allowed = _FORWARDED_REQUEST_HEADERS + adapter.forwarded_headers
    return {k.lower(): v for k, v in headers.items() if k.lower() in allowed}


def base_upstream_headers(forwarded: dict[str, str]) -> dict[str, str]:
    out = dict(forwarded)
    out["content-type"] = "application/json"
    out["accept-encoding"] = "identity"
    return out


def upstream_key(service: Service) -> str | None:
    if not service.api_key_env:
        return None
    key = os.environ.get(service.api_key_env)
    if not key:
        raise BadRequest(
            f"La clé d'API du service « {service.name} » n'est pas configurée sur la passerelle "
            f"(variable d'environnement {service.api_key_env}). Contactez la DSN.",
            status=502,
            code="gardefou_upstream_not_configured",
        )
    return key


def require(cond: bool, message: str, param: str) -> None:
    if not cond:
        raise BadRequest(message, param)
