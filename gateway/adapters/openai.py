"""OpenAI wire format: chat completions, completions, embeddings, responses (the model list is the
API ingress's own answer)."""

from __future__ import annotations

from typing import Any, ClassVar

from gateway.adapters.base import Adapter, Route, require, upstream_key
from gateway.extract import Extracted, is_token_array, walk
from policies.catalogue import Service
from policies.vocabulary import Api


class OpenAIAdapter(Adapter):
    api: ClassVar[Api] = "openai"
    routes: ClassVar[dict[str, Route]] = {
        "/v1/chat/completions": Route("chat.completions", "/chat/completions", "messages"),
        "/v1/completions": Route("completions", "/completions", "prompt"),
        "/v1/embeddings": Route("embeddings", "/embeddings", "input"),
        "/v1/responses": Route("responses", "/responses", "input"),
    }
    forwarded_headers: ClassVar[tuple[str, ...]] = ("openai-organization", "openai-project", "openai-beta")
    error_types: ClassVar[dict[int, str]] = {400: "invalid_request_error", 401: "invalid_request_error",
                                             403: "policy_violation", 404: "invalid_request_error",
                                             413: "invalid_request_error"}
    _fields: ClassVar[dict[str, str]] = {r.endpoint: r.prompt_field for r in routes.values()}

    def validate(self, endpoint: str, body: dict[str, Any]) -> None:
        field = self._fields[endpoint]
        value = body.get(field)
        if endpoint == "chat.completions":
            require(isinstance(value, list) and len(value) > 0, "Le champ « messages » doit être une liste non vide.", field)
            require(isinstance(value, list) and all(isinstance(m, dict) for m in value),
                    "Chaque message doit être un objet JSON.", field)
        elif endpoint == "responses":
            require(isinstance(value, (str, list)) or isinstance(body.get("instructions"), str),
                    "Le champ « input » doit être un texte ou une liste.", field)
        else:
            require(isinstance(value, (str, list)) and value != [],
                    f"Le champ « {field} » doit être un texte ou une liste non vide.", field)

    def extract(self, endpoint: str, body: dict[str, Any]) -> Extracted:
        self.validate(endpoint, body)
        field = self._fields[endpoint]
        out = Extracted()
        if endpoint in ("completions", "embeddings") and is_token_array(body.get(field)):
            out.mark("tokens")  # pre-tokenised input: the gateway cannot read it
            walk({k: v for k, v in body.items() if k != field}, out)
            return out
        walk(body, out)
        return out

    def message_count(self, endpoint: str, body: dict[str, Any]) -> int | None:
        if endpoint == "responses":  # the conversation is ``input`` (a text is one message)
            value = body.get("input")
            return len(value) if isinstance(value, list) else 1 if isinstance(value, str) else None
        return super().message_count(endpoint, body)

    def error_body(self, status: int, code: str, message: str, param: str | None = None) -> dict:
        return {"error": {"message": message, "type": self.error_types.get(status, "api_error"), "code": code,
                          "param": param}}

    def upstream_url(self, service: Service, route: Route) -> str:
        # The OpenAI SDK's base_url ends in /v1; the route's upstream path is what follows it.
        assert service.base_url is not None
        return service.base_url.rstrip("/") + route.upstream_path

    def upstream_headers(self, service: Service, forwarded: dict[str, str]) -> dict[str, str]:
        out = super().upstream_headers(service, forwarded)
        key = upstream_key(service)
        if key:
            out["authorization"] = f"Bearer {key}"
        return out
