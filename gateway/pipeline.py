"""The request pipeline, the same for every ingress: every step, in order, in ``Pipeline.process``.

An ingress (the API server, the browser proxy) turns what it received into an ``Incoming`` and
hands it with the request's ``Adapter`` (its wire format) to ``process``:

    authenticate → admit (rate, concurrency) → read the body → route (service, model)
      → extract (every piece of text) → detect → decide → audit → Verdict

The ingress then forwards (``Verdict.forward``) or refuses in its own words, and reports the
upstream outcome with ``complete``. The pipeline fails closed: a request the gateway could not read,
inspect or record is refused, never forwarded unchecked.

Every part is built once, by ``gateway.build.build_pipeline``.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import time
import unicodedata
import uuid
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio

from detectors import Scanner, ScanResult
from detectors.scanner import ScanBudgetExceeded
from gateway import metrics
from gateway.audit import AuditError, AuditStore
from gateway.config import Limits, LongConversation, hash_key
from gateway.extract import SEPARATOR, Extracted
from gateway.limits import Admission
from gateway.sobriety import LONG_CONVERSATION, ImpactEstimator, UsageMeter, long_conversation
from policies.catalogue import Catalogue, Service, client_name
from policies.decision import Decision, Policy, decide
from policies.discovery import Discovery, ListedService
from policies.messages import Messages
from policies.vocabulary import UNINSPECTABLE, Action

if TYPE_CHECKING:
    from gateway.adapters.base import Adapter
    from gateway.charter import CharterGate

log = logging.getLogger("gardefou.pipeline")
#: one JSON line per decision (audit id, decision, service, categories, rules, status, timings; never a value)
decisions_log = logging.getLogger("gardefou.decision")

#: bodies up to this size are parsed and extracted on the event loop (microseconds); larger ones, and
#: documents (PDF, .docx) with them, on a worker thread so that one big upload stalls nobody else
INLINE_BODY_BYTES = 64 * 1024

#: findings kept in one audit record (the counts per type stay exact)
MAX_FINDINGS = 200

UNAVAILABLE_FR = (
    "Garde-fou n'a pas pu contrôler cette requête ({what}) : par sécurité elle n'a pas été transmise. "
    "Réessayez plus tard ou contactez la DSN."
)


@dataclass
class Client:
    id: str | None = None
    department: str | None = None
    addr: str | None = None


@dataclass
class Incoming:
    """A request as an ingress received it, before the pipeline reads anything of it."""

    endpoint: str
    headers: Mapping[str, str]  # case-insensitive (Starlette's, mitmproxy's)
    peer: str | None
    #: reads the raw body (the ingress enforces ``limit`` bytes as it reads, raising ``BodyTooLarge``)
    read_body: Callable[[int], Awaitable[bytes]]
    #: path parameters of the route (a model in the URL, for formats that put it there; the browser
    #: path: the URL's query string as ``query``)
    params: Mapping[str, str] = field(default_factory=dict)
    #: the destination host and port, when the ingress routes by host (the browser proxy)
    host: str | None = None
    port: int | None = None
    #: whether the client acknowledged a warning; None: the adapter reads it from the request
    #: (``X-Gardefou-Ack``); the browser ingress knows it from a recorded « Continuer »
    acknowledged: bool | None = None
    #: the ingress cannot show a warning beside a forwarded answer (a browser): a ``warn`` is
    #: refused until acknowledged, whatever ``policy.warn_mode``
    ack_warnings: bool = False
    #: whether this request needs the charter accepted (when one is configured), and whether the
    #: ``X-Gardefou-Charter-Accept`` header may accept it (the API; a browser accepts on a page)
    charter_check: bool = True
    charter_header: bool = True


@dataclass
class Exchange:
    """The pipeline's request object: the same for every API and for the browser path."""

    api: str
    endpoint: str
    client: Client
    extracted: Extracted = field(default_factory=Extracted)
    service_ref: str | None = None
    service: Service | None = None
    #: a destination outside the catalogue that the discovery list knows (shadow AI, the browser path)
    listed: ListedService | None = None
    model: str | None = None
    host: str | None = None
    acknowledged: bool = False
    ack_warnings: bool = False
    #: what is sent upstream if the verdict forwards: the body (serialised before the decision, so a
    #: body that cannot be sent is refused) and the client headers relayed from the allow-list
    upstream_body: bytes = b""
    forwarded_headers: dict[str, str] = field(default_factory=dict)
    audit_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.perf_counter)
    inspect_ms: float | None = None
    finding_counts: dict[str, int] = field(default_factory=dict)
    #: messages of the conversation in the request (formats that carry a list of them)
    messages: int | None = None
    #: a notice given with the answer (``long_conversation``)
    notice: str | None = None
    #: a forwarded request's decision log line, written with its outcome (``Pipeline.complete``)
    decision_line: dict[str, Any] | None = None


