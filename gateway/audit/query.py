"""Filters, keyset pages, statistics and streamed exports over the audit records.

Shared by the admin API, the dashboard and the command line, so that all three accept exactly the
same filters. Error messages are in French (they are shown to the DPO / DSN as they are).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select

from gateway.audit.chain import norm_ts
from gateway.audit.schema import admin_access_log as a
from gateway.audit.schema import audit_records as t
from gateway.audit.schema import charter_acceptances as ca
from gateway.audit.store import BATCH, AuditStore
from policies.labels import ACCESS_ACTION_LABELS_FR, ACCESS_OUTCOME_LABELS_FR, finding_type_fr, rule_fr
from policies.vocabulary import AUDIT_CATEGORIES as CATEGORIES
from policies.vocabulary import CATEGORY_LABELS_FR, DECISION_LABELS_FR, DECISIONS

GROUP_BY = ("day", "service", "client", "department", "category", "decision")
FILTER_KEYS = ("since", "until", "decision", "service", "client", "category", "finding_type", "department")
MAX_LIMIT = 1000

_TYPE_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
_TEXT_MAX = 128

#: Where the people reading the audit are: times are stored in UTC and shown in this zone.
PARIS = ZoneInfo("Europe/Paris")


def paris(ts: datetime) -> datetime:
    """A stored (UTC) time in Europe/Paris."""
    return norm_ts(ts).astimezone(PARIS)


class FilterError(ValueError):
    """A bad filter value; the message is in French and names the parameter."""


class _AsParams:
    def as_params(self) -> dict[str, str]:
        """The non-empty filters as strings (for the access log, links and exports)."""
        return {k: (v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v)
                for k, v in asdict(self).items() if v is not None}  # type: ignore[call-overload]


@dataclass(frozen=True)
class Filters(_AsParams):
    since: datetime | None = None
    until: datetime | None = None
    decision: str | None = None
    service: str | None = None
    client: str | None = None
    category: str | None = None
    finding_type: str | None = None
    department: str | None = None

    def where(self):
        conds = []
        if self.since:
            conds.append(t.c.ts >= self.since)
        if self.until:
            conds.append(t.c.ts < self.until)
        if self.decision:
            conds.append(t.c.decision == self.decision)
        if self.service:
            conds.append(t.c.service_id == self.service)
        if self.client:
            conds.append(t.c.client_id == self.client)
        if self.department:
            conds.append(t.c.department == self.department)
        if self.category:  # validated: no LIKE wildcard can get here
            conds.append(t.c.categories.like(f"%,{self.category},%"))
        if self.finding_type:
            conds.append(t.c.finding_types.like(f"%,{self.finding_type},%"))
        return and_(*conds) if conds else None


def parse_time(name: str, value: str, end: bool = False, tz: tzinfo = UTC) -> datetime:
    """ISO 8601 date or date-time, returned in UTC; naive means in ``tz`` (the API's and the command
    line's: UTC; the dashboard's: Europe/Paris). A bare date as ``until`` means the end of that day."""
    value = value.strip()
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            if end:  # the next day's midnight (a calendar day: 23 or 25 hours when the clocks change)
                d += timedelta(days=1)
            return datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(UTC)
        dt = datetime.fromisoformat(value)
        return norm_ts(dt if dt.tzinfo else dt.replace(tzinfo=tz))
    except ValueError:
        raise FilterError(
            f"Paramètre « {name} » invalide : date ISO 8601 attendue (ex. 2026-01-31 ou 2026-01-31T14:00:00Z)."
        ) from None


def _text(name: str, value: str) -> str:
    value = value.strip()
    if not value or len(value) > _TEXT_MAX or any(ord(c) < 32 for c in value):
        raise FilterError(f"Paramètre « {name} » invalide : texte non vide de {_TEXT_MAX} caractères au plus attendu.")
    return value


def _parse_params(params: Mapping[str, str], keys, checks: dict, tz: tzinfo) -> dict[str, Any]:
    """The values of ``keys`` in a query string: dates (``since``/``until``, read in ``tz`` without an
    offset), values ``checks`` accepts (else its French message), free text for the rest."""
    values: dict[str, Any] = {}
    for key in keys:
        raw = params.get(key)
        if raw is None or raw == "":
            continue
        if key in ("since", "until"):
            values[key] = parse_time(key, raw, end=key == "until", tz=tz)
        elif key in checks:
            accepts, message = checks[key]
            if not accepts(raw):
                raise FilterError(f"Paramètre « {key} » invalide : {message}.")
            values[key] = raw
        else:
            values[key] = _text(key, raw)
    if values.get("since") and values.get("until") and values["since"] >= values["until"]:
        raise FilterError("Période invalide : « since » doit précéder « until ».")
    return values


_RECORD_CHECKS = {
    "decision": (lambda v: v in DECISIONS, "valeurs possibles " + ", ".join(DECISIONS)),
    "category": (lambda v: v in CATEGORIES, "valeurs possibles " + ", ".join(CATEGORIES)),
    "finding_type": (lambda v: bool(_TYPE_RE.match(v)), "type de détection attendu (ex. FR_NIR)"),
}


def parse_filters(params: Mapping[str, str], tz: tzinfo = UTC) -> Filters:
    """The filters of a query string; dates without an offset are read in ``tz``."""
    return Filters(**_parse_params(params, FILTER_KEYS, _RECORD_CHECKS, tz))


def parse_limit(raw: str | None, default: int = 50) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise FilterError(f"Paramètre « limit » invalide : entier entre 1 et {MAX_LIMIT} attendu.")
    return int(raw)


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        if text[0] == "s" and text[1:].isdigit() and len(text) <= 20 and int(text[1:]) < 2**63:
            return int(text[1:])
    except (ValueError, IndexError, UnicodeDecodeError):
        pass
    raise FilterError("Paramètre « cursor » invalide : reprenez la valeur « next_cursor » de la page précédente.")


# -- serialisation ----------------------------------------------------------------------------

def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def iso(ts: datetime | None) -> str | None:
    return norm_ts(ts).isoformat().replace("+00:00", "Z") if ts else None


def to_json(rec: Mapping[str, Any], full: bool = True) -> dict[str, Any]:
    out = {k: v for k, v in rec.items()}
    out["ts"] = iso(rec["ts"])
    out["categories"] = _split(rec.get("categories"))
    out["finding_types"] = _split(rec.get("finding_types"))
    if not full:
        for k in ("prev_hash", "outcome_hash", "findings", "rule_ids"):
            out.pop(k, None)
    return out


# -- queries ----------------------------------------------------------------------------------

def page(store: AuditStore, filters: Filters, limit: int = 50, cursor: int | None = None) -> tuple[list[dict], str | None]:
    """Newest first; ``cursor`` is the last seq of the previous page (keyset, no OFFSET)."""
    q = select(t)
    where = filters.where()
    if where is not None:
        q = q.where(where)
    if cursor is not None:
        q = q.where(t.c.seq < cursor)
    q = q.order_by(t.c.seq.desc()).limit(limit + 1)
    with store.reading() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    nxt = encode_cursor(rows[limit - 1]["seq"]) if len(rows) > limit else None
    return rows[:limit], nxt


def _day_expr(store: AuditStore):
    if store.is_pg:
        return func.to_char(func.timezone("UTC", t.c.ts), "YYYY-MM-DD")
    return func.substr(t.c.ts, 1, 10)


def _hour_expr(store: AuditStore):
    """The UTC hour (``2026-03-02 08``): days in another zone are made of whole UTC hours (Europe/Paris
    is UTC+1 or UTC+2), so grouping by hour then by local day in Python works on both databases."""
    if store.is_pg:
        return func.to_char(func.timezone("UTC", t.c.ts), "YYYY-MM-DD HH24")
    return func.substr(t.c.ts, 1, 13)


def _local_day(hour_key: str, tz: tzinfo) -> str:
    return datetime.fromisoformat(hour_key[:13] + ":00").replace(tzinfo=UTC).astimezone(tz).date().isoformat()


def _decision_sums():
    return [func.sum(case((t.c.decision == d, 1), else_=0)).label(d) for d in DECISIONS]


#: Sobriety figures summed with every count: the provider's tokens, the energy and CO2e estimates,
#: the requests estimated or not (model unknown to EcoLogits, answer without usage), long conversations.
SOBRIETY_KEYS = ("input_tokens", "output_tokens", "energy_wh", "gco2e_g", "estimated", "not_estimated",
                 "long_conversations")


def _sobriety_sums():
    return [
        func.sum(t.c.input_tokens).label("input_tokens"),
        func.sum(t.c.output_tokens).label("output_tokens"),
        func.sum(t.c.energy_wh).label("energy_wh"),
        func.sum(t.c.gco2e_g).label("gco2e_g"),
        func.sum(case((t.c.impact_status == "estimated", 1), else_=0)).label("estimated"),
        func.sum(case((t.c.impact_status.in_(("unknown_model", "no_usage")), 1), else_=0)).label("not_estimated"),
        func.sum(case((t.c.notice == "long_conversation", 1), else_=0)).label("long_conversations"),
    ]


def _sobriety(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in SOBRIETY_KEYS:
        value = row[k] or 0
        out[k] = round(float(value), 6) if k in ("energy_wh", "gco2e_g") else int(value)
    return out


def stats(store: AuditStore, filters: Filters, group_by: str, limit: int | None = None,
          tz: tzinfo | None = None) -> dict[str, Any]:
    """Counts by ``group_by``, each split by decision (``refuse`` apart from ``block``). Days are UTC
    days, or the days of ``tz`` when given (the dashboard's Europe/Paris)."""
    if group_by not in GROUP_BY:
        raise FilterError(f"Paramètre « group_by » invalide : valeurs possibles {', '.join(GROUP_BY)}.")
    where = filters.where()
    groups: list[dict[str, Any]] = []
    with store.reading() as conn:
        total_q = select(func.count().label("count"), *_decision_sums(), *_sobriety_sums()).select_from(t)
        if where is not None:
            total_q = total_q.where(where)
        total_row = conn.execute(total_q).mappings().one()
        if group_by == "category":
            for cat in CATEGORIES:
                q = select(func.count().label("count"), *_decision_sums(), *_sobriety_sums()).select_from(t).where(
                    t.c.categories.like(f"%,{cat},%"))
                if where is not None:
                    q = q.where(where)
                row = conn.execute(q).mappings().one()
                if row["count"]:
                    groups.append({"key": cat, "count": row["count"], **{d: int(row[d] or 0) for d in DECISIONS},
                                   **_sobriety(row)})
        else:
            key = {
                "day": _day_expr(store) if tz is None else _hour_expr(store),
                "service": t.c.service_id,
                "client": t.c.client_id,
                "department": t.c.department,
                "decision": t.c.decision,
            }[group_by].label("key")
            q = select(key, func.count().label("count"), *_decision_sums(), *_sobriety_sums()).select_from(t)
            if where is not None:
                q = q.where(where)
            q = q.group_by(key)
            for mapping in conn.execute(q).mappings():
                groups.append({"key": mapping["key"], "count": mapping["count"],
                               **{d: int(mapping[d] or 0) for d in DECISIONS}, **_sobriety(mapping)})
    if group_by == "day" and tz is not None:
        days: dict[str, dict[str, Any]] = {}
        for g in groups:
            day = days.setdefault(_local_day(g["key"], tz), {"count": 0, **dict.fromkeys(DECISIONS, 0),
                                                             **dict.fromkeys(SOBRIETY_KEYS, 0)})
            for k in ("count", *DECISIONS, *SOBRIETY_KEYS):
                day[k] += g[k]
            for k in ("energy_wh", "gco2e_g"):
                day[k] = round(day[k], 6)
        groups = [{"key": k, **v} for k, v in days.items()]
    if group_by == "day":
        groups.sort(key=lambda g: g["key"] or "")
    else:
        groups.sort(key=lambda g: (-g["count"], str(g["key"])))
    if limit:
        groups = groups[:limit]
    return {
        "group_by": group_by,
        "filters": filters.as_params(),
        "total": total_row["count"],
        "by_decision": {d: int(total_row[d] or 0) for d in DECISIONS},
        "sobriety": _sobriety(total_row),
        "groups": groups,
    }


# -- exports ----------------------------------------------------------------------------------

CSV_COLUMNS = [
    ("id", "id"), ("horodatage_utc", "ts"), ("client", "client_id"), ("departement", "department"),
    ("adresse_client", "client_addr"), ("api", "api"), ("point_acces", "endpoint"), ("hote", "host"),
    ("service_ia", "service_id"),
    ("modele", "model"), ("decision", "decision"), ("transmis", "forwarded"), ("regles", "rule_ids"),
    ("motifs", "reasons"), ("categories", "categories"), ("types_detectes", "finding_types"),
    ("detections", "findings"), ("nb_parties", "prompt_parts"), ("nb_caracteres", "prompt_chars"),
    ("statut_http", "status_code"), ("statut_fournisseur", "upstream_status"), ("erreur_fournisseur", "upstream_error"),
    ("inspection_ms", "inspect_ms"), ("fournisseur_ms", "upstream_ms"), ("total_ms", "total_ms"),
    ("octets_envoyes", "bytes_up"), ("octets_recus", "bytes_down"), ("erreur", "error"),
    ("empreinte", "record_hash"), ("empreinte_precedente", "prev_hash"), ("empreinte_resultat", "outcome_hash"),
    # added after the columns above (whose positions scripts may rely on): the same record as a DPO reads it
    ("horodatage_paris", "ts_paris"), ("libelle_decision", "decision_fr"), ("libelles_regles", "rule_ids_fr"),
    ("libelles_categories", "categories_fr"), ("libelles_types_detectes", "finding_types_fr"),
    # sobriety (issue 15)
    ("nb_messages", "prompt_messages"), ("avis", "notice"), ("jetons_entree", "input_tokens"),
    ("jetons_sortie", "output_tokens"), ("energie_estimee_wh", "energy_wh"), ("co2e_estime_g", "gco2e_g"),
    ("estimation", "impact_status"), ("methode_estimation", "impact_method"),
]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")

#: Times in the CSV: what a French spreadsheet reads as a date (the column's name gives the zone).
CSV_TIME = "%Y-%m-%d %H:%M:%S"


def _field(rec: Mapping[str, Any], key: str) -> Any:
    """A record's value for a CSV column: its own field, or a French label derived from it."""
    if key == "ts_paris":
        return paris(rec["ts"]).strftime(CSV_TIME)
    if key == "decision_fr":
        return DECISION_LABELS_FR.get(rec["decision"], rec["decision"])
    if key == "rule_ids_fr":
        return " | ".join(rule_fr(r) for r in rec.get("rule_ids") or [])
    if key == "categories_fr":
        return " | ".join(CATEGORY_LABELS_FR.get(c, c) for c in _split(rec.get("categories")))
    if key == "finding_types_fr":
        return " | ".join(finding_type_fr(f) for f in _split(rec.get("finding_types")))
    return rec.get(key)


def _csv_cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "ts":
        return norm_ts(value).strftime(CSV_TIME)  # read as a date by a French spreadsheet
    if key == "forwarded":
        return "oui" if value else "non"
    if isinstance(value, float):  # French decimal comma; estimates to the micro-watt-hour / microgram
        return f"{value:.6f}".replace(".", ",") if key in ("energy_wh", "gco2e_g") else f"{value:.3f}".replace(".", ",")
    if isinstance(value, int):
        return str(value)
    if key in ("categories", "finding_types"):
        return ", ".join(_split(value))
    if key in ("rule_ids", "reasons"):
        text = " | ".join(str(v) for v in value)
    elif key == "findings":
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        text = str(value)
    # a cell starting like a formula would be run by the spreadsheet (the model name comes from the client)
    return "'" + text if text.startswith(_FORMULA) else text


def export_csv(store: AuditStore, filters: Filters) -> Iterator[str]:
    """UTF-8 with BOM, ``;`` separator, CRLF: what LibreOffice and Excel in French open directly.

    The header goes out with the first rows, so the first chunk has read the store (the admin API
    takes it before answering: a store failure is then still a clean 503)."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([name for name, _ in CSV_COLUMNS])
    n = 0
    for rec in store.iter_records(filters.where(), ascending=True):
        writer.writerow([_csv_cell(key, _field(rec, key)) for _, key in CSV_COLUMNS])
        n += 1
        if n % 200 == 0:
            yield _drain(buf)
    rest = _drain(buf)
    if rest:
        yield rest


def _drain(buf: io.StringIO) -> str:
    data = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    return data


def export_jsonl(store: AuditStore, filters: Filters) -> Iterator[str]:
    chunk: list[str] = []
    for rec in store.iter_records(filters.where(), ascending=True):
        chunk.append(json.dumps(to_json(rec), ensure_ascii=False, separators=(",", ":")) + "\n")
        if len(chunk) >= 200:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)



# -- choices for the dashboard's filters ------------------------------------------------------

#: Past this many distinct values, a filter is typed instead of chosen from a list.
MAX_CHOICES = 500


def _distinct(store: AuditStore, column, limit: int = MAX_CHOICES + 1) -> list[str]:
    q = select(column).where(column.is_not(None)).distinct().order_by(column).limit(limit)
    with store.reading() as conn:
        return [v for v in conn.execute(q).scalars() if v not in (None, "")]


def choices(store: AuditStore) -> dict[str, list[str]]:
    """What the records hold, for the filters' select lists: departments, services, detected types.
    A list longer than :data:`MAX_CHOICES` means "too many to choose from" (the page then asks to type)."""
    types: set[str] = set()
    for combo in _distinct(store, t.c.finding_types, limit=20 * MAX_CHOICES):
        types.update(_split(combo))
    return {
        "departments": _distinct(store, t.c.department),
        "services": _distinct(store, t.c.service_id),
        "finding_types": sorted(types),
    }


def access_choices(store: AuditStore) -> dict[str, list[str]]:
    """The users and actions found in the access log, for its page's filters."""
    return {"users": _distinct(store, a.c.user_id), "actions": _distinct(store, a.c.action)}


# -- the admin access log ---------------------------------------------------------------------

ACCESS_FILTER_KEYS = ("since", "until", "user", "action", "outcome")
ACCESS_OUTCOMES = tuple(ACCESS_OUTCOME_LABELS_FR)
_ACTION_RE = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")


@dataclass(frozen=True)
class AccessFilters(_AsParams):
    since: datetime | None = None
    until: datetime | None = None
    user: str | None = None
    action: str | None = None
    outcome: str | None = None

    def where(self):
        conds = []
        if self.since:
            conds.append(a.c.ts >= self.since)
        if self.until:
            conds.append(a.c.ts < self.until)
        if self.user:
            conds.append(a.c.user_id == self.user)
        if self.action:
            conds.append(a.c.action == self.action)
        if self.outcome:
            conds.append(a.c.outcome == self.outcome)
        return and_(*conds) if conds else None


def parse_access_filters(params: Mapping[str, str], tz: tzinfo = UTC) -> AccessFilters:
    checks = {"outcome": (lambda v: v in ACCESS_OUTCOMES, "valeurs possibles " + ", ".join(ACCESS_OUTCOMES)),
              "action": (lambda v: bool(_ACTION_RE.match(v)), "action du journal attendue (ex. export.csv)")}
    return AccessFilters(**_parse_params(params, ACCESS_FILTER_KEYS, checks, tz))


def access_page(store: AuditStore, filters: AccessFilters, limit: int = 100,
                cursor: int | None = None) -> tuple[list[dict], str | None]:
    """The access log, newest first, keyset on ``seq`` like the decisions."""
    rows = store.access_log(limit + 1, cursor, where=filters.where())
    nxt = encode_cursor(rows[limit - 1]["seq"]) if len(rows) > limit else None
    return rows[:limit], nxt


ACCESS_CSV_COLUMNS = [
    ("horodatage_utc", "ts"), ("horodatage_paris", "ts_paris"), ("utilisateur", "user_id"), ("role", "role"),
    ("canal", "channel"), ("action", "action"), ("libelle_action", "action_fr"), ("parametres", "params"),
    ("resultat", "outcome"), ("libelle_resultat", "outcome_fr"), ("adresse_client", "client_addr"),
    ("empreinte", "row_hash"),
]


def _access_field(row: Mapping[str, Any], key: str) -> str:
    if key == "ts":
        return norm_ts(row["ts"]).strftime(CSV_TIME)
    if key == "ts_paris":
        return paris(row["ts"]).strftime(CSV_TIME)
    if key == "action_fr":
        return ACCESS_ACTION_LABELS_FR.get(row["action"], row["action"])
    if key == "outcome_fr":
        return ACCESS_OUTCOME_LABELS_FR.get(row["outcome"], row["outcome"])
    value = row.get(key)
    if value is None:
        return ""
    text = " ".join(f"{k}={v}" for k, v in value.items()) if key == "params" else str(value)
    # parameters are what a client sent: never let a spreadsheet run them as a formula
    return "'" + text if text.startswith(_FORMULA) else text


def export_access_csv(store: AuditStore, filters: AccessFilters) -> Iterator[str]:
    """The access log as CSV (same dialect as the records' export), chronological, in batches."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([name for name, _ in ACCESS_CSV_COLUMNS])
    n = 0
    for row in store.iter_access_log(filters.where()):
        writer.writerow([_access_field(row, key) for _, key in ACCESS_CSV_COLUMNS])
        n += 1
        if n % 200 == 0:
            yield _drain(buf)
    rest = _drain(buf)
    if rest:
        yield rest


# -- what the DPO reads beyond the log (gateway/dpo: discovery, the register, the weekly summary) --------

def _and(*conds):
    kept = [c for c in conds if c is not None]
    return and_(*kept) if kept else None


def unknown_hosts(store: AuditStore, filters: Filters) -> list[dict[str, Any]]:
    """Browser-path records whose destination no catalogue entry covered (no service, a host), by host:
    volume split by decision, distinct clients (id, else address), departments, first and last seen in
    the period, and ``first_ever`` (the host's first record still in the store: "new" hosts). Technical
    refusals are left out: a request refused before it was routed (a wrong proxy credential) says
    nothing about its destination."""
    base = and_(t.c.service_id.is_(None), t.c.host.is_not(None), t.c.decision != "refuse")
    cond = _and(base, filters.where())
    who = func.coalesce(t.c.client_id, t.c.client_addr)
    q = (select(t.c.host, func.count().label("count"), *_decision_sums(),
                func.count(func.distinct(who)).label("clients"), func.min(t.c.ts).label("first_seen"),
                func.max(t.c.ts).label("last_seen"))
         .where(cond).group_by(t.c.host))
    deps_q = select(t.c.host, t.c.department, func.count().label("n")).where(cond).group_by(t.c.host, t.c.department)
    with store.reading() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
        hosts = [r["host"] for r in rows]
        departments: dict[str, list[tuple[str | None, int]]] = {}
        for r in conn.execute(deps_q).mappings():
            departments.setdefault(r["host"], []).append((r["department"], r["n"]))
        first: dict[str, datetime] = {}
        for chunk in range(0, len(hosts), 500):
            part = hosts[chunk:chunk + 500]
            fq = select(t.c.host, func.min(t.c.ts)).where(base, t.c.host.in_(part)).group_by(t.c.host)
            first.update({h: ts for h, ts in conn.execute(fq)})
    out = []
    for r in rows:
        out.append({
            "host": r["host"], "count": r["count"], "by_decision": {d: int(r[d] or 0) for d in DECISIONS},
            "clients": r["clients"], "first_seen": norm_ts(r["first_seen"]), "last_seen": norm_ts(r["last_seen"]),
            "first_ever": norm_ts(first.get(r["host"]) or r["first_seen"]),
            "departments": sorted(departments.get(r["host"], []), key=lambda d: (-d[1], d[0] or "")),
        })
    out.sort(key=lambda r: (-r["count"], r["host"]))
    return out


def counts_by(store: AuditStore, filters: Filters, first: str, second: str) -> dict[Any, list[tuple[Any, int]]]:
    """Records counted by two columns (``service`` and ``department``, ``category`` and ``department``...):
    for each value of the first, the values of the second with their counts, largest first. ``category``
    counts a record under each of its categories."""
    columns = {"service": t.c.service_id, "department": t.c.department, "client": t.c.client_id,
               "decision": t.c.decision, "host": t.c.host}
    where = filters.where()
    out: dict[Any, list[tuple[Any, int]]] = {}
    with store.reading() as conn:
        if first == "category":
            col = columns[second]
            for cat in CATEGORIES:
                q = (select(col, func.count()).select_from(t)
                     .where(_and(t.c.categories.like(f"%,{cat},%"), where)).group_by(col))
                pairs = [(k, n) for k, n in conn.execute(q)]
                if pairs:
                    out[cat] = pairs
        else:
            a_col, b_col = columns[first], columns[second]
            q = select(a_col, b_col, func.count()).select_from(t)
            if where is not None:
                q = q.where(where)
            for a_val, b_val, n in conn.execute(q.group_by(a_col, b_col)):
                out.setdefault(a_val, []).append((b_val, n))
    return {k: sorted(v, key=lambda p: (-p[1], str(p[0] or ""))) for k, v in out.items()}


def count(store: AuditStore, where) -> int:
    """How many records match a condition (``Filters.where()``, or any condition on the records)."""
    q = select(func.count()).select_from(t)
    if where is not None:
        q = q.where(where)
    with store.reading() as conn:
        return int(conn.execute(q).scalar() or 0)
# -- the charter's acceptances ----------------------------------------------------------------

ACCEPTANCE_FILTER_KEYS = ("since", "until", "version", "client", "department")
ACCEPTANCE_CHANNELS_FR = {"api": "API", "browser": "navigateur"}
ACCEPTANCE_METHODS_FR = {"header": "en-tête X-Gardefou-Charter-Accept", "endpoint": "appel de /gardefou/charte",
                         "page": "bouton « J'accepte »"}


@dataclass(frozen=True)
class AcceptanceFilters(_AsParams):
    since: datetime | None = None
    until: datetime | None = None
    version: str | None = None
    #: the client id, or the address of a client known by its address only
    client: str | None = None
    department: str | None = None

    def where(self):
        conds = []
        if self.since:
            conds.append(ca.c.ts >= self.since)
        if self.until:
            conds.append(ca.c.ts < self.until)
        if self.version:
            conds.append(ca.c.version == self.version)
        if self.client:
            conds.append(or_(ca.c.client_id == self.client, ca.c.subject == f"adresse:{self.client}"))
        if self.department:
            conds.append(ca.c.department == self.department)
        return and_(*conds) if conds else None


def parse_acceptance_filters(params: Mapping[str, str], tz: tzinfo = UTC) -> AcceptanceFilters:
    return AcceptanceFilters(**_parse_params(params, ACCEPTANCE_FILTER_KEYS, {}, tz))


def acceptance_page(store: AuditStore, filters: AcceptanceFilters, limit: int = 100,
                    cursor: int | None = None) -> tuple[list[dict], str | None]:
    """Who accepted which version of the charter, newest first (keyset on ``seq``)."""
    rows = store.acceptances(limit + 1, cursor, where=filters.where())
    nxt = encode_cursor(rows[limit - 1]["seq"]) if len(rows) > limit else None
    return rows[:limit], nxt


def acceptance_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in row.items()}, "ts": iso(row["ts"]),
            "channel_fr": ACCEPTANCE_CHANNELS_FR.get(row["channel"], row["channel"]),
            "method_fr": ACCEPTANCE_METHODS_FR.get(row["method"], row["method"])}


ACCEPTANCE_CSV_COLUMNS = [
    ("horodatage_utc", "ts"), ("horodatage_paris", "ts_paris"), ("qui", "subject"), ("client", "client_id"),
    ("departement", "department"), ("adresse_client", "client_addr"), ("version", "version"),
    ("canal", "channel_fr"), ("moyen", "method_fr"), ("id_audit", "audit_id"),
]


def export_acceptances_csv(store: AuditStore, filters: AcceptanceFilters) -> Iterator[str]:
    """The acceptances as CSV (the records' dialect), newest first."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([name for name, _ in ACCEPTANCE_CSV_COLUMNS])
    cursor = None
    while True:
        rows, nxt = acceptance_page(store, filters, BATCH, cursor)
        for row in rows:
            cells = []
            for _, key in ACCEPTANCE_CSV_COLUMNS:
                if key in ("ts", "ts_paris"):
                    ts = norm_ts(row["ts"]) if key == "ts" else paris(row["ts"])
                    cells.append(ts.strftime(CSV_TIME))
                    continue
                value = acceptance_json(row).get(key)
                text = "" if value is None else str(value)
                cells.append("'" + text if text.startswith(_FORMULA) else text)
            writer.writerow(cells)
        yield _drain(buf)
        if nxt is None:
            return
        cursor = decode_cursor(nxt)
