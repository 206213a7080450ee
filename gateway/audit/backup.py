"""``gardefou audit backup FILE``: a consistent single-file copy of an SQLite audit store, taken while the
gateway keeps writing.

Copying ``audit.db`` with ``cp`` is not a backup: the store runs in WAL mode, so the latest commits live
in ``audit.db-wal`` until a checkpoint moves them into the main file, and a copy of the main file alone
can be empty or stale (or, taken in the middle of a checkpoint, inconsistent). SQLite's online backup
API copies the database as one snapshot (a read transaction: in WAL mode the gateway's writes go on
meanwhile), and the copy is then turned into a standalone file (rollback journal, no ``-wal`` beside it)
and checked (``PRAGMA integrity_check``) before it takes the name asked for.

PostgreSQL stores are refused: ``pg_dump`` is the tool (README, "Backups and retention").
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

EXIT_OK, EXIT_USAGE, EXIT_STORE = 0, 2, 3


class BackupError(Exception):
    """The backup was not made; ``code`` is the command's exit code."""

    def __init__(self, message: str, code: int = EXIT_STORE):
        super().__init__(message)
        self.code = code


@dataclass
class BackupResult:
    path: Path
    records: int
    head_seq: int | None
    size: int


def check_destination(db_path: str | Path, dest: str | Path, *, force: bool = False) -> tuple[Path, Path]:
    """The source and the destination as absolute paths, or BackupError: no database there, or a
    destination that would overwrite a file (without ``force``), the database itself, or a directory."""
    src_path = Path(db_path).absolute()
    dest = Path(dest).absolute()
    if not src_path.is_file():
        raise BackupError(f"no audit database at {src_path} (relative paths in audit.url are taken from the "
                          "working directory: run the command where the gateway runs)")
    if dest.is_dir():
        raise BackupError(f"{dest} is a directory: give the name of the backup file", EXIT_USAGE)
    if _same_database(src_path, dest):
        raise BackupError(f"{dest} is the audit database itself (or one of its files): choose another file",
                          EXIT_USAGE)
    if dest.exists() and not force:
        raise BackupError(f"{dest} exists: choose a new file, or --force to replace it", EXIT_USAGE)
    if not dest.parent.is_dir():
        raise BackupError(f"{dest.parent}: no such directory", EXIT_USAGE)
    return src_path, dest