@dataclass(frozen=True)
class Verdict:
    """What the ingress must do: forward, or refuse with ``status``/``code``/``message``."""

    decision: Decision
    forward: bool
    status: int = 200
    code: str | None = None
    message: str | None = None
    recorded: bool = True
    param: str | None = None
    retry_after: int | None = None
    #: the client went away: there is nobody to answer
    silent: bool = False


class Refusal(Exception):
    """A request the gateway refuses for a technical reason (recorded as ``refuse``, never as a
    charter ``block``). ``message`` is in French, for the user."""

    def __init__(self, status: int, code: str, message: str, rule: str, param: str | None = None,
                 retry_after: int | None = None, silent: bool = False):
        super().__init__(message)
        self.status, self.code, self.message, self.rule = status, code, message, rule
        self.param, self.retry_after, self.silent = param, retry_after, silent


class BodyTooLarge(Exception):
    """Raised by an ingress's body reader past the limit it was given."""


class Pipeline:
    def __init__(self, scanner: Scanner, catalogue: Catalogue, policy: Policy, store: AuditStore, limits: Limits,
                 *, clients: Mapping[str, Any] | None = None, fingerprint_key: bytes | None = None,
                 discovery: Discovery | None = None, estimator: ImpactEstimator | None = None,
                 long_conversation: LongConversation | None = None, charter: CharterGate | None = None,
                 messages: Messages | None = None, admission: Admission | None = None):
        self.scanner = scanner
        self.catalogue = catalogue
        self.policy = policy
        self.store = store
        self.limits = limits
        #: API key hash -> client entry (``id``, ``department``); None: no keys (``auth.mode: none``)
        self.clients = clients
        self.fingerprint_key = fingerprint_key
        #: the generative-AI hosts recognised outside the catalogue (None: discovery off)
        self.discovery = discovery
        #: the energy / CO2e estimate of forwarded answers (None: not estimated)
        self.estimator = estimator
        self.long_conversation = long_conversation
        #: the institution's charter to accept before use (None: none configured)
        self.charter = charter
        #: the block and warning texts, with the institution's contact, charter and internal tool
        self.messages = messages or Messages(None, catalogue)
        #: per-client limits and the scan pool, shared with the pipelines a reload builds after this one
        self.admission = admission or Admission(limits)

    # -- the flow -----------------------------------------------------------------------------
    async def process(self, adapter: Adapter, inc: Incoming) -> tuple[Exchange, Verdict]:
        """Every step of a request, in order, up to the verdict the ingress acts on."""
        ex = Exchange(api=adapter.api, endpoint=inc.endpoint, client=Client(addr=inc.peer), host=_host(inc))
        try:
            self.authenticate(adapter, inc, ex)                        # 1. who: the client's key
            who = ex.client.id or ex.client.addr or "?"
            self.admit(who)                                            # 2. rate and concurrency limits
            try:
                if self.charter is not None and inc.charter_check:     # 2b. the charter accepted
                    await self.check_charter(inc, ex)
                raw = await self.read(inc)                             # 3. the body, read and decoded
                if len(raw) <= INLINE_BODY_BYTES and not adapter.reads_documents:  # 4-5. parse, route,
                    self.prepare(adapter, raw, inc, ex)                # extract: a large body or a document
                else:                                                  # (PDF, .docx) off the event loop
                    await anyio.to_thread.run_sync(self.prepare, adapter, raw, inc, ex)
                return ex, await self.inspect(ex)                      # 6. detect, decide, audit
            finally:
                self.admission.clients.leave(who)
        except Refusal as refusal:
            return ex, await self.refuse(ex, refusal)

    # -- steps --------------------------------------------------------------------------------
    def authenticate(self, adapter: Adapter, inc: Incoming, ex: Exchange) -> None:
        if self.clients is None:
            return
        key = adapter.client_key(inc.headers)
        if key is None and adapter.key_optional:  # identified by its address (the browser proxy)
            return
        entry = self.clients.get(hash_key(key)) if key else None
        if entry is None:
            raise Refusal(401, "invalid_api_key", "Clé d'accès à Garde-fou absente ou invalide.", "auth.failed")
        ex.client.id, ex.client.department = entry.id, entry.department

    def admit(self, who: str) -> None:
        retry = self.admission.clients.enter(who)
        if retry is not None:
            raise Refusal(429, "rate_limited",
                          "Trop de requêtes pour ce poste ou cette clé : réessayez dans quelques secondes.",
                          "request.rate_limited", retry_after=retry)

    async def check_charter(self, inc: Incoming, ex: Exchange) -> None:
        """The client accepted the current version of the charter, or accepts it now with the header
        (API); else a 403 ``gardefou_charter_required`` (the ingress says how to accept)."""
        charter = self.charter
        assert charter is not None
        from gateway.charter import ACCEPT_HEADER, subject_of

        subject = subject_of(ex.client)
        if charter.remembers(subject):  # the common case: a set lookup, no hop off the event loop
            return
        offered = inc.headers.get(ACCEPT_HEADER, "").strip() if inc.charter_header else ""
        try:
            if await anyio.to_thread.run_sync(charter.accepted, subject):
                return
            if offered and offered == charter.version:
                await anyio.to_thread.run_sync(charter.accept, ex.client, "api", "header", ex.audit_id)
                return
        except AuditError as exc:
            log.error("charter acceptances unavailable (%s): request refused (audit id %s)", exc, ex.audit_id)
            raise Refusal(503, "gardefou_unavailable", UNAVAILABLE_FR.format(what="registre des acceptations de la "
                          "charte indisponible"), "gateway.audit_failure") from None
        raise Refusal(403, "gardefou_charter_required", charter.required_fr(), "charter_ack.required")

    async def read(self, inc: Incoming) -> bytes:
        limits = self.limits
        try:
            with anyio.fail_after(limits.body_timeout_s):
                raw = await inc.read_body(limits.max_body_bytes)
            return decode_body(raw, inc.headers.get("content-encoding", ""), limits.max_body_bytes)
        except TimeoutError:
            raise Refusal(408, "request_timeout", "Le corps de la requête est arrivé trop lentement.",
                          "request.body_timeout") from None
        except UnsupportedEncoding:
            raise Refusal(415, "unsupported_encoding",
                          "Encodage du corps non pris en charge (utilisez gzip, deflate ou aucun).",
                          "request.unsupported_encoding") from None
        except BodyTooLarge:
            limit_mb = limits.max_body_bytes / 1024 / 1024
            raise Refusal(413, "request_too_large", f"Requête trop volumineuse (limite : {limit_mb:g} Mo).",
                          "request.too_large") from None

    def prepare(self, adapter: Adapter, raw: bytes, inc: Incoming, ex: Exchange) -> None:
        """Parse the body, then route and extract (steps 4 and 5)."""
        body = adapter.parse(raw, inc)
        self.route(adapter, body, inc, ex)      # where: service and model
        self.extract(adapter, body, inc, ex)    # what: every piece of text

    def route(self, adapter: Adapter, body: Any, inc: Incoming, ex: Exchange) -> None:
        """The service and the model the request is for (a policy matter only once it is known)."""
        ex.service_ref, ex.model = adapter.target(inc, body, self.catalogue)
        ex.service = self.catalogue.get(ex.service_ref)
        if ex.service is None and inc.host and self.discovery is not None:  # shadow AI: a known AI host
            ex.listed = self.discovery.by_host(inc.host, inc.port)
        if inc.acknowledged is not None:
            ex.acknowledged = inc.acknowledged
        else:
            ex.acknowledged = inc.headers.get("x-gardefou-ack", "").strip() == "1"
        ex.ack_warnings = inc.ack_warnings
        service = ex.service
        if (adapter.speaks_service_api and service is not None and service.status == "allowed"
                and service.api != adapter.api):
            if service.api is None:
                raise Refusal(400, "invalid_request",
                              f"Le service « {service.name} » n'a pas d'API utilisable par la passerelle.",
                              "request.invalid", "model")
            raise Refusal(400, "wrong_api_format",
                          f"Le service « {service.name} » utilise le format d'API « {service.api} », "
                          f"pas « {adapter.api} » : utilisez le client correspondant.", "request.invalid", "model")

    def extract(self, adapter: Adapter, body: Any, inc: Incoming, ex: Exchange) -> None:
        """Every piece of text that would leave: the body's scalars and the relayed headers' values."""
        try:
            with metrics.STAGE_EXTRACT.time():
                ex.extracted = adapter.extract(inc.endpoint, body)
        except RecursionError:
            raise Refusal(400, "invalid_request", "Le corps de la requête est trop imbriqué.",
                          "request.too_deep") from None
        ex.forwarded_headers = adapter.client_headers(inc.headers)
        for value in ex.forwarded_headers.values():
            ex.extracted.add(value)
        try:
            ex.upstream_body = adapter.upstream_body(body, ex.model)
        except UnicodeEncodeError:
            raise Refusal(400, "invalid_request",
                          "Le corps de la requête contient du texte Unicode invalide (caractère isolé).",
                          "request.invalid_unicode") from None
        if ex.extracted.chars > self.limits.max_scan_chars:
            size = format(self.limits.max_scan_chars, ",").replace(",", " ")
            raise Refusal(413, "request_too_large",
                          f"Requête trop volumineuse pour être inspectée (limite : {size} caractères de texte).",
                          "request.too_large_to_scan")
        ex.messages = adapter.message_count(inc.endpoint, body)
        long = self.long_conversation
        if long is not None and long_conversation(ex.messages, ex.extracted.chars, long.max_messages, long.max_tokens):
            ex.notice = LONG_CONVERSATION

    async def inspect(self, ex: Exchange) -> Verdict:
        """Detect, decide and commit the audit record, in one hop off the event loop, on one of the
        scan pool's threads (a full pool and queue is a 503: the gateway never forwards unread)."""
        limits, admission = self.limits, self.admission
        chars = ex.extracted.chars
        if admission.scans_in_flight >= limits.max_concurrent_scans + limits.max_queued_scans or (
                admission.scans_in_flight and admission.scan_chars_in_flight + chars > limits.max_queued_scan_chars):
            raise Refusal(503, "gardefou_busy",
                          "Garde-fou est saturé : la requête n'a pas été transmise. Réessayez dans un instant.",
                          "gateway.busy", retry_after=1)
        admission.scans_in_flight += 1
        admission.scan_chars_in_flight += chars
        metrics.SCANS_IN_FLIGHT.inc()
        try:
            return await anyio.to_thread.run_sync(self.inspect_sync, ex, limiter=admission.scan_slots)
        finally:
            admission.scans_in_flight -= 1
            admission.scan_chars_in_flight -= chars
            metrics.SCANS_IN_FLIGHT.dec()

    def inspect_sync(self, ex: Exchange) -> Verdict:
        t0 = time.perf_counter()
        try:
            scan, joined = self._detect(ex)
            ex.finding_counts = scan.counts()
            findings = self._findings_record(ex, scan, joined)
        except ScanBudgetExceeded as exc:  # fail closed: too long to inspect is not forwarded
            log.warning("scan budget exceeded after %s (audit id %s)", exc, ex.audit_id)
            ex.inspect_ms = (time.perf_counter() - t0) * 1000
            return self._refuse_sync(ex, Refusal(503, "gardefou_unavailable", UNAVAILABLE_FR.format(
                what="inspection trop longue pour cette requête"), "gateway.scan_timeout"))
        except Exception:  # fail closed: an inspection error never forwards the request
            log.exception("detector failure (audit id %s)", ex.audit_id)
            ex.inspect_ms = (time.perf_counter() - t0) * 1000
            return self._refuse_sync(ex, Refusal(503, "gardefou_unavailable", UNAVAILABLE_FR.format(
                what="échec des détecteurs"), "gateway.detector_failure"))
        categories = list(scan.categories)
        if ex.extracted.uninspectable:
            categories.append(UNINSPECTABLE)
        policy = replace(self.policy, warn_mode="require_ack") if ex.ack_warnings else self.policy
        decision = decide(categories, ex.service, policy, service_ref=ex.service_ref, acknowledged=ex.acknowledged,
                          unsure=scan.unsure, listed=ex.listed)
        ex.inspect_ms = (time.perf_counter() - t0) * 1000
        if decision.action == "block":
            return self._store(ex, decision, findings, 403, "gardefou_blocked", self.messages.block(decision))
        if decision.ack_required:  # the ingress says how to acknowledge (a header, a button...)
            return self._store(ex, decision, findings, 403, "gardefou_ack_required", self.messages.warning(decision))
        # a forwarded warning carries its text too (the API ingress puts it in X-Gardefou-Warning)
        message = self.messages.warning(decision) if decision.action == "warn" else None
        return self._store(ex, decision, findings, 200, message=message)

    # -- refusals and local answers -----------------------------------------------------------
    async def refuse(self, ex: Exchange, refusal: Refusal) -> Verdict:
        """Record a technical refusal (``refuse``, not a charter ``block``) and say how to answer."""
        return await anyio.to_thread.run_sync(self._refuse_sync, ex, refusal)

    def _refuse_sync(self, ex: Exchange, r: Refusal) -> Verdict:
        decision = Decision("refuse", (r.rule,), (r.message,))
        verdict = self._store(ex, decision, [], r.status, r.code, r.message)
        if not verdict.recorded:
            return verdict
        return Verdict(decision, forward=False, status=r.status, code=r.code, message=r.message,
                       param=r.param, retry_after=r.retry_after, silent=r.silent)

    async def record_local(self, ex: Exchange, rule: str, message: str, action: Action = "allow") -> Verdict:
        """Audit a request the gateway answers itself without forwarding anything (the model list, a
        warning acknowledged on the browser path)."""
        decision = Decision(action, (rule,), (message,))
        return await anyio.to_thread.run_sync(self._store, ex, decision, [], 200, None, None, False)

    async def complete(self, ex: Exchange, *, status_code: int, upstream_status: int | None = None,
                       upstream_error: str | None = None, upstream_ms: float | None = None,
                       bytes_up: int | None = None, bytes_down: int | None = None,
                       meter: UsageMeter | None = None) -> None:
        """Add the upstream outcome to a forwarded request's record (for a tunnel: its bytes each way;
        ``total_ms`` is then the connection's duration). With the ``meter`` that read the answer: its
        token counts and the energy / CO2e estimate, computed here, after the answer was relayed, and
        committed with the outcome."""
        fields: dict[str, Any] = {
            "status_code": status_code,
            "upstream_status": upstream_status,
            "upstream_error": upstream_error,
            "upstream_ms": upstream_ms,
            "total_ms": (time.perf_counter() - ex.started) * 1000,
        }
        if bytes_up is not None or bytes_down is not None:
            fields.update(bytes_up=bytes_up, bytes_down=bytes_down)
        if status_code >= 400:
            fields["forwarded"] = upstream_status is not None
        if upstream_ms is not None:
            metrics.STAGE_UPSTREAM.observe(upstream_ms / 1000)
        if status_code < 400:  # the answer is on its way: the store's outcome thread adds the provider's
            # usage and the estimate, writes the decision's log line, then the outcome (and logs a failure)
            self.store.complete_later(ex.audit_id, fields, lambda f: self._finish_outcome(ex, f, meter))
            return
        try:  # a failure known before the client's answer: committed before it, like the decision
            await anyio.to_thread.run_sync(self._complete_sync, ex, fields, meter)
        except AuditError as exc:
            log.error("could not record the outcome of %s: %s", ex.audit_id, exc)

    def _complete_sync(self, ex: Exchange, fields: dict[str, Any], meter: UsageMeter | None) -> None:
        self._finish_outcome(ex, fields, meter)
        self.store.complete(ex.audit_id, fields)

    def _finish_outcome(self, ex: Exchange, fields: dict[str, Any], meter: UsageMeter | None) -> None:
        """The outcome's usage and estimate added to ``fields``; the decision's log line written."""
        line, ex.decision_line = ex.decision_line, None
        if line is not None:
            _log_decision(line, fields)
        self._add_usage(ex, fields, meter)

    def _add_usage(self, ex: Exchange, fields: dict[str, Any], meter: UsageMeter | None) -> None:
        """The provider's token counts and the energy / CO2e estimate, added to the outcome's fields."""
        if meter is not None and fields.get("upstream_status") is not None and fields["upstream_status"] < 400:
            usage = meter.result()
            fields.update(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens)
            # the browser path's pages and app calls carry no usage: an estimate only where tokens are told
            if self.estimator is not None and (ex.api != "web" or usage.output_tokens is not None):
                latency = fields["upstream_ms"] / 1000 if fields.get("upstream_ms") is not None else None
                impact = self.estimator.estimate(ex.service.id if ex.service else None, (usage.model, ex.model),
                                                 usage.output_tokens, latency)
                fields.update(impact.fields())

    def probe_scan(self) -> bool:
        """The detectors still find what they must: a NIR, a clinical vignette (readiness)."""
        try:
            found = {f.type for f in self.scanner.scan(PROBE_TEXT).findings}
        except Exception:
            log.exception("readiness probe: the scanner failed")
            return False
        return "FR_NIR" in found and any(f in found for f in ("HEALTH_DATA", "HEALTH_TEXT"))

    # -- the audit record ---------------------------------------------------------------------
    def _detect(self, ex: Exchange) -> tuple[ScanResult, str]:
        joined = SEPARATOR.join(ex.extracted.parts)
        with metrics.STAGE_DETECT.time():
            return self.scanner.scan(joined, time.monotonic() + self.limits.scan_timeout_s), joined

    def _findings_record(self, ex: Exchange, scan: ScanResult, joined: str) -> list[dict]:
        """The findings as stored: at most ``MAX_FINDINGS`` (exact counts go in ``finding_counts``)."""
        starts, pos = [], 0
        for p in ex.extracted.parts:
            starts.append(pos)
            pos += len(p) + len(SEPARATOR)
        out = []
        for f in scan.findings[:MAX_FINDINGS]:
            part = max(bisect.bisect_right(starts, f.start) - 1, 0)
            item: dict[str, Any] = {"type": f.type, "category": f.category, "part": part,
                                    "start": f.start - starts[part], "end": f.end - starts[part],
                                    "score": round(f.score, 3)}
            if f.cues:
                item["cues"] = list(f.cues)
            if self.fingerprint_key:
                item["fp"] = self.fingerprint(f.type, joined[f.start: f.end])
            out.append(item)
        return out

    def fingerprint(self, ftype: str, value: str) -> str:
        """Keyed hash of a normalised value: equal values compare equal, nothing can be read back."""
        norm = "".join(c for c in unicodedata.normalize("NFKC", value).casefold() if c.isalnum())
        assert self.fingerprint_key is not None
        return hmac.new(self.fingerprint_key, f"{ftype}:{norm}".encode(), hashlib.sha256).hexdigest()[:24]

    def _record(self, ex: Exchange, decision: Decision, findings: list[dict], status: int, error: str | None,
                forward: bool) -> dict:
        types = sorted(ex.finding_counts or {f["type"] for f in findings})
        return {
            "id": ex.audit_id,
            "ts": datetime.now(UTC),
            "client_id": _clip(ex.client.id, 128),
            "department": _clip(ex.client.department, 128),
            "client_addr": _address(ex.client.addr),
            "api": ex.api,
            "host": _clip(ex.host, 255),
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
            "prompt_messages": ex.messages,
            "notice": ex.notice,
        }

    def _store(self, ex: Exchange, decision: Decision, findings: list[dict], status: int, code: str | None = None,
               message: str | None = None, forward: bool | None = None) -> Verdict:
        """Commit the record; forward only what was decided forwardable and recorded (fail closed)."""
        forward = decision.forwarded and status < 400 if forward is None else forward
        t0 = time.perf_counter()
        try:
            self.store.insert(self._record(ex, decision, findings, status, code, forward))
        except AuditError as exc:
            log.error("audit store failure (%s): request refused (audit id %s)", exc, ex.audit_id)
            metrics.AUDIT_FAILURES.inc()
            refused = Decision("refuse", (*decision.rule_ids, "gateway.audit_failure"), decision.reasons,
                               decision.categories)
            self._observe(ex, refused, 503, forward=False, recorded=False)
            return Verdict(refused, forward=False, status=503, code="gardefou_unavailable",
                           message=UNAVAILABLE_FR.format(what="journal d'audit indisponible"), recorded=False)
        metrics.STAGE_AUDIT.observe(time.perf_counter() - t0)
        self._observe(ex, decision, status, forward=forward, recorded=True)
        return Verdict(decision, forward=forward, status=status, code=code, message=message)

    def _observe(self, ex: Exchange, decision: Decision, status: int, *, forward: bool, recorded: bool) -> None:
        """The decision's metrics and its log line: catalogue ids and vocabulary words only. A forwarded
        request's line is written with its outcome, by ``complete`` (off the request's path: the
        store's outcome thread for an answer relayed); any other, at once."""
        service = ex.service.id if ex.service else "(inconnu)"
        metrics.DECISIONS.labels(ex.api, decision.action, service).inc()
        if ex.listed is not None and ex.service is None:
            metrics.UNKNOWN_AI.labels(ex.listed.id, decision.action).inc()
        for category in decision.categories:
            metrics.CATEGORIES.labels(category, decision.action).inc()
        if decisions_log.isEnabledFor(logging.INFO):
            line = {
                "event": "decision", "audit_id": ex.audit_id if recorded else None, "ingress": ex.api,
                "endpoint": _clip(ex.endpoint, 64), "service": service, "decision": decision.action,
                "listed_service": ex.listed.id if ex.listed is not None and ex.service is None else None,
                "rules": list(decision.rule_ids), "categories": list(decision.categories),
                "finding_counts": ex.finding_counts, "status": status, "forwarded": forward,
                "inspect_ms": round(ex.inspect_ms, 2) if ex.inspect_ms is not None else None,
                "client": _clip(ex.client.id, 128),
            }
            if forward and recorded:
                ex.decision_line = line
            else:
                _log_decision(line)


