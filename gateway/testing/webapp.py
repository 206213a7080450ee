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

``start_fake_wsapp`` serves a WebSocket app the same way (``websockets``), recording every message.

Every request received is recorded (method, path, headers, raw body), so a test can prove that a
blocked request never reached the app and an allowed one arrived intact.
"""

from __future__ import annotations

import json
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


@dataclass
class FakeWebApp:
    server: ThreadingHTTPServer
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
            page = (f"<!doctype html><html lang='fr'><head><title>Application {name}</title></head><body>"
                    f"<h1>Application {name}</h1><form method='post' action='/form'>"
                    "<textarea name='prompt' id='prompt'></textarea><button type='submit'>Envoyer</button>"
                    "</form></body></html>")
            self._send(200, page.encode(), "text/html; charset=utf-8")

        def do_POST(self):
            raw = self._record()
            path = self.path.split("?", 1)[0]
            if path == "/api/chat":
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for i, piece in enumerate(SSE_EVENTS):
                    if i == 1 and isinstance(body, dict) and body.get("gated"):
                        holder["app"].release.wait(10)
                    event = f"data: {json.dumps({'delta': piece}, ensure_ascii=False)}\n\n".encode()
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


@dataclass
class FakeWsApp:
    """A WebSocket app over TLS (Copilot-style chat): every message received is recorded and answered
    with a small JSON acknowledgement."""

    server: Any
    name: str
    received: list[str | bytes] = field(default_factory=list)
    handshakes: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.socket.getsockname()[1]

    def clear(self) -> None:
        self.received.clear()
        self.handshakes.clear()

    def stop(self) -> None:
        self.server.shutdown()


def start_fake_wsapp(ssl_context: ssl.SSLContext, name: str = "ws") -> FakeWsApp:
    from websockets.sync.server import ServerConnection, serve

    holder: dict[str, FakeWsApp] = {}

    def handler(connection: ServerConnection) -> None:
        app = holder["app"]
        app.handshakes.append(connection.request.path if connection.request else "?")
        for message in connection:
            app.received.append(message)
            kind = "text" if isinstance(message, str) else "binary"
            connection.send(json.dumps({"event": "received", "app": name, "kind": kind, "size": len(message)}))

    server = serve(handler, "127.0.0.1", 0, ssl=ssl_context, ping_interval=None)
    app = FakeWsApp(server, name)
    holder["app"] = app
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app
