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


def test_database_errors_are_audit_errors(db_url):
    """A table gone behind the store's back: reads, writes, verify and iteration (a later batch
    included) fail with AuditError, the database's error chained; ping says False."""
    from sqlalchemy.exc import SQLAlchemyError

    store = AuditStore(db_url)
    store.migrate()
    for _ in range(3):
        store.insert(minimal_record())
    batches = store.iter_records(batch=2)
    next(batches), next(batches)  # the first batch is read
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE audit_records"))
    calls = {
        "iter_records (next batch)": lambda: next(batches),
        "iter_records": lambda: list(store.iter_records()),
        "get": lambda: store.get("x"),
        "verify": store.verify,
        "recent": store.recent,
        "insert": lambda: store.insert(minimal_record()),
        "complete": lambda: store.complete("x", {"total_ms": 1.0}),
        "purge": lambda: store.purge(datetime.now(UTC), actor="test"),
    }
    for name, call in calls.items():
        with pytest.raises(AuditError) as err:
            call()
        # SQLAlchemy's error, or the driver's for the insert (it runs on the driver's cursor)
        assert isinstance(err.value.__cause__, (SQLAlchemyError, store.engine.dialect.loaded_dbapi.Error)), name
    assert store.ping() is False
    store.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_unreachable_store_raises_audit_error_only(kind, tmp_path):
    """A broken engine (no database behind it): every public method raises AuditError, nothing else."""
    url = (f"sqlite:///{tmp_path / 'missing' / 'audit.db'}" if kind == "sqlite"
           else "postgresql+psycopg://nobody@127.0.0.1:1/none")
    store = AuditStore(url)
    access = dict(user_id="u", role="dpo", channel="api", action="stats", params={})
    calls = [
        store.migrate, lambda: store.get("x"), store.verify, lambda: next(store.iter_records()), store.recent,
        lambda: store.insert(minimal_record()), lambda: store.complete("x", {"total_ms": 1.0}),
        lambda: store.purge(datetime.now(UTC), actor="test"), lambda: store.log_access(**access),
        store.verify_access_log, store.access_log, lambda: store.reading().__enter__(),
    ]
    for call in calls:
        with pytest.raises(AuditError):
            call()
    assert store.ping() is False
    store.dispose()


def test_outcomes_written_by_the_outcome_thread_in_batches(db_url, caplog):
    """complete_later queues; flush waits; the chain still verifies; an unknown id is logged and
    does not cost the others their outcome; dispose writes what is still queued."""
    store = AuditStore(db_url)
    store.migrate()
    recs = [minimal_record(decision="allow", forwarded=True, categories="", finding_types="", findings=[])
            for _ in range(40)]
    for rec in recs:
        store.insert(rec)
    with caplog.at_level("ERROR", logger="gardefou.audit"):
        for i, rec in enumerate(recs[:30]):
            store.complete_later(rec["id"], {"status_code": 200, "upstream_status": 200, "total_ms": float(i)})
        store.complete_later("no-such-record", {"status_code": 200})
        assert store.flush(10)
    assert all(store.get(r["id"])["upstream_status"] == 200 for r in recs[:30])
    assert store.get(recs[31]["id"])["status_code"] is None
    assert "no-such-record" in caplog.text
    with pytest.raises(ValueError):
        store.complete_later(recs[35]["id"], {"decision": "allow"})  # not an outcome field: refused at once
    for rec in recs[30:]:
        store.complete_later(rec["id"], {"status_code": 200, "total_ms": 1.0})
    store.dispose()  # flushes first
    again = AuditStore(db_url)
    assert all(again.get(r["id"])["status_code"] == 200 for r in recs[30:])
    assert again.verify().ok
    again.dispose()


def test_group_commit_writes_every_waiting_record_in_one_transaction(db_url):
    """Records inserted while another commit holds the writer are committed together by the first
    thread to get it; each insert returns only once its own record is committed; the chain verifies."""
    import threading

    store = AuditStore(db_url)
    store.migrate()
    store.insert(minimal_record())
    recs = [minimal_record() for _ in range(8)]
    errors: list[BaseException] = []

    def insert(rec):
        try:
            store.insert(rec)
        except BaseException as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)

    before = store.commits
    with store._writer_lock:  # a commit in progress: the others queue behind it
        threads = [threading.Thread(target=insert, args=(r,)) for r in recs]
        for t in threads:
            t.start()
        for _ in range(500):
            if len(store._queued) == len(recs):
                break
            threading.Event().wait(0.01)
        assert len(store._queued) == len(recs)
        assert all(store.get(r["id"]) is None for r in recs)  # nothing committed yet
    for t in threads:
        t.join(10)
    assert not errors
    assert store.commits - before == 1  # one transaction for the eight
    assert all(store.get(r["id"]) is not None for r in recs)
    result = store.verify()
    assert result.ok and result.checked == 9
    store.dispose()


def test_a_bad_record_in_a_batch_fails_its_own_insert_only(db_url):
    """A batch that fails is written again one record at a time: the duplicate id fails, the others
    in the same batch are committed."""
    import threading

    store = AuditStore(db_url)
    store.migrate()
    first = minimal_record()
    store.insert(first)
    good = [minimal_record() for _ in range(3)]
    dup = dict(minimal_record(), id=first["id"])
    outcome: dict[str, BaseException | None] = {}

    def insert(rec):
        try:
            store.insert(rec)
            outcome[rec["id"] + str(id(rec))] = None
        except BaseException as exc:
            outcome[rec["id"] + str(id(rec))] = exc

    with store._writer_lock:
        threads = [threading.Thread(target=insert, args=(r,)) for r in [good[0], dup, *good[1:]]]
        for t in threads:
            t.start()
        for _ in range(500):
            if len(store._queued) == 4:
                break
            threading.Event().wait(0.01)
        assert len(store._queued) == 4
    for t in threads:
        t.join(10)
    assert isinstance(outcome[dup["id"] + str(id(dup))], AuditError)
    assert all(outcome[r["id"] + str(id(r))] is None for r in good)
    assert all(store.get(r["id"]) is not None for r in good)
    assert store.verify().ok
    store.dispose()
