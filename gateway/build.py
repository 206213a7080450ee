"""``build_pipeline``: every part of the request path built once, from the configuration.

Nothing here runs per request. The scanner (dictionaries, automata, the spaCy model, the classifier's
weights) and the audit store (connection pool, migrations) are the expensive parts; tests pass their
own, built once for the whole run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from detectors import Scanner, build_default_scanner
from gateway.audit import AuditStore
from gateway.charter import CharterGate
from gateway.config import Config, Limits
from gateway.limits import Admission
from gateway.pipeline import Pipeline
from gateway.sobriety import DEFAULT_PROVIDERS, ImpactEstimator
from policies.messages import Messages


def build_pipeline(config: Config, *, scanner: Scanner | None = None, store: AuditStore | None = None,
                   environ: Mapping[str, str] | None = None, admission: Admission | None = None,
                   migrate: bool = True) -> Pipeline:
    """The pipeline of ``config``. A reload (``gateway.live``) passes the parts every generation
    shares: the audit store (migrated at start: ``migrate=False``) and the admission state (limits,
    scan pool)."""
    environ = os.environ if environ is None else environ
    fingerprint_key = config.audit.fingerprint_key(environ)
    if config.audit.fingerprint_key_env and fingerprint_key is None:  # checked before any database is created
        raise RuntimeError(f"audit.fingerprint_key_env names {config.audit.fingerprint_key_env}, which is not set")
    if store is None:
        store = AuditStore(config.audit.url, **config.audit.store_options())
    if migrate:
        store.migrate()
    catalogue = config.catalogue()
    return Pipeline(
        scanner or build_default_scanner(config.detectors),
        catalogue,
        config.policy.to_policy(),
        store,
        config.limits,
        clients=None if config.auth.mode == "none" else {c.key_sha256: c for c in config.auth.clients},
        fingerprint_key=fingerprint_key,
        discovery=config.discovery_list(),
        estimator=build_estimator(config),
        long_conversation=config.sobriety.long_conversation,
        charter=CharterGate(config.charter, store) if config.charter is not None else None,
        # the charter's link: the institution's, else the one of the charter to accept
        messages=Messages(config.institution, catalogue, charter_url=config.charter.url if config.charter else None),
        admission=admission,
    )


def with_scan_helpers(scanner: Scanner, limits: Limits) -> Scanner:
    """The scanner with its helper processes (``limits.scan_helpers``), forked now: call it before any
    thread or event loop of the process starts."""
    count = limits.scan_helpers if limits.scan_helpers is not None else (1 if (os.cpu_count() or 1) >= 2 else 0)
    if count <= 0:
        return scanner
    from detectors.parallel import ParallelScanner

    return ParallelScanner(scanner, count, limits.scan_helper_min_chars)


def build_estimator(config: Config) -> ImpactEstimator | None:
    """EcoLogits with the catalogue's services mapped to its providers (None: ``sobriety.impacts: false``)."""
    if not config.sobriety.impacts:
        return None
    services: dict[str, tuple[str, str | None]] = {sid: (provider, None) for sid, provider in DEFAULT_PROVIDERS.items()}
    services.update({sid: (entry.provider, entry.zone) for sid, entry in config.sobriety.services.items()})
    return ImpactEstimator(services)
