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
