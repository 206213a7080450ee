"""The ``gardefou`` command: serve, check-config, scan, admin, audit."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys

from gateway.config import ConfigError, addresses_collide, load_config


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.server import create_app

    args.config, config_source = serve_config_path(args.config)
    # Everything the configuration can get wrong is refused here, before any database is created.
    config = load_config(args.config, environ=os.environ)
    host = args.host or config.listen.host
    port = args.port if args.port is not None else config.listen.port
    if config.admins and addresses_collide(config.admin.host, config.admin.port, host, port):  # --host / --port
        print(f"gardefou: cannot start: admin.port ({config.admin.port}) must differ from the gateway's port ({port})",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        logging.getLogger("gardefou").info("configuration: %s", config_source)
        gateway_app = create_app(config)
        listeners = [(gateway_app, host, port, config.listen.tls_options())]
        # The audit review has its own listener, sharing the gateway's audit store; only when admin
        # users are configured (`gardefou admin add-user`), so a bare gateway opens one port.
        if config.admins:
            from gateway.admin import create_admin_app

            admin_app = create_admin_app(config, store=gateway_app.state.pipeline.store, config_path=args.config)
            listeners.append((admin_app, config.admin.host, config.admin.port, config.admin.tls_options()))
        else:
            logging.getLogger("gardefou.admin").info("no admin users configured: audit review listener not started")
    except Exception as exc:  # a gateway that cannot start fully does not start at all
        print(f"gardefou: cannot start: {exc}", file=sys.stderr)
        return 2
    # Models and dictionaries loaded at start-up live as long as the process: move them out of the
    # collector's generations, or each full collection walks every spaCy object again.
    gc.collect()
    gc.freeze()
    servers = [uvicorn.Server(uvicorn_config(app, h, p, config.listen.trusted_proxies,
                                             header_timeout_s=config.limits.header_timeout_s,
                                             limit_concurrency=config.limits.max_connections,
                                             **tls))  # HTTPS when the certificate and key are set
               for app, h, p, tls in listeners]

    async def run_all() -> None:
        await asyncio.gather(*(s.serve() for s in servers))

    asyncio.run(run_all())
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
    p.set_defaults(func=_cmd_serve)

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
    from gateway.audit.backup import register as register_backup  # audit backup

    register_backup(sub)
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
