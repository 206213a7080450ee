"""Hash chain: tampering behind the application's back is detected; purge keeps the chain verifiable;
several OS processes appending to one database still produce a verifiable chain."""

from __future__ import annotations

import multiprocessing
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from gateway.audit import AuditStore

T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def make_record(i: int = 0, *, ts: datetime | None = None, decision: str = "allow", service: str = "mistral",
                client: str = "urgences-poste-1", department: str = "urgences", categories=(), types=()) -> dict:
    findings = [{"type": t, "category": "personal", "part": 0, "start": 3, "end": 18, "score": 0.95} for t in types]
    return {
        "id": str(uuid.uuid4()),
        "ts": ts or T0 + timedelta(minutes=i),
        "client_id": client,
        "department": department,
        "client_addr": "10.1.2.3",
        "api": "openai",
        "endpoint": "chat.completions",
        "service_id": service,
        "model": "mistral-small-latest",
        "decision": decision,
        "forwarded": decision != "block",
        "rule_ids": [f"rule.{decision}"],
        "reasons": ["Données de santé détectées."] if decision == "block" else [],
        "categories": "," + ",".join(categories) + "," if categories else "",
        "finding_types": "," + ",".join(sorted(types)) + "," if types else "",
        "findings": findings,
        "prompt_parts": 1,
        "prompt_chars": 42 + i,
        "status_code": 403 if decision == "block" else None,
        "inspect_ms": 0.123456 + i,
        "error": "gardefou_blocked" if decision == "block" else None,
    }


def fill(store: AuditStore, n: int, complete: bool = True) -> list[dict]:
    recs = []
    for i in range(n):
        rec = make_record(i)
        store.insert(rec)
        if complete and i % 2 == 0:
            store.complete(rec["id"], {"status_code": 200, "upstream_status": 200, "upstream_ms": 12.3456 + i,
                                       "total_ms": 15.0 + i / 7})
        recs.append(rec)
    return recs


@pytest.fixture
def store(db_url):
    s = AuditStore(db_url)
    s.migrate()
    yield s
    s.dispose()


def seq_of(store: AuditStore, rid: str) -> int:
    return store.get(rid)["seq"]


def test_chain_verifies(store):
    fill(store, 12)
    res = store.verify()
    assert res.ok, res.problem
    assert res.checked == 12
    assert res.head_hash == store.recent(1)[0]["record_hash"]
    first = store.get(store.recent(12)[-1]["id"])
    assert first["prev_hash"] == "0" * 64


def test_core_field_update_detected(store):
    recs = fill(store, 6)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET decision='warn' WHERE id=:i"), {"i": recs[3]["id"]})
        conn.execute(text("UPDATE audit_records SET department='x' WHERE id=:i"), {"i": recs[4]["id"]})
    res = store.verify()
    assert res.problem.kind == "changed"
    assert res.problem.id == recs[3]["id"]  # the FIRST changed record is named
    assert res.checked == 3


def test_outcome_update_detected(store):
    recs = fill(store, 6)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET upstream_status=500 WHERE id=:i"), {"i": recs[2]["id"]})
    res = store.verify()
    assert (res.problem.kind, res.problem.id) == ("outcome_changed", recs[2]["id"])


def test_delete_detected(store):
    recs = fill(store, 6)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records WHERE id=:i"), {"i": recs[2]["id"]})
    res = store.verify()
    assert (res.problem.kind, res.problem.id) == ("unlinked", recs[3]["id"])
    assert "deleted or inserted" in res.problem.message


def test_delete_last_is_visible_in_head(store):
    recs = fill(store, 4)
    head = store.verify().head_hash
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records WHERE id=:i"), {"i": recs[3]["id"]})
    res = store.verify()
    assert res.ok and res.head_hash != head  # only an externally noted head hash can reveal this


