"""The one place where the steps are called in order: extract → detect → decide → audit.

Both API adapters (and later the browser path) build an ``Exchange`` - who, where, what text - and
hand it to ``Pipeline.inspect``. The pipeline fails closed: if the detectors or the audit store fail,
the verdict is a refusal and nothing is forwarded.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import ipaddress
import logging
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import anyio

from detectors import ScanResult, Scanner
from detectors.scanner import ScanBudgetExceeded
from gateway.audit import AuditError, AuditStore
from gateway.extract import SEPARATOR, Extracted
from policies.catalogue import Catalogue, Service, client_name
from policies.decision import UNINSPECTABLE, Decision, Policy, decide

log = logging.getLogger("gardefou.pipeline")


@dataclass
class Client:
    id: str | None = None
    department: str | None = None
    addr: str | None = None


@dataclass
class Exchange:
    """The pipeline's request object: the same for every API and for the browser path."""

    api: str
    endpoint: str
    client: Client
    extracted: Extracted = field(default_factory=Extracted)
    service_ref: str | None = None
    service: Service | None = None
    model: str | None = None
    acknowledged: bool = False
    audit_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.perf_counter)
    inspect_ms: float | None = None
    finding_counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """What the adapter must do: forward, or refuse with ``status``/``code``/``message``."""

    decision: Decision
    forward: bool
    status: int = 200
    code: str | None = None
    message: str | None = None
    recorded: bool = True


#: findings kept in one audit record (the counts per type stay exact)
MAX_FINDINGS = 200

UNAVAILABLE_FR = (
    "Garde-fou n'a pas pu contrôler cette requête ({what}) : par sécurité elle n'a pas été transmise. "
    "Réessayez plus tard ou contactez la DSN."
)


