"""Shared fixtures: a fake provider (real HTTP server), audit databases (SQLite and live PostgreSQL),
and a running gateway (real uvicorn server on a free loopback port)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
import yaml

from gateway.audit import AuditStore
from gateway.config import parse_config
from gateway.server import create_app
from gateway.testing.provider import FakeProvider, start_fake_provider

PG_BASE = os.environ.get("GARDEFOU_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    import psycopg

    dsn = PG_BASE.replace("postgresql+psycopg", "postgresql")
    for attempt in range(2):
        try:
            psycopg.connect(dsn, connect_timeout=3).close()
            return True
        except psycopg.OperationalError:
            if attempt == 0:  # the guide's command to start the machine's cluster
                subprocess.run(
                    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
                    shell=True, capture_output=True, timeout=60,
                )
                time.sleep(2)
    return False


@pytest.fixture(scope="session")
def pg_ready() -> bool:
    ok = _pg_available()
    if not ok and os.environ.get("GARDEFOU_REQUIRE_PG", "1") == "1":
        pytest.fail("PostgreSQL is required on 127.0.0.1:5432 (set GARDEFOU_REQUIRE_PG=0 to skip)")
    return ok


def new_pg_schema_url() -> tuple[str, str]:
    """A fresh schema in the test database, so each test starts from an empty audit store."""
    import psycopg

    schema = "gf_" + uuid.uuid4().hex[:12]
    dsn = PG_BASE.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{PG_BASE}?options=-csearch_path%3D{schema}", schema


def drop_pg_schema(schema: str) -> None:
    import psycopg

    dsn = PG_BASE.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> str:
    """Every test using this runs twice: on an SQLite file and on the live PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.db'}"
        return
    if not request.getfixturevalue("pg_ready"):
        pytest.skip("PostgreSQL not available")
    url, schema = new_pg_schema_url()
    yield url
    drop_pg_schema(schema)


@pytest.fixture(scope="session")
def fake() -> FakeProvider:
    provider = start_fake_provider()
    yield provider
    provider.server.shutdown()


@pytest.fixture(autouse=True)
def _provider_keys(monkeypatch):
    for var in ("MISTRAL_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "INTERNAL_API_KEY"):
        monkeypatch.setenv(var, f"upstream-{var.lower()}")


def gateway_config(fake_url: str, audit_url: str, **extra) -> dict:
    cfg = {
        "audit": {"url": audit_url},
        "services": [
            {"id": "mistral", "base_url": f"{fake_url}/v1"},
            {"id": "openai", "base_url": f"{fake_url}/v1"},
            {"id": "anthropic", "base_url": fake_url},
            {"id": "internal", "name": "LLM interne (on-premise)", "api": "openai", "base_url": f"{fake_url}/v1",
             "api_key_env": "INTERNAL_API_KEY", "hosting": "internal", "trains_on_inputs": False,
             "accepts": ["personal", "health", "confidential", "uninspectable"]},
            {"id": "xai-grok", "status": "denied"},
        ],
        "aliases": {"rapide": "mistral/mistral-small-latest"},
        "limits": {"max_body_bytes": 200_000, "upstream_timeout_s": 1.5},
    }
    for key, value in extra.items():
        cfg[key] = value
    return cfg


@dataclass
class RunningGateway:
    url: str
    store: AuditStore
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def v1(self) -> str:
        return self.url + "/v1"

    def records(self) -> list[dict]:
        return self.store.recent(1000)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve_in_thread(app) -> tuple[str, uvicorn.Server, threading.Thread]:
    """Run an ASGI app on a free loopback port in a thread; returns its base URL once it listens."""
    from gateway.cli import uvicorn_config

    config = getattr(app.state, "config", None)
    header_timeout = config.limits.header_timeout_s if config is not None else 10.0
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", 0, [], header_timeout_s=header_timeout,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}", server, thread


def start_gateway(cfg: dict, **app_kwargs) -> RunningGateway:
    config = parse_config(yaml.safe_dump(cfg))
    app = create_app(config, **app_kwargs)
    url, server, thread = serve_in_thread(app)
    return RunningGateway(url, app.state.pipeline.store, server, thread)


@pytest.fixture(scope="session")
def scanner():
    """The default scanner, built once: loading models per test would be slow and proves nothing."""
    from detectors import build_default_scanner

    return build_default_scanner({})


def _serve_gateways(fake, audit_url: str, scanner):
    """A factory of gateways with the test configuration (plus overrides), all stopped afterwards."""
    started: list[RunningGateway] = []

    def factory(app_kwargs: dict | None = None, **extra) -> RunningGateway:
        kwargs = {"scanner": scanner, **(app_kwargs or {})}
        gw = start_gateway(gateway_config(fake.url, audit_url, **extra), **kwargs)
        started.append(gw)
        return gw

    fake.clear()
    yield factory
    for gw in started:
        gw.stop()


@pytest.fixture
def gateway_factory(fake, db_url, scanner):
    """Start gateways with the test configuration (plus overrides), on SQLite and on PostgreSQL."""
    yield from _serve_gateways(fake, db_url, scanner)


@pytest.fixture
def sqlite_gateway_factory(fake, tmp_path, scanner):
    """The same on SQLite only, for what does not depend on the store (tmp_path / "audit.db")."""
    yield from _serve_gateways(fake, f"sqlite:///{tmp_path / 'audit.db'}", scanner)


@pytest.fixture
def gateway(gateway_factory) -> RunningGateway:
    return gateway_factory()


@pytest.fixture
def admin(db_url):
    """A running admin listener over an audit store seeded with 30 records."""
    from tests.admin_support import seed, start_admin

    srv = start_admin(db_url)
    srv.records = seed(srv.store)
    yield srv
    srv.stop()
    srv.store.dispose()


def wait_ready(proc, url: str, timeout: float = 60, **get) -> None:
    """Wait until a ``gardefou serve`` subprocess answers 200 on ``url`` (its /readyz); fail with its
    stderr if it exits first, or after ``timeout`` seconds."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, **get).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "gateway did not become ready"
        time.sleep(0.1)
