"""Prometheus metrics of the request path, served on the admin listener at ``/metrics``.

Counts and timings only: decisions by ingress, service and category, the time of each stage, audit
write failures, scans in flight and open streams, the configuration's generation and reloads. Labels
come from the catalogue and the vocabulary (a service id, a category), never from what a client sent,
so a label can neither carry a detected value nor grow without bound. One registry for the process
(several apps in one process, as in the tests, share it).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

DECISIONS = Counter("gardefou_decisions", "Requests by ingress, decision and service",
                    ["ingress", "decision", "service"], registry=REGISTRY)
CATEGORIES = Counter("gardefou_categories", "Sensitive categories found, by decision",
                     ["category", "decision"], registry=REGISTRY)
STAGE = Histogram("gardefou_stage_seconds", "Time of each stage of the request path", ["stage"], registry=REGISTRY,
                  buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))
#: the stages timed on every request, their label bound once (``labels`` takes a lock and a lookup)
STAGE_EXTRACT, STAGE_DETECT, STAGE_AUDIT, STAGE_UPSTREAM = (STAGE.labels(s) for s in ("extract", "detect", "audit",
                                                                                     "upstream"))
UNKNOWN_AI = Counter("gardefou_unknown_ai", "Requests to AI services of the discovery list outside the catalogue, "
                     "by listed service and decision", ["listed_service", "decision"], registry=REGISTRY)
AUDIT_FAILURES = Counter("gardefou_audit_failures", "Audit store writes that failed (the request was refused)",
                         registry=REGISTRY)
AUDIT_BATCH = Histogram("gardefou_audit_batch_records", "Decision records committed per audit transaction "
                        "(group commit: more than one under load)", registry=REGISTRY,
                        buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
SCANS_IN_FLIGHT = Gauge("gardefou_scans_in_flight", "Inspections running or waiting for a scan slot",
                        registry=REGISTRY)
OPEN_STREAMS = Gauge("gardefou_open_streams", "Upstream answers being relayed", registry=REGISTRY)
CONFIG_GENERATION = Gauge("gardefou_config_generation",
                          "Generation of the configuration in force (1 at start, +1 per applied reload)",
                          registry=REGISTRY)
CONFIG_INFO = Info("gardefou_config", "SHA-256 of the configuration file in force", registry=REGISTRY)
CONFIG_RELOADS = Counter("gardefou_config_reloads", "Configuration reloads by outcome (reloaded, invalid, failed)",
                         ["outcome"], registry=REGISTRY)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def exposition() -> bytes:
    return generate_latest(REGISTRY)
