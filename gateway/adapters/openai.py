"""OpenAI wire format: chat completions, completions, embeddings, responses, models."""

from __future__ import annotations

from typing import Any, ClassVar

from gateway.adapters.base import base_upstream_headers, require, upstream_key
from gateway.extract import Extracted, is_token_array, walk
from policies.catalogue import Service

ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "policy_violation",
               404: "invalid_request_error", 413: "invalid_request_error"}

# endpoint name -> the body field that must carry the prompt
ENDPOINTS = {
    "chat.completions": "messages",
    "completions": "prompt",
    "embeddings": "input",
    "responses": "input",
}


class OpenAIAdapter:
    forwarded_headers: ClassVar[tuple[str, ...]] = ("openai-organization", "openai-project", "openai-beta")
    api: ClassVar[str] = "openai"

    def extract(self, endpoint: str, body: dict[str, Any]) -> Extracted:
        field = ENDPOINTS[endpoint]
        value = body.get(field)
        if endpoint == "chat.completions":
            require(isinstance(value, list) and len(value) > 0, "Le champ « messages » doit être une liste non vide.", field)
            require(all(isinstance(m, dict) for m in value), "Chaque message doit être un objet JSON.", field)
        elif endpoint == "responses":
            require(
                isinstance(value, (str, list)) or isinstance(body.get("instructions"), str),
                "Le champ « input » doit être un texte ou une liste.",
                field,
            )
        else:
            require(
                isinstance(value, (str, list)) and value != [],
                f"Le champ « {field} » doit être un texte ou une liste non vide.",
                field,
            )
        out = Extracted()
        if endpoint in ("completions", "embeddings") and is_token_array(value):
            out.mark("tokens")
            rest = {k: v for k, v in body.items() if k != field}
            walk(rest, out)
            return out
        walk(body, out)
        return out

    def error_body(self, status: int, code: str, message: str, param: str | None = None) -> dict:
        err_type = ERROR_TYPES.get(status, "api_error")
        return {"error": {"message": message, "type": err_type, "code": code, "param": param}}

    def upstream_url(self, service: Service, path: str) -> str:
        # The OpenAI SDK's base_url ends in /v1; ``path`` is what follows it ("/chat/completions").
        return service.base_url.rstrip("/") + path

    def upstream_headers(self, service: Service, headers: dict[str, str]) -> dict[str, str]:
        out = base_upstream_headers(headers)
        key = upstream_key(service)
        if key:
            out["authorization"] = f"Bearer {key}"
        return out
