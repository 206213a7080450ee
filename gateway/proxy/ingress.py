"""The browser ingress: a mitmproxy addon handing every flow to the same pipeline as the API.

Per destination (``Catalogue.by_host``, the host and port the browser asked for):

* a host outside the catalogue, or a ``denied`` service: the ``CONNECT`` is refused (403) and
  recorded (``service.unknown`` / ``service.denied``). The proxy is not an open proxy: the PAC sends
  it the catalogue's hosts and the discovery list's, and anything else that reaches it is refused;
* a host of the discovery list that the catalogue does not cover (shadow AI): decided by
  ``policy.unknown_service`` in the pipeline (``service.unknown`` + ``discovery.listed``), refused
  like the above or tunnelled unread with a recorded warning;
* an allowed service without ``inspect``: the ``CONNECT`` goes through the pipeline (the destination
  alone decides: ``allow``, or ``warn`` for a non-compliant service) and the connection is tunnelled
  unread; its record gets the bytes each way and the duration when it closes;
* an allowed service with ``inspect: true``: TLS is terminated with a certificate signed by the
  institution CA (mitmproxy's TlsConfig; the upstream's certificate is verified), and every request is
  a pipeline pass through ``WebAdapter``: a block is a French page for a navigation and a JSON 403
  for the app's own calls, or, for the conversation requests of a known app (``Service.web_app``),
  the app's own stream whose assistant message is the explanation (``gateway.proxy.apps``); a
  warning needs « Continuer » (recorded) first; a forwarded answer is streamed. Plain-HTTP requests
  through the proxy are inspected the same way;
* WebSocket: the handshake is a request like the others; then every message the client sends is a
  pipeline pass of its own (``endpoint: websocket``, one audit record each; a text message read like
  a body, a binary one uninspectable). A refused message is dropped, the client gets a text frame
  with the JSON refusal (French message, audit id), then the connection is closed with a close frame
  (1008 policy violation, or 1011 when the proxy failed; a short French reason). Messages from the
  server are relayed unread, as HTTP answers are.

Who: ``Proxy-Authorization: Basic`` (on the ``CONNECT``, or on each plain-HTTP request) whose
password is one of ``auth.clients``' keys names the client; without it the client is its address.
A wrong credential is a 407. The credential is never forwarded upstream.

Every hook fails closed: an error in this code answers 503 and forwards nothing (mitmproxy would
otherwise log the addon's error and let the flow go on).

Each flow takes the pipeline in force when it arrives (``Live.pipeline``) and keeps it in its state
(``Forwarded``, ``Tunnel``) until it is recorded as complete: a configuration reload applies to new
requests, new tunnels and new WebSocket messages, never to one half-way.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field

import wsproto.events
from mitmproxy import ctx, http, tcp, websocket
from mitmproxy.proxy import layer, layers
from mitmproxy.proxy.layers.websocket import WebsocketLayer

from gateway.adapters.web import WebAdapter
from gateway.audit import AuditError
from gateway.config import Config
from gateway.live import Live
from gateway.pipeline import UNAVAILABLE_FR, BodyTooLarge, Client, Exchange, Incoming, Pipeline, Refusal, Verdict
from gateway.proxy import apps
from gateway.proxy.acks import Acknowledgements, client_key, token_key
from gateway.proxy.pages import (
    ACK_PATH,
    CHARTER_HINT_FR,
    CHARTER_PATH,
    JSON_HEADERS,
    PAGE_HEADERS,
    Pages,
    is_navigation,
    json_error,
    safe_return_path,
)
from gateway.sobriety import NOTICES_FR, UsageMeter
from policies.catalogue import Service
from policies.messages import ACK_HINT_BROWSER, Messages

log = logging.getLogger("gardefou.proxy")

WEB = WebAdapter()
STATE = "gardefou"  # key of a forwarded flow's state in ``flow.metadata``
CREDENTIAL = "gardefou-credential"  # the Proxy-Authorization a flow's request presented (its WebSocket's frames)
#: WebSocket close codes (RFC 6455): a refused message; the proxy failed
WS_POLICY_VIOLATION = 1008
WS_INTERNAL_ERROR = 1011
#: how long a WebSocket closing after a refused message has before its connection is cut (the close
#: frame normally ends it at once); without a close frame, how long the refusal frame has to arrive
WS_CLOSE_TIMEOUT_S = 2.0
WS_CUT_DELAY_S = 0.2

INTERNAL_FR = UNAVAILABLE_FR.format(what="erreur interne du proxy")


@dataclass
class Tunnel:
    """A CONNECT let through unread: its record (and the pipeline that made it), and what it carried."""

    ex: Exchange
    pipeline: Pipeline
    started: bool = False
    up: int = 0
    down: int = 0
    done: bool = False


@dataclass
class Forwarded:
    """A request inspected and let through: its record (and the pipeline that made it), completed when
    the answer has been relayed."""

    ex: Exchange
    pipeline: Pipeline
    ex_decision: str = "allow"
    t0: float = field(default_factory=time.perf_counter)
    up: int = 0
    down: int = 0
    done: bool = False
    #: reads the provider's token counts from the answer as it is relayed
    meter: UsageMeter | None = None


def fail_closed(hook):
    """An exception in a request-path hook answers 503 (nothing forwarded) instead of letting mitmproxy
    log it and go on with the flow."""

    @functools.wraps(hook)
    async def guarded(self, flow, *args):
        try:
            return await hook(self, flow, *args)
        except Exception:
            log.exception("browser ingress failure in %s: flow refused", hook.__name__)
            flow.response = http.Response.make(503, json_error(WEB.error_body(503, "gardefou_unavailable", INTERNAL_FR),
                                                               None), {**JSON_HEADERS, "x-gardefou-decision": "refuse"})

    return guarded


class BrowserIngress:
    def __init__(self, live: Live, config: Config):
        self.live = live
        # the audit store and the audit key are every generation's (the key changes at a restart only)
        pipeline = live.pipeline
        self.acks = Acknowledgements(config.proxy.ack_minutes, pipeline.store, token_key(pipeline.fingerprint_key))
        self.pages = Pages(config.proxy.ack_minutes)
        #: client connection id -> the Proxy-Authorization its CONNECT presented
        self.credentials: dict[str, str] = {}
        #: client connection id -> the tunnel its CONNECT opened
        self.tunnels: dict[str, Tunnel] = {}
        #: client connection id -> why the TLS handshake with its upstream failed
        self.upstream_tls_failed: dict[str, str] = {}
        #: WebSocket connections being closed after a refused message (kept until they are)
        self.closing: set[asyncio.Task] = set()
        #: flow id -> the layer of a WebSocket and the close to send after its refusal frame
        self.ws_closes: dict[str, tuple[WebsocketLayer, wsproto.events.CloseConnection]] = {}

    # -- CONNECT ----------------------------------------------------------------------------------
    @fail_closed
    async def http_connect(self, flow: http.HTTPFlow) -> None:
        req = flow.request
        credential = req.headers.get("proxy-authorization")
        conn_id = flow.client_conn.id
        if credential:
            self.credentials[conn_id] = credential
        pipeline = self.live.pipeline
        service = pipeline.catalogue.by_host(req.host, req.port)
        inc = await self._incoming(flow, "connect", credential, service)
        if service is not None and service.status == "allowed" and service.inspect:
            # Each request inside is inspected on its own; only who is asking is checked here.
            ex = Exchange(api=WEB.api, endpoint="connect", client=Client(addr=inc.peer), host=_host(req.host, req.port))
            try:
                pipeline.authenticate(WEB, inc, ex)
            except Refusal as refusal:
                flow.response = self._connect_refusal(ex, await pipeline.refuse(ex, refusal))
            return
        ex, verdict = await pipeline.process(WEB, inc)
        if not verdict.forward:
            flow.response = self._connect_refusal(ex, verdict)
            return
        self.tunnels[conn_id] = Tunnel(ex, pipeline)

    async def http_connect_error(self, flow: http.HTTPFlow) -> None:
        """The upstream of a tunnel could not be reached (mitmproxy answered 502)."""
        tunnel = self.tunnels.pop(flow.client_conn.id, None)
        if tunnel is not None and not tunnel.done:
            tunnel.done = True
            status = flow.response.status_code if flow.response else 502
            await tunnel.pipeline.complete(tunnel.ex, status_code=status, upstream_error="unreachable", bytes_up=0,
                                           bytes_down=0)

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        """The layer inside a tunnel of a non-inspected service: raw TCP, counted, never TLS-terminated."""
        tunnel = self.tunnels.get(nextlayer.context.client.id)
        if tunnel is not None and not tunnel.started:
            tunnel.started = True
            nextlayer.layer = layers.TCPLayer(nextlayer.context)

    def tcp_message(self, flow: tcp.TCPFlow) -> None:
        tunnel = self.tunnels.get(flow.client_conn.id)
        message = flow.messages[-1]
        if tunnel is not None:
            if message.from_client:
                tunnel.up += len(message.content)
            else:
                tunnel.down += len(message.content)
        flow.messages.clear()  # counted, not kept: a long tunnel must not grow in memory

    async def tcp_end(self, flow: tcp.TCPFlow) -> None:
        await self._close_tunnel(flow.client_conn.id, None)

    async def tcp_error(self, flow: tcp.TCPFlow) -> None:
        await self._close_tunnel(flow.client_conn.id, "stream_interrupted")

    def tls_failed_server(self, data) -> None:
        """The upstream's certificate was refused (never bypassed): the requests of this connection
        get a French 502 instead of being sent."""
        self.upstream_tls_failed[data.context.client.id] = str(data.conn.error or "TLS handshake failed")

    async def client_disconnected(self, client) -> None:
        self.credentials.pop(client.id, None)
        self.upstream_tls_failed.pop(client.id, None)
        await self._close_tunnel(client.id, None)

    async def _close_tunnel(self, conn_id: str, error: str | None) -> None:
        tunnel = self.tunnels.pop(conn_id, None)
        if tunnel is None or tunnel.done:
            return
        tunnel.done = True
        await tunnel.pipeline.complete(tunnel.ex, status_code=200, upstream_status=200 if tunnel.started else None,
                                       upstream_error=error, bytes_up=tunnel.up, bytes_down=tunnel.down)

    # -- requests (inside an inspected tunnel, or plain HTTP) -------------------------------------
    @fail_closed
    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:  # answered already (by this addon or mitmproxy)
            return
        req = flow.request
        credential = self.credentials.get(flow.client_conn.id) or req.headers.get("proxy-authorization")
        req.headers.pop("proxy-authorization", None)  # the proxy's credential never leaves
        if credential:
            flow.metadata[CREDENTIAL] = credential  # who sends the messages of a WebSocket it opens
        pipeline = self.live.pipeline
        service = pipeline.catalogue.by_host(req.host, req.port)
        path = urllib.parse.urlsplit(req.path).path
        if service is not None and path == ACK_PATH:
            await self._acknowledge(pipeline, flow, service, credential)
            return
        if service is not None and path == CHARTER_PATH:
            await self._accept_charter(pipeline, flow, service, credential)
            return
        raw = req.raw_content or b""

        async def read(limit: int) -> bytes:
            if len(raw) > limit:
                raise BodyTooLarge
            return raw

        inc = await self._incoming(flow, "request", credential, service, read_body=read)
        ex, verdict = await pipeline.process(WEB, inc)
        if not verdict.forward:
            flow.response = self._refusal(pipeline, flow, ex, verdict, service, credential)
            return
        if flow.client_conn.id in self.upstream_tls_failed:
            await pipeline.complete(ex, status_code=502, upstream_error="tls_failed")
            name = service.name if service else (ex.host or "?")
            message = (f"Le certificat présenté par le service « {name} » n'est pas valide : Garde-fou a refusé "
                       "la connexion et rien n'a été transmis. Prévenez la DSN.")
            refused = Verdict(verdict.decision, forward=False, status=502, code="gardefou_upstream_untrusted",
                              message=message)
            flow.response = self._answer(pipeline.messages, flow, ex, refused,
                                         self.pages.refused(pipeline.messages, message, ex.audit_id), service)
            return
        flow.metadata[STATE] = Forwarded(ex, pipeline, verdict.decision.action, up=len(raw))

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        state = flow.metadata.get(STATE)
        if isinstance(state, Forwarded) and flow.response is not None:
            resp = flow.response
            meter = state.meter = UsageMeter(resp.headers.get("content-type"), resp.headers.get("content-encoding"))

            def relay(chunk: bytes) -> bytes:  # streamed to the browser as it arrives (SSE), counted
                state.down += len(chunk)
                meter.feed(chunk)
                return chunk

            resp.stream = relay
            resp.headers["x-gardefou-decision"] = state.ex_decision
            resp.headers["x-gardefou-audit-id"] = state.ex.audit_id
            if state.ex.notice in NOTICES_FR:  # Latin-1, as on the API path (header values' own charset)
                resp.headers[b"x-gardefou-notice"] = NOTICES_FR[state.ex.notice].encode("latin-1", "replace")

    async def response(self, flow: http.HTTPFlow) -> None:
        state = flow.metadata.get(STATE)
        if isinstance(state, Forwarded) and not state.done and flow.response is not None:
            state.done = True
            status = flow.response.status_code
            await state.pipeline.complete(state.ex, status_code=status, upstream_status=status,
                                         upstream_ms=(time.perf_counter() - state.t0) * 1000,
                                         bytes_up=state.up, bytes_down=state.down, meter=state.meter)

    async def error(self, flow: http.HTTPFlow) -> None:
        state = flow.metadata.get(STATE)
        message = flow.error.msg if flow.error else ""
        if isinstance(state, Forwarded):
            if not state.done:
                state.done = True
                await state.pipeline.complete(state.ex, status_code=502, upstream_status=None,
                                             upstream_error=_upstream_error(message),
                                             upstream_ms=(time.perf_counter() - state.t0) * 1000,
                                             bytes_up=state.up, bytes_down=state.down)
        elif "body_size_limit" in message and flow.request is not None:
            # mitmproxy stopped an upload past limits.max_body_bytes before any hook saw its body:
            # record the refusal (mitmproxy has answered 413 itself)
            async def too_large(limit: int) -> bytes:
                raise BodyTooLarge

            credential = self.credentials.get(flow.client_conn.id) or flow.request.headers.get("proxy-authorization")
            pipeline = self.live.pipeline
            service = pipeline.catalogue.by_host(flow.request.host, flow.request.port)
            inc = await self._incoming(flow, "request", credential, service, read_body=too_large)
            await pipeline.process(WEB, inc)

    # -- WebSocket messages ---------------------------------------------------------------------------
    async def websocket_message(self, flow: http.HTTPFlow) -> None:
        """Each message the client sends is inspected before it is relayed (mitmproxy waits for this
        hook); a refused one is dropped and the connection closed. Fails closed like the other hooks."""
        assert flow.websocket is not None
        message = flow.websocket.messages[-1]
        try:
            if message.injected:
                pending = self.ws_closes.pop(flow.id, None)
                if pending is not None:
                    # the refusal frame is on its way to the client: the close follows it (mitmproxy
                    # relays a close coming from the server to both sides, then ends the connection)
                    ws_layer, close = pending
                    ws_layer.server_ws._events.append(close)
            elif message.from_client:
                await self._inspect_message(flow, message)
        except Exception:
            log.exception("browser ingress failure in websocket_message: message dropped, connection closed")
            if message.from_client and not message.injected:  # (a refusal frame: the backstop cuts)
                message.drop()
                self._close_websocket(flow, json_error(WEB.error_body(503, "gardefou_unavailable", INTERNAL_FR),
                                                       None),
                                      WS_INTERNAL_ERROR, "Erreur interne de Garde-fou : message non transmis.")
        finally:
            flow.websocket.messages.clear()  # inspected or relayed, not kept: a long connection must not grow

    async def _inspect_message(self, flow: http.HTTPFlow, message: websocket.WebSocketMessage) -> None:
        req = flow.request
        credential = flow.metadata.get(CREDENTIAL)
        pipeline = self.live.pipeline  # each message is a request of its own
        service = pipeline.catalogue.by_host(req.host, req.port)
        content = message.content

        async def read(limit: int) -> bytes:
            if len(content) > limit:
                raise BodyTooLarge
            return content

        peer = _peer(flow)
        inc = Incoming(endpoint="websocket", headers={"proxy-authorization": credential} if credential else {},
                       peer=peer, read_body=read, params={"websocket": "text" if message.is_text else "binary"},
                       host=req.host, port=req.port, ack_warnings=True, charter_check=False,
                       acknowledged=await self.acks.holds(client_key(credential, peer), service.id if service else None))
        ex, verdict = await pipeline.process(WEB, inc)
        if verdict.forward:
            await pipeline.complete(ex, status_code=200, bytes_up=len(content), bytes_down=0)
            return
        message.drop()
        status = 407 if verdict.status == 401 else verdict.status
        body = WEB.error_body(status, verdict.code or "gardefou_refused", verdict.message or "", verdict.param)
        audit_id = _audit_id(ex, verdict)
        what = "bloqué" if verdict.code == "gardefou_blocked" else "refusé"
        reason = f"Message {what} par Garde-fou" + (f" (réf. {audit_id})." if audit_id else ".")
        code = WS_INTERNAL_ERROR if status >= 500 else WS_POLICY_VIOLATION
        self._close_websocket(flow, json_error(body, audit_id), code, reason)

    def _close_websocket(self, flow: http.HTTPFlow, refusal: bytes, code: int, reason: str) -> None:
        """Send the refusal to the client as a text frame, then close the connection, both sides, with
        ``code`` and ``reason`` (short: a close reason is 123 bytes at most). mitmproxy has no command to
        close a WebSocket (its issue 4773): the close is handed to the connection's WebSocket layer
        when the refusal frame goes through it (``websocket_message``); if that layer cannot be found,
        the connection is cut once the refusal frame has had time to arrive (an abnormal closure)."""
        handler = ctx.master.addons.get("proxyserver").connections.get(flow.client_conn.id)
        ws_layer = _websocket_layer(handler, flow) if handler is not None else None
        if ws_layer is not None:
            self.ws_closes[flow.id] = (ws_layer, wsproto.events.CloseConnection(code, reason))
        ctx.master.commands.call("inject.websocket", flow, True, refusal, True)

        async def cut() -> None:  # the backstop: a connection still open is ended
            await asyncio.sleep(WS_CLOSE_TIMEOUT_S if ws_layer is not None else WS_CUT_DELAY_S)
            self.ws_closes.pop(flow.id, None)
            io = handler.transports.get(handler.client) if handler is not None else None
            if io is not None and io.handler is not None:
                io.handler.cancel("gardefou: WebSocket message refused")

        task = asyncio.get_running_loop().create_task(cut())
        self.closing.add(task)
        task.add_done_callback(self.closing.discard)

    # -- « Continuer » ------------------------------------------------------------------------------
    async def _acknowledge(self, pipeline: Pipeline, flow: http.HTTPFlow, service: Service,
                           credential: str | None) -> None:
        req = flow.request
        peer = _peer(flow)
        who = client_key(credential, peer)
        form = req.urlencoded_form if req.method == "POST" else None
        ex = Exchange(api=WEB.api, endpoint="ack", client=Client(addr=peer), host=_host(req.host, req.port))
        ex.service, ex.service_ref = service, service.id
        if form is None or not self.acks.check(form.get("jeton", ""), who, service.id):
            message = ("Cette confirmation a expiré ou ne vient pas de la page d'avertissement de Garde-fou : "
                       "rechargez la page du service et cliquez à nouveau sur « Continuer ».")
            await self._refused_page(pipeline, flow, ex, Refusal(403, "gardefou_ack_invalid", message,
                                                                 "warn.ack_invalid"))
            return
        if not await self._button_client(pipeline, flow, ex, credential, peer):
            return
        minutes = self.acks.ttl // 60
        verdict = await pipeline.record_local(
            ex, "warn.acknowledged",
            f"Avertissement confirmé par l'utilisateur (« Continuer ») pour « {service.name} », valable {minutes} minutes.",
            action="warn")
        granted = verdict.recorded  # an acknowledgement that cannot be recorded is not granted
        if granted:
            try:
                await self.acks.grant(who, service.id)
            except AuditError as exc:
                log.error("acknowledgement %s recorded but not stored (%s): not granted", ex.audit_id, exc)
                granted = False
        if not granted:
            message = UNAVAILABLE_FR.format(what="journal d'audit indisponible")
            flow.response = http.Response.make(503, self.pages.refused(pipeline.messages, message, None),
                                               {**PAGE_HEADERS, "x-gardefou-decision": "refuse"})
            return
        flow.response = http.Response.make(303, b"", {"location": safe_return_path(form.get("retour")),
                                                      "cache-control": "no-store",
                                                      "x-gardefou-decision": "warn", "x-gardefou-audit-id": ex.audit_id})

    # -- « J'accepte » (the charter) -------------------------------------------------------------------
    async def _accept_charter(self, pipeline: Pipeline, flow: http.HTTPFlow, service: Service,
                              credential: str | None) -> None:
        req = flow.request
        peer = _peer(flow)
        charter = pipeline.charter
        form = req.urlencoded_form if req.method == "POST" else None
        ex = Exchange(api=WEB.api, endpoint="charter_ack", client=Client(addr=peer), host=_host(req.host, req.port))
        ex.service, ex.service_ref = service, service.id
        if charter is None or form is None or not self.acks.check(form.get("jeton", ""), client_key(credential, peer),
                                                                  "charte:" + charter.version):
            message = ("Cette acceptation a expiré ou ne vient pas de la page de la charte de Garde-fou : "
                       "rechargez la page du service et cliquez à nouveau sur « J'accepte ».")
            await self._refused_page(pipeline, flow, ex, Refusal(403, "gardefou_charter_invalid", message,
                                                                 "charter_ack.invalid"))
            return
        if not await self._button_client(pipeline, flow, ex, credential, peer):
            return
        verdict = await pipeline.record_local(
            ex, "charter_ack.accepted", f"Charte acceptée (version {charter.version}) par l'utilisateur (« J'accepte »).")
        try:
            if not verdict.recorded:
                raise AuditError("the acceptance's audit record was not written")
            await asyncio.to_thread(charter.accept, ex.client, "browser", "page", ex.audit_id)
        except AuditError:  # an acceptance that cannot be recorded is not granted
            message = UNAVAILABLE_FR.format(what="journal d'audit indisponible")
            flow.response = http.Response.make(503, self.pages.refused(pipeline.messages, message, None),
                                               {**PAGE_HEADERS, "x-gardefou-decision": "refuse"})
            return
        flow.response = http.Response.make(303, b"", {"location": safe_return_path(form.get("retour")),
                                                      "cache-control": "no-store",
                                                      "x-gardefou-decision": "allow", "x-gardefou-audit-id": ex.audit_id})

    # -- answers ----------------------------------------------------------------------------------
    async def _incoming(self, flow: http.HTTPFlow, endpoint: str, credential: str | None, service: Service | None,
                        read_body=None) -> Incoming:
        req = flow.request
        headers = req.headers.copy()
        if credential:
            headers["proxy-authorization"] = credential
        peer = _peer(flow)
        acknowledged = await self.acks.holds(client_key(credential, peer), service.id if service else None)
        # the charter is asked on the requests of inspected hosts (a page can be shown there), accepted
        # with « J'accepte » only: a header a page's script could add does not accept it
        return Incoming(endpoint=endpoint, headers=headers, peer=peer, read_body=read_body or _no_body,
                        params=_url_params(req.path) if endpoint != "connect" else {"query": "", "path": ""},
                        host=req.host, port=req.port, acknowledged=acknowledged, ack_warnings=endpoint != "connect",
                        charter_check=endpoint != "connect", charter_header=False)

    def _connect_refusal(self, ex: Exchange, verdict: Verdict) -> http.Response:
        """A refused CONNECT: browsers show their own error page for it, the body is for other clients."""
        status, headers = verdict.status, _decision_headers(ex, verdict)
        if status == 401:
            status = 407
            headers["proxy-authenticate"] = 'Basic realm="Garde-fou", charset="UTF-8"'
        body = (verdict.message or "Connexion refusée par Garde-fou.") + "\n"
        return http.Response.make(status, body.encode("utf-8"), {"content-type": "text/plain; charset=utf-8", **headers})

    def _refusal(self, pipeline: Pipeline, flow: http.HTTPFlow, ex: Exchange, verdict: Verdict,
                 service: Service | None, credential: str | None) -> http.Response:
        messages = pipeline.messages
        audit_id = _audit_id(ex, verdict)
        name = service.name if service else (ex.host or "?")
        if verdict.silent:
            return http.Response.make(verdict.status, b"", _decision_headers(ex, verdict))
        notice = NOTICES_FR.get(ex.notice or "")  # a long conversation: the banner of the page
        if verdict.code == "gardefou_blocked":
            page = self.pages.block(messages, name, verdict.decision, audit_id or "", notice=notice)
        elif verdict.code == "gardefou_ack_required" and service is not None:
            token = self.acks.token(client_key(credential, _peer(flow)), service.id)
            page = self.pages.warning(messages, name, verdict.decision, audit_id or "", token,
                                      safe_return_path(flow.request.path), notice=notice)
        elif verdict.code == "gardefou_charter_required" and pipeline.charter is not None:
            charter = pipeline.charter
            token = self.acks.token(client_key(credential, _peer(flow)), "charte:" + charter.version)
            page = self.pages.charter(messages, charter, name, audit_id or "", token,
                                      safe_return_path(flow.request.path))
        else:
            page = self.pages.refused(messages, verdict.message or "", audit_id, notice=notice)
        return self._answer(messages, flow, ex, verdict, page, service)

    async def _refused_page(self, pipeline: Pipeline, flow: http.HTTPFlow, ex: Exchange, refusal: Refusal) -> None:
        """Record a refusal of one of the gateway's own pages' buttons and answer it with a French page."""
        verdict = await pipeline.refuse(ex, refusal)
        flow.response = self._answer(pipeline.messages, flow, ex, verdict,
                                     self.pages.refused(pipeline.messages, verdict.message or "", _audit_id(ex, verdict)))

    async def _button_client(self, pipeline: Pipeline, flow: http.HTTPFlow, ex: Exchange, credential: str | None,
                             peer: str | None) -> bool:
        """Who pressed a button of the gateway's pages, identified as for any request (its proxy
        credential); False: refused, and answered."""
        headers = flow.request.headers.copy()
        if credential:
            headers["proxy-authorization"] = credential
        try:
            pipeline.authenticate(WEB, Incoming(ex.endpoint, headers, peer, _no_body), ex)
        except Refusal as refusal:
            await self._refused_page(pipeline, flow, ex, refusal)
            return False
        return True

    def _answer(self, messages: Messages, flow: http.HTTPFlow, ex: Exchange, verdict: Verdict, page: bytes,
                service: Service | None = None) -> http.Response:
        headers = _decision_headers(ex, verdict)
        status = 407 if verdict.status == 401 else verdict.status
        if status == 407:
            headers["proxy-authenticate"] = 'Basic realm="Garde-fou", charset="UTF-8"'
        if is_navigation(flow.request.headers):
            return http.Response.make(status, page, {**PAGE_HEADERS, **headers})
        message = (verdict.message or "") + _HINTS.get(verdict.code or "", "")
        app = apps.for_request(service, flow.request.method, flow.request.path) if status != 407 else None
        if app is not None and service is not None:
            # the app's own stream, shown in its conversation (a 200: the apps render nothing else)
            text = apps.conversation_text(verdict.code, service.name, verdict.decision, message,
                                          _audit_id(ex, verdict), messages)
            req = flow.request
            raw = b"" if req.headers.get("content-encoding") else (req.raw_content or b"")  # only its ids are read
            reply = app.reply(text, raw)
            return http.Response.make(200, reply.body, {"content-type": reply.content_type, "cache-control": "no-store",
                                                        "x-content-type-options": "nosniff", **headers})
        body = WEB.error_body(verdict.status, verdict.code or "gardefou_refused", message, verdict.param)
        return http.Response.make(status, json_error(body, _audit_id(ex, verdict)), {**JSON_HEADERS, **headers})


#: how to get past a refusal on the browser path, added to the JSON and app answers
_HINTS = {"gardefou_ack_required": ACK_HINT_BROWSER, "gardefou_charter_required": CHARTER_HINT_FR}


async def _no_body(limit: int) -> bytes:
    return b""


def _websocket_layer(handler, flow: http.HTTPFlow) -> WebsocketLayer | None:
    """The layer relaying ``flow``'s WebSocket messages, found in its connection's tree of layers."""
    stack: list[object] = [getattr(handler, "layer", None)]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, WebsocketLayer):
            if node.flow is flow and isinstance(getattr(getattr(node, "server_ws", None), "_events", None), deque):
                return node
            continue
        for value in vars(node).values():
            # a child layer is an attribute (``child_layer``, ``layer``), in a dict (HTTP streams and
            # connections), or only known by the bound method its parent hands events to
            for item in value.values() if isinstance(value, dict) else (value, getattr(value, "__self__", None)):
                if isinstance(item, layer.Layer):
                    stack.append(item)
    return None


def _peer(flow) -> str | None:
    peer = flow.client_conn.peername
    return peer[0] if peer else None


def _host(host: str, port: int) -> str:
    return host if port in (80, 443) else f"{host}:{port}"


def _audit_id(ex: Exchange, verdict: Verdict) -> str | None:
    return ex.audit_id if verdict.recorded else None


def _decision_headers(ex: Exchange, verdict: Verdict) -> dict[str, str | bytes]:
    headers: dict[str, str | bytes] = {"x-gardefou-decision": verdict.decision.action,
                                       "x-gardefou-audit-id": ex.audit_id if verdict.recorded else "unrecorded"}
    if verdict.retry_after is not None:
        headers["retry-after"] = str(verdict.retry_after)
    if ex.notice in NOTICES_FR:
        headers["x-gardefou-notice"] = NOTICES_FR[ex.notice].encode("latin-1", "replace")  # Latin-1, as on the API
    return headers


def _upstream_error(message: str) -> str:
    text = message.lower()
    if "certificate" in text or "tls" in text or "ssl" in text:
        return "tls_failed"
    if "timeout" in text or "timed out" in text:
        return "timeout"
    return "unreachable"


__all__ = ["BrowserIngress", "Forwarded", "Tunnel"]


def _url_params(target: str) -> dict[str, str]:
    """The query string and the path of a request target, both read by the web adapter."""
    url = urllib.parse.urlsplit(target)
    return {"query": url.query, "path": url.path}
