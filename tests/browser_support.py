"""The browser path's test rig, all real parts: fake AI web apps over HTTPS (``trustme`` certificates),
an institution CA made by ``gardefou ca init``'s code, and the gateway run as ``gardefou serve`` runs
it (the uvicorn API listener and the mitmproxy proxy in one event loop, on one pipeline)."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import trustme
import uvicorn
import yaml

from gateway.audit import AuditStore
from gateway.cli import uvicorn_config
from gateway.config import parse_config
from gateway.proxy.server import BrowserProxy, run_all
from gateway.server import create_app
from gateway.testing.webapp import FakeWebApp, start_fake_webapp

NIR = "1 85 05 78 006 084 91"  # a valid NIR (key 91)
NIR_DIGITS = "185057800608491"
CLEAN = "Reformule ce paragraphe pour le rendre plus clair : la réunion est reportée à jeudi."


@dataclass
class WebPki:
    """The fake apps' certificates: ``trusted`` signs the apps the gateway trusts (``upstream_ca_file``),
    ``untrusted`` the one it must refuse."""

    trusted: trustme.CA
    untrusted: trustme.CA
    upstream_ca_file: Path

    def server_context(self, ca: trustme.CA, *names: str) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(*(names or ("localhost", "127.0.0.1"))).configure_cert(ctx)
        return ctx


def make_pki(directory: Path) -> WebPki:
    trusted, untrusted = trustme.CA(), trustme.CA()
    path = directory / "upstream-ca.pem"
    trusted.cert_pem.write_to_path(str(path))
    return WebPki(trusted, untrusted, path)


@dataclass
class Apps:
    chat: FakeWebApp      # inspected, compliant (EU, no training): allow or block
    warn: FakeWebApp      # inspected, non-compliant: the warning page and « Continuer »
    tunnel: FakeWebApp    # not inspected, compliant: tunnelled unread
    denied: FakeWebApp    # denied: CONNECT refused
    badcert: FakeWebApp   # inspected, certificate from a CA the gateway does not trust
    outside: FakeWebApp   # in no service of the catalogue

    def all(self) -> list[FakeWebApp]:
        return [self.chat, self.warn, self.tunnel, self.denied, self.badcert, self.outside]


def start_apps(pki: WebPki) -> Apps:
    ok = pki.server_context(pki.trusted)
    return Apps(chat=start_fake_webapp(ok, "chat"), warn=start_fake_webapp(ok, "warn"),
                tunnel=start_fake_webapp(ok, "tunnel"), denied=start_fake_webapp(ok, "denied"),
                badcert=start_fake_webapp(pki.server_context(pki.untrusted), "badcert"),
                outside=start_fake_webapp(ok, "outside"))


def start_rig(directory: Path) -> tuple[WebPki, Apps, Path]:
    """The fake apps, their certificates and an institution CA (stop the apps with ``app.stop()``)."""
    from gateway.proxy.ca import init_ca

    (directory / "pki").mkdir()
    pki = make_pki(directory / "pki")
    ca_dir = directory / "institution-ca"
    init_ca(ca_dir)
    return pki, start_apps(pki), ca_dir


def browser_config(apps: Apps, pki: WebPki, audit_url: str, ca_dir: Path, **extra) -> dict:
    """The catalogue of the tests: each fake app is a service reached as ``localhost:PORT`` or
    ``127.0.0.1:PORT`` (hosts with a port: nothing here resolves a made-up name)."""
    cfg: dict = {
        "audit": {"url": audit_url},
        "proxy": {"enabled": True, "host": "127.0.0.1", "port": 0, "ca_dir": str(ca_dir),
                  "upstream_ca_file": str(pki.upstream_ca_file), "ack_minutes": 30},
        "services": [
            {"id": "chatapp", "name": "Chat conforme", "hosts": [f"localhost:{apps.chat.port}"], "inspect": True,
             "hosting": "eu", "trains_on_inputs": False},
            {"id": "warnapp", "name": "Chat non conforme", "hosts": [f"127.0.0.1:{apps.warn.port}"],
             "inspect": True, "hosting": "non-eu", "trains_on_inputs": True},
            {"id": "tunnelapp", "name": "Traduction conforme", "hosts": [f"localhost:{apps.tunnel.port}"],
             "hosting": "eu", "trains_on_inputs": False},
            {"id": "deniedapp", "name": "Service interdit", "hosts": [f"127.0.0.1:{apps.denied.port}"],
             "status": "denied"},
            {"id": "badcertapp", "name": "Service au certificat douteux", "hosts": [f"localhost:{apps.badcert.port}"],
             "inspect": True, "hosting": "eu", "trains_on_inputs": False},
            {"id": "llm-interne", "name": "LLM interne (DSN)", "api": "openai", "base_url": "http://127.0.0.1:9/v1",
             "hosts": ["llm.interne.example"], "hosting": "internal", "trains_on_inputs": False,
             "accepts": ["personal", "health", "confidential"]},
        ],
        "limits": {"max_body_bytes": 200_000},
    }
    cfg.update(extra)
    return cfg


@dataclass
class BrowserGateway:
    url: str
    proxy_port: int
    store: AuditStore
    ca_cert: Path
    thread: threading.Thread
    server: uvicorn.Server
    loop: asyncio.AbstractEventLoop
    proxy: BrowserProxy

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    def client(self, verify: ssl.SSLContext | str | None = None, auth: tuple[str, str] | None = None,
               **kw) -> httpx.Client:
        """An httpx client whose requests go through the proxy, trusting the institution CA."""
        proxy = self.proxy_url
        if auth:
            proxy = f"http://{auth[0]}:{auth[1]}@127.0.0.1:{self.proxy_port}"
        ctx = verify if verify is not None else ssl.create_default_context(cafile=str(self.ca_cert))
        return httpx.Client(proxy=proxy, verify=ctx, timeout=10, trust_env=False, **kw)

    def record(self, audit_id: str, *, outcome: bool = False, timeout: float = 5) -> dict:
        """The committed record; with ``outcome``, once the outcome (status, bytes) was added."""
        deadline = time.monotonic() + timeout
        while True:
            rec = self.store.get(audit_id)
            assert rec is not None, "every answer must have a committed audit record"
            if not outcome or rec["total_ms"] is not None or time.monotonic() > deadline:
                return rec
            time.sleep(0.02)

    def records(self, **match) -> list[dict]:
        return [r for r in self.store.recent(1000) if all(r.get(k) == v for k, v in match.items())]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        assert not self.thread.is_alive(), "the gateway did not stop"


def start_browser_gateway(cfg: dict, *, scanner, store=None, config_path: Path | None = None) -> BrowserGateway:
    """``gardefou serve`` in a thread: the API listener and the proxy in one loop, one pipeline. With
    ``config_path``, the configuration is written there first (what a reload reads again)."""
    text = yaml.safe_dump(cfg, allow_unicode=True)
    if config_path is not None:
        config_path.write_text(text, encoding="utf-8")
    config = parse_config(text, environ={})  # the checks serve makes (the CA included)
    app = create_app(config, scanner=scanner, store=store, config_path=str(config_path) if config_path else None)
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", 0, [], log_level="warning", lifespan="on"))
    proxy = BrowserProxy(app.state.live, config)
    state: dict = {}

    def listening(port: int) -> None:
        app.state.proxy_port = port
        state["port"] = port

    def run() -> None:
        async def main() -> None:
            state["loop"] = asyncio.get_running_loop()
            await run_all([server], proxy, on_listening=listening)

        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            state["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not (server.started and "port" in state):
        if "error" in state:
            raise state["error"]
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("gateway with proxy did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    from gateway.proxy.ca import ca_files

    return BrowserGateway(f"http://127.0.0.1:{port}", state["port"], app.state.pipeline.store,
                          ca_files(config.proxy.ca_dir).certificate, thread, server, state["loop"], proxy)
