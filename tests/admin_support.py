"""Helpers shared by the admin tests: seeded audit store, admin users, a real admin server."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import uvicorn
import yaml

from gateway.admin import create_admin_app
from gateway.audit import AuditStore
from gateway.config import hash_key, parse_config
from tests.conftest import serve_in_thread
from tests.test_audit_chain import make_record

TOKENS = {"dpo": "tok-dpo-Qx81", "rssi": "tok-rssi-Lm22", "admin": "tok-admin-Zp93"}
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def admin_users() -> list[dict]:
    return [{"id": f"{role}.user", "role": role, "token_sha256": hash_key(tok)} for role, tok in TOKENS.items()]


def auth(role: str) -> dict:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def seed(store: AuditStore) -> list[dict]:
    """30 records over 3 days: 3 services, 2 departments, blocks carry personal/health findings."""
    recs = []
    for i in range(30):
        day = i // 10
        kind = i % 5
        decision = "block" if kind in (0, 1) else "warn" if kind == 2 else "allow"
        cats = ("personal", "health") if kind == 0 else ("personal",) if kind == 1 else ()
        types = ("FR_NIR", "EMAIL_ADDRESS") if kind == 0 else ("EMAIL_ADDRESS",) if kind == 1 else ()
        rec = make_record(
            i, ts=T0 + timedelta(days=day, minutes=i), decision=decision,
            service=("mistral", "openai", "anthropic")[i % 3],
            client=f"poste-{i % 4}", department="urgences" if i % 2 else "pharmacie",
            categories=cats, types=types,
        )
        store.insert(rec)
        recs.append(rec)
    return recs


@dataclass
class AdminServer:
    url: str
    store: AuditStore
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def start_admin(db_url: str, config_path=None, extra: dict | None = None) -> AdminServer:
    cfg = {"audit": {"url": db_url}, "admins": admin_users(), **(extra or {})}
    config = parse_config(yaml.safe_dump(cfg))
    store = AuditStore(db_url)
    store.migrate()
    app = create_admin_app(config, store=store, config_path=config_path)
    url, server, thread = serve_in_thread(app)
    return AdminServer(url, store, server, thread)


LONG_MODEL = "modele-" + "x" * 100 + "-2026-03-preview"
LONG_CLIENT = "poste-" + "y" * 90 + "-bloc-operatoire"


def seed_dpo_extras(store: AuditStore) -> dict[str, dict]:
    """Records beyond :func:`seed` for what a DPO reads (issue 15): three technical refusals late on
    3 March UTC (4 March in Paris), a charter block on a service outside the catalogue with a phone
    number and free health text, a summer record (UTC+2) and one with long values (layout)."""
    def rec(i: int, ts: datetime, decision: str, rules: list[str], **fields) -> dict:
        r = make_record(100 + i, ts=ts, decision=decision, department="cardiologie")
        r.update(rule_ids=rules, **fields)
        store.insert(r)
        return r

    out = {}
    for i, (minute, rule, status) in enumerate(((30, "request.invalid_json", 400), (40, "auth.failed", 401),
                                                (50, "gateway.busy", 503))):
        out[f"refuse{i}"] = rec(i, datetime(2026, 3, 3, 23, minute, tzinfo=UTC), "refuse", [rule],
                                forwarded=False, status_code=status, reasons=["Refus technique."],
                                service_id=None if rule != "gateway.busy" else "mistral",
                                client_id=None if rule == "auth.failed" else "poste-1", error="invalid_request")
    out["block"] = rec(3, datetime(2026, 3, 4, 10, 0, tzinfo=UTC), "block", ["charter.health"],
                       service_id="inconnu-x", categories=",personal,health,", finding_types=",HEALTH_TEXT,PHONE_NUMBER,",
                       findings=[{"type": "PHONE_NUMBER", "category": "personal", "part": 0, "start": 4, "end": 14,
                                  "score": 0.9},
                                 {"type": "HEALTH_TEXT", "category": "health", "part": 0, "start": 0, "end": 80,
                                  "score": 0.97}],
                       reasons=["La requête contient des données de santé."])
    out["summer"] = rec(4, datetime(2026, 7, 14, 10, 0, tzinfo=UTC), "allow", ["charter.compliant"])
    types = ["CONFIDENTIAL_TEXT", "DATE_OF_BIRTH", "EMAIL_ADDRESS", "FR_ADELI", "FR_FINESS", "FR_IPP", "FR_NDA", "FR_NIR",
             "FR_RPPS", "FR_SIRET", "IBAN_CODE", "IS_INFRASTRUCTURE", "PERSON", "SECRET"]
    out["long"] = rec(5, datetime(2026, 3, 4, 11, 0, tzinfo=UTC), "warn",
                      ["charter.non_compliant", "warn.ack_required", "detect.unsure"], model=LONG_MODEL,
                      client_id=LONG_CLIENT, finding_types="," + ",".join(types) + ",",
                      findings=[{"type": t, "category": "personal", "part": 0, "start": 3, "end": 9, "score": 0.9}
                                for t in types])
    return out
