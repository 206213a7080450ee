"""The API ingress: an ASGI app whose routes come from the adapters, in front of the pipeline.

For each request it builds an ``Incoming``, runs ``Pipeline.process``, and then either forwards
(``gateway.forward``) or answers the refusal in the adapter's error shape. What belongs to this
ingress only stays here: how a warning is acknowledged (the ``X-Gardefou-Ack`` header), the
decision headers, the model list, health and readiness.

Each request takes the pipeline in force when it arrives (``Live.pipeline``) and keeps it until its
answer has been relayed, so that a configuration reload never changes a request half-way.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.requests import ClientDisconnect

from detectors import Scanner
from gateway.adapters import API_ADAPTERS, Adapter, OpenAIAdapter, Route
from gateway.audit import AuditError, AuditStore
from gateway.build import build_pipeline
from gateway.charter import API_PATH as CHARTER_PATH
from gateway.config import Config
from gateway.forward import Forwarder
from gateway.limits import Admission, ClientLimiter
from gateway.live import Live, WorkerBoard
from gateway.pipeline import UNAVAILABLE_FR, BodyTooLarge, Client, Exchange, Incoming, Refusal, Verdict
from gateway.sobriety import NOTICES_FR
from policies.messages import ACK_HINT_API

log = logging.getLogger("gardefou.server")

READY_TIMEOUT_S = 5.0
OPENAI = next(a for a in API_ADAPTERS if isinstance(a, OpenAIAdapter))


def body_reader(request: Request):
    """Read a Starlette request's body, refusing more than ``limit`` bytes as soon as it shows."""

    async def read(limit: int) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge
        chunks, size = [], 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge
                chunks.append(chunk)
        except ClientDisconnect:  # the client left mid-upload: recorded, nobody to answer
            raise Refusal(400, "client_disconnected", "Envoi interrompu par le client.", "request.aborted",
                          silent=True) from None
        return b"".join(chunks)

    return read


def _peer(request: Request) -> str | None:
    return request.client.host if request.client else None


def decision_headers(ex: Exchange, verdict: Verdict) -> dict[str, str]:
    headers = {"X-Gardefou-Decision": verdict.decision.action,
               "X-Gardefou-Audit-Id": ex.audit_id if verdict.recorded else "unrecorded"}
    if verdict.decision.action == "warn" and verdict.forward:
        # The charter allows a non-compliant service only with a warning: say it to the caller too
        # (with the institution's contact, charter and tool: ``Messages.warning``).
        # Header values are Latin-1: French accents fit; anything else is replaced.
        warning = verdict.message or " ".join(verdict.decision.reasons)
        headers["X-Gardefou-Warning"] = warning.encode("latin-1", "replace").decode("latin-1")
    if verdict.retry_after is not None:
        headers["Retry-After"] = str(verdict.retry_after)
    if ex.notice in NOTICES_FR:  # a long conversation: suggest starting a new one
        headers["X-Gardefou-Notice"] = NOTICES_FR[ex.notice].encode("latin-1", "replace").decode("latin-1")
    return headers


def charter_hint(request: Request, version: str) -> str:
    """How a script accepts the charter, once for its key (the 403 ``gardefou_charter_required``)."""
    base = str(request.base_url).rstrip("/") + CHARTER_PATH
    return (f" Pour l'accepter une fois pour votre clé : lisez-la ({base}) puis envoyez "
            f"curl -X POST -H \"Authorization: Bearer VOTRE_CLE\" \"{base}?version={version}\", "
            f"ou ajoutez à vos requêtes l'en-tête « X-Gardefou-Charter-Accept: {version} ».")


def refusal_response(adapter: Adapter, ex: Exchange, verdict: Verdict, hint: str = "") -> Response:
    """A refused request, answered in the adapter's error shape (and this ingress's wording)."""
    if verdict.silent:
        return Response(status_code=verdict.status)
    assert verdict.code is not None and verdict.message is not None
    message = verdict.message + (ACK_HINT_API if verdict.code == "gardefou_ack_required" else "") + hint
    return JSONResponse(adapter.error_body(verdict.status, verdict.code, message, verdict.param),
                        status_code=verdict.status, headers=decision_headers(ex, verdict))


