"""Tamper evidence for the audit records: a hash chain plus a per-record outcome hash.

Design (settled for issue 5):

* ``record_hash = SHA-256(prev_hash || canonical(core fields))`` where the core fields are everything
  known when the decision is taken (who, what, decision, rules, findings...). ``prev_hash`` is the
  ``record_hash`` of the record committed just before (``GENESIS`` for the first one). Appends are
  serialised (PostgreSQL ``pg_advisory_xact_lock``, SQLite ``BEGIN IMMEDIATE``) and the previous hash
  is read under the lock, so the chain follows commit order and ``seq`` order, whatever the number of
  gateway instances writing.
* The outcome fields (:data:`OUTCOME_FIELDS`) are written at insertion and may be rewritten once the
  upstream answered (``AuditStore.complete``). They are covered by
  ``outcome_hash = SHA-256(record_hash || canonical(outcome fields))``, recomputed by ``complete`` and
  checked by ``gardefou audit verify``. Changing an outcome without recomputing that hash is detected;
  the record it belongs to cannot be swapped because the outcome hash is bound to its ``record_hash``.
* A purge deletes a prefix of the chain and stores an anchor (``audit_anchors``) with the hash of the
  last purged record: the first remaining record must link to it.

Like any unkeyed chain, this detects changes made behind the application's back by anyone who does not
also recompute every later hash. ``gardefou audit verify`` prints the head as ``SEQ:HASH``: written
down elsewhere (ticket, signed mail, paper register) and checked later with ``--expect SEQ:HASH``, it
makes the deletion of the latest records and a recomputation detectable too.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64

#: Fields that ``complete()`` may set after insertion.
OUTCOME_FIELDS = ("forwarded", "status_code", "upstream_status", "upstream_error", "upstream_ms", "total_ms",
                  "bytes_up", "bytes_down", "input_tokens", "output_tokens", "energy_wh", "gco2e_g", "impact_status",
                  "impact_method")

#: Fields fixed at insertion, covered by the chain. Every column of ``audit_records`` must be listed in
#: CORE_FIELDS or OUTCOME_FIELDS (tests/test_audit_chain.py checks it): add new columns here.
CORE_FIELDS = (
    "id", "ts", "client_id", "department", "client_addr", "api", "endpoint", "host", "service_id", "model",
    "decision", "rule_ids", "reasons", "categories", "finding_types", "findings", "finding_counts", "prompt_parts",
    "prompt_chars", "inspect_ms", "error", "prompt_messages", "notice",
)

#: Floats and the decimals they are kept to (round-trip exactly through either database): times to the
#: microsecond (ms, 3 decimals), energy and CO2e estimates to the micro-watt-hour and microgram.
FLOAT_DECIMALS = {"inspect_ms": 3, "upstream_ms": 3, "total_ms": 3, "energy_wh": 6, "gco2e_g": 6}
FLOAT_FIELDS = tuple(FLOAT_DECIMALS)


def norm_ts(value: datetime) -> datetime:
    """UTC, microseconds: what both SQLite and PostgreSQL give back unchanged."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _value(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key == "ts":
        return norm_ts(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if key in FLOAT_DECIMALS:
        return round(float(value), FLOAT_DECIMALS[key])
    if key == "forwarded":
        return bool(value)
    return value


def normalise(record: dict[str, Any]) -> dict[str, Any]:
    """Make a record round-trip exactly through either database (floats rounded, UTC ts)."""
    out = dict(record)
    for key, decimals in FLOAT_DECIMALS.items():
        if out.get(key) is not None:
            out[key] = round(float(out[key]), decimals)
    if isinstance(out.get("ts"), datetime):
        out["ts"] = norm_ts(out["ts"])
    return out


def _canonical(record: dict[str, Any], fields: tuple[str, ...]) -> bytes:
    # NULL fields are left out: a nullable column added later (and listed here) leaves the hashes of
    # existing records unchanged, while setting or clearing a value still changes the hash.
    data = {k: _value(k, record.get(k)) for k in fields if record.get(k) is not None}
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def record_hash(prev_hash: str, record: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"|" + _canonical(record, CORE_FIELDS)).hexdigest()


def outcome_hash(rec_hash: str, record: dict[str, Any]) -> str:
    return hashlib.sha256(rec_hash.encode() + b"|" + _canonical(record, OUTCOME_FIELDS)).hexdigest()


def anchor_mac(key: bytes, anchor: dict[str, Any]) -> str:
    """HMAC-SHA-256 of a purge anchor's fields: without the key an anchor cannot be forged."""
    import hmac

    fields = ("ts", "through_seq", "last_hash", "purged", "older_than", "actor")
    data = {k: _value(k, norm_ts(anchor[k]) if k in ("ts", "older_than") else anchor[k]) for k in fields}
    if isinstance(data["older_than"], datetime):
        data["older_than"] = norm_ts(data["older_than"]).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    payload = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, b"anchor:" + payload, hashlib.sha256).hexdigest()


#: Fields of an admin access-log row covered by its chain.
ACCESS_FIELDS = ("ts", "user_id", "role", "channel", "action", "params", "outcome", "client_addr")


def access_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """The access log's chain: SHA-256(prev_hash || canonical(row))."""
    data = {k: _value(k, row.get(k)) for k in ACCESS_FIELDS if row.get(k) is not None}
    payload = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(prev_hash.encode() + payload).hexdigest()
