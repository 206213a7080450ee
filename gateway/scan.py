"""``gardefou scan``: the gateway's detection and decision on text from a file or standard input."""

from __future__ import annotations

import json
import sys
from typing import IO

from detectors import Scanner
from detectors.scan_cli import scan_record
from policies.catalogue import Catalogue, Service
from policies.decision import Policy, decide

DEFAULT_POLICY = Policy()
EXIT_CODES = {"allow": 0, "warn": 10, "block": 20}
EXIT_ERROR = 2

#: The reference destination when no ``--service`` is given: a compliant external service.
COMPLIANT_EXTERNAL = Service(id="external", name="service externe conforme", hosting="eu", trains_on_inputs=False)


def scan_text(scanner: Scanner, text: str, service: Service = COMPLIANT_EXTERNAL, policy: Policy = DEFAULT_POLICY) -> dict:
    """Findings (masked excerpts) and the decision for ``text`` sent to ``service``."""
    record = scan_record(scanner, text)
    decision = decide(record["categories"], service, policy, unsure=record.get("unsure", ()))
    return {"decision": decision.action, **record, "reasons": list(decision.reasons)}


def resolve_service(catalogue: Catalogue, service_id: str | None) -> Service:
    if service_id is None:
        return COMPLIANT_EXTERNAL
    service = catalogue.get(service_id)
    if service is None:
        raise KeyError(service_id)
    return service


def run_single(scanner: Scanner, source: IO[str], out: IO[str], service: Service, policy: Policy) -> int:
    result = scan_text(scanner, source.read(), service, policy)
    out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return EXIT_CODES[result["decision"]]


def run_jsonl(
    scanner: Scanner, source: IO[str], out: IO[str], catalogue: Catalogue, default: Service, policy: Policy
) -> int:
    """One JSON object per input line, same ``id``; a bad line gets an ``error`` object, never a crash."""
    status = 0
    for lineno, line in enumerate(source, 1):
        if not line.strip():
            continue
        error: str | None
        try:
            item = json.loads(line)
        except ValueError as exc:
            item, error = None, f"ligne invalide : JSON mal formé ({exc})"
        else:
            error = None
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                error = "ligne invalide : un objet JSON avec un champ « text » (texte) est attendu"
            elif item.get("service") is not None and catalogue.get(str(item["service"])) is None:
                error = f"service inconnu : {item['service']}"
        item_id = item.get("id") if isinstance(item, dict) else None
        if error:  # reported on its own line, with the id when there is one: nothing dropped silently
            out.write(json.dumps({"id": item_id, "line": lineno, "error": error}, ensure_ascii=False) + "\n")
            status = EXIT_ERROR
            continue
        service = default if item.get("service") is None else resolve_service(catalogue, str(item["service"]))
        result = scan_text(scanner, item["text"], service, policy)
        out.write(json.dumps({"id": item_id, **result}, ensure_ascii=False) + "\n")
    out.flush()
    return status


def main(args) -> int:
    from detectors import build_default_scanner
    from gateway.config import load_config

    config = load_config(args.config)
    catalogue = config.catalogue()
    try:
        service = resolve_service(catalogue, args.service)
    except KeyError:
        print(f"gardefou: unknown service {args.service!r} (known: {', '.join(sorted(catalogue.services))})",
              file=sys.stderr)
        return EXIT_ERROR
    try:
        source = open(args.file, encoding="utf-8") if args.file and args.file != "-" else sys.stdin
    except OSError as exc:
        print(f"gardefou: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_ERROR
    # a caller that already holds a scanner (the tests, one for the whole run) passes it in
    scanner = getattr(args, "scanner", None) or build_default_scanner(config.detectors)
    policy = config.policy.to_policy()
    with source:
        if args.jsonl:
            return run_jsonl(scanner, source, sys.stdout, catalogue, service, policy)
        return run_single(scanner, source, sys.stdout, service, policy)