class ApiIngress:
    def __init__(self, live: Live, forwarder: Forwarder):
        self.live = live
        self.forwarder = forwarder

    async def handle(self, request: Request, adapter: Adapter, route: Route) -> Response:
        pipeline = self.live.pipeline  # this request's, until its answer is relayed
        inc = Incoming(endpoint=route.endpoint, headers=request.headers, peer=_peer(request),
                       read_body=body_reader(request), params=request.path_params)
        ex, verdict = await pipeline.process(adapter, inc)
        if not verdict.forward:
            charter = pipeline.charter
            hint = charter_hint(request, charter.version) if (
                charter is not None and verdict.code == "gardefou_charter_required") else ""
            return refusal_response(adapter, ex, verdict, hint)
        return await self.forwarder.forward(pipeline, adapter, route, ex, decision_headers(ex, verdict))

    async def charter_page(self, request: Request) -> Response:
        """The charter (text or link, version) and how to accept it: JSON when asked, else plain text."""
        charter = self.live.pipeline.charter
        if charter is None:
            return PlainTextResponse("Aucune charte n'est à accepter sur cette passerelle.", status_code=404)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"title": charter.title, "version": charter.version, "url": charter.url,
                                 "text": charter.text, "accept": {"method": "POST", "path": CHARTER_PATH,
                                                                  "query": {"version": charter.version},
                                                                  "header": f"X-Gardefou-Charter-Accept: {charter.version}"}})
        lines = [f"{charter.title} — version {charter.version}", ""]
        if charter.url:
            lines += [f"À lire : {charter.url}", ""]
        if charter.text:
            lines += [charter.text.strip(), ""]
        base = str(request.base_url).rstrip("/") + CHARTER_PATH
        lines += ["Pour l'accepter une fois pour votre clé d'accès :",
                  f"  curl -X POST -H \"Authorization: Bearer VOTRE_CLE\" \"{base}?version={charter.version}\"",
                  f"ou ajoutez à vos requêtes l'en-tête « X-Gardefou-Charter-Accept: {charter.version} ».", ""]
        return PlainTextResponse("\n".join(lines))

    async def accept_charter(self, request: Request) -> Response:
        """A client accepts the current version with its key (recorded: who, when, version)."""
        pipeline = self.live.pipeline
        charter = pipeline.charter
        ex = Exchange(api=OPENAI.api, endpoint="charter_ack", client=Client(addr=_peer(request)))
        if charter is None:
            return refusal_response(OPENAI, ex, await pipeline.refuse(ex, Refusal(
                404, "unknown_endpoint", "Aucune charte n'est à accepter sur cette passerelle.",
                "request.unknown_endpoint")))
        try:
            pipeline.authenticate(OPENAI, Incoming("charter_ack", request.headers, ex.client.addr,
                                                        body_reader(request)), ex)
        except Refusal as refusal:
            return refusal_response(OPENAI, ex, await pipeline.refuse(ex, refusal))
        version = request.query_params.get("version", "").strip()
        if version != charter.version:
            said = f"La version indiquée (« {version} »)" if version else "Aucune version n'est indiquée : elle"
            message = (f"{said} n'est pas la version en vigueur de la charte ({charter.version}) : relisez-la "
                       f"({str(request.base_url).rstrip('/')}{CHARTER_PATH}) puis acceptez "
                       f"avec ?version={charter.version}.")
            return refusal_response(OPENAI, ex, await pipeline.refuse(ex, Refusal(
                409, "gardefou_charter_version", message, "charter_ack.invalid", "version")))
        verdict = await pipeline.record_local(
            ex, "charter_ack.accepted", f"Charte acceptée (version {charter.version}) par l'API.")
        if not verdict.recorded:
            return refusal_response(OPENAI, ex, verdict)
        try:
            first = await anyio.to_thread.run_sync(charter.accept, ex.client, "api", "endpoint", ex.audit_id)
        except AuditError:
            return refusal_response(OPENAI, ex, Verdict(verdict.decision, forward=False, status=503,
                                                        code="gardefou_unavailable", message=UNAVAILABLE_FR.format(
                                                            what="registre des acceptations indisponible")))
        return JSONResponse({"accepted": True, "version": charter.version, "first_acceptance": first,
                             "client": ex.client.id or ex.client.addr, "audit_id": ex.audit_id},
                            headers=decision_headers(ex, verdict))

    async def refuse(self, request: Request, adapter: Adapter, endpoint: str, refusal: Refusal) -> Response:
        ex = Exchange(api=adapter.api, endpoint=endpoint, client=Client(addr=_peer(request)))
        return refusal_response(adapter, ex, await self.live.pipeline.refuse(ex, refusal))

    async def models(self, request: Request, model_id: str | None = None) -> Response:
        """The model list, answered by the gateway itself (recorded, nothing forwarded)."""
        pipeline = self.live.pipeline
        ex = Exchange(api=OPENAI.api, endpoint="models.list", client=Client(addr=_peer(request)))
        try:
            pipeline.authenticate(OPENAI, Incoming("models.list", request.headers, ex.client.addr,
                                                   body_reader(request)), ex)
        except Refusal as refusal:
            return refusal_response(OPENAI, ex, await pipeline.refuse(ex, refusal))
        catalogue = pipeline.catalogue
        data: list[dict[str, Any]] = []
        for svc in catalogue.services.values():
            if svc.status != "allowed" or svc.api is None:
                continue
            for m in svc.models or ("*",):
                data.append({"id": f"{svc.id}/{m}", "object": "model", "created": 0, "owned_by": svc.id})
        for alias, target in catalogue.aliases.items():
            data.append({"id": alias, "object": "model", "created": 0, "owned_by": target.split("/", 1)[0]})
        verdict = await pipeline.record_local(ex, "gateway.models_list", "Liste des modèles.")
        headers = decision_headers(ex, verdict)
        if not verdict.recorded:
            return refusal_response(OPENAI, ex, verdict)
        if model_id is not None:
            found = [m for m in data if m["id"] == model_id]
            if not found:
                return JSONResponse(OPENAI.error_body(404, "model_not_found", f"Modèle inconnu de Garde-fou : « {model_id} ».",
                                                      "model"), status_code=404, headers=headers)
            return JSONResponse(found[0], headers=headers)
        return JSONResponse({"object": "list", "data": data}, headers=headers)


