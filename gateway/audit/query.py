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
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select

from gateway.audit.chain import norm_ts
from gateway.audit.schema import audit_records as t
from gateway.audit.store import AuditStore
from policies.vocabulary import AUDIT_CATEGORIES as CATEGORIES
from policies.vocabulary import DECISIONS

GROUP_BY = ("day", "service", "client", "department", "category", "decision")
FILTER_KEYS = ("since", "until", "decision", "service", "client", "category", "finding_type", "department")
MAX_LIMIT = 1000

_TYPE_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
_TEXT_MAX = 128


class FilterError(ValueError):
    """A bad filter value; the message is in French and names the parameter."""


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    decision: str | None = None
    service: str | None = None
    client: str | None = None
    category: str | None = None
    finding_type: str | None = None
    department: str | None = None

    def as_params(self) -> dict[str, str]:
        """The non-empty filters as strings (for the access log, links and exports)."""
        out = {}
        for k, v in asdict(self).items():
            if v is not None:
                out[k] = v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v
        return out

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


def parse_time(name: str, value: str, end: bool = False) -> datetime:
    """ISO 8601 date or date-time; naive means UTC. A bare date as ``until`` means the end of that day."""
    value = value.strip()
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            dt = datetime(d.year, d.month, d.day, tzinfo=UTC)
            return dt + timedelta(days=1) if end else dt
        return norm_ts(datetime.fromisoformat(value))
    except ValueError:
        raise FilterError(
            f"Paramètre « {name} » invalide : date ISO 8601 attendue (ex. 2026-01-31 ou 2026-01-31T14:00:00Z)."
        ) from None


def _text(name: str, value: str) -> str:
    value = value.strip()
    if not value or len(value) > _TEXT_MAX or any(ord(c) < 32 for c in value):
        raise FilterError(f"Paramètre « {name} » invalide : texte non vide de {_TEXT_MAX} caractères au plus attendu.")
    return value


def parse_filters(params: Mapping[str, str]) -> Filters:
    values: dict[str, Any] = {}
    for key in FILTER_KEYS:
        raw = params.get(key)
        if raw is None or raw == "":
            continue
        if key in ("since", "until"):
            values[key] = parse_time(key, raw, end=key == "until")
        elif key == "decision":
            if raw not in DECISIONS:
                raise FilterError("Paramètre « decision » invalide : valeurs possibles " + ", ".join(DECISIONS) + ".")
            values[key] = raw
        elif key == "category":
            if raw not in CATEGORIES:
                raise FilterError(f"Paramètre « category » invalide : valeurs possibles {', '.join(CATEGORIES)}.")
            values[key] = raw
        elif key == "finding_type":
            if not _TYPE_RE.match(raw):
                raise FilterError("Paramètre « finding_type » invalide : type de détection attendu (ex. FR_NIR).")
            values[key] = raw
        else:
            values[key] = _text(key, raw)
    f = Filters(**values)
    if f.since and f.until and f.since >= f.until:
        raise FilterError("Période invalide : « since » doit précéder « until ».")
    return f


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


def _decision_sums():
    return [func.sum(case((t.c.decision == d, 1), else_=0)).label(d) for d in DECISIONS]


def stats(store: AuditStore, filters: Filters, group_by: str, limit: int | None = None) -> dict[str, Any]:
    if group_by not in GROUP_BY:
        raise FilterError(f"Paramètre « group_by » invalide : valeurs possibles {', '.join(GROUP_BY)}.")
    where = filters.where()
    groups: list[dict[str, Any]] = []
    with store.reading() as conn:
        total_q = select(func.count(), *_decision_sums()).select_from(t)
        if where is not None:
            total_q = total_q.where(where)
        total_row = conn.execute(total_q).one()
        if group_by == "category":
            for cat in CATEGORIES:
                q = select(func.count(), *_decision_sums()).select_from(t).where(t.c.categories.like(f"%,{cat},%"))
                if where is not None:
                    q = q.where(where)
                row = conn.execute(q).one()
                if row[0]:
                    groups.append({"key": cat, "count": row[0], **{d: int(row[i + 1] or 0) for i, d in enumerate(DECISIONS)}})
        else:
            key = {
                "day": _day_expr(store),
                "service": t.c.service_id,
                "client": t.c.client_id,
                "department": t.c.department,
                "decision": t.c.decision,
            }[group_by].label("key")
            q = select(key, func.count().label("count"), *_decision_sums()).select_from(t)
            if where is not None:
                q = q.where(where)
            q = q.group_by(key)
            for mapping in conn.execute(q).mappings():
                groups.append({"key": mapping["key"], "count": mapping["count"],
                               **{d: int(mapping[d] or 0) for d in DECISIONS}})
    if group_by == "day":
        groups.sort(key=lambda g: g["key"] or "")
    else:
        groups.sort(key=lambda g: (-g["count"], str(g["key"])))
    if limit:
        groups = groups[:limit]
    return {
        "group_by": group_by,
        "filters": filters.as_params(),
        "total": total_row[0],
        "by_decision": {d: int(total_row[i + 1] or 0) for i, d in enumerate(DECISIONS)},
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
]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "ts":
        return norm_ts(value).strftime("%Y-%m-%d %H:%M:%S")  # read as a date by a French spreadsheet
    if key == "forwarded":
        return "oui" if value else "non"
    if isinstance(value, float):
        return f"{value:.3f}".replace(".", ",")  # French decimal comma
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
        writer.writerow([_csv_cell(key, rec.get(key)) for _, key in CSV_COLUMNS])
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

