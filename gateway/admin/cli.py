"""``gardefou admin ...`` and ``gardefou audit ...`` sub-commands.

Exit codes: 0 success; 1 the chain does not verify (``audit verify``), the user already exists
(``admin add-user``) or does not (``remove-user``, ``rotate-token``); 2 invalid configuration or
arguments; 3 the audit store cannot be reached.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import secrets
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.config import hash_key, load_config
from gateway.config_edit import EditError, add_entry, remove_entry, set_fields, update_file
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


# -- admin add-user / list-users / remove-user / rotate-token ------------------------------------

ADMINS = ("admins",)
USER_ID = re.compile(r"[A-Za-z0-9._@-]{1,128}")


def add_admin_to_yaml(text: str, entry: dict) -> str:
    """Add ``entry`` to the ``admins:`` list, keeping the rest of the file (comments included) as is."""
    return add_entry(text, ADMINS, entry)


def _edit_failed(exc: Exception) -> int:
    print(f"gardefou: {exc}", file=sys.stderr)
    return EXIT_FAILED


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hash_key(token)


def cmd_add_user(args: argparse.Namespace) -> int:
    path = Path(args.config)
    config = load_config(path)  # the file must be valid before we touch it
    if not USER_ID.fullmatch(args.id):
        print(f"gardefou: invalid user id {args.id!r} (letters, digits, . _ @ -)", file=sys.stderr)
        return EXIT_USAGE
    if any(u.id == args.id for u in config.admins):
        return _edit_failed(EditError(f"admin user {args.id!r} already exists in {path}"))
    token, digest = _new_token()
    entry = {"id": args.id, "role": args.role, "token_sha256": digest}
    try:
        update_file(path, ADMINS, lambda text: add_entry(text, ADMINS, entry), lambda users: [*users, entry])
    except EditError as exc:
        return _edit_failed(exc)
    print(f"Admin user {args.id!r} (role {args.role}) added to {path}.")
    print("Give this token to the user; it is shown only once (only its SHA-256 is stored):")
    print(token)
    return EXIT_OK


def cmd_list_users(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.json:
        print(json.dumps([{"id": u.id, "role": u.role} for u in config.admins], ensure_ascii=False, indent=2))
        return EXIT_OK
    if not config.admins:
        print(f"No admin users in {args.config} (the audit review listener does not start).")
        return EXIT_OK
    width = max(len("ID"), *(len(u.id) for u in config.admins))
    print(f"{'ID':<{width}}  ROLE")
    for u in config.admins:
        print(f"{u.id:<{width}}  {u.role}")
    return EXIT_OK


def cmd_remove_user(args: argparse.Namespace) -> int:
    path = Path(args.config)
    if not any(u.id == args.id for u in load_config(path).admins):
        return _edit_failed(EditError(f"no admin user {args.id!r} in {path}"))
    try:
        config = update_file(path, ADMINS, lambda text: remove_entry(text, ADMINS, args.id),
                             lambda users: [u for u in users if u["id"] != args.id])
    except EditError as exc:
        return _edit_failed(exc)
    print(f"Admin user {args.id!r} removed from {path}: their token is refused and their dashboard sessions "
          "end at once (the admin listener re-reads the file).")
    if not config.admins:
        print("warning: no admin users left: the audit review listener will not start at the next start.",
              file=sys.stderr)
    elif not any(u.role == "admin" for u in config.admins):
        print("warning: no user with the admin role left: nobody can read the access log.", file=sys.stderr)
    return EXIT_OK


def cmd_rotate_token(args: argparse.Namespace) -> int:
    path = Path(args.config)
    if not any(u.id == args.id for u in load_config(path).admins):
        return _edit_failed(EditError(f"no admin user {args.id!r} in {path}"))
    token, digest = _new_token()
    try:
        update_file(path, ADMINS, lambda text: set_fields(text, ADMINS, args.id, {"token_sha256": digest}),
                    lambda users: [{**u, "token_sha256": digest} if u["id"] == args.id else u for u in users])
    except EditError as exc:
        return _edit_failed(exc)
    print(f"New token for admin user {args.id!r} in {path}: the old one is refused and the dashboard sessions "
          "opened with it end at once.")
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
    q = asub.add_parser("list-users", help="list the admin users (id and role; no token)")
    q.add_argument("--config", required=True)
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")
    q.set_defaults(func=_guard(cmd_list_users))
    q = asub.add_parser("remove-user", help="remove an admin user (their token and sessions stop working)")
    q.add_argument("id")
    q.add_argument("--config", required=True, help="YAML configuration file to update")
    q.set_defaults(func=_guard(cmd_remove_user))
    q = asub.add_parser("rotate-token", help="give an admin user a new token; prints it once, as the last line")
    q.add_argument("id")
    q.add_argument("--config", required=True, help="YAML configuration file to update")
    q.set_defaults(func=_guard(cmd_rotate_token))

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