class Pipeline:
    def __init__(
        self,
        scanner: Scanner,
        catalogue: Catalogue,
        policy: Policy,
        store: AuditStore,
        fingerprint_key: bytes | None = None,
        scan_timeout_s: float = 10.0,
    ):
        self.scan_timeout_s = scan_timeout_s
        self.scanner = scanner
        self.catalogue = catalogue
        self.policy = policy
        self.store = store
        self.fingerprint_key = fingerprint_key

    # -- steps -------------------------------------------------------------------------------
    def _detect(self, ex: Exchange) -> tuple[ScanResult, str]:
        joined = SEPARATOR.join(ex.extracted.parts)
        return self.scanner.scan(joined, time.monotonic() + self.scan_timeout_s), joined

    def _findings_record(self, ex: Exchange, scan: ScanResult, joined: str) -> list[dict]:
        """The findings as stored: at most ``MAX_FINDINGS`` (exact counts go in ``finding_counts``)."""
        starts, pos = [], 0
        for p in ex.extracted.parts:
            starts.append(pos)
            pos += len(p) + len(SEPARATOR)
        out = []
        for f in scan.findings[:MAX_FINDINGS]:
            part = max(bisect.bisect_right(starts, f.start) - 1, 0)
            item = {
                "type": f.type,
                "category": f.category,
                "part": part,
                "start": f.start - starts[part],
                "end": f.end - starts[part],
                "score": round(f.score, 3),
            }
            if f.cues:
                item["cues"] = list(f.cues)
            if self.fingerprint_key:
                item["fp"] = self.fingerprint(f.type, joined[f.start : f.end])
            out.append(item)
        return out

    def fingerprint(self, ftype: str, value: str) -> str:
        """Keyed hash of a normalised value: equal values compare equal, nothing can be read back."""
        norm = "".join(c for c in unicodedata.normalize("NFKC", value).casefold() if c.isalnum())
        assert self.fingerprint_key is not None
        return hmac.new(self.fingerprint_key, f"{ftype}:{norm}".encode(), hashlib.sha256).hexdigest()[:24]

    def _record(
        self, ex: Exchange, decision: Decision, findings: list[dict], status: int, error: str | None, forward: bool
    ) -> dict:
        types = sorted(ex.finding_counts or {f["type"] for f in findings})
        return {
            "id": ex.audit_id,
            "ts": datetime.now(UTC),
            "client_id": _clip(ex.client.id, 128),
            "department": _clip(ex.client.department, 128),
            "client_addr": _address(ex.client.addr),
            "api": ex.api,
            "endpoint": _clip(ex.endpoint, 64),
            "service_id": ex.service.id if ex.service else client_name(ex.service_ref),
            "model": client_name(ex.model),
            "decision": decision.action,
            "forwarded": forward,
            "rule_ids": list(decision.rule_ids),
            "reasons": list(decision.reasons),
            "categories": "," + ",".join(decision.categories) + "," if decision.categories else "",
            "finding_types": "," + ",".join(types) + "," if types else "",
            "findings": findings,
            "finding_counts": ex.finding_counts or None,
            "prompt_parts": len(ex.extracted.parts),
            "prompt_chars": ex.extracted.chars,
            # a forwarded request gets its status (and total time) from ``complete``
            "status_code": None if forward else status,
            "inspect_ms": ex.inspect_ms,
            "total_ms": None if forward else (time.perf_counter() - ex.started) * 1000,
            "error": error,
        }

    # -- entry points ------------------------------------------------------------------------
    async def inspect(self, ex: Exchange, limiter: anyio.CapacityLimiter | None = None) -> Verdict:
        """Detect, decide and commit the audit record, in one hop off the event loop (on one of the
        ``limiter``'s worker threads when given)."""
        return await anyio.to_thread.run_sync(self.inspect_sync, ex, limiter=limiter)

    def inspect_sync(self, ex: Exchange) -> Verdict:
        t0 = time.perf_counter()
        try:
            scan, joined = self._detect(ex)
            ex.finding_counts = scan.counts()
            findings = self._findings_record(ex, scan, joined)
        except ScanBudgetExceeded as exc:  # fail closed: too long to inspect is not forwarded
            log.warning("scan budget exceeded after %s (audit id %s)", exc, ex.audit_id)
            ex.inspect_ms = (time.perf_counter() - t0) * 1000
            decision = Decision("block", ("gateway.scan_timeout",), ("Inspection trop longue.",))
            return self._store(ex, decision, [], 503, "gardefou_unavailable",
                               UNAVAILABLE_FR.format(what="inspection trop longue pour cette requête"))
        except Exception:  # fail closed: an inspection error never forwards the request
            log.exception("detector failure (audit id %s)", ex.audit_id)
            ex.inspect_ms = (time.perf_counter() - t0) * 1000
            decision = Decision("block", ("gateway.detector_failure",), ("Échec des détecteurs.",))
            return self._store(
                ex, decision, [], 503, "gardefou_unavailable", UNAVAILABLE_FR.format(what="échec des détecteurs")
            )
        categories = list(scan.categories)
        if ex.extracted.uninspectable:
            categories.append(UNINSPECTABLE)
        decision = decide(
            categories, ex.service, self.policy, service_ref=ex.service_ref, acknowledged=ex.acknowledged
        )
        ex.inspect_ms = (time.perf_counter() - t0) * 1000
        if decision.action == "block":
            return self._store(ex, decision, findings, 403, "gardefou_blocked", block_message(decision))
        if decision.ack_required:
            msg = (
                decision.reasons[0]
                + " Pour confirmer l'envoi malgré cet avertissement, renvoyez la requête avec l'en-tête "
                "« X-Gardefou-Ack: 1 »."
            )
            return self._store(ex, decision, findings, 403, "gardefou_ack_required", msg)
        return self._store(ex, decision, findings, 200)

    async def refuse_invalid(self, ex: Exchange, status: int, code: str, message: str, rule: str) -> Verdict:
        """Audit a request refused before inspection (malformed, unknown endpoint, auth...)."""
        decision = Decision("block", (rule,), (message,))
        return await anyio.to_thread.run_sync(self._store, ex, decision, [], status, code, message)

    async def record_local(self, ex: Exchange, rule: str, message: str) -> Verdict:
        """Audit a request the gateway answers itself without forwarding anything (e.g. the model list)."""
        decision = Decision("allow", (rule,), (message,))
        return await anyio.to_thread.run_sync(self._store, ex, decision, [], 200, None, None, False)

    def _store(
        self,
        ex: Exchange,
        decision: Decision,
        findings: list[dict],
        status: int,
        code: str | None = None,
        message: str | None = None,
        forward: bool | None = None,
    ) -> Verdict:
        """Commit the record; forward only what was decided forwardable and recorded (fail closed)."""
        forward = decision.forwarded and status < 400 if forward is None else forward
        try:
            self.store.insert(self._record(ex, decision, findings, status, code, forward))
        except AuditError as exc:
            return self._audit_failed(ex, decision, exc)
        return Verdict(decision, forward=forward, status=status, code=code, message=message)

    def _audit_failed(self, ex: Exchange, decision: Decision, exc: AuditError) -> Verdict:
        log.error("audit store failure (%s): request refused (audit id %s)", exc, ex.audit_id)
        blocked = Decision("block", (*decision.rule_ids, "gateway.audit_failure"), decision.reasons, decision.categories)
        return Verdict(
            blocked,
            forward=False,
            status=503,
            code="gardefou_unavailable",
            message=UNAVAILABLE_FR.format(what="journal d'audit indisponible"),
            recorded=False,
        )

    async def complete(
        self,
        ex: Exchange,
        *,
        status_code: int,
        upstream_status: int | None = None,
        upstream_error: str | None = None,
        upstream_ms: float | None = None,
    ) -> None:
        """Add the upstream outcome to a forwarded request's record."""
        fields = {
            "status_code": status_code,
            "upstream_status": upstream_status,
            "upstream_error": upstream_error,
            "upstream_ms": upstream_ms,
            "total_ms": (time.perf_counter() - ex.started) * 1000,
        }
        if status_code >= 400:
            fields["forwarded"] = upstream_status is not None
        try:
            await anyio.to_thread.run_sync(self.store.complete, ex.audit_id, fields)
        except AuditError as exc:  # the response is already on its way; log loudly
            log.error("could not record the outcome of %s: %s", ex.audit_id, exc)


def _clip(value: str | None, size: int) -> str | None:
    """A value cut to its column's size: a long one must not fail the insert (and refuse the request)."""
    return value if value is None or len(value) <= size else value[: size - 1] + "…"


def _address(value: str | None) -> str | None:
    """The peer address, stored only when it is an IP address (never free text from a header)."""
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return "(masqué)"


def block_message(decision: Decision) -> str:
    return (
        "Requête bloquée par Garde-fou. "
        + " ".join(decision.reasons)
        + " Retirez ces éléments ou utilisez un outil interne autorisé. "
        "Cette décision est tracée (charte d'usage des services d'IA externes)."
    )