def test_insert_behind_the_back_detected(store):
    recs = fill(store, 5)
    src = store.get(recs[1]["id"])
    with store.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO audit_records (id, ts, api, endpoint, decision, forwarded, rule_ids, reasons, "
                 "categories, finding_types, findings, prompt_parts, prompt_chars, prev_hash, record_hash, "
                 "outcome_hash) VALUES (:id, :ts, 'openai', 'chat.completions', 'allow', true, '[]', '[]', '', '', "
                 "'[]', 1, 10, :p, :r, :o)"),
            {"id": str(uuid.uuid4()), "ts": src["ts"], "p": src["record_hash"], "r": "f" * 64, "o": "e" * 64},
        )
    res = store.verify()
    assert res.problem.kind == "changed" and res.problem.seq == 6


def test_forged_insert_with_recomputed_hash_breaks_next_link(store):
    """Even an insertion whose own hash is right breaks the link of the following record."""
    from gateway.audit import chain

    recs = fill(store, 3, complete=False)
    # rewrite record 2 as if a forged record had been inserted before it with a valid hash
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records WHERE id=:i"), {"i": recs[2]["id"]})
    forged = make_record(50)
    prev = store.get(recs[1]["id"])["record_hash"]
    forged_hash = chain.record_hash(prev, chain.normalise(forged))
    store.insert(forged)  # goes through the app: links to recs[1]
    assert store.get(forged["id"])["record_hash"] == forged_hash
    assert store.verify().ok


def test_purge_keeps_chain_verifiable(store):
    recs = fill(store, 10)
    n, through = store.purge(T0 + timedelta(minutes=4), actor="test")
    assert n == 4 and through == seq_of(store, recs[4]["id"]) - 1
    assert store.get(recs[0]["id"]) is None
    res = store.verify()
    assert res.ok, res.problem
    assert res.checked == 6 and res.anchor_seq == through
    # appending after a purge still links
    store.insert(make_record(99))
    assert store.verify().ok
    # deleting the first remaining record is detected against the anchor
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records WHERE id=:i"), {"i": recs[4]["id"]})
    res = store.verify()
    assert (res.problem.kind, res.problem.id) == ("unlinked", recs[5]["id"])


def test_purge_everything_then_append(store):
    fill(store, 3)
    n, _ = store.purge(datetime.now(UTC) + timedelta(days=1), actor="test")
    assert n == 3 and store.verify().ok
    store.insert(make_record(7))
    res = store.verify()
    assert res.ok and res.checked == 1
    assert store.purge(T0 - timedelta(days=1), actor="test") == (0, None)


