"""The ``gardefou`` command: serve, proxy, ca, check-config, scan, admin, keys, audit."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
from typing import Any

from gateway.config import ConfigError, addresses_collide, load_config


def run_loop(main):
    """Run the servers on uvloop (libuv: cheaper sockets and scheduling than the default selector
    loop; installed with uvicorn[standard]), or on asyncio's own loop where uvloop is absent."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def _cmd_serve(args: argparse.Namespace) -> int:
    from gateway.live import defer_hangups

    # SIGHUP reloads the configuration (``gateway.live``); one that arrives while the gateway starts
    # (models loading), in this process or in the workers it forks, is done once it runs.
    defer_hangups()
    args.config, config_source = serve_config_path(args.config)
    # Everything the configuration can get wrong is refused here, before any database is created.
    config = load_config(args.config, environ=os.environ)
    host = args.host or config.listen.host
    port = args.port if args.port is not None else config.listen.port
    if config.admins and addresses_collide(config.admin.host, config.admin.port, host, port):  # --host / --port
        print(f"gardefou: cannot start: admin.port ({config.admin.port}) must differ from the gateway's port ({port})",
              file=sys.stderr)
        return 2
    if config.proxy.enabled and addresses_collide(config.proxy.host, config.proxy.port, host, port):
        print(f"gardefou: cannot start: proxy.port ({config.proxy.port}) must differ from the gateway's port ({port})",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    workers = args.workers or config.listen.workers
    if workers > 1:
        return _serve_workers(args, config, host, port, workers, config_source)
    return _serve_one(args, config, host, port, config_source=config_source)


class _OnSocket:
    """A uvicorn server serving a socket bound by the parent process (``--workers``)."""

    def __init__(self, server, sock):
        self.server, self.sock = server, sock

    async def serve(self) -> None:
        await self.server.serve(sockets=[self.sock])


def _serve_one(args: argparse.Namespace, config, host: str, port: int, sock=None, side: bool = True,
               config_source: str = "", board=None, worker: int = 0, clients=None, scanner=None) -> int:
    """One gateway process: the API listener (on ``sock`` when the parent bound it) and, when ``side``,
    the admin listener and the browser proxy. ``SIGHUP`` reloads the configuration; ``board`` and
    ``worker``: this process's slot with ``--workers``; ``clients``: the per-client limits every worker
    shares; ``scanner``: the detectors the parent loaded before forking (else loaded here)."""
    import uvicorn

    from gateway.server import create_app

    try:
        logging.getLogger("gardefou").info("configuration: %s", config_source)
        from detectors import build_default_scanner
        from gateway.build import with_scan_helpers

        # the helper processes are forked here, before any thread of this process starts
        scanner = with_scan_helpers(scanner or build_default_scanner(config.detectors), config.limits)
        gateway_app = create_app(config, scanner=scanner, config_path=args.config, board=board, worker=worker,
                                 clients=clients)
        live = gateway_app.state.live
        listeners: list[tuple[Any, str, int, Any]] = [(gateway_app, host, port, config.listen.tls_options())]
        # The audit review has its own listener, sharing the gateway's audit store; only when admin
        # users are configured (`gardefou admin add-user`), so a bare gateway opens one port.
        if config.admins and side:
            from gateway.admin import create_admin_app

            admin_app = create_admin_app(config, store=live.pipeline.store, config_path=args.config, live=live)
            listeners.append((admin_app, config.admin.host, config.admin.port, config.admin.tls_options()))
        elif side:
            logging.getLogger("gardefou.admin").info("no admin users configured: audit review listener not started")
        proxy = None
        if config.proxy.enabled and side:  # the browser path: same process, same loop, the same pipeline object
            from gateway.proxy.server import BrowserProxy

            proxy = BrowserProxy(live, config)
    except Exception as exc:  # a gateway that cannot start fully does not start at all
        print(f"gardefou: cannot start: {exc}", file=sys.stderr)
        return 2
    # Models and dictionaries loaded at start-up live as long as the process: move them out of the
    # collector's generations, or each full collection walks every spaCy object again.
    gc.collect()
    gc.freeze()
    if config.listen.cpu_pinning:  # the scan helpers (forked before) on the other cores
        from gateway.placement import pin_process

        pin_process(worker, getattr(scanner, "helper_pids", []))
    servers = [uvicorn.Server(uvicorn_config(app, h, p, config.listen.trusted_proxies,
                                             header_timeout_s=config.limits.header_timeout_s,
                                             limit_concurrency=config.limits.max_connections,
                                             **tls))  # HTTPS when the certificate and key are set
               for app, h, p, tls in listeners]
    if sock is not None:
        servers[0] = _OnSocket(servers[0], sock)  # type: ignore[call-overload]
    if side and config.alerts.webhook_url and config.alerts.rules:  # threshold alerts to the DPO's webhook
        from gateway.dpo.alerts import AlertWatcher, Alongside

        watcher = AlertWatcher(gateway_app.state.pipeline.store, config.alerts, os.environ)
        servers[0] = Alongside(servers[0], watcher)  # type: ignore[call-overload]

    from gateway.proxy.server import ProxyStartError, run_all

    def listening(proxy_port: int) -> None:
        gateway_app.state.proxy_port = proxy_port

    try:
        run_loop(run_all(servers, proxy, on_listening=listening, live=live))
    except ProxyStartError as exc:
        print(f"gardefou: cannot start: {exc}", file=sys.stderr)
        return 2
    return 0


def _worker_sockets(host: str, port: int, workers: int) -> list:
    """One listening socket per worker, all bound here on the same address with ``SO_REUSEPORT``: the
    kernel spreads new connections over the workers by their addresses. (One socket shared by every
    worker lets the worker that wakes first accept every connection waiting: clients that connect
    together all land on one worker.) Port 0: the first socket's port for the others."""
    import socket

    socks: list[socket.socket] = []
    try:
        for _ in range(workers):
            sock = socket.create_server((host, port), backlog=2048, reuse_port=True)
            port = sock.getsockname()[1]
            socks.append(sock)
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


def _serve_workers(args: argparse.Namespace, config, host: str, port: int, workers: int, config_source: str) -> int:
    """``--workers N``: N gateway processes accepting on one port, each on its own socket bound here
    (``_worker_sockets``), so that scans run on every core. The audit store is migrated once, before
    any worker starts; the admin listener and the browser proxy run in the first worker only. The
    per-client limits are one table shared by every worker (created here, before forking); the scan
    pool is per worker. If a worker cannot start or dies, the others are stopped and the exit code is
    its own. ``SIGHUP`` here
    is relayed to every worker (each reloads the configuration); the admin API's reload, in worker 1,
    signals the others itself and reads their outcome on the shared ``WorkerBoard``.

    The detectors (spaCy model, classifier weights, automata) are loaded here, once, before forking:
    the workers share those pages copy-on-write instead of each loading its own copy, and start in
    the time of one load rather than N loads competing for the cores."""
    import signal

    from detectors import build_default_scanner
    from gateway.audit import AuditStore
    from gateway.limits import ClientLimiter
    from gateway.live import WorkerBoard, take_deferred_hangup

    try:
        store = AuditStore(config.audit.url, **config.audit.store_options())
        store.migrate()
        store.dispose()
        scanner = build_default_scanner(config.detectors)
        socks = _worker_sockets(host, port, workers)
    except Exception as exc:
        print(f"gardefou: cannot start: {exc}", file=sys.stderr)
        return 2
    gc.collect()
    gc.freeze()  # the models' objects: out of every worker's collections (and their pages left shared)
    log = logging.getLogger("gardefou.serve")
    board = WorkerBoard(workers)
    clients = ClientLimiter(config.limits.client_requests_per_minute, config.limits.client_concurrency)
    pids: list[int] = []
    for i in range(workers):
        pid = os.fork()
        if pid == 0:  # the worker: its own pipeline, scanner and connection pool
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            log.info("worker %d/%d (pid %d) starting", i + 1, workers, os.getpid())
            code = 1
            try:
                for j, other in enumerate(socks):  # its own listening socket only
                    if j != i:
                        other.close()
                code = _serve_one(args, config, host, port, sock=socks[i], side=i == 0, config_source=config_source,
                                  board=board, worker=i, clients=clients, scanner=scanner)
            finally:
                os._exit(code)
        pids.append(pid)
    for sock in socks:
        sock.close()
    stopping = False

    def stop(*_) -> None:
        nonlocal stopping
        stopping = True
        for p in pids:
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def hangup(*_) -> None:
        if stopping:
            return
        log.info("SIGHUP: the %d workers reload the configuration", len(pids))
        for p in pids:
            try:
                os.kill(p, signal.SIGHUP)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, hangup)
    if take_deferred_hangup():  # one arrived while the workers were being forked
        hangup()
    code = 0
    while pids:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        pids.remove(pid)
        exit_code = os.waitstatus_to_exitcode(status)
        if not stopping and pids:  # one worker gone: the instance stops whole
            log.error("worker pid %d exited with %d: stopping the others", pid, exit_code)
            code = exit_code or 1
            stop()
        elif exit_code and exit_code != -signal.SIGTERM and not code:  # SIGTERM: the stop asked for
            code = exit_code
    return code


