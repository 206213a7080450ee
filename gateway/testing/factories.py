"""Small in-process stand-ins for unit tests of the pipeline, the adapters and the ingresses.

``texchange`` builds an ``Exchange`` as an ingress would (mitmproxy's ``tflow`` is the model);
``FakeScanner`` reports a finding for each marker word it is given; ``MemoryStore`` keeps records in
a list and can be told to fail, to prove the pipeline fails closed. End-to-end tests still run the
real scanner, the real databases and real HTTP servers.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from detectors.base import Finding, ScanResult
from gateway.audit import AuditError
from gateway.config import Config, parse_config
from gateway.extract import Extracted
from gateway.pipeline import Client, Exchange, Incoming, Pipeline
from policies.vocabulary import CATEGORIES


def texchange(*texts: str, api: str = "openai", endpoint: str = "chat.completions", service: str | None = "mistral",
              model: str = "mistral-small-latest", catalogue=None, client: Client | None = None,
              uninspectable: tuple[str, ...] = ()) -> Exchange:
    """An ``Exchange`` ready for ``Pipeline.inspect``: extracted ``texts``, routed to ``service``."""
    ex = Exchange(api=api, endpoint=endpoint, client=client or Client(addr="127.0.0.1"))
    ex.extracted = Extracted()
    for t in texts:
        ex.extracted.add(t)
    for kind in uninspectable:
        ex.extracted.mark(kind)
    ex.service_ref, ex.model = service, model
    if catalogue is not None and service is not None:
        ex.service = catalogue.get(service)
    return ex


def tincoming(body: bytes | str, *, endpoint: str = "chat.completions", headers: Mapping[str, str] | None = None,
              peer: str | None = "127.0.0.1") -> Incoming:
    """An ``Incoming`` whose body reader returns ``body`` (``BodyTooLarge`` past the limit, as an ingress)."""
    from gateway.pipeline import BodyTooLarge

    raw = body.encode() if isinstance(body, str) else body

    async def read(limit: int) -> bytes:
        if len(raw) > limit:
            raise BodyTooLarge
        return raw

    return Incoming(endpoint=endpoint, headers=_Headers(headers or {}), peer=peer, read_body=read)


class _Headers(dict):
    """Case-insensitive enough for the pipeline: keys are stored lower-case."""

    def __init__(self, items: Mapping[str, str]):
        super().__init__({k.lower(): v for k, v in items.items()})

    def get(self, key, default=None):
        return super().get(key.lower(), default)


class FakeScanner:
    """Finds ``<category>`` wherever the marker ``[[<category>]]`` appears; ``fail`` makes it raise."""

    def __init__(self, fail: Exception | None = None):
        self.fail = fail
        self.calls: list[str] = []

    def scan(self, text: str, deadline: float | None = None) -> ScanResult:
        self.calls.append(text)
        if self.fail is not None:
            raise self.fail
        findings = []
        for cat in CATEGORIES:
            marker = f"[[{cat}]]"
            at = text.find(marker)
            while at >= 0:
                findings.append(Finding(f"FAKE_{cat.upper()}", cat, at, at + len(marker), 1.0, "fake"))
                at = text.find(marker, at + 1)
        return ScanResult(findings)


class MemoryStore:
    """The audit store's write side in memory; ``fail = True`` makes every write an ``AuditError``."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.acks: dict[tuple[str, str], datetime] = {}
        self.fail = False

    def migrate(self) -> None:
        pass

    def insert(self, record: dict[str, Any]) -> None:
        if self.fail:
            raise AuditError("store down (test)")
        self.records[record["id"]] = copy.deepcopy(record)

    def complete(self, record_id: str, fields: dict[str, Any]) -> None:
        if self.fail:
            raise AuditError("store down (test)")
        self.records[record_id].update(fields)

    def complete_later(self, record_id: str, fields: dict[str, Any], finish=None) -> None:
        """Written at once (the real store queues it for its outcome thread); a failure is logged there."""
        if finish is not None:
            finish(fields)
        try:
            self.complete(record_id, fields)
        except AuditError:
            pass

    def flush(self, timeout: float = 10.0) -> bool:
        return True

    def get(self, record_id: str) -> dict[str, Any] | None:
        return self.records.get(record_id)

    def grant_ack(self, client: str, service_id: str, expires_at: datetime) -> None:
        if self.fail:
            raise AuditError("store down (test)")
        self.acks[(client, service_id)] = expires_at

    def ack_expiry(self, client: str, service_id: str) -> datetime | None:
        if self.fail:
            raise AuditError("store down (test)")
        return self.acks.get((client, service_id))

    def ping(self) -> bool:
        return not self.fail

    def dispose(self) -> None:
        pass


def tconfig(**sections: Any) -> Config:
    """A configuration from keyword sections (``tconfig(policy={"warn_mode": "require_ack"})``)."""
    import yaml

    return parse_config(yaml.safe_dump(sections), environ={})


def tpipeline(config: Config | None = None, *, scanner=None, store=None) -> tuple[Pipeline, Any, Any]:
    """A pipeline on a ``FakeScanner`` and a ``MemoryStore`` (or the ones given): (pipeline, scanner, store)."""
    from gateway.build import build_pipeline

    scanner = scanner or FakeScanner()
    store = store or MemoryStore()
    return build_pipeline(config or tconfig(), scanner=scanner, store=store, environ={}), scanner, store
