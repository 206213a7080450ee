"""The HTTP server: FastAPI routes for the OpenAI and Anthropic paths, health and readiness."""

from __future__ import annotations

import json
import logging
import zlib
import os
import time
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.requests import ClientDisconnect

from detectors import Scanner, build_default_scanner
from gateway.adapters import Adapter, AnthropicAdapter, BadRequest, OpenAIAdapter
from gateway.adapters.base import client_headers
from gateway.audit import AuditStore
from gateway.config import Config, hash_key
from gateway.limits import ClientLimiter
from gateway.pipeline import Client, Exchange, Pipeline, Verdict

log = logging.getLogger("gardefou.server")

OPENAI = OpenAIAdapter()
ANTHROPIC = AnthropicAdapter()

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
                await self.body_iterator.aclose()
                await self._cleanup()


READY_TIMEOUT_S = 5.0
PROBE_TEXT = ("Patiente de 54 ans, diabète de type 2, HbA1c à 9 %, hospitalisée en cardiologie le 12/03. "
              "NIR 1 85 05 78 006 084 91.")


class _BodyTooLarge(Exception):
    pass


class _UnsupportedEncoding(Exception):
    pass


def decode_body(raw: bytes, encoding: str, limit: int) -> bytes:
    """A gzip or deflate body, decompressed (never more than ``limit`` bytes: a decompression bomb is a
    413); identity as is; any other encoding (br, zstd...) is refused rather than forwarded unread."""
    codings = [c.strip().lower() for c in encoding.split(",") if c.strip() and c.strip().lower() != "identity"]
    for coding in reversed(codings):  # applied in order, so undone last first
        if coding in ("gzip", "x-gzip"):
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            d = zlib.decompressobj(zlib.MAX_WBITS if raw[:1] == b"\x78" else -zlib.MAX_WBITS)
        else:
            raise _UnsupportedEncoding(coding)
        try:
            out = d.decompress(raw, limit + 1)
        except zlib.error:
            raise _UnsupportedEncoding(coding) from None
        if len(out) > limit or d.unconsumed_tail:
            raise _BodyTooLarge
        raw = out
    return raw


def _json(adapter: Adapter, status: int, code: str, message: str, headers: dict, param: str | None = None) -> JSONResponse:
    return JSONResponse(adapter.error_body(status, code, message, param), status_code=status, headers=headers)


def _decision_headers(ex: Exchange, verdict: Verdict) -> dict[str, str]:
    audit_id = ex.audit_id if verdict.recorded else "unrecorded"
    headers = {"X-Gardefou-Decision": verdict.decision.action, "X-Gardefou-Audit-Id": audit_id}
    if verdict.decision.action == "warn" and verdict.forward:
        # The charter allows a non-compliant service only with a warning: say it to the caller too.
        # Header values are Latin-1: French accents fit; anything else is replaced.
        warning = " ".join(verdict.decision.reasons)
        headers["X-Gardefou-Warning"] = warning.encode("latin-1", "replace").decode("latin-1")
    return headers