def _cmd_proxy(args: argparse.Namespace) -> int:
    """The browser proxy alone (no API listener: the PAC and /ca.crt are the API listener's);
    ``SIGHUP`` reloads the configuration."""
    import signal

    from gateway.build import build_pipeline
    from gateway.live import Live, defer_hangups, take_deferred_hangup
    from gateway.proxy.server import BrowserProxy, ProxyStartError

    defer_hangups()  # until the proxy runs (then: reload)

    config = load_config(args.config, environ=os.environ)
    if not config.proxy.enabled:
        print("gardefou: the configuration has proxy.enabled: false; set it to true to run the browser proxy",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        pipeline = build_pipeline(config)
    except Exception as exc:
        print(f"gardefou: cannot start: {exc}", file=sys.stderr)
        return 2
    gc.collect()
    gc.freeze()

    live = Live(config, pipeline, path=args.config)

    async def run() -> None:
        proxy = BrowserProxy(live, config, host=args.host, port=args.port)
        await proxy.start()
        assert proxy.master is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, proxy.master.should_exit.set)
        loop.add_signal_handler(signal.SIGHUP, live.on_hangup)
        if take_deferred_hangup():
            live.on_hangup()
        try:
            await proxy.wait()
        finally:
            await proxy.stop()
            pipeline.store.dispose()

    try:
        run_loop(run())
    except ProxyStartError as exc:
        print(f"gardefou: cannot start: {exc}", file=sys.stderr)
        return 2
    return 0


