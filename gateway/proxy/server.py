"""The browser proxy: mitmproxy as a library, its master built inside the running event loop.

``BrowserProxy(live, config)`` runs beside the API listener in ``gardefou serve`` (same process,
same loop, the same ``Live`` configuration and pipeline) or alone in ``gardefou proxy``. Only the mitmproxy addons
the browser path needs are loaded (no onboarding app, no scripts, no flow storage, no web UI):

* ``Core``, ``Proxyserver``, ``NextLayer``, ``TlsConfig``: the proxy itself;
* ``DisableH2C``: no cleartext HTTP/2 upgrade around the inspection;
* ``BrowserIngress`` (``gateway.proxy.ingress``), before ``NextLayer`` so it chooses the tunnels.

Options that matter for fail-closed behaviour: ``rawtcp`` off (a non-HTTP stream inside an inspected
tunnel is refused, not relayed raw; so is an upgrade to anything but WebSocket), ``websocket`` on
(its messages are parsed and each client message inspected), ``ssl_insecure`` off (upstream certificates verified against the
system store plus ``proxy.upstream_ca_file``, never bypassed), HTTP/3 off, uploads bounded by
``limits.max_body_bytes``.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import ssl
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.config import Config
from gateway.live import Live, take_deferred_hangup
from gateway.pipeline import Pipeline
from gateway.proxy.ca import ca_files

if TYPE_CHECKING:
    from mitmproxy.master import Master

    from gateway.proxy.ingress import BrowserIngress

log = logging.getLogger("gardefou.proxy")


class ProxyStartError(RuntimeError):
    pass


def system_ca_bundle() -> bytes:
    """The system's trusted CA certificates (OpenSSL's default file, else certifi's bundle)."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_bytes()
    import certifi

    return Path(certifi.where()).read_bytes()


class BrowserProxy:
    def __init__(self, live: Live, config: Config, *, host: str | None = None, port: int | None = None):
        self.live = live
        self.config = config
        self.host = host if host is not None else config.proxy.host
        self.port = port if port is not None else config.proxy.port
        self.master: Master | None = None
        self.ingress: BrowserIngress | None = None
        self._workdir: str | None = None

    async def start(self) -> None:
        """Listen (raises ``ProxyStartError`` when it cannot): call from inside the running loop."""
        from mitmproxy import options
        from mitmproxy.addons import core, disable_h2c, next_layer, proxyserver, tlsconfig
        from mitmproxy.master import Master

        from gateway.proxy.ingress import BrowserIngress

        proxy = self.config.proxy
        self._workdir = tempfile.mkdtemp(prefix="gardefou-proxy-")
        # Upstream trust: the system store plus the configured extra bundle, in one file (mitmproxy's
        # own default would be certifi's bundle alone).
        bundle = Path(self._workdir) / "upstream-ca.pem"
        extra = Path(proxy.upstream_ca_file).read_bytes() if proxy.upstream_ca_file else b""
        bundle.write_bytes(system_ca_bundle() + b"\n" + extra)
        ca = ca_files(proxy.ca_dir)
        # Without an institution CA nothing is inspected (the configuration is refused when a service
        # asks for it): mitmproxy still wants a CA to exist, so it gets a throw-away one, never used.
        confdir = str(ca.directory) if ca.exists() else self._workdir
        for name in ("mitmproxy", "mitmproxy.proxy", "mitmproxy.addons"):
            logging.getLogger(name).setLevel(logging.WARNING)
        opts = options.Options(listen_host=self.host, listen_port=self.port, confdir=confdir)
        self.master = master = Master(opts)
        self.ingress = BrowserIngress(self.live, self.config)
        master.addons.add(core.Core(), proxyserver.Proxyserver(), disable_h2c.DisableH2C(), self.ingress,
                          next_layer.NextLayer(), tlsconfig.TlsConfig())
        master.options.update(
            mode=["regular"],
            rawtcp=False,
            websocket=True,  # WebSocket messages parsed (each client message inspected), never relayed raw
            ssl_insecure=False,
            ssl_verify_upstream_trusted_ca=str(bundle),
            ssl_verify_upstream_trusted_confdir=None,
            http3=False,
            connection_strategy="eager",
            body_size_limit=str(self.config.limits.max_body_bytes),
            ignore_hosts=[],
            allow_hosts=[],
            tcp_hosts=[],
        )
        # a reload changes the upload limit for new flows (the rest of ``proxy`` needs a restart)
        self.live.on_reload.append(self._reloaded)
        ps = master.addons.get("proxyserver")
        if not await ps.setup_servers():
            await self._cleanup()
            raise ProxyStartError(f"the browser proxy cannot listen on {self.host}:{self.port}")
        addrs = ps.listen_addrs()
        if addrs:
            self.port = addrs[0][1]
        await master.running()
        log.info("browser proxy listening on %s:%s (institution CA: %s)", self.host, self.port,
                 "yes" if ca.exists() else "none, no inspection")

    @property
    def pipeline(self) -> Pipeline:
        """The pipeline in force (a flow keeps the one it started with: ``BrowserIngress``)."""
        return self.live.pipeline

    def _reloaded(self, loaded) -> None:
        if self.master is not None:
            self.master.options.update(body_size_limit=str(loaded.config.limits.max_body_bytes))

    async def wait(self) -> None:
        assert self.master is not None
        await self.master.should_exit.wait()

    async def stop(self) -> None:
        master = self.master
        if master is None:
            return
        master.should_exit.set()
        ps = master.addons.get("proxyserver")
        try:
            await ps.servers.update([])  # stop listening
            for handler in list(ps.connections.values()):  # and end the connections still open
                io = handler.transports.get(handler.client)
                if io is not None and io.handler is not None:
                    io.handler.cancel("gardefou stopping")
            for _ in range(50):
                if not ps.connections:
                    break
                await asyncio.sleep(0.02)
        finally:
            if self._reloaded in self.live.on_reload:
                self.live.on_reload.remove(self._reloaded)
            await master.done()
            await self._cleanup()

    async def _cleanup(self) -> None:
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None


async def run_all(servers, proxy: BrowserProxy | None, on_listening=None, live: Live | None = None) -> None:
    """``gardefou serve``: the uvicorn listeners and the browser proxy in this one event loop. The proxy
    listens first (a gateway that cannot open every listener does not start); when the listeners stop,
    so does the proxy. ``on_listening(port)`` is told the proxy's port (the PAC names it). With
    ``live``, ``SIGHUP`` reloads the configuration (``Live.on_hangup``)."""
    if proxy is not None:
        await proxy.start()
        if on_listening is not None:
            on_listening(proxy.port)
    loop = asyncio.get_running_loop()
    if live is not None:
        loop.add_signal_handler(signal.SIGHUP, live.on_hangup)
        if take_deferred_hangup():  # one arrived while the gateway was starting
            live.on_hangup()
    try:
        await asyncio.gather(*(s.serve() for s in servers))
    finally:
        if live is not None:
            loop.remove_signal_handler(signal.SIGHUP)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)  # stopping: a late SIGHUP must not kill the process
        if proxy is not None:
            await proxy.stop()
