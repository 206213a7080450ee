"""A real local HTTPS server standing in for an AI web app (the browser path's tests).

It serves, over TLS with the certificate the test gives it (``trustme``):

* ``GET /``: an HTML page with a form posting a prompt to ``/form`` (what a navigation gets);
* ``POST /api/chat``: a JSON chat endpoint that answers in server-sent events, one event at a time;
  with ``"gated": true`` in the body it sends the first event and waits for ``release`` before the
  rest (to prove the proxy streams instead of buffering);
* ``POST /form``: a form endpoint (``application/x-www-form-urlencoded``): an HTML answer for the
  page's own form (a navigation), JSON otherwise;
* ``POST /upload``: a multipart upload endpoint;
* anything else: a small JSON answer.

``start_fake_h2app`` serves the same app over HTTP/2 only (ALPN ``h2``, with the ``h2`` library mitmproxy
depends on): mitmproxy offers the upstream what the browser offered and answers the browser with what
the upstream chose, so an HTTP/2 app is what makes the browser's side of the proxy HTTP/2 as well.

``start_fake_wsapp`` serves a WebSocket app the same way (``websockets``), recording every message.

Every request received is recorded (method, path, headers, raw body), so a test can prove that a
blocked request never reached the app and an allowed one arrived intact.
"""

from __future__ import annotations

import json
import socketserver
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class WebReceived:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    http_version: str = "HTTP/1.1"


@dataclass
class FakeWebApp:
    server: socketserver.TCPServer
    name: str
    received: list[WebReceived] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def clear(self) -> None:
        self.received.clear()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


SSE_EVENTS = ["Bonjour", ", voici ", "la réponse."]


def _page(name: str) -> bytes:
    return (f"<!doctype html><html lang='fr'><head><title>Application {name}</title></head><body>"
            f"<h1>Application {name}</h1><form method='post' action='/form'>"
            "<textarea name='prompt' id='prompt'></textarea><button type='submit'>Envoyer</button>"
            "</form></body></html>").encode()


def _sse_event(piece: str) -> bytes:
    return f"data: {json.dumps({'delta': piece}, ensure_ascii=False)}\n\n".encode()