def _log_decision(line: dict[str, Any], outcome: Mapping[str, Any] | None = None) -> None:
    """Write a decision's log line; with a forwarded request's outcome (its upstream status, error
    and total time) when it is known."""
    if outcome is not None:
        line["upstream_status"] = outcome.get("upstream_status")
        line["upstream_error"] = outcome.get("upstream_error")
        total = outcome.get("total_ms")
        line["total_ms"] = round(total, 2) if total is not None else None
    decisions_log.info(_LINE_ENCODER.encode(line))


#: the decision line's encoder, made once (``json.dumps`` with options makes one per call)
_LINE_ENCODER = json.JSONEncoder(ensure_ascii=False)


PROBE_TEXT = ("Patiente de 54 ans, diabète de type 2, HbA1c à 9 %, hospitalisée en cardiologie le 12/03. "
              "NIR 1 85 05 78 006 084 91.")


class UnsupportedEncoding(Exception):
    pass


def decode_body(raw: bytes, encoding: str, limit: int) -> bytes:
    """A gzip or deflate body, decompressed (never more than ``limit`` bytes: a decompression bomb is a
    413); identity as is; any other encoding (br, zstd...) is refused rather than forwarded unread."""
    codings = [c.strip().lower() for c in encoding.split(",") if c.strip() and c.strip().lower() != "identity"]
    for coding in reversed(codings):  # applied in order, so undone last first
        if coding in ("gzip", "x-gzip"):
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            d = zlib.decompressobj(zlib.MAX_WBITS if raw[:1] == b"\x78" else -zlib.MAX_WBITS)
        else:
            raise UnsupportedEncoding(coding)
        try:
            out = d.decompress(raw, limit + 1)
        except zlib.error:
            raise UnsupportedEncoding(coding) from None
        if len(out) > limit or d.unconsumed_tail:
            raise BodyTooLarge
        raw = out
    return raw


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The body of an API request: one JSON object (anything else is a 400)."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Refusal(400, "invalid_json", "Le corps de la requête n'est pas un JSON valide.",
                      "request.invalid_json") from None
    if not isinstance(body, dict):
        raise Refusal(400, "invalid_request", "Le corps de la requête doit être un objet JSON.", "request.invalid")
    return body


def _clip(value: str | None, size: int) -> str | None:
    """A value cut to its column's size: a long one must not fail the insert (and refuse the request)."""
    return value if value is None or len(value) <= size else value[: size - 1] + "…"


def _host(inc: Incoming) -> str | None:
    """The destination as recorded: the host name, with its port unless it is a default one."""
    if inc.host is None:
        return None
    return inc.host if inc.port in (None, 80, 443) else f"{inc.host}:{inc.port}"


@functools.lru_cache(maxsize=4096)  # the same few thousand workstations all day: parsed once each
def _address(value: str | None) -> str | None:
    """The peer address, stored only when it is an IP address (never free text from a header)."""
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return "(masqué)"

