"""``gardefou audit verify | purge | export | stats`` and ``gardefou admin add-user``."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import text

from gateway.admin.cli import add_admin_to_yaml
from gateway.audit import AuditStore
from gateway.cli import main
from gateway.config import hash_key, load_config
from tests.test_audit_chain import make_record


def write_config(tmp_path: Path, db_url: str, **extra) -> Path:
    path = tmp_path / "gardefou.yaml"
    path.write_text(yaml.safe_dump({"audit": {"url": db_url, **extra}}), encoding="utf-8")
    return path


@pytest.fixture
def env(tmp_path, db_url):
    cfg = write_config(tmp_path, db_url, retention_days=30)
    store = AuditStore(db_url)
    store.migrate()
    now = datetime.now(UTC)
    recs = []
    for i, age in enumerate((400, 200, 100, 40, 20, 5, 1)):
        rec = make_record(i, ts=now - timedelta(days=age), decision="block" if i % 2 else "allow",
                          department="urgences" if i < 4 else "pharmacie",
                          categories=("health",) if i % 2 else (), types=("FR_NIR",) if i % 2 else ())
        store.insert(rec)
        store.complete(rec["id"], {"status_code": 200, "total_ms": 2.5})
        recs.append(rec)
    yield cfg, store, recs
    store.dispose()


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_verify_ok_and_tampered(env, capsys):
    cfg, store, recs = env
    code, out, _ = run(capsys, "audit", "verify", "--config", str(cfg))
    assert code == 0 and "OK: 7 record(s) verified" in out and "head seq=7 hash=" in out
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET client_id='autre' WHERE id=:i"), {"i": recs[2]["id"]})
    code, out, err = run(capsys, "audit", "verify", "--config", str(cfg))
    assert code == 1 and recs[2]["id"] in err and "changed" in err


def test_verify_names_deleted_link(env, capsys):
    cfg, store, recs = env
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records WHERE id=:i"), {"i": recs[4]["id"]})
    code, _, err = run(capsys, "audit", "verify", "--config", str(cfg))
    assert code == 1 and recs[5]["id"] in err and "deleted or inserted" in err


def test_purge_default_retention_then_verify(env, capsys):
    cfg, store, recs = env
    code, out, _ = run(capsys, "audit", "purge", "--config", str(cfg))  # retention_days: 30
    assert code == 0 and "Purged 4 record(s)" in out
    assert store.get(recs[3]["id"]) is None and store.get(recs[4]["id"]) is not None
    code, out, err = run(capsys, "audit", "verify", "--config", str(cfg))
    assert code == 0 and "3 record(s) verified, resumed after purge anchor seq=4" in out
    assert "purge anchors are not signed" in err  # no audit key in this configuration: said, not hidden
    code, out, _ = run(capsys, "audit", "purge", "--config", str(cfg), "--older-than", "2d")
    assert code == 0 and "Purged 2 record(s)" in out
    code, out, _ = run(capsys, "audit", "purge", "--config", str(cfg), "--older-than", "2d")
    assert code == 0 and "Nothing to purge" in out
    assert run(capsys, "audit", "verify", "--config", str(cfg))[0] == 0
    with store.engine.connect() as conn:
        actors = conn.execute(text("SELECT actor FROM audit_anchors")).scalars().all()
    assert len(actors) == 2 and all(a.startswith("cli:") for a in actors)


def test_purge_bad_age(env, capsys):
    cfg, _, _ = env
    with pytest.raises(SystemExit) as exc:
        main(["audit", "purge", "--config", str(cfg), "--older-than", "soon"])
    assert exc.value.code == 2


def test_export_and_stats(env, capsys, tmp_path):
    cfg, store, recs = env
    out_file = tmp_path / "export.csv"
    code, _, _ = run(capsys, "audit", "export", "--config", str(cfg), "--format", "csv", "-o", str(out_file),
                     "--department", "urgences", "--decision", "block")
    assert code == 0
    raw = out_file.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert [r[0] for r in rows[1:]] == [recs[1]["id"], recs[3]["id"]]
    code, out, _ = run(capsys, "audit", "export", "--config", str(cfg), "--format", "jsonl",
                       "--finding-type", "FR_NIR", "--since", (datetime.now(UTC) - timedelta(days=50)).date().isoformat())
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == [recs[3]["id"], recs[5]["id"]]
    code, out, _ = run(capsys, "audit", "stats", "--config", str(cfg), "--group-by", "department")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[-1] == "refuse" and lines[1].split() == ["urgences", "4", "2", "0", "2", "0"] and lines[-1].split()[:2] == ["TOTAL", "7"]
    code, out, _ = run(capsys, "audit", "stats", "--config", str(cfg), "--group-by", "category", "--json")
    groups = json.loads(out)["groups"]
    assert [{k: g[k] for k in ("key", "count", "allow", "warn", "block", "refuse")} for g in groups] == [
        {"key": "health", "count": 3, "allow": 0, "warn": 0, "block": 3, "refuse": 0}]
    assert groups[0]["output_tokens"] == 0 and groups[0]["energy_wh"] == 0  # the sobriety sums beside the counts
    log = store.access_log(10)
    assert [(r["channel"], r["action"]) for r in reversed(log)] == [
        ("cli", "export.csv"), ("cli", "export.jsonl"), ("cli", "stats"), ("cli", "stats")]
    assert log[-1]["params"]["department"] == "urgences" and log[0]["user_id"].startswith("cli:")


def test_cli_errors(env, capsys, tmp_path):
    cfg, _, _ = env
    code, _, err = run(capsys, "audit", "stats", "--config", str(cfg), "--since", "hier")
    assert code == 2 and "« since » invalide" in err
    code, _, err = run(capsys, "audit", "verify", "--config", str(tmp_path / "missing.yaml"))
    assert code == 2 and "cannot read" in err
    bad = write_config(tmp_path, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    code, _, err = run(capsys, "audit", "verify", "--config", str(bad))
    assert code == 3 and "audit store unavailable" in err


# -- admin add-user -------------------------------------------------------------------------

CONFIG_WITH_COMMENTS = """\
# Garde-fou - CHU de test
listen:
  port: 8080   # gateway