def _gated(raw: bytes) -> bool:
    """The body asks the app to hold its answer after the first event (``"gated": true``)."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("gated") is True


def start_fake_webapp(ssl_context: ssl.SSLContext, name: str = "app") -> FakeWebApp:
    holder: dict[str, FakeWebApp] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args):  # keep test output clean
            pass

        def _record(self) -> bytes:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            holder["app"].received.append(WebReceived(self.command, self.path,
                                                      {k.lower(): v for k, v in self.headers.items()}, raw))
            return raw

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self._record()
            self._send(200, _page(name), "text/html; charset=utf-8")

        def do_POST(self):
            raw = self._record()
            path = self.path.split("?", 1)[0]
            if path == "/api/chat":
                gated = _gated(raw)
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for i, piece in enumerate(SSE_EVENTS):
                    if i == 1 and gated:
                        holder["app"].release.wait(10)
                    event = _sse_event(piece)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                    self.wfile.flush()
                done = b"data: [DONE]\n\n"
                self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
                self.wfile.flush()
                return
            if path == "/form" and "text/html" in self.headers.get("accept", ""):  # the page's form, posted
                page = (f"<!doctype html><html lang='fr'><body><h1>Réponse de l'application {name}</h1>"
                        f"<p id='answer'>Message reçu ({len(raw)} octets).</p></body></html>")
                self._send(200, page.encode(), "text/html; charset=utf-8")
                return
            answer = {"ok": True, "app": name, "path": path, "received_bytes": len(raw)}
            self._send(200, json.dumps(answer).encode(), "application/json")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = ssl_context.wrap_socket(server.socket, server_side=True)
    app = FakeWebApp(server, name)
    holder["app"] = app
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app


def start_fake_h2app(ssl_context: ssl.SSLContext, name: str = "h2app") -> FakeWebApp:
    """The app above (the page, ``/api/chat`` in server-sent events with its ``gated`` hold, JSON
    otherwise) over HTTP/2 only; each request recorded with ``http_version`` ``HTTP/2``."""
    import h2.config
    import h2.connection
    import h2.events

    ssl_context.set_alpn_protocols(["h2"])
    holder: dict[str, FakeWebApp] = {}

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            try:
                self.tls = ssl_context.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError):
                return
            if self.tls.selected_alpn_protocol() != "h2":  # an HTTP/2 app only
                return
            self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
            self.h2.initiate_connection()
            self.flush()
            streams: dict[int, tuple[dict[str, str], bytearray]] = {}
            while True:
                try:
                    data = self.tls.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                for event in self.h2.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        streams[event.stream_id] = ({str(k): str(v) for k, v in event.headers or []}, bytearray())
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id][1].extend(event.data or b"")
                        self.h2.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded) and event.stream_id in streams:
                        headers, body = streams.pop(event.stream_id)
                        self.respond(event.stream_id, headers, bytes(body))
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        return
                self.flush()

        def flush(self) -> None:
            self.tls.sendall(self.h2.data_to_send())

        def respond(self, stream_id: int, headers: dict[str, str], raw: bytes) -> None:
            method, target = headers[":method"], headers[":path"]
            holder["app"].received.append(WebReceived(method, target, {k: v for k, v in headers.items()
                                                                       if not k.startswith(":")}, raw, "HTTP/2"))
            path = target.split("?", 1)[0]
            if method == "POST" and path == "/api/chat":
                self.h2.send_headers(stream_id, [(":status", "200"), ("content-type", "text/event-stream"),
                                                 ("cache-control", "no-cache")])
                gated = _gated(raw)
                for i, piece in enumerate(SSE_EVENTS):
                    if i == 1 and gated:
                        holder["app"].release.wait(10)
                    self.h2.send_data(stream_id, _sse_event(piece))
                    self.flush()
                self.h2.send_data(stream_id, b"data: [DONE]\n\n", end_stream=True)
                return
            if method == "GET":
                body, content_type = _page(name), "text/html; charset=utf-8"
            else:
                answer = {"ok": True, "app": name, "path": path, "received_bytes": len(raw), "http_version": "HTTP/2"}
                body, content_type = json.dumps(answer).encode(), "application/json"
            self.h2.send_headers(stream_id, [(":status", "200"), ("content-type", content_type),
                                             ("content-length", str(len(body)))])
            self.h2.send_data(stream_id, body, end_stream=True)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    app = FakeWebApp(server, name)
    holder["app"] = app
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app


@dataclass
class FakeWsApp:
    """A WebSocket app over TLS (Copilot-style chat): every message received is recorded and answered
    with a small JSON acknowledgement."""

    server: Any
    name: str
    received: list[str | bytes] = field(default_factory=list)
    handshakes: list[str] = field(default_factory=list)
    #: the close code of each connection that ended (1006: without a close frame)
    closes: list[int | None] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.socket.getsockname()[1]

    def clear(self) -> None:
        self.received.clear()
        self.handshakes.clear()
        self.closes.clear()

    def stop(self) -> None:
        self.server.shutdown()


def start_fake_wsapp(ssl_context: ssl.SSLContext, name: str = "ws") -> FakeWsApp:
    from websockets.sync.server import ServerConnection, serve

    holder: dict[str, FakeWsApp] = {}

    def handler(connection: ServerConnection) -> None:
        app = holder["app"]
        app.handshakes.append(connection.request.path if connection.request else "?")
        try:
            for message in connection:
                app.received.append(message)
                kind = "text" if isinstance(message, str) else "binary"
                connection.send(json.dumps({"event": "received", "app": name, "kind": kind, "size": len(message)}))
        finally:
            app.closes.append(connection.close_code)

    server = serve(handler, "127.0.0.1", 0, ssl=ssl_context, ping_interval=None)
    app = FakeWsApp(server, name)
    holder["app"] = app
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app
