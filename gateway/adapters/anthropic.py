"""Anthropic Messages wire format (messages and token counting)."""

from __future__ import annotations

from typing import Any, ClassVar

from gateway.adapters.base import Adapter, Route, require, upstream_key
from policies.catalogue import Service
from policies.vocabulary import Api


class AnthropicAdapter(Adapter):
    api: ClassVar[Api] = "anthropic"
    routes: ClassVar[dict[str, Route]] = {
        "/v1/messages": Route("messages", "/v1/messages", "messages"),
        "/v1/messages/count_tokens": Route("messages.count_tokens", "/v1/messages/count_tokens", "messages"),
    }
    forwarded_headers: ClassVar[tuple[str, ...]] = ("anthropic-version", "anthropic-beta")
    error_types: ClassVar[dict[int, str]] = {400: "invalid_request_error", 401: "authentication_error",
                                             403: "permission_error", 404: "not_found_error",
                                             413: "request_too_large", 429: "rate_limit_error",
                                             504: "timeout_error"}

    def validate(self, endpoint: str, body: dict[str, Any]) -> None:
        messages = body.get("messages")
        require(isinstance(messages, list) and len(messages) > 0, "Le champ « messages » doit être une liste non vide.",
                "messages")
        require(isinstance(messages, list) and all(isinstance(m, dict) for m in messages),
                "Chaque message doit être un objet JSON.", "messages")
        system = body.get("system")
        require(system is None or isinstance(system, (str, list)), "Le champ « system » doit être un texte ou une liste.",
                "system")

    def error_body(self, status: int, code: str, message: str, param: str | None = None) -> dict:
        return {"type": "error", "error": {"type": self.error_types.get(status, "api_error"), "message": message}}

    def upstream_url(self, service: Service, route: Route) -> str:
        # The Anthropic SDK's base_url has no /v1: the route's upstream path carries it.
        assert service.base_url is not None
        return service.base_url.rstrip("/") + route.upstream_path

    def upstream_headers(self, service: Service, forwarded: dict[str, str]) -> dict[str, str]:
        out = super().upstream_headers(service, forwarded)
        key = upstream_key(service)
        if key:
            out["x-api-key"] = key
        return out
