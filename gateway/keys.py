"""``gardefou keys add | list | revoke``: the API clients' keys (``auth.clients`` of the configuration).

A key is generated here, printed once (the last line of ``keys add``) and stored only as its SHA-256
(``key_sha256``), like the admin tokens. The file is edited in place, its comments and layout kept
(:mod:`gateway.config_edit`). A running gateway reads ``auth.clients`` when it starts or reloads its
configuration: a key added or revoked takes effect then.

Exit codes: 0 success; 1 the client already exists (``add``) or does not (``revoke``); 2 invalid
configuration or arguments.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
from pathlib import Path

from gateway.config import hash_key, load_config
from gateway.config_edit import EditError, add_entry, remove_entry, update_file

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CLIENTS = ("auth", "clients")
#: what a client id or a department may be: it is recorded in every audit record of the client
CLIENT_ID = re.compile(r"[A-Za-z0-9._@-]{1,128}")
EFFECT = "A running gateway takes it into account when it restarts or reloads its configuration."


def _failed(message: str, code: int = EXIT_FAILED) -> int:
    print(f"gardefou: {message}", file=sys.stderr)
    return code


def cmd_add(args: argparse.Namespace) -> int:
    path = Path(args.config)
    config = load_config(path)  # the file must be valid before we touch it
    if not CLIENT_ID.fullmatch(args.id):
        return _failed(f"invalid client id {args.id!r} (letters, digits, . _ @ -)", EXIT_USAGE)
    if args.department is not None and not (0 < len(args.department) <= 128 and args.department.isprintable()):
        return _failed(f"invalid department {args.department!r} (1 to 128 printable characters)", EXIT_USAGE)
    if any(c.id == args.id for c in config.auth.clients):
        return _failed(f"client {args.id!r} already has a key in {path} (revoke it first to replace it)")
    key = "gf-" + secrets.token_urlsafe(32)
    entry: dict[str, str] = {"id": args.id}
    if args.department is not None:
        entry["department"] = args.department
    entry["key_sha256"] = hash_key(key)
    expected = {"department": None, **entry}
    try:
        update_file(path, CLIENTS, lambda text: add_entry(text, CLIENTS, entry), lambda old: [*old, expected])
    except EditError as exc:
        return _failed(str(exc))
    where = f" (department {args.department})" if args.department else ""
    print(f"Key of client {args.id!r}{where} added to {path}. {EFFECT}")
    if config.auth.mode != "api_key":
        print(f"note: auth.mode is {config.auth.mode!r} in {path}: keys are not checked until it is 'api_key'.")
    print("Give this key to the client; it is shown only once (only its SHA-256 is stored):")
    print(key)
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    clients: list[dict[str, str | None]] = [{"id": c.id, "department": c.department} for c in config.auth.clients]
    if args.json:
        print(json.dumps({"mode": config.auth.mode, "clients": clients}, ensure_ascii=False, indent=2))
        return EXIT_OK
    checked = "keys checked" if config.auth.mode == "api_key" else "keys NOT checked"
    print(f"auth.mode: {config.auth.mode} ({checked}); {len(clients)} client key(s) in {args.config}")
    if clients:
        width = max(len("ID"), *(len(c.id) for c in config.auth.clients))
        print(f"{'ID':<{width}}  DEPARTMENT")
        for c in clients:
            print(f"{c['id']:<{width}}  {c['department'] or '-'}")
    return EXIT_OK


def cmd_revoke(args: argparse.Namespace) -> int:
    path = Path(args.config)
    config = load_config(path)
    if not any(c.id == args.id for c in config.auth.clients):
        return _failed(f"no client {args.id!r} in auth.clients of {path}")
    try:
        update_file(path, CLIENTS, lambda text: remove_entry(text, CLIENTS, args.id),
                    lambda old: [c for c in old if c["id"] != args.id])
    except EditError as exc:
        return _failed(str(exc))
    print(f"Key of client {args.id!r} revoked (removed from {path}). {EFFECT}")
    return EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("keys", help="the API clients' keys (auth.clients): add, list, revoke")
    ksub = p.add_subparsers(dest="keys_command", required=True)
    q = ksub.add_parser("add", help="create a client key; prints it once, as the last line")
    q.add_argument("id", help="the client id recorded in the audit (pseudonymous: agent-7f3a, poste-pharma-2)")
    q.add_argument("--department", help="recorded in the audit with the client id")
    q.add_argument("--config", required=True, help="YAML configuration file to update")
    q.set_defaults(func=cmd_add)
    q = ksub.add_parser("list", help="list the clients that have a key (no secret shown)")
    q.add_argument("--config", required=True)
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")
    q.set_defaults(func=cmd_list)
    q = ksub.add_parser("revoke", help="remove a client's key")
    q.add_argument("id")
    q.add_argument("--config", required=True, help="YAML configuration file to update")
    q.set_defaults(func=cmd_revoke)