def test_migration_chains_existing_records(db_url):
    """Records written before migration 0002 are chained by the upgrade."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from gateway.audit.store import MIGRATIONS

    s = AuditStore(db_url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with s.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with s.engine.begin() as conn:
        for i in range(3):
            conn.execute(
                text("INSERT INTO audit_records (id, ts, api, endpoint, decision, forwarded, rule_ids, reasons, "
                     "categories, finding_types, findings, prompt_parts, prompt_chars, total_ms) VALUES "
                     "(:id, :ts, 'openai', 'chat.completions', 'allow', true, '[]', '[]', '', '', '[]', 1, 10, 1.5)"),
                {"id": str(uuid.uuid4()), "ts": T0 + timedelta(seconds=i)},
            )
    s.migrate()
    res = s.verify()
    assert res.ok and res.checked == 3
    s.insert(make_record(5))
    assert s.verify().ok
    s.dispose()


# -- several writers -------------------------------------------------------------------------

def _writer(url: str, n: int, tag: int) -> None:
    s = AuditStore(url)
    for i in range(n):
        rec = make_record(i, client=f"proc-{tag}")
        s.insert(rec)
        s.complete(rec["id"], {"status_code": 200, "upstream_status": 200, "total_ms": 3.0 + i})
    s.dispose()


def test_concurrent_writer_processes(store, db_url):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db_url, 40, k)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    res = store.verify()
    assert res.ok, res.problem
    assert res.checked == 160
    with store.engine.connect() as conn:
        clients = conn.execute(text("SELECT COUNT(DISTINCT client_id) FROM audit_records")).scalar_one()
    assert clients == 4


def test_unhashed_row_at_head_does_not_stop_recording(store):
    """A row inserted behind the back at the head: the gateway keeps recording, verify names the row."""
    recs = fill(store, 2)
    with store.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO audit_records (id, ts, api, endpoint, decision, forwarded, rule_ids, reasons, "
                 "categories, finding_types, findings, prompt_parts, prompt_chars) VALUES (:id, :ts, 'openai', "
                 "'chat.completions', 'allow', true, '[]', '[]', '', '', '[]', 1, 10)"),
            {"id": "intrus", "ts": recs[1]["ts"]},
        )
    store.insert(make_record(3))
    res = store.verify()
    assert (res.problem.kind, res.problem.id) == ("changed", "intrus")


def test_purge_in_batches(store):
    recs = fill(store, 23, complete=False)
    n, through = store.purge(T0 + timedelta(minutes=20), actor="test", batch=6)
    assert n == 20 and through == seq_of(store, recs[20]["id"]) - 1
    with store.engine.connect() as conn:
        anchors = conn.execute(text("SELECT purged FROM audit_anchors ORDER BY through_seq")).scalars().all()
    assert anchors == [6, 6, 6, 2]
    res = store.verify()
    assert res.ok and res.checked == 3


def test_every_column_is_covered_by_a_hash():
    """A column added to audit_records must be classified (chain or outcome), or it would escape verify."""
    from gateway.audit import chain
    from gateway.audit.schema import audit_records

    covered = set(chain.CORE_FIELDS) | set(chain.OUTCOME_FIELDS) | {"seq", "prev_hash", "record_hash", "outcome_hash"}
    assert {c.name for c in audit_records.columns} == covered
    assert not set(chain.CORE_FIELDS) & set(chain.OUTCOME_FIELDS)


def test_setting_or_clearing_a_null_field_is_detected(store):
    recs = fill(store, 3)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET model=NULL WHERE id=:i"), {"i": recs[0]["id"]})
    assert store.verify().problem.id == recs[0]["id"]
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET model='mistral-small-latest' WHERE id=:i"), {"i": recs[0]["id"]})
        conn.execute(text("UPDATE audit_records SET error='x' WHERE id=:i"), {"i": recs[1]["id"]})
    assert store.verify().problem.id == recs[1]["id"]


def test_forged_purge_anchor_is_detected_with_the_audit_key(db_url):
    """Deleting records and writing an anchor for them hides the deletion from an unkeyed verify; with
    the audit key every anchor carries an HMAC that a forger cannot compute."""
    from gateway.audit.schema import audit_anchors

    keyed = AuditStore(db_url, anchor_key=b"cle-audit-de-test")
    keyed.migrate()
    try:
        recs = fill(keyed, 10)
        n, through = keyed.purge(T0 + timedelta(minutes=3), actor="dpo")
        assert n == 3 and keyed.verify().ok  # a real purge is signed
        victim = keyed.get(recs[6]["id"])
        with keyed.engine.begin() as conn:  # delete 4 more records and forge the anchor that hides it
            conn.execute(text("DELETE FROM audit_records WHERE seq <= :s"), {"s": victim["seq"]})
            conn.execute(audit_anchors.insert().values(
                ts=T0 + timedelta(days=400), through_seq=victim["seq"], last_hash=victim["record_hash"], purged=4,
                older_than=T0 + timedelta(minutes=7), actor="dpo"))
        res = keyed.verify()
        assert not res.ok and res.problem.kind == "anchor_forged"
        unkeyed = AuditStore(db_url)
        try:
            assert unkeyed.verify().ok  # the limit this key removes
        finally:
            unkeyed.dispose()
    finally:
        keyed.dispose()


def test_access_log_is_chained(store):
    for i in range(4):
        store.log_access(user_id=f"u{i}", role="dpo", channel="api", action="decisions.list", params={"limit": "5"})
    assert store.verify_access_log() is None
    rows = list(reversed(store.access_log(10)))
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE admin_access_log SET user_id='intrus' WHERE seq=:s"), {"s": rows[1]["seq"]})
    assert store.verify_access_log().kind == "access_changed"
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE admin_access_log SET user_id='u1' WHERE seq=:s"), {"s": rows[1]["seq"]})
        conn.execute(text("DELETE FROM admin_access_log WHERE seq=:s"), {"s": rows[2]["seq"]})
    problem = store.verify_access_log()
    assert problem.kind == "access_unlinked" and problem.seq == rows[3]["seq"]
