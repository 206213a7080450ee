"""Audit store basics on SQLite and PostgreSQL: migrations, WAL, round trip, failure as AuditError."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from gateway.audit import AuditError, AuditStore


def minimal_record(**kw) -> dict:
    rec = dict(id=str(uuid.uuid4()), ts=datetime.now(UTC), api="openai", endpoint="chat.completions",
               decision="block", forwarded=False, rule_ids=["charter.personal"], reasons=["r"],
               categories=",personal,", finding_types=",FR_NIR,",
               findings=[{"type": "FR_NIR", "category": "personal", "part": 0, "start": 3, "end": 24, "score": 1.0}],
               prompt_parts=1, prompt_chars=30)
    rec.update(kw)
    return rec


def test_migrate_is_idempotent_and_round_trips(db_url):
    store = AuditStore(db_url)
    store.migrate()
    store.migrate()
    rec = minimal_record()
    store.insert(rec)
    store.complete(rec["id"], {"status_code": 403, "total_ms": 1.5})
    got = store.get(rec["id"])
    assert got["findings"] == rec["findings"] and got["rule_ids"] == ["charter.personal"]
    assert got["status_code"] == 403 and got["forwarded"] is False
    assert got["ts"].replace(tzinfo=UTC) - rec["ts"] < __import__("datetime").timedelta(seconds=1)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() is not None
    store.dispose()


def test_sqlite_uses_wal(tmp_path):
    store = AuditStore(f"sqlite:///{tmp_path / 'a.db'}")
    store.migrate()
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_duplicate_id_is_an_audit_error(db_url):
    store = AuditStore(db_url)
    store.migrate()
    rec = minimal_record()
    store.insert(rec)
    with pytest.raises(AuditError):
        store.insert(rec)
    assert store.ping() is True
