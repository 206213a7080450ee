"""Forwarding an inspected request to its service with httpx, and relaying the answer as it streams.

The outcome (status, upstream time, a broken stream, a client that left) is added to the request's
audit record by ``Pipeline.complete`` however the relay ends.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx
from fastapi.responses import JSONResponse, Response, StreamingResponse

from gateway import metrics
from gateway.adapters.base import Adapter, Route
from gateway.config import Limits
from gateway.pipeline import Exchange, Pipeline, Refusal

# Upstream response headers relayed to the client.
_RELAYED = ("content-type", "content-encoding", "retry-after", "x-request-id", "request-id")
_RELAYED_PREFIXES = ("openai-", "anthropic-", "x-ratelimit-", "ratelimit-")


class RelayResponse(StreamingResponse):
    """A streamed upstream answer whose clean-up (closing the upstream response, recording the
    outcome) runs however the relay ends, including when the client disconnects."""

    def __init__(self, content, cleanup, **kwargs):
        super().__init__(content, **kwargs)
        self._cleanup = cleanup

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()  # type: ignore[attr-defined]
                await self._cleanup()


class Forwarder:
    """One HTTP client for the process; the timeouts are those of the request's pipeline (a reload
    changes them for new requests)."""

    def __init__(self) -> None:
        self.http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self.http = httpx.AsyncClient(follow_redirects=False, trust_env=False)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()

    async def forward(self, pipeline: Pipeline, adapter: Adapter, route: Route, ex: Exchange,
                      headers: dict[str, str]) -> Response:
        service = ex.service
        assert service is not None and self.http is not None
        complete = pipeline.complete
        limits = pipeline.limits

        def error(status: int, code: str, message: str) -> Response:
            return JSONResponse(adapter.error_body(status, code, message), status_code=status, headers=headers)

        try:
            up_headers = adapter.upstream_headers(service, ex.forwarded_headers)
        except Refusal as exc:
            await complete(ex, status_code=exc.status, upstream_error="not_configured")
            return error(exc.status, exc.code, exc.message)
        upstream = self.http.build_request("POST", adapter.upstream_url(service, route), content=ex.upstream_body,
                                           headers=up_headers, timeout=timeout(limits))
        t0 = time.perf_counter()
        try:
            resp = await self.http.send(upstream, stream=True)
        except httpx.TimeoutException:
            await complete(ex, status_code=504, upstream_error="timeout", upstream_ms=_ms(t0))
            return error(504, "gardefou_upstream_timeout", f"Le service « {service.name} » n'a pas répondu à temps.")
        except httpx.HTTPError:
            await complete(ex, status_code=502, upstream_error="unreachable", upstream_ms=_ms(t0))
            return error(502, "gardefou_upstream_unreachable",
                         f"Le service « {service.name} » est injoignable depuis la passerelle.")
        if resp.status_code >= 500:
            await resp.aclose()
            await complete(ex, status_code=502, upstream_status=resp.status_code, upstream_error="upstream_5xx",
                           upstream_ms=_ms(t0))
            return error(502, "gardefou_upstream_error",
                         f"Le service « {service.name} » a répondu par une erreur (HTTP {resp.status_code}).")

        out_headers = {k: v for k, v in resp.headers.items()
                       if k.lower() in _RELAYED or k.lower().startswith(_RELAYED_PREFIXES)}
        out_headers.update(headers)
        state: dict[str, Any] = {"error": None, "done": False}

        async def relay():
            metrics.OPEN_STREAMS.inc()
            state["streaming"] = True
            try:
                async for chunk in resp.aiter_raw():
                    yield chunk
                state["done"] = True
            except httpx.HTTPError:
                state["error"] = "stream_interrupted"

        async def finish():
            if state.pop("streaming", False):
                metrics.OPEN_STREAMS.dec()
            await resp.aclose()
            outcome = state["error"] or (None if state["done"] else "client_disconnected")
            await complete(ex, status_code=resp.status_code, upstream_status=resp.status_code, upstream_error=outcome,
                           upstream_ms=_ms(t0))

        return RelayResponse(relay(), finish, status_code=resp.status_code, headers=out_headers)


def timeout(limits: Limits) -> httpx.Timeout:
    return httpx.Timeout(limits.upstream_timeout_s, connect=limits.upstream_connect_timeout_s)


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000
