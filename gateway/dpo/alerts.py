"""Threshold alerts for the DPO: when charter blocks of a category pass ``blocks`` within
``window_minutes``, one JSON alert is POSTed to ``alerts.webhook_url``, then none for that rule until a
window has passed.

``gardefou serve`` checks the rules every ``check_interval_s`` in its first process (beside the admin
listener). The alert holds counts, the category, the departments and the times: never a value, a
client id or a prompt. With ``alerts.secret_env`` the body is signed (``X-Gardefou-Signature:
sha256=HEX``, HMAC-SHA256 of the exact body). Delivery is tried three times; a failure is logged and
the rule fires again at the next check while the threshold is still passed. Several gateway processes
or instances checking one store each send their own alert.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import anyio
import httpx

from gateway.audit import AuditError, AuditStore
from gateway.audit import query as Q
from gateway.config import AlertRule, AlertsConfig
from policies.vocabulary import CATEGORY_LABELS_FR

log = logging.getLogger("gardefou.alerts")

EVENT = "gardefou.blocks_threshold"


def rule_filters(rule: AlertRule, now: datetime) -> Q.Filters:
    since = now - timedelta(minutes=rule.window_minutes)
    return Q.Filters(since=since, until=now + timedelta(microseconds=1), decision="block",
                     category=None if rule.category == "any" else rule.category)


def payload(rule: AlertRule, blocks: int, departments: list[tuple[str | None, int]], now: datetime) -> dict[str, Any]:
    label = "toutes catégories" if rule.category == "any" else CATEGORY_LABELS_FR.get(rule.category, rule.category)
    since = now - timedelta(minutes=rule.window_minutes)
    query = {"since": Q.paris(since).date().isoformat(), "decision": "block"}
    if rule.category != "any":
        query["category"] = rule.category
    text = (f"Garde-fou : {blocks} blocage(s) de la charte ({label}) en {rule.window_minutes} min, "
            f"seuil {rule.blocks}. Départements : "
            + (", ".join(f"{d or '(non renseigné)'} ({n})" for d, n in departments[:5]) or "—") + ".")
    return {
        "event": EVENT, "text": text, "category": rule.category, "category_label": label, "blocks": blocks,
        "threshold": rule.blocks, "window_minutes": rule.window_minutes, "since": Q.iso(since), "until": Q.iso(now),
        "departments": [{"department": d, "blocks": n} for d, n in departments],
        "dashboard_path": "/admin/?" + urlencode(query),
    }


class AlertWatcher:
    def __init__(self, store: AuditStore, config: AlertsConfig, environ: Mapping[str, str],
                 transport: httpx.BaseTransport | None = None):
        self.store = store
        self.config = config
        self.secret = config.secret(environ)
        #: rule index -> when its last alert was delivered (monotonic seconds)
        self.sent: dict[int, float] = {}
        self.client = httpx.Client(timeout=config.timeout_s, transport=transport, trust_env=False,
                                   headers={"user-agent": "Garde-fou alerts"})

    def check(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Count the blocks of every rule's window; send the alerts due. Returns those delivered."""
        now = now or datetime.now(UTC)
        delivered = []
        for i, rule in enumerate(self.config.rules):
            last = self.sent.get(i)
            if last is not None and time.monotonic() - last < rule.window_minutes * 60:
                continue  # one alert per window
            filters = rule_filters(rule, now)
            blocks = Q.count(self.store, filters.where())
            if blocks < rule.blocks:
                continue
            departments = [(g["key"], g["count"]) for g in Q.stats(self.store, filters, "department")["groups"]]
            body = payload(rule, blocks, departments, now)
            if self.deliver(body):
                self.sent[i] = time.monotonic()
                delivered.append(body)
        return delivered

    def deliver(self, body: dict[str, Any], attempts: int = 3) -> bool:
        assert self.config.webhook_url is not None
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"content-type": "application/json; charset=utf-8"}
        if self.secret:
            headers["x-gardefou-signature"] = "sha256=" + hmac.new(self.secret, data, hashlib.sha256).hexdigest()
        for attempt in range(attempts):
            try:
                resp = self.client.post(self.config.webhook_url, content=data, headers=headers)
                if resp.status_code < 300:
                    log.info("alert sent: %s blocks (%s) over %s min", body["blocks"], body["category"],
                             body["window_minutes"])
                    return True
                problem = f"HTTP {resp.status_code}"
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            if attempt + 1 < attempts:
                time.sleep(0.5 * (attempt + 1))
        log.error("alert not delivered to the webhook (%s): %s blocks (%s)", problem, body["blocks"], body["category"])
        return False

    async def run(self) -> None:
        """Check every ``check_interval_s`` until cancelled; a failing store or webhook never stops it."""
        while True:
            try:
                await anyio.to_thread.run_sync(self.check)
            except AuditError as exc:
                log.error("alerts: audit store unavailable: %s", exc)
            except Exception:
                log.exception("alerts: check failed")
            await asyncio.sleep(self.config.check_interval_s)

    def close(self) -> None:
        self.client.close()


class Alongside:
    """A server (uvicorn's, or anything with ``serve()``) with a background task that lives as long as it
    serves: the alert watcher beside the gateway's listener in ``gardefou serve``."""

    def __init__(self, server, watcher: AlertWatcher):
        self.server, self.watcher = server, watcher

    async def serve(self, *args, **kwargs) -> None:
        task = asyncio.get_running_loop().create_task(self.watcher.run())
        try:
            await self.server.serve(*args, **kwargs)
        finally:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            self.watcher.close()