def adapter_for(request: Request) -> Adapter:
    """The adapter whose error shape a client on this path expects."""
    for adapter in API_ADAPTERS:
        if adapter.owns(request.url.path):
            return adapter
    if "anthropic-version" in request.headers:
        return next(a for a in API_ADAPTERS if a.api == "anthropic")
    return OPENAI


def add_browser_routes(app: FastAPI, config: Config, live: Live) -> None:
    """What browsers fetch from the API listener: the proxy auto-configuration and the public CA
    certificate (never its key)."""
    from gateway.config import _WILDCARD_HOSTS
    from gateway.proxy.ca import ca_files
    from gateway.proxy.pac import MEDIA_TYPE, pac_script, proxy_directive

    app.state.proxy_port = None  # the proxy's real port once it listens (``proxy.port: 0`` picks one)

    @app.get("/proxy.pac", include_in_schema=False)
    async def proxy_pac(request: Request) -> Response:
        if not config.proxy.enabled:
            return PlainTextResponse("Le proxy navigateur de Garde-fou n'est pas activé (proxy.enabled).", status_code=404)
        host = config.proxy.host
        if host in _WILDCARD_HOSTS:  # listening everywhere: the name the browser reached us by
            host = request.url.hostname or ""
        try:
            directive = proxy_directive(host, app.state.proxy_port or config.proxy.port)
        except ValueError:
            return PlainTextResponse("Nom d'hôte de la requête invalide.", status_code=400)
        pipeline = live.pipeline
        return Response(pac_script(pipeline.catalogue, directive, pipeline.discovery), media_type=MEDIA_TYPE,
                        headers={"cache-control": "max-age=300"})

    @app.get("/ca.crt", include_in_schema=False)
    async def ca_certificate() -> Response:
        path = ca_files(config.proxy.ca_dir).certificate
        try:
            pem = path.read_bytes()
        except OSError:
            return PlainTextResponse("Aucune autorité de certification n'a encore été créée pour Garde-fou "
                                     "(commande : gardefou ca init).", status_code=404)
        if b"PRIVATE KEY" in pem or b"-----BEGIN CERTIFICATE-----" not in pem:  # never a key, whatever the file
            log.error("%s does not hold a certificate alone: not served", path)
            return PlainTextResponse("Certificat de l'autorité indisponible : contactez la DSN.", status_code=500)
        return Response(pem, media_type="application/x-x509-ca-cert",
                        headers={"content-disposition": 'attachment; filename="gardefou-ca.crt"'})