class Gateway:
    """Everything a request needs, built once at start-up (no global state but the app)."""

    def __init__(self, config: Config, scanner: Scanner | None = None, store: AuditStore | None = None):
        self.config = config
        self.catalogue = config.catalogue()
        self.store = store or AuditStore(config.audit.url)
        self.store.migrate()
        self.scanner = scanner or build_default_scanner(config.detectors)
        fp_key = config.audit.fingerprint_key(os.environ)
        if config.audit.fingerprint_key_env and fp_key is None:
            raise RuntimeError(f"audit.fingerprint_key_env names {config.audit.fingerprint_key_env}, which is not set")
        self.pipeline = Pipeline(self.scanner, self.catalogue, config.policy.to_policy(), self.store, fp_key,
                                 scan_timeout_s=config.limits.scan_timeout_s)
        self.clients = {c.key_sha256: c for c in config.auth.clients}
        limits = config.limits
        self.timeout = httpx.Timeout(limits.upstream_timeout_s, connect=limits.upstream_connect_timeout_s)
        self.http: httpx.AsyncClient | None = None
        self.scan_slots = anyio.CapacityLimiter(limits.max_concurrent_scans)
        self.scans_in_flight = 0
        self.clients_seen = ClientLimiter(limits.client_requests_per_minute, limits.client_concurrency)

    def probe_scan(self) -> bool:
        """The detectors still find what they must: a NIR, a clinical vignette (readiness)."""
        try:
            found = {f.type for f in self.scanner.scan(PROBE_TEXT).findings}
        except Exception:
            log.exception("readiness probe: the scanner failed")
            return False
        return "FR_NIR" in found and any(f in found for f in ("HEALTH_DATA", "HEALTH_TEXT"))

    # -- request handling --------------------------------------------------------------------
    def authenticate(self, request: Request, ex: Exchange) -> bool:
        if self.config.auth.mode == "none":
            return True
        key = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        entry = self.clients.get(hash_key(key)) if key else None
        if entry is None:
            return False
        ex.client.id, ex.client.department = entry.id, entry.department
        return True

    async def read_body(self, request: Request) -> bytes:
        limit = self.config.limits.max_body_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise _BodyTooLarge
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _BodyTooLarge
            chunks.append(chunk)
        return decode_body(b"".join(chunks), request.headers.get("content-encoding", ""), limit)

    async def refuse(self, adapter: Adapter, ex: Exchange, status: int, code: str, message: str, rule: str, param=None,
                     retry_after: int | None = None):
        verdict = await self.pipeline.refuse_invalid(ex, status, code, message, rule)
        headers = _decision_headers(ex, verdict)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        if not verdict.recorded:
            return _json(adapter, verdict.status, verdict.code, verdict.message, headers)
        return _json(adapter, status, code, message, headers, param)

    async def handle(self, request: Request, adapter: Adapter, endpoint: str, path: str) -> Response:
        ex = Exchange(api=adapter.api, endpoint=endpoint, client=Client(addr=request.client.host if request.client else None))
        if not self.authenticate(request, ex):
            return await self.refuse(
                adapter, ex, 401, "invalid_api_key",
                "Clé d'accès à Garde-fou absente ou invalide.", "auth.failed",
            )
        who = ex.client.id or ex.client.addr or "?"
        retry = self.clients_seen.enter(who)
        if retry is not None:
            return await self.refuse(adapter, ex, 429, "rate_limited",
                                     "Trop de requêtes pour ce poste ou cette clé : réessayez dans quelques secondes.",
                                     "request.rate_limited", retry_after=retry)
        try:
            return await self._handle(request, adapter, ex, endpoint, path)
        finally:
            self.clients_seen.leave(who)

    async def _handle(self, request: Request, adapter: Adapter, ex: Exchange, endpoint: str, path: str) -> Response:
        try:
            with anyio.fail_after(self.config.limits.body_timeout_s):
                raw = await self.read_body(request)
        except TimeoutError:
            return await self.refuse(adapter, ex, 408, "request_timeout",
                                     "Le corps de la requête est arrivé trop lentement.", "request.body_timeout")
        except ClientDisconnect:  # the client left mid-upload: nothing to answer, but it is recorded
            await self.pipeline.refuse_invalid(ex, 400, "client_disconnected", "Envoi interrompu par le client.",
                                               "request.aborted")
            return Response(status_code=400)
        except _UnsupportedEncoding:
            return await self.refuse(adapter, ex, 415, "unsupported_encoding",
                                     "Encodage du corps non pris en charge (utilisez gzip, deflate ou aucun).",
                                     "request.unsupported_encoding")
        except _BodyTooLarge:
            limit_mb = self.config.limits.max_body_bytes / 1024 / 1024
            return await self.refuse(
                adapter, ex, 413, "request_too_large",
                f"Requête trop volumineuse (limite : {limit_mb:g} Mo).", "request.too_large",
            )
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return await self.refuse(adapter, ex, 400, "invalid_json", "Le corps de la requête n'est pas un JSON valide.", "request.invalid_json")
        if not isinstance(body, dict):
            return await self.refuse(adapter, ex, 400, "invalid_request", "Le corps de la requête doit être un objet JSON.", "request.invalid")
        model = body.get("model")
        if not isinstance(model, str) or not model.strip():
            return await self.refuse(
                adapter, ex, 400, "missing_model",
                "Le champ « model » est obligatoire, sous la forme SERVICE/MODELE (par exemple mistral/mistral-small-latest).",
                "request.missing_model", "model",
            )
        ex.service_ref, ex.model = self.catalogue.resolve_model(model)
        if ex.service_ref is None:
            return await self.refuse(
                adapter, ex, 400, "invalid_model",
                "Le modèle demandé doit être de la forme SERVICE/MODELE (par exemple mistral/mistral-small-latest) "
                "ou un alias configuré.",
                "request.invalid_model", "model",
            )
        ex.service = self.catalogue.get(ex.service_ref)
        ex.acknowledged = request.headers.get("x-gardefou-ack", "").strip() == "1"
        try:
            if ex.service is not None and ex.service.status == "allowed" and ex.service.api != adapter.api:
                if ex.service.api is None:
                    raise BadRequest(f"Le service « {ex.service.name} » n'a pas d'API utilisable par la passerelle.", "model")
                raise BadRequest(
                    f"Le service « {ex.service.name} » utilise le format d'API « {ex.service.api} », "
                    f"pas « {adapter.api} » : utilisez le client correspondant.",
                    "model",
                    code="wrong_api_format",
                )
            ex.extracted = adapter.extract(endpoint, body)
            forwarded = client_headers(adapter, request.headers)
            for value in forwarded.values():  # relayed headers are content too
                ex.extracted.add(value)
        except RecursionError:
            return await self.refuse(adapter, ex, 400, "invalid_request", "Le corps de la requête est trop imbriqué.",
                                     "request.too_deep")
        except BadRequest as exc:
            return await self.refuse(adapter, ex, exc.status, exc.code, exc.message, "request.invalid", exc.param)

        try:  # what is forwarded, serialised before the decision: a body that cannot be sent is refused
            upstream_body = json.dumps({**body, "model": ex.model}, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return await self.refuse(adapter, ex, 400, "invalid_request",
                                     "Le corps de la requête contient du texte Unicode invalide (caractère isolé).",
                                     "request.invalid_unicode")
        limits = self.config.limits
        if ex.extracted.chars > limits.max_scan_chars:
            size = format(limits.max_scan_chars, ",").replace(",", " ")
            return await self.refuse(adapter, ex, 413, "request_too_large",
                                     f"Requête trop volumineuse pour être inspectée (limite : {size} caractères de texte).",
                                     "request.too_large_to_scan")
        if self.scans_in_flight >= limits.max_concurrent_scans + limits.max_queued_scans:
            return await self.refuse(adapter, ex, 503, "gardefou_busy",
                                     "Garde-fou est saturé : la requête n'a pas été transmise. Réessayez dans un instant.",
                                     "gateway.busy", retry_after=1)
        self.scans_in_flight += 1
        try:
            verdict = await self.pipeline.inspect(ex, self.scan_slots)
        finally:
            self.scans_in_flight -= 1
        headers = _decision_headers(ex, verdict)
        if not verdict.forward:
            return _json(adapter, verdict.status, verdict.code, verdict.message, headers)
        return await self.forward(adapter, ex, path, upstream_body, forwarded, headers)

    async def forward(self, adapter: Adapter, ex: Exchange, path: str, upstream_body: bytes,
                      forwarded: dict[str, str], headers) -> Response:
        service = ex.service
        assert service is not None and self.http is not None
        try:
            up_headers = adapter.upstream_headers(service, forwarded)
        except BadRequest as exc:
            await self.pipeline.complete(ex, status_code=exc.status, upstream_error="not_configured")
            return _json(adapter, exc.status, exc.code, exc.message, headers)
        upstream = self.http.build_request("POST", adapter.upstream_url(service, path), content=upstream_body,
                                           headers=up_headers)
        t0 = time.perf_counter()
        try:
            resp = await self.http.send(upstream, stream=True)
        except httpx.TimeoutException:
            await self.pipeline.complete(ex, status_code=504, upstream_error="timeout", upstream_ms=_ms(t0))
            return _json(adapter, 504, "gardefou_upstream_timeout",
                         f"Le service « {service.name} » n'a pas répondu à temps.", headers)
        except httpx.HTTPError:
            await self.pipeline.complete(ex, status_code=502, upstream_error="unreachable", upstream_ms=_ms(t0))
            return _json(adapter, 502, "gardefou_upstream_unreachable",
                         f"Le service « {service.name} » est injoignable depuis la passerelle.", headers)
        if resp.status_code >= 500:
            await resp.aclose()
            await self.pipeline.complete(ex, status_code=502, upstream_status=resp.status_code,
                                         upstream_error="upstream_5xx", upstream_ms=_ms(t0))
            return _json(adapter, 502, "gardefou_upstream_error",
                         f"Le service « {service.name} » a répondu par une erreur (HTTP {resp.status_code}).", headers)

        out_headers = {k: v for k, v in resp.headers.items()
                       if k.lower() in _RELAYED or k.lower().startswith(_RELAYED_PREFIXES)}
        out_headers.update(headers)
        state: dict[str, Any] = {"error": None, "done": False}

        async def relay():
            try:
                async for chunk in resp.aiter_raw():
                    yield chunk
                state["done"] = True
            except httpx.HTTPError:
                state["error"] = "stream_interrupted"

        async def finish():
            await resp.aclose()
            error = state["error"] or (None if state["done"] else "client_disconnected")
            await self.pipeline.complete(ex, status_code=resp.status_code, upstream_status=resp.status_code,
                                         upstream_error=error, upstream_ms=_ms(t0))

        return RelayResponse(relay(), finish, status_code=resp.status_code, headers=out_headers)

    async def models(self, request: Request, model_id: str | None = None) -> Response:
        ex = Exchange(api="openai", endpoint="models.list", client=Client(addr=request.client.host if request.client else None))
        if not self.authenticate(request, ex):
            return await self.refuse(OPENAI, ex, 401, "invalid_api_key", "Clé d'accès à Garde-fou absente ou invalide.", "auth.failed")
        data = []
        for svc in self.catalogue.services.values():
            if svc.status != "allowed" or svc.api is None:
                continue
            for m in svc.models or ("*",):
                data.append({"id": f"{svc.id}/{m}", "object": "model", "created": 0, "owned_by": svc.id})
        for alias, target in self.catalogue.aliases.items():
            data.append({"id": alias, "object": "model", "created": 0, "owned_by": target.split("/", 1)[0]})
        verdict = await self.pipeline.record_local(ex, "gateway.models_list", "Liste des modèles.")
        verdict_headers = _decision_headers(ex, verdict)
        if not verdict.recorded:
            return _json(OPENAI, 503, "gardefou_unavailable", verdict.message, verdict_headers)
        if model_id is not None:
            found = [m for m in data if m["id"] == model_id]
            if not found:
                return _json(OPENAI, 404, "model_not_found", f"Modèle inconnu de Garde-fou : « {model_id} ».",
                             verdict_headers, "model")
            return JSONResponse(found[0], headers=verdict_headers)
        return JSONResponse({"object": "list", "data": data}, headers=verdict_headers)


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def create_app(config: Config, scanner: Scanner | None = None, store: AuditStore | None = None) -> FastAPI:
    gw = Gateway(config, scanner=scanner, store=store)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        gw.http = httpx.AsyncClient(timeout=gw.timeout, follow_redirects=False, trust_env=False)
        try:
            yield
        finally:
            await gw.http.aclose()
            gw.store.dispose()

    app = FastAPI(title="Garde-fou", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.gateway = gw

    openai_routes = {
        "/v1/chat/completions": "chat.completions",
        "/v1/completions": "completions",
        "/v1/embeddings": "embeddings",
        "/v1/responses": "responses",
    }

    def openai_route(path: str, endpoint: str):
        async def route(request: Request) -> Response:
            return await gw.handle(request, OPENAI, endpoint, path[len("/v1"):])
        return route

    for path, endpoint in openai_routes.items():
        app.add_api_route(path, openai_route(path, endpoint), methods=["POST"], include_in_schema=False)

    @app.post("/v1/messages", include_in_schema=False)
    async def messages(request: Request) -> Response:
        return await gw.handle(request, ANTHROPIC, "messages", "/messages")

    @app.post("/v1/messages/count_tokens", include_in_schema=False)
    async def count_tokens(request: Request) -> Response:
        return await gw.handle(request, ANTHROPIC, "messages.count_tokens", "/messages/count_tokens")

    @app.get("/v1/models", include_in_schema=False)
    async def models(request: Request) -> Response:
        return await gw.models(request)

    @app.get("/v1/models/{model_id:path}", include_in_schema=False)
    async def model(request: Request, model_id: str) -> Response:
        return await gw.models(request, model_id)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        checks = {"detectors": False, "audit_store": False}
        with anyio.move_on_after(READY_TIMEOUT_S):  # a hung check is a failed check
            checks["detectors"] = await anyio.to_thread.run_sync(gw.probe_scan, abandon_on_cancel=True)
            checks["audit_store"] = await anyio.to_thread.run_sync(gw.store.ping, abandon_on_cancel=True)
        ok = all(checks.values())
        return JSONResponse({"status": "ok" if ok else "indisponible", "checks": checks}, status_code=200 if ok else 503)

    @app.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                   include_in_schema=False)
    async def not_found(request: Request, rest: str) -> Response:
        adapter: Adapter = ANTHROPIC if "anthropic-version" in request.headers else OPENAI
        ex = Exchange(api=adapter.api, endpoint="unknown", client=Client(addr=request.client.host if request.client else None))
        if request.method in ("HEAD", "OPTIONS"):
            return await gw.refuse(adapter, ex, 405, "method_not_allowed",
                                   "Méthode non prise en charge par Garde-fou (utilisez POST).", "request.method")
        return await gw.refuse(adapter, ex, 404, "unknown_endpoint",
                               "Point d'accès inconnu ou non pris en charge par Garde-fou.", "request.unknown_endpoint")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:  # no stack trace to clients
        log.exception("internal error")
        adapter: Adapter = ANTHROPIC if request.url.path == "/v1/messages" else OPENAI
        return JSONResponse(adapter.error_body(500, "gardefou_internal_error",
                                               "Erreur interne de Garde-fou : la requête n'a pas été transmise."),
                            status_code=500, headers={"X-Gardefou-Decision": "block", "X-Gardefou-Audit-Id": "unrecorded"})

    return app