def backup_sqlite(db_path: str | Path, dest: str | Path, *, force: bool = False) -> BackupResult:
    """Copy the SQLite database ``db_path`` to ``dest`` with the online backup API (one snapshot)."""
    src_path, dest = check_destination(db_path, dest, force=force)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)  # mode 0600
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        records, head = _copy(src_path, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BackupResult(dest, records, head, dest.stat().st_size)


def _copy(src_path: Path, tmp: Path) -> tuple[int, int | None]:
    try:
        # mode=rw: never create an empty database where the real one was expected; query_only: read it only
        src = sqlite3.connect(src_path.as_uri() + "?mode=rw", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {src_path}: {exc}") from None
    try:
        src.execute("PRAGMA query_only=ON")
        dst = sqlite3.connect(tmp)
        try:
            # pages=-1: every page in one step, so one read transaction and one consistent snapshot; a
            # copy in several steps would restart each time the gateway commits in between.
            src.backup(dst, pages=-1)
            # The copy inherits WAL mode from the source header: make it one self-contained file.
            mode = dst.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            if mode != "delete":
                raise BackupError(f"the copy could not leave WAL mode (journal_mode={mode})")
            check = [row[0] for row in dst.execute("PRAGMA integrity_check")]
            if check != ["ok"]:
                raise BackupError("the copy failed PRAGMA integrity_check: " + "; ".join(check[:3]))
            tables = {row[0] for row in dst.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "audit_records" not in tables:
                raise BackupError(f"{src_path} holds no audit records table: not a Garde-fou audit store", EXIT_USAGE)
            records, head = dst.execute("SELECT count(*), max(seq) FROM audit_records").fetchone()
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"backup of {src_path} failed: {type(exc).__name__}: {exc}") from None
    finally:
        src.close()
    return records, head


def _same_database(src: Path, dest: Path) -> bool:
    siblings = [src] + [src.with_name(src.name + suffix) for suffix in ("-wal", "-shm", "-journal")]
    for path in siblings:
        try:
            if dest.resolve() == path.resolve() or (dest.exists() and path.exists() and os.path.samefile(dest, path)):
                return True
        except OSError:
            continue
    return False


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # not every platform opens directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def pg_dump_hint(url: str) -> str:
    """How to back up this PostgreSQL store (never repeating a password from the URL)."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    target = f"postgresql://{u.username + '@' if u.username else ''}{u.host or 'localhost'}" \
             f"{':' + str(u.port) if u.port else ''}/{u.database or ''}"
    return (f"pg_dump --format=custom --file=FILE '{target}'   (restore: pg_restore --dbname=... FILE; "
            "with a search_path in the URL add --schema=SCHEMA)")


def cmd_backup(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from gateway.admin.cli import _actor
    from gateway.audit import AuditError, AuditStore
    from gateway.config import load_config

    config = load_config(args.config)
    url = make_url(config.audit.url)
    if url.get_backend_name() == "postgresql":
        print("gardefou: audit backup copies SQLite audit stores only; this configuration's store is PostgreSQL. "
              "Back it up with PostgreSQL's own tool, for example:\n  " + pg_dump_hint(config.audit.url) + "\n"
              "gardefou : la sauvegarde d'un audit PostgreSQL se fait avec pg_dump (README, « Backups and "
              "retention »).", file=sys.stderr)
        return EXIT_USAGE
    if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
        print("gardefou: the audit store is an in-memory SQLite database: there is no file to back up",
              file=sys.stderr)
        return EXIT_USAGE
    db_path = Path(url.database)
    try:
        check_destination(db_path, args.file, force=args.force)  # before anything is recorded
    except BackupError as exc:
        print(f"gardefou: cannot back up: {exc}", file=sys.stderr)
        return exc.code
    # Who copied the audit data is recorded like any other read of it, before the copy (so the copy has it too).
    try:
        store = AuditStore(config.audit.url, anchor_key=config.audit.fingerprint_key(os.environ))
        try:
            store.migrate()
            store.log_access(user_id=_actor(), role=None, channel="cli", action="backup",
                             params={"output": str(Path(args.file).absolute())})
        finally:
            store.dispose()
        res = backup_sqlite(db_path, args.file, force=args.force)
    except AuditError as exc:
        cause = exc.__cause__ or exc
        print(f"gardefou: audit store unavailable: {type(cause).__name__}: {cause}".splitlines()[0], file=sys.stderr)
        return EXIT_STORE
    except BackupError as exc:
        print(f"gardefou: cannot back up: {exc}", file=sys.stderr)
        return exc.code
    head = f", head seq={res.head_seq}" if res.head_seq is not None else ""
    print(f"Backed up {res.records} record(s){head} to {res.path} ({res.size} bytes, one file, mode 0600).")
    print("Check the copy with: gardefou audit verify --config FILE, where FILE's audit.url is "
          f"sqlite:///{res.path}")
    return EXIT_OK


def register(sub) -> None:
    """Add ``backup`` to the ``audit`` command (registered by ``gateway.admin.cli``)."""
    audit = sub.choices["audit"]
    commands = next(a for a in audit._actions if isinstance(a, argparse._SubParsersAction))
    q = commands.add_parser("backup", help="copy an SQLite audit store into one consistent file, while the gateway "
                                           "runs (PostgreSQL: use pg_dump)")
    q.add_argument("file", help="the backup file to write (refused if it exists, unless --force)")
    q.add_argument("--config", required=True)
    q.add_argument("--force", action="store_true", help="replace FILE if it exists")
    q.set_defaults(func=cmd_backup)