class GatewayApp(FastAPI):
    """The API listener's app. The POST routes of the API formats, the hot path, are served without
    the framework's middleware stack and router (exception and telemetry middlewares, the route
    table walked per request): an exact lookup of the path, then the ingress, with the same
    internal-error answer. Everything else (health, models, charter, browser files, unknown paths,
    lifespan) goes through FastAPI as usual."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        #: path -> the coroutine answering a POST on it
        self.fast_routes: dict[str, Any] = {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.fast_routes.get(scope["path"])
            if endpoint is not None:
                scope["app"] = self
                request = Request(scope, receive, send)
                started = False

                async def sending(message) -> None:
                    nonlocal started
                    started = True
                    await send(message)

                try:
                    response = await endpoint(request)
                    await response(scope, receive, sending)
                except Exception:
                    if started:  # part of the answer is gone: the server closes the connection
                        raise
                    await internal_error_response(request)(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def internal_error_response(request: Request) -> Response:
    """An unexpected error: logged here, answered without a stack trace, nothing forwarded."""
    log.exception("internal error")
    body = adapter_for(request).error_body(500, "gardefou_internal_error",
                                           "Erreur interne de Garde-fou : la requête n'a pas été transmise.")
    return JSONResponse(body, status_code=500,
                        headers={"X-Gardefou-Decision": "refuse", "X-Gardefou-Audit-Id": "unrecorded"})


def create_app(config: Config, scanner: Scanner | None = None, store: AuditStore | None = None, *,
               config_path: str | None = None, board: WorkerBoard | None = None, worker: int = 0,
               clients: ClientLimiter | None = None) -> GatewayApp:
    """The API listener's app. ``config_path``: the file a reload reads again (``app.state.live``);
    ``board`` and ``worker``: this process's slot with ``serve --workers``; ``clients``: the per-client
    limits shared by the workers."""
    admission = Admission(config.limits, clients) if clients is not None else None
    pipeline = build_pipeline(config, scanner=scanner, store=store, admission=admission)
    live = Live(config, pipeline, path=config_path, board=board, worker=worker)
    forwarder = Forwarder(config.limits)
    ingress = ApiIngress(live, forwarder)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await forwarder.start()
        try:
            yield
        finally:
            await forwarder.close()
            pipeline.store.dispose()  # every generation's
            close = getattr(pipeline.scanner, "close", None)
            if close is not None:  # the scan helpers (ParallelScanner)
                close()

    app = GatewayApp(title="Garde-fou", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.live = live
    #: the pipeline built at start-up (its audit store is every generation's); the one in force is ``live.pipeline``
    app.state.pipeline = pipeline
    app.state.config = config

    def api_route(adapter: Adapter, route: Route):
        async def endpoint(request: Request) -> Response:
            return await ingress.handle(request, adapter, route)
        return endpoint

    for adapter in API_ADAPTERS:
        for path, route in adapter.routes.items():
            endpoint = app.fast_routes[path] = api_route(adapter, route)  # the hot path (GatewayApp.__call__)
            # also in the route table: a GET on the path is told the method, not an unknown endpoint
            app.add_route(path, endpoint, methods=["POST"], include_in_schema=False)

    @app.get("/v1/models", include_in_schema=False)
    async def models(request: Request) -> Response:
        return await ingress.models(request)

    @app.get("/v1/models/{model_id:path}", include_in_schema=False)
    async def model(request: Request, model_id: str) -> Response:
        return await ingress.models(request, model_id)

    @app.get(CHARTER_PATH, include_in_schema=False)
    async def charter_page(request: Request) -> Response:
        return await ingress.charter_page(request)

    @app.post(CHARTER_PATH, include_in_schema=False)
    async def accept_charter(request: Request) -> Response:
        return await ingress.accept_charter(request)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        checks = {"detectors": False, "audit_store": False}
        loaded = live.loaded
        with anyio.move_on_after(READY_TIMEOUT_S):  # a hung check is a failed check
            checks["detectors"] = await anyio.to_thread.run_sync(loaded.pipeline.probe_scan, abandon_on_cancel=True)
            checks["audit_store"] = await anyio.to_thread.run_sync(loaded.pipeline.store.ping, abandon_on_cancel=True)
        ok = all(checks.values())
        # the configuration in force: its generation and the file's SHA-256 (compare with sha256sum)
        return JSONResponse({"status": "ok" if ok else "indisponible", "checks": checks,
                             "config": loaded.as_json()}, status_code=200 if ok else 503)

    add_browser_routes(app, config, live)

    @app.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                   include_in_schema=False)
    async def not_found(request: Request, rest: str) -> Response:
        adapter = adapter_for(request)
        if request.method in ("HEAD", "OPTIONS") or adapter.owns(request.url.path):
            return await ingress.refuse(request, adapter, "unknown", Refusal(
                405, "method_not_allowed", "Méthode non prise en charge par Garde-fou (utilisez POST).",
                "request.method"))
        return await ingress.refuse(request, adapter, "unknown", Refusal(
            404, "unknown_endpoint", "Point d'accès inconnu ou non pris en charge par Garde-fou.",
            "request.unknown_endpoint"))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:  # no stack trace to clients
        return internal_error_response(request)

    return app
