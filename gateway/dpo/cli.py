"""``gardefou register export`` and ``gardefou report weekly``: the register of AI systems and the DPO's
weekly summary as files. Each run is recorded in the admin access log (channel ``cli``) like any read of
the audit data. Exit codes as ``gardefou audit``: 0 done, 2 invalid arguments or configuration, 3 the
audit store cannot be reached."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from gateway.admin.cli import EXIT_OK, EXIT_USAGE, _actor, _guard, _store


def _write(data: bytes, output: str | None) -> None:
    if output:
        Path(output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def cmd_register_export(args: argparse.Namespace) -> int:
    from gateway.audit import query as Q
    from gateway.dpo import register as R

    if args.format == "ods" and not args.output and sys.stdout.isatty():
        print("gardefou: an ODS file is binary: give -o FILE", file=sys.stderr)
        return EXIT_USAGE
    now = datetime.now(UTC)
    default = R.default_period(Q.paris(now).date())
    since = Q.parse_time("from", args.date_from, tz=Q.PARIS) if args.date_from else default.since
    until = Q.parse_time("to", args.date_to, end=True, tz=Q.PARIS) if args.date_to else default.until
    if since and until and since >= until:
        raise Q.FilterError("Période invalide : « --from » doit précéder « --to ».")
    period = R.Period(since, until)
    config, store = _store(args.config)
    try:
        store.log_access(user_id=_actor(), role=None, channel="cli", action="register.export",
                         params={"format": args.format, "since": Q.iso(since) or "", "until": Q.iso(until) or "",
                                 "output": args.output or "-"})
        rows, outside = R.register_rows(store, period, config.catalogue())
    finally:
        store.dispose()
    _write(R.render(args.format, rows, period, outside, now), args.output)
    if args.output:
        print(f"Register of AI systems ({len(rows)} services, decisions {period.label()}) written to {args.output}",
              file=sys.stderr)
    return EXIT_OK


def cmd_report_weekly(args: argparse.Namespace) -> int:
    from gateway.dpo import weekly as W

    now = datetime.now(UTC)
    try:
        week = W.Week.parse(args.week) if args.week else W.Week.last_complete(now)
    except W.WeekError as exc:
        print(f"gardefou: {exc}", file=sys.stderr)
        return EXIT_USAGE
    fmt = args.format or ("html" if args.output and args.output.lower().endswith((".html", ".htm")) else "md")
    if args.output and (args.output.endswith("/") or Path(args.output).is_dir()):  # a directory: named after the week
        args.output = str(Path(args.output) / f"garde-fou-synthese-{week}.{fmt}")
    config, store = _store(args.config)
    try:
        store.log_access(user_id=_actor(), role=None, channel="cli", action="weekly.export",
                         params={"week": str(week), "format": fmt, "output": args.output or "-"})
        summary = W.weekly(store, week, config.catalogue(), config.discovery_list(), now)
    finally:
        store.dispose()
    text = W.to_html(summary) if fmt == "html" else W.to_markdown(summary)
    _write(text.encode("utf-8"), args.output)
    if args.output:
        print(f"Weekly summary {week} ({fmt}) written to {args.output}", file=sys.stderr)
    return EXIT_OK


def register(sub) -> None:
    from gateway.dpo.register import FORMATS

    p = sub.add_parser("register", help="the register of AI systems (catalogue, compliance, decisions)")
    rsub = p.add_subparsers(dest="register_command", required=True)
    q = rsub.add_parser("export", help="write the register as CSV, Markdown or OpenDocument (ODS)")
    q.add_argument("--config", required=True)
    q.add_argument("--format", choices=FORMATS, default="csv")
    q.add_argument("--from", dest="date_from", help="first day of the decisions counted (Paris date, default: 365 days ago)")
    q.add_argument("--to", dest="date_to", help="last day included (Paris date, default: today)")
    q.add_argument("-o", "--output", help="file to write (default: standard output)")
    q.set_defaults(func=_guard(cmd_register_export))

    p = sub.add_parser("report", help="reports for the DPO")
    rsub = p.add_subparsers(dest="report_command", required=True)
    q = rsub.add_parser("weekly", help="the weekly summary (blocks, new AI hosts outside the catalogue, top services)")
    q.add_argument("--config", required=True)
    q.add_argument("--week", help="ISO week YYYY-Www (default: last week, Paris time)")
    q.add_argument("--format", choices=("md", "html"), help="default: html for a .html/.htm output, else md")
    q.add_argument("-o", "--output", help="file to write, or a directory (the file is then named after the week); "
                                          "default: standard output")
    q.set_defaults(func=_guard(cmd_report_weekly))
