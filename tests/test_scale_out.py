"""Several gateway instances on one audit store: migrations taken under a lock when they start
together, one hash chain under concurrent load, stats that agree with what was sent, and dashboard
sessions that every instance accepts and that survive a restart (``admin_sessions``, migration 0007)."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select, text, update

from gateway.admin.auth import COOKIE
from gateway.audit import AuditStore
from gateway.audit.schema import admin_sessions
from gateway.config import hash_key
from gateway.testing.provider import start_fake_provider
from tests.admin_support import TOKENS, start_admin
from tests.conftest import drop_pg_schema, new_pg_schema_url, wait_ready


def _head_revision() -> str:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from gateway.audit.store import MIGRATIONS

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


#: the newest migration: what every store is at once migrated
HEAD = _head_revision()

ROOT = Path(__file__).resolve().parents[1]
NIR = "1 85 05 78 006 084 91"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- migrations started together --------------------------------------------------------------

MIGRATE = """
import sys, time
from gateway.audit import AuditStore
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
AuditStore(sys.argv[1]).migrate()
"""


def test_simultaneous_migrations_of_a_new_store_all_succeed(db_url):
    """Four processes migrate the same empty store at the same instant: all succeed (one migrates,
    the others wait for its lock and find the schema up to date); the schema is at the head once."""
    start = time.time() + 3  # every process imported and waiting before the go
    procs = [subprocess.Popen([sys.executable, "-c", MIGRATE, db_url, str(start)], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE)
             for _ in range(4)]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], "\n".join(errors)  # every traceback, in full
    store = AuditStore(db_url)
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
            assert conn.execute(select(admin_sessions)).all() == []
        store.migrate()  # and again, later: nothing to do
    finally:
        store.dispose()


# -- three instances on one PostgreSQL --------------------------------------------------------

class Instance:
    def __init__(self, tmp_path: Path, n: int, audit_url: str, fake_url: str):
        self.port, self.admin_port = free_port(), free_port()
        self.config = tmp_path / f"instance{n}.yaml"
        self.config.write_text(yaml.safe_dump({
            "listen": {"host": "127.0.0.1", "port": self.port},
            "admin": {"host": "127.0.0.1", "port": self.admin_port},
            "audit": {"url": audit_url, "pool_size": 4, "max_overflow": 4},
            "services": [{"id": "mistral", "base_url": f"{fake_url}/v1"}],
            "admins": [{"id": "dpo.user", "role": "dpo", "token_sha256": hash_key(TOKENS["dpo"])}],
        }), encoding="utf-8")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--config", str(self.config)],
                                     cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "MISTRAL_API_KEY": "k"},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait(self) -> None:
        assert self.proc is not None
        wait_ready(self.proc, self.url + "/readyz", timeout=240)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()


def gardefou(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.fixture
def three(tmp_path, pg_ready):
    if not pg_ready:
        pytest.skip("PostgreSQL not available")
    url, schema = new_pg_schema_url()
    fake = start_fake_provider()
    instances = [Instance(tmp_path, n, url, fake.url) for n in (1, 2, 3)]
    try:
        for inst in instances:  # started together on an empty schema: their migrations race
            inst.start()
        for inst in instances:
            inst.wait()
        yield instances, fake, url
    finally:
        for inst in instances:
            inst.stop()
        fake.server.shutdown()
        drop_pg_schema(schema)


def test_three_instances_under_load_keep_one_chain_and_agree_with_what_was_sent(three):
    instances, fake, url = three
    total = 300

    def ask(i: int) -> tuple[int, int, str]:
        blocked = i % 3 == 0
        content = f"Patient {i}, NIR {NIR}, à revoir." if blocked else f"Question {i} : posologie usuelle du paracétamol ?"
        r = httpx.post(instances[i % 3].url + "/v1/chat/completions", timeout=60,
                       json={"model": "mistral/mistral-small-latest", "messages": [{"role": "user", "content": content}]})
        return i, r.status_code, r.headers.get("x-gardefou-audit-id", "")

    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        results = list(pool.map(ask, range(total)))
    blocks = [r for r in results if r[0] % 3 == 0]
    allows = [r for r in results if r[0] % 3 != 0]
    assert {r[1] for r in blocks} == {403} and {r[1] for r in allows} == {200}
    assert len(fake.received) == len(allows) == 200  # blocked prompts never reached the provider
    assert NIR not in fake.bodies_text()
    assert len({r[2] for r in results}) == total  # one audit record each

    r = gardefou("audit", "verify", "--config", str(instances[0].config))
    assert r.returncode == 0, r.stderr
    assert f"OK: {total} record(s) verified" in r.stdout
    r = gardefou("audit", "stats", "--group-by", "decision", "--json", "--config", str(instances[1].config))
    assert r.returncode == 0, r.stderr
    stats = json.loads(r.stdout)
    assert stats["total"] == total
    assert stats["by_decision"]["block"] == len(blocks) and stats["by_decision"]["allow"] == len(allows)
    store = AuditStore(url)
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
            seqs = conn.execute(text("SELECT seq FROM audit_records ORDER BY seq")).scalars().all()
        assert len(seqs) == total
    finally:
        store.dispose()


def test_a_session_opened_on_one_instance_works_on_another_and_survives_a_restart(three):
    instances, _, url = three
    one, two, three_ = instances
    with httpx.Client(base_url=one.admin_url, timeout=10) as c:
        r = c.post("/admin/login", data={"token": TOKENS["dpo"]})
        assert r.status_code == 303
        sid = c.cookies[COOKIE]
    cookie = {COOKIE: sid}

    def decisions(inst: Instance) -> int:
        return httpx.get(inst.admin_url + "/admin/api/decisions", cookies=cookie, timeout=10).status_code

    assert decisions(two) == 200 and decisions(three_) == 200
    store = AuditStore(url)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(select(admin_sessions)).mappings().all()
        assert [(r["id_hash"], r["user_id"], r["role"]) for r in rows] == [(hash_key(sid), "dpo.user", "dpo")]
        assert sid not in json.dumps([dict(r) for r in rows], default=str)  # only its hash is stored

        one.stop()  # a restart of the instance that opened the session
        one.start()
        one.wait()
        assert decisions(one) == 200

        with httpx.Client(base_url=two.admin_url, timeout=10, cookies=cookie) as c:
            assert c.post("/admin/logout").status_code == 303
        for inst in instances:
            assert decisions(inst) == 401
        with store.engine.connect() as conn:
            assert conn.execute(select(admin_sessions)).all() == []
    finally:
        store.dispose()


# -- sessions in the audit store, in-process ------------------------------------------------------

def test_session_expiry_is_honoured_and_expired_rows_are_deleted(db_url):
    srv = start_admin(db_url)
    try:
        with httpx.Client(base_url=srv.url, timeout=10) as c:
            assert c.post("/admin/login", data={"token": TOKENS["rssi"]}).status_code == 303
            sid = c.cookies[COOKIE]
            assert c.get("/admin/api/decisions").status_code == 200
            with srv.store.engine.begin() as conn:  # eight hours later
                row = conn.execute(select(admin_sessions.c.expires_at)).scalar_one()
                conn.execute(update(admin_sessions).values(expires_at=row.replace(year=row.year - 1)))
            assert c.get("/admin/api/decisions").status_code == 401
            r = c.get("/admin/", params={"since": "2026-03-01"})
            assert r.status_code in (303, 401) and "Tableau de bord" not in r.text
        with httpx.Client(base_url=srv.url, timeout=10) as c:  # the next login clears expired sessions
            assert c.post("/admin/login", data={"token": TOKENS["dpo"]}).status_code == 303
        with srv.store.engine.connect() as conn:
            hashes = conn.execute(select(admin_sessions.c.id_hash)).scalars().all()
        assert hash_key(sid) not in hashes and len(hashes) == 1
    finally:
        srv.stop()
        srv.store.dispose()


def test_sessions_fail_closed_when_the_store_fails(tmp_path):
    """Without its table, a session cannot be checked: refused with the store's 503, never let in."""
    srv = start_admin(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        with httpx.Client(base_url=srv.url, timeout=10) as c:
            assert c.post("/admin/login", data={"token": TOKENS["admin"]}).status_code == 303
            with srv.store.engine.begin() as conn:
                conn.execute(text("DROP TABLE admin_sessions"))
            r = c.get("/admin/api/decisions")
            assert r.status_code == 503 and r.json()["error"]["code"] == "audit_store_unavailable"
    finally:
        srv.stop()
        srv.store.dispose()


def test_the_connection_pool_is_sized_by_the_configuration(pg_ready, scanner):
    """``audit.pool_size`` / ``max_overflow`` / ``pool_timeout_s`` reach the gateway's store: with one
    connection and no overflow, a second one is refused after the timeout (AuditError: 503)."""
    from gateway.audit import AuditError
    from gateway.build import build_pipeline
    from gateway.config import ConfigError, parse_config

    if not pg_ready:
        pytest.skip("PostgreSQL not available")
    with pytest.raises(ConfigError, match="audit.pool_size"):
        parse_config("audit:\n  pool_size: 0\n")
    url, schema = new_pg_schema_url()
    config = parse_config(yaml.safe_dump({"audit": {"url": url, "pool_size": 1, "max_overflow": 0,
                                                    "pool_timeout_s": 0.5}}))
    store = build_pipeline(config, scanner=scanner).store
    try:
        assert store.engine.pool.size() == 1
        with store.engine.connect():
            began = time.monotonic()
            with pytest.raises(AuditError):
                store.get("any")
            assert 0.4 < time.monotonic() - began < 5
        assert store.get("any") is None  # the connection is back
    finally:
        store.dispose()
        drop_pg_schema(schema)
