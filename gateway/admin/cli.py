"""``gardefou admin ...`` and ``gardefou audit ...`` sub-commands.

Exit codes: 0 success; 1 the chain does not verify (``audit verify``) or the user already exists
(``admin add-user``); 2 invalid configuration or arguments; 3 the audit store cannot be reached.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import secrets
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from gateway.config import hash_key, load_config, parse_config
from policies.vocabulary import AUDIT_CATEGORIES, DECISIONS, ROLES

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_STORE = 0, 1, 2, 3


def _actor() -> str:
    try:
        return "cli:" + getpass.getuser()
    except Exception:  # no user name in a bare container
        return f"cli:uid{os.getuid()}"


def _store(config_path: str):
    from gateway.audit import AuditStore

    config = load_config(config_path)
    store = AuditStore(config.audit.url, anchor_key=config.audit.fingerprint_key(os.environ))
    store.migrate()
    return config, store


# -- admin add-user ---------------------------------------------------------------------------

def add_admin_to_yaml(text: str, entry: dict) -> str:
    """Add ``entry`` to the ``admins:`` list, keeping the rest of the file (comments included) as is."""
    tree = yaml.compose(text) if text.strip() else None
    item = yaml.safe_dump([entry], sort_keys=False, default_flow_style=False)
    if tree is None or not isinstance(tree, yaml.MappingNode):
        return (text.rstrip("\n") + "\n" if text.strip() else "") + "admins:\n" + _indent(item, 2)
    for key, value in tree.value:
        if key.value != "admins":
            continue
        if isinstance(value, yaml.SequenceNode) and not value.flow_style and value.value:
            lines = text.splitlines(keepends=True)
            last = _last_scalar(value.value[-1]).end_mark  # not the mapping's: it runs past comments
            at = last.line if last.column == 0 else last.line + 1
            if at > len(lines):
                at = len(lines)
            if at == len(lines) and lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            col = value.value[0].start_mark.column - 2
            lines.insert(at, _indent(item, max(col, 0)))
            return "".join(lines)
        # empty, null or flow-style list: rewrite this key's value as a block list
        existing = yaml.safe_load(text).get("admins") or []
        block = "admins:\n" + _indent(yaml.safe_dump(existing + [entry], sort_keys=False), 2)
        end = value.end_mark.index
        rest = text[end:]
        if rest.startswith("\n"):
            rest = rest[1:]
        return text[: key.start_mark.index] + block + rest
    return text.rstrip("\n") + "\n\nadmins:\n" + _indent(item, 2)


def _last_scalar(node: yaml.Node) -> yaml.Node:
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.value:
        node = node.value[-1][1] if isinstance(node, yaml.MappingNode) else node.value[-1]
    return node


def _indent(block: str, n: int) -> str:
    return "".join(" " * n + line if line.strip() else line for line in block.splitlines(keepends=True))


def cmd_add_user(args: argparse.Namespace) -> int:
    path = Path(args.config)
    config = load_config(path)  # the file must be valid before we touch it
    if not re.fullmatch(r"[A-Za-z0-9._@-]{1,128}", args.id):
        print(f"gardefou: invalid user id {args.id!r} (letters, digits, . _ @ -)", file=sys.stderr)
        return EXIT_USAGE
    if any(u.id == args.id for u in config.admins):
        print(f"gardefou: admin user {args.id!r} already exists in {path}", file=sys.stderr)
        return EXIT_FAILED
    token = secrets.token_urlsafe(32)
    text = path.read_text(encoding="utf-8")
    new_text = add_admin_to_yaml(text, {"id": args.id, "role": args.role, "token_sha256": hash_key(token)})
    new_cfg = parse_config(new_text, str(path))  # never write a file the gateway would refuse
    assert any(u.id == args.id for u in new_cfg.admins)
    fd, tmp = tempfile.mkstemp(prefix=".gardefou-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(new_text)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"Admin user {args.id!r} (role {args.role}) added to {path}.")
    print("Give this token to the user; it is shown only once (only its SHA-256 is stored):")
    print(token)
    return EXIT_OK


# -- audit verify / purge -------------------------------------------------------------------

def parse_expect(value: str) -> tuple[int, str]:
    m = re.fullmatch(r"\s*(\d+):([0-9a-f]{64})\s*", value)
    if not m:
        raise argparse.ArgumentTypeError(f"invalid {value!r}: use SEQ:HASH as printed by a previous verify")
    return int(m.group(1)), m.group(2)


def cmd_verify(args: argparse.Namespace) -> int:
    _, store = _store(args.config)
    try:
        res = store.verify(expect=args.expect)
        access = store.verify_access_log()
    finally:
        store.dispose()
    if access is not None:
        print(f"gardefou: admin access log chain BROKEN at {access.message}", file=sys.stderr)
        return EXIT_FAILED
    anchor = f", resumed after purge anchor seq={res.anchor_seq}" if res.anchor_seq is not None else ""
    if res.anchor_seq is not None and store.anchor_key is None:
        print("warning: purge anchors are not signed (no audit key: audit.fingerprint_key_env): a forged anchor "
              "cannot be told from a real one; configure the key so that later purges are signed.", file=sys.stderr)
    if res.purged_expect:
        print(f"note: record seq={args.expect[0]} was purged since; it cannot be compared any more.")
    if not res.ok:
        print(f"gardefou: audit chain BROKEN at {res.problem.message}", file=sys.stderr)
        print(f"{res.checked} record(s) verified before it{anchor}.", file=sys.stderr)
        return EXIT_FAILED
    print(f"OK: {res.checked} record(s) verified{anchor}.")
    print(f"head seq={res.head_seq} hash={res.head_hash}")
    if res.head_seq is not None:
        print(f"(keep '{res.head_seq}:{res.head_hash}' outside the database; check later with --expect)")
    return EXIT_OK


def parse_age(value: str) -> timedelta:
    m = re.fullmatch(r"\s*(\d+)\s*([dhDH]?)\s*", value)
    if not m or int(m.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"invalid age {value!r}: use e.g. 365d, 90d or 48h")
    n = int(m.group(1))
    return timedelta(hours=n) if m.group(2).lower() == "h" else timedelta(days=n)


def cmd_purge(args: argparse.Namespace) -> int:
    config, store = _store(args.config)
    age = args.older_than or timedelta(days=config.audit.retention_days)
    cutoff = datetime.now(UTC) - age
    try:
        n, through = store.purge(cutoff, actor=_actor())
        res = store.verify() if n else None
    finally:
        store.dispose()
    if not n:
        print(f"Nothing to purge (no record before {cutoff:%Y-%m-%d %H:%M:%S} UTC).")
        return EXIT_OK
    print(f"Purged {n} record(s) older than {cutoff:%Y-%m-%d %H:%M:%S} UTC (up to seq={through}); anchor stored.")
    if res is not None and not res.ok:
        print(f"gardefou: the remaining chain does not verify: {res.problem.message}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


# -- audit export / stats -------------------------------------------------------------------

def _filters(args: argparse.Namespace):
    from gateway.audit import query as Q

    params = {k: getattr(args, k) for k in Q.FILTER_KEYS if getattr(args, k, None) is not None}
    return params, Q.parse_filters(params)


def cmd_export(args: argparse.Namespace) -> int:
    from gateway.audit import query as Q

    _, store = _store(args.config)
    try:
        params, filters = _filters(args)
        store.log_access(user_id=_actor(), role=None, channel="cli", action=f"export.{args.format}",
                         params={**params, "output": args.output or "-"})
        gen = Q.export_csv(store, filters) if args.format == "csv" else Q.export_jsonl(store, filters)
        if args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as fh:
                for chunk in gen:
                    fh.write(chunk)
        else:
            out = sys.stdout.buffer
            for chunk in gen:
                out.write(chunk.encode("utf-8"))
            out.flush()
    finally:
        store.dispose()
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    from gateway.audit import query as Q

    _, store = _store(args.config)
    try:
        params, filters = _filters(args)
        store.log_access(user_id=_actor(), role=None, channel="cli", action="stats",
                         params={**params, "group_by": args.group_by})
        res = Q.stats(store, filters, args.group_by, args.limit)
    finally:
        store.dispose()
    if args.json:
        print(json.dumps(res, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"{args.group_by:<24} {'total':>8} " + " ".join(f"{d:>8}" for d in DECISIONS))
    for g in res["groups"]:
        key = "(none)" if g["key"] is None else str(g["key"])
        print(f"{key:<24} {g['count']:>8} " + " ".join(f"{g[d]:>8}" for d in DECISIONS))
    b = res["by_decision"]
    print(f"{'TOTAL':<24} {res['total']:>8} " + " ".join(f"{b[d]:>8}" for d in DECISIONS))
    return EXIT_OK


# -- registration ---------------------------------------------------------------------------

def _add_filter_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("filters (same as the admin API)")
    g.add_argument("--since", help="ISO 8601 date or date-time (inclusive)")
    g.add_argument("--until", help="ISO 8601 date-time (exclusive); a bare date includes that day")
    g.add_argument("--decision", help=" | ".join(DECISIONS))
    g.add_argument("--service")
    g.add_argument("--client")
    g.add_argument("--category", help=" | ".join(AUDIT_CATEGORIES))
    g.add_argument("--finding-type", dest="finding_type", help="e.g. FR_NIR")
    g.add_argument("--department")


def _guard(func):
    def run(args: argparse.Namespace) -> int:
        from gateway.audit import AuditError
        from gateway.audit.query import FilterError

        try:
            return func(args)
        except FilterError as exc:
            print(f"gardefou: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except AuditError as exc:
            cause = exc.__cause__ or exc  # the database's own message (first line: no SQL, no parameters)
            print(f"gardefou: audit store unavailable: {type(cause).__name__}: {cause}".splitlines()[0], file=sys.stderr)
            return EXIT_STORE
    return run


def register(sub) -> None:
    from gateway.audit.query import GROUP_BY

    p = sub.add_parser("admin", help="manage the users of the audit review (DPO, RSSI, admin)")
    asub = p.add_subparsers(dest="admin_command", required=True)
    q = asub.add_parser("add-user", help="add an admin user; prints the new token once, as the last line")
    q.add_argument("id")
    q.add_argument("--role", required=True, choices=ROLES)
    q.add_argument("--config", required=True, help="YAML configuration file to update")
    q.set_defaults(func=_guard(cmd_add_user))

    p = sub.add_parser("audit", help="audit store: verify, purge, export, stats")
    asub = p.add_subparsers(dest="audit_command", required=True)
    q = asub.add_parser("verify", help="walk the hash chain; exit 1 naming the first changed/deleted/inserted record")
    q.add_argument("--config", required=True)
    q.add_argument("--expect", type=parse_expect, metavar="SEQ:HASH",
                   help="a head printed by an earlier verify: that record must still be there with that hash")
    q.set_defaults(func=_guard(cmd_verify))
    q = asub.add_parser("purge", help="delete records past the retention period (audit.retention_days)")
    q.add_argument("--config", required=True)
    q.add_argument("--older-than", type=parse_age, help="e.g. 365d (default: audit.retention_days)")
    q.set_defaults(func=_guard(cmd_purge))
    q = asub.add_parser("export", help="export records (CSV for a French spreadsheet, or JSONL)")
    q.add_argument("--config", required=True)
    q.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    q.add_argument("-o", "--output", help="file to write (default: standard output)")
    _add_filter_args(q)
    q.set_defaults(func=_guard(cmd_export))
    q = asub.add_parser("stats", help="count records by day, service, client, department, category or decision")
    q.add_argument("--config", required=True)
    q.add_argument("--group-by", dest="group_by", choices=GROUP_BY, default="day")
    q.add_argument("--limit", type=int)
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_filter_args(q)
    q.set_defaults(func=_guard(cmd_stats))
