"""Anthropic Messages wire format."""

from __future__ import annotations

from typing import Any, ClassVar

from gateway.adapters.base import base_upstream_headers, require, upstream_key
from gateway.extract import Extracted, walk
from policies.catalogue import Service

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 413: "request_too_large", 504: "timeout_error"}


class AnthropicAdapter:
    forwarded_headers: ClassVar[tuple[str, ...]] = ("anthropic-version", "anthropic-beta")
    api: ClassVar[str] = "anthropic"

    def extract(self, endpoint: str, body: dict[str, Any]) -> Extracted:
        messages = body.get("messages")
        require(isinstance(messages, list) and len(messages) > 0, "Le champ « messages » doit être une liste non vide.", "messages")
        require(all(isinstance(m, dict) for m in messages), "Chaque message doit être un objet JSON.", "messages")
        system = body.get("system")
        require(system is None or isinstance(system, (str, list)), "Le champ « system » doit être un texte ou une liste.", "system")
        out = Extracted()
        walk(body, out)
        return out

    def error_body(self, status: int, code: str, message: str, param: str | None = None) -> dict:
        return {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message}}

    def upstream_url(self, service: Service, path: str) -> str:
        # The Anthropic SDK's base_url has no /v1; ``path`` is "/messages" after our /v1 prefix.
        return service.base_url.rstrip("/") + "/v1" + path

    def upstream_headers(self, service: Service, headers: dict[str, str]) -> dict[str, str]:
        out = base_upstream_headers(headers)
        key = upstream_key(service)
        if key:
            out["x-api-key"] = key
        return out