audit:
  url: sqlite:///./audit.db
admins:
  # the DPO
  - id: marie.dpo
    role: dpo
    token_sha256: "%s"
policy:
  warn_mode: forward  # keep
""" % ("a" * 64)


def test_add_user_preserves_file(tmp_path, capsys):
    path = tmp_path / "g.yaml"
    path.write_text(CONFIG_WITH_COMMENTS, encoding="utf-8")
    code, out, _ = run(capsys, "admin", "add-user", "paul.rssi", "--role", "rssi", "--config", str(path))
    assert code == 0
    token = out.strip().splitlines()[-1]
    assert len(token) >= 40 and token not in path.read_text()
    new = path.read_text(encoding="utf-8")
    for line in CONFIG_WITH_COMMENTS.splitlines():
        assert line in new  # every original line (comments included) is still there
    cfg = load_config(path)
    assert [(u.id, u.role) for u in cfg.admins] == [("marie.dpo", "dpo"), ("paul.rssi", "rssi")]
    assert cfg.admins[1].token_sha256 == hash_key(token)
    assert cfg.policy.warn_mode == "forward" and cfg.listen.port == 8080
    code, _, err = run(capsys, "admin", "add-user", "paul.rssi", "--role", "admin", "--config", str(path))
    assert code == 1 and "already exists" in err
    code, _, _ = run(capsys, "admin", "add-user", "bad id!", "--role", "admin", "--config", str(path))
    assert code == 2


@pytest.mark.parametrize("original", [
    "audit:\n  url: sqlite:///x.db\n",
    "audit:\n  url: sqlite:///x.db\nadmins: []\nlimits:\n  max_body_bytes: 4096\n",
    "admins:\nlisten:\n  port: 9000\n",
    "",
    "listen: {port: 9001}\nadmins: [{id: a, role: dpo, token_sha256: '%s'}]  # flow\n" % ("b" * 64),
])
def test_add_user_yaml_shapes(original):
    entry = {"id": "new.admin", "role": "admin", "token_sha256": "c" * 64}
    new = add_admin_to_yaml(original, entry)
    data = yaml.safe_load(new)
    before = yaml.safe_load(original) or {}
    assert data["admins"][-1] == entry
    assert len(data["admins"]) == len(before.get("admins") or []) + 1
    for key in before:
        if key != "admins":
            assert data[key] == before[key]


def test_added_user_works_without_restart(tmp_path, db_url, capsys):
    from tests.admin_support import start_admin

    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump({"audit": {"url": db_url}}), encoding="utf-8")
    srv = start_admin(db_url, config_path=path)
    try:
        time.sleep(0.01)
        code, out, _ = run(capsys, "admin", "add-user", "lea.admin", "--role", "admin", "--config", str(path))
        token = out.strip().splitlines()[-1]
        r = httpx.get(srv.url + "/admin/api/access-log", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200
        assert r.json()["items"][0]["user_id"] == "lea.admin"
    finally:
        srv.stop()
        srv.store.dispose()


# -- serve: the admin surface is its own listener ---------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_starts_admin_listener(tmp_path, db_url):
    gw_port, admin_port = _free_port(), _free_port()
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump({
        "listen": {"host": "127.0.0.1", "port": gw_port},
        "admin": {"host": "127.0.0.1", "port": admin_port},
        "audit": {"url": db_url},
        "admins": [{"id": "x", "role": "dpo", "token_sha256": hash_key("tok")}],
    }), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--config", str(path)],
                            cwd=Path(__file__).parent.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{admin_port}/admin/api/decisions", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert r.status_code == 401
        r = httpx.get(f"http://127.0.0.1:{admin_port}/admin/api/decisions",
                      headers={"Authorization": "Bearer tok"}, timeout=5)
        assert r.status_code == 200
        # the admin surface is not on the gateway listener
        assert httpx.get(f"http://127.0.0.1:{gw_port}/admin/api/decisions", timeout=5).status_code == 404
    finally:
        proc.terminate()
        proc.wait(20)


def test_serve_without_admins_opens_no_admin_port(tmp_path, db_url):
    gw_port, admin_port = _free_port(), _free_port()
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump({"listen": {"port": gw_port}, "admin": {"port": admin_port},
                                    "audit": {"url": db_url}}), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--config", str(path)],
                            cwd=Path(__file__).parent.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{gw_port}/healthz", timeout=2).status_code == 200
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{admin_port}/admin/", timeout=2)
    finally:
        proc.terminate()
        proc.wait(20)


def test_verify_expect_noted_head(env, capsys):
    """A head noted outside the database reveals deleted latest records and a recomputed chain."""
    from gateway.audit import chain

    cfg, store, recs = env
    code, out, _ = run(capsys, "audit", "verify", "--config", str(cfg))
    noted = re.search(r"keep '(\d+:[0-9a-f]{64})'", out).group(1)
    store.insert(make_record(50))
    assert run(capsys, "audit", "verify", "--config", str(cfg), "--expect", noted)[0] == 0
    # delete the latest records (the noted one included): the chain alone still verifies
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records WHERE seq >= 7"))
    assert run(capsys, "audit", "verify", "--config", str(cfg))[0] == 0
    code, _, err = run(capsys, "audit", "verify", "--config", str(cfg), "--expect", noted)
    assert code == 1 and "seq=7" in err and "deleted" in err
    # rewrite record 6 and recompute every hash from there: only the noted hash can tell
    store.insert(make_record(60))
    code, out, _ = run(capsys, "audit", "verify", "--config", str(cfg))
    noted = re.search(r"keep '(\d+:[0-9a-f]{64})'", out).group(1)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET department='falsifié' WHERE seq=6"))
        rows = conn.execute(text("SELECT id, prev_hash FROM audit_records WHERE seq >= 6 ORDER BY seq")).all()
    prev = rows[0][1]
    for rid, _ in rows:
        rec = store.get(rid)
        h = chain.record_hash(prev, rec)
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE audit_records SET prev_hash=:p, record_hash=:h, outcome_hash=:o WHERE id=:i"),
                         {"p": prev, "h": h, "o": chain.outcome_hash(h, rec), "i": rid})
        prev = h
    assert run(capsys, "audit", "verify", "--config", str(cfg))[0] == 0
    code, _, err = run(capsys, "audit", "verify", "--config", str(cfg), "--expect", noted)
    assert code == 1 and "recomputed" in err
    with pytest.raises(SystemExit):
        main(["audit", "verify", "--config", str(cfg), "--expect", "abc"])


def test_serve_refuses_admin_on_gateway_port(tmp_path, db_url):
    port = _free_port()
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump({"listen": {"port": port}, "admin": {"port": port}, "audit": {"url": db_url},
                                    "admins": [{"id": "x", "role": "dpo", "token_sha256": hash_key("t")}]}))
    proc = subprocess.run([sys.executable, "-m", "gateway.cli", "serve", "--config", str(path)],
                          cwd=Path(__file__).parent.parent, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "admin.port" in proc.stderr


def test_add_user_on_the_example_config(tmp_path, capsys):
    """The shipped example (``admins: []`` followed by commented examples) stays readable."""
    example = (Path(__file__).parent.parent / "config.example.yaml").read_text(encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text(example, encoding="utf-8")
    tokens = []
    for uid, role in (("marie.dpo", "dpo"), ("paul.admin", "admin")):
        code, out, _ = run(capsys, "admin", "add-user", uid, "--role", role, "--config", str(path))
        assert code == 0
        tokens.append(out.strip().splitlines()[-1])
    new = path.read_text(encoding="utf-8")
    kept = [line for line in example.splitlines() if line != "admins: []"]
    assert [line for line in new.splitlines() if line in kept] == kept  # same lines, same order
    cfg = load_config(path)
    assert [(u.id, u.token_sha256) for u in cfg.admins] == [
        ("marie.dpo", hash_key(tokens[0])), ("paul.admin", hash_key(tokens[1]))]
    block = new[new.index("admins:"):new.index("limits:")]
    assert block.index("paul.admin") < block.index("# - id:")  # added users stay together, above the comments


# -- audit backup -----------------------------------------------------------------------------

def _sqlite_store(tmp_path: Path, n: int = 0) -> tuple[Path, Path, AuditStore]:
    db = tmp_path / "audit.db"
    cfg = write_config(tmp_path, f"sqlite:///{db}")
    store = AuditStore(f"sqlite:///{db}")
    store.migrate()
    for i in range(n):
        rec = make_record(i)
        store.insert(rec)
        store.complete(rec["id"], {"status_code": 200, "total_ms": 1.0})
    return db, cfg, store


def _records(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT count(*) FROM audit_records").fetchone()[0]


def _verify_copy(capsys, tmp_path: Path, copy: Path) -> tuple[int, str, str]:
    cfg = tmp_path / f"verify-{copy.name}.yaml"
    cfg.write_text(yaml.safe_dump({"audit": {"url": f"sqlite:///{copy}"}}), encoding="utf-8")
    return run(capsys, "audit", "verify", "--config", str(cfg))


def test_copying_audit_db_alone_is_not_a_backup(tmp_path, capsys):
    """What the README warns about: the latest commits are in audit.db-wal, a copy of audit.db misses them."""
    import shutil

    db, cfg, store = _sqlite_store(tmp_path, 20)
    try:
        assert (tmp_path / "audit.db-wal").stat().st_size > 0
        naive = tmp_path / "naive.db"
        shutil.copyfile(db, naive)
        import sqlite3

        with sqlite3.connect(naive) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            naive_count = conn.execute("SELECT count(*) FROM audit_records").fetchone()[0] \
                if "audit_records" in tables else None
        assert naive_count != 20  # no table at all, or fewer records
        code, out, _ = run(capsys, "audit", "backup", str(tmp_path / "good.db"), "--config", str(cfg))
        assert code == 0 and "Backed up 20 record(s), head seq=20" in out
        assert _records(tmp_path / "good.db") == 20
    finally:
        store.dispose()


def test_backup_is_one_consistent_file_while_a_write_is_in_progress(tmp_path, capsys):
    """A write transaction open during the backup neither blocks it nor gets half into the copy."""
    db, cfg, store = _sqlite_store(tmp_path, 50)
    writer = AuditStore(f"sqlite:///{db}")
    conn = writer.engine.connect().execution_options(gardefou_immediate=True)
    try:
        tx = conn.begin()  # BEGIN IMMEDIATE: the write lock, as the gateway holds it while appending
        conn.execute(text("UPDATE audit_records SET department='en cours' WHERE seq=1"))
        conn.execute(text("DELETE FROM audit_records WHERE seq=50"))
        started = time.monotonic()
        dest = tmp_path / "backup.db"
        # the command records the access first, a write that would wait for this lock: the copy itself here
        from gateway.audit.backup import backup_sqlite

        res = backup_sqlite(db, dest)
        assert time.monotonic() - started < 5  # not waiting for the writer's lock
        tx.commit()
    finally:
        conn.close()
        writer.dispose()
    assert res.records == 50 and res.head_seq == 50
    # one self-contained file: rollback-journal mode in its header, no -wal beside it, private
    header = dest.read_bytes()[:100]
    assert header[:16] == b"SQLite format 3\x00" and header[18] == 1 and header[19] == 1
    assert not Path(str(dest) + "-wal").exists() and (dest.stat().st_mode & 0o777) == 0o600
    code, out, _ = _verify_copy(capsys, tmp_path, dest)
    assert code == 0 and "OK: 50 record(s) verified" in out  # the uncommitted change is not in it
    # ... while the live store has it (and so no longer verifies: a record was changed and one deleted)
    code, _, err = run(capsys, "audit", "verify", "--config", str(cfg))
    assert code == 1 and "seq=1" in err
    store.dispose()


def test_backup_under_concurrent_inserts_then_verify(tmp_path, capsys):
    import threading

    db, cfg, store = _sqlite_store(tmp_path, 300)
    stop = threading.Event()
    written = [0]
    errors: list[BaseException] = []

    def gateway_writes() -> None:  # two writers, as a gateway's scan threads append records
        w = AuditStore(f"sqlite:///{db}")
        try:
            i = 1000
            while not stop.is_set():
                rec = make_record(i)
                w.insert(rec)
                w.complete(rec["id"], {"status_code": 200, "total_ms": 1.0})
                written[0] += 1
                i += 1
        except BaseException as exc:  # noqa: B036 - reported by the test below
            errors.append(exc)
        finally:
            w.dispose()

    threads = [threading.Thread(target=gateway_writes) for _ in range(2)]
    for t in threads:
        t.start()
    copies, during = [], []
    try:
        while written[0] < 20:
            time.sleep(0.01)
        for k in range(4):
            before = written[0]
            dest = tmp_path / f"backup-{k}.db"
            code, out, err = run(capsys, "audit", "backup", str(dest), "--config", str(cfg))
            assert code == 0, err
            during.append(written[0] - before)
            copies.append(dest)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, errors
    assert sum(during) > 0  # the gateway kept writing while the backups were taken
    counts = [_records(c) for c in copies]
    assert counts == sorted(counts) and 300 < counts[0] and counts[-1] <= _records(db)
    for copy, count in zip(copies, counts):
        code, out, err = _verify_copy(capsys, tmp_path, copy)
        assert code == 0 and f"OK: {count} record(s) verified" in out, err
        # the backup itself is recorded in the access log, and that log's chain verifies in the copy too
        import sqlite3

        with sqlite3.connect(copy) as conn:
            actions = [r[0] for r in conn.execute("SELECT action FROM admin_access_log WHERE channel='cli'")]
        assert "backup" in actions
    store.dispose()


def test_backup_refusals(tmp_path, capsys):
    db, cfg, store = _sqlite_store(tmp_path, 3)
    store.dispose()
    dest = tmp_path / "b.db"
    assert run(capsys, "audit", "backup", str(dest), "--config", str(cfg))[0] == 0
    mtime = dest.stat().st_mtime_ns

    def backups_logged() -> int:
        import sqlite3

        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT count(*) FROM admin_access_log WHERE action='backup'").fetchone()[0]

    assert backups_logged() == 1
    code, _, err = run(capsys, "audit", "backup", str(dest), "--config", str(cfg))
    assert code == 2 and "exists" in err and "--force" in err and dest.stat().st_mtime_ns == mtime
    assert backups_logged() == 1  # a refused backup read nothing and records nothing
    assert run(capsys, "audit", "backup", str(dest), "--config", str(cfg), "--force")[0] == 0
    # never over the database itself or its WAL
    for target in (db, tmp_path / "audit.db-wal"):
        code, _, err = run(capsys, "audit", "backup", str(target), "--config", str(cfg), "--force")
        assert code == 2 and "the audit database itself" in err
    assert _records(db) == 3
    # no database there: refused, and none created
    (tmp_path / "m").mkdir()
    missing = write_config(tmp_path / "m", f"sqlite:///{tmp_path}/m/none.db")
    code, _, err = run(capsys, "audit", "backup", str(tmp_path / "x.db"), "--config", str(missing))
    assert code == 3 and "no audit database at" in err and not (tmp_path / "m" / "none.db").exists()
    assert not (tmp_path / "x.db").exists()
    # a directory that does not exist
    code, _, err = run(capsys, "audit", "backup", str(tmp_path / "nodir" / "x.db"), "--config", str(cfg))
    assert code == 2 and "no such directory" in err
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]  # no temporary file left


def test_backup_refuses_postgresql_and_points_to_pg_dump(tmp_path, capsys):
    cfg = write_config(tmp_path, "postgresql+psycopg://gardefou:s3cret-pw@db.example:5433/audit")
    dest = tmp_path / "b.db"
    code, out, err = run(capsys, "audit", "backup", str(dest), "--config", str(cfg))
    assert code == 2 and not dest.exists()
    assert "PostgreSQL" in err and "pg_dump --format=custom" in err
    assert "'postgresql://gardefou@db.example:5433/audit'" in err and "s3cret" not in err + out
    assert "se fait avec pg_dump" in err