def _cmd_ca_init(args: argparse.Namespace) -> int:
    from gateway.proxy.ca import CaExists, init_ca

    config = load_config(args.config)  # the file must be valid; the CA is what the machine lacks yet
    try:
        path = init_ca(config.proxy.ca_dir, force=args.force, name=args.name)
    except CaExists as exc:
        print(f"gardefou: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"gardefou: cannot create the CA in {config.proxy.ca_dir}: {exc.strerror}", file=sys.stderr)
        return 2
    print("Institution CA created (private key: mode 0600, never served). Deploy this certificate to the "
          "browsers (it is also served at /ca.crt):")
    print(path)
    return 0


#: the configuration ``serve`` reads when no --config is given, if it exists in the working directory
DEFAULT_CONFIG = "config.yaml"


def serve_config_path(given: str | None) -> tuple[str | None, str]:
    """The file ``serve`` loads and how it was chosen (for the start-up log): --config, else
    ``./config.yaml`` when it exists, else the embedded defaults (None)."""
    if given:
        return given, f"{given} (--config)"
    if os.path.isfile(DEFAULT_CONFIG):
        path = os.path.abspath(DEFAULT_CONFIG)
        return path, f"{path} (./{DEFAULT_CONFIG} found in the working directory; --config FILE to choose another)"
    return None, f"embedded defaults (no --config and no ./{DEFAULT_CONFIG} in {os.getcwd()})"


def package_version() -> str:
    """The installed package's version (``gardefou --version``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gardefou")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (package not installed: pip install .)"


def uvicorn_config(app, host: str, port: int, trusted_proxies: list[str], header_timeout_s: float = 10.0, **kwargs):
    """The listener's settings: X-Forwarded-For is read only from the configured trusted proxies, and
    a request whose headers take longer than ``header_timeout_s`` loses its connection (slowloris)."""
    import uvicorn

    from gateway.protocol import header_timeout_protocol

    return uvicorn.Config(app, host=host, port=port, log_level=kwargs.pop("log_level", "info"), access_log=False,
                          proxy_headers=bool(trusted_proxies), forwarded_allow_ips=list(trusted_proxies) or None,
                          http=header_timeout_protocol(header_timeout_s), **kwargs)


def _cmd_check_config(args: argparse.Namespace) -> int:
    config = load_config(args.file, environ=os.environ)  # the checks `serve` makes, nothing started
    cat = config.catalogue()
    print(f"{args.file}: OK ({len(cat.services)} services, audit store {config.audit.url.split(':', 1)[0]})")
    return 0


def _cmd_scan(args: argparse.Namespace) -> int:
    from gateway.scan import main as scan_main

    return scan_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gardefou", description="Garde-fou AI gateway")
    parser.add_argument("--version", action="version", version=f"gardefou {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="start the gateway")
    p.add_argument("--config", help="YAML configuration file (default: ./config.yaml if it exists, "
                                    "else the embedded configuration)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, help="gateway processes sharing the port (default: listen.workers, 1)")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("proxy", help="start the browser proxy alone (proxy.enabled must be true)")
    p.add_argument("--config", help="YAML configuration file (default: embedded configuration)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=_cmd_proxy)

    p = sub.add_parser("ca", help="the institution CA of the browser proxy")
    ca_sub = p.add_subparsers(dest="ca_command", required=True)
    p = ca_sub.add_parser("init", help="create the institution CA in proxy.ca_dir")
    p.add_argument("--config", required=True, help="YAML configuration file")
    p.add_argument("--force", action="store_true", help="replace an existing CA")
    p.add_argument("--name", default="Garde-fou", help="the organisation named in the CA certificate")
    p.set_defaults(func=_cmd_ca_init)

    p = sub.add_parser("scan", help="scan text (FILE or stdin) and print the decision as JSON")
    p.add_argument("--config", help="YAML configuration file")
    p.add_argument("--service", help="destination service id (default: a compliant external service)")
    p.add_argument("--jsonl", action="store_true", help='read lines {"id", "text", "service"?}, write one result per line')
    p.add_argument("file", nargs="?", help="input file (default: standard input)")
    p.set_defaults(func=_cmd_scan)

    p = sub.add_parser("check-config", help="validate a configuration file")
    p.add_argument("file")
    p.set_defaults(func=_cmd_check_config)

    from gateway.admin.cli import register as register_admin  # admin add-user, audit verify/purge/export/stats

    register_admin(sub)
    from gateway.keys import register as register_keys  # keys add/list/revoke

    register_keys(sub)
    from gateway.audit.backup import register as register_backup  # audit backup

    register_backup(sub)
    from gateway.dpo.cli import register as register_dpo  # register export, report weekly

    register_dpo(sub)
    return parser


def main(argv: list[str] | None = None, *, scanner=None) -> int:
    """The command line. ``scanner``: a scanner already built (``scan`` uses it instead of loading one)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.scanner = scanner
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"gardefou: invalid configuration:\n{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
