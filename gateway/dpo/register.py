"""The register of AI systems, generated: every catalogue service with its compliance attributes, the
register fields the ESMS guide's validation steps ask for (purpose, AI Act risk level, DPIA, who
validated it and when, the last review), the decisions over a period and the departments using it.

The same rows feed the dashboard page, the admin API and ``gardefou register export`` (CSV for a
French spreadsheet, Markdown, OpenDocument). Column names are French: the DPO keeps this document.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from gateway.audit import AuditStore
from gateway.audit import query as Q
from gateway.dpo.ods import Cell, write_ods
from policies.catalogue import Catalogue, Service, is_compliant
from policies.vocabulary import (
    AI_ACT_RISK_LABELS_FR,
    CATEGORY_LABELS_FR,
    DECISIONS,
    DPIA_LABELS_FR,
    HOSTING_LABELS_FR,
    STATUS_LABELS_FR,
)

FORMATS = ("csv", "md", "ods")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "md": "text/markdown; charset=utf-8",
               "ods": "application/vnd.oasis.opendocument.spreadsheet"}


@dataclass
class Period:
    """A period of Paris days: ``since`` inclusive, ``until`` exclusive (UTC instants); None: open."""

    since: datetime | None
    until: datetime | None

    def filters(self) -> Q.Filters:
        return Q.Filters(since=self.since, until=self.until)

    def label(self) -> str:
        if self.since is None and self.until is None:
            return "toutes les données conservées"
        first = f"{Q.paris(self.since):%d/%m/%Y}" if self.since else "…"
        last = f"{(Q.paris(self.until) - timedelta(seconds=1)):%d/%m/%Y}" if self.until else "aujourd'hui"
        return f"du {first} au {last}"


@dataclass
class RegisterRow:
    service: Service
    by_decision: dict[str, int]
    departments: list[tuple[str | None, int]]

    @property
    def total(self) -> int:
        return sum(self.by_decision.values())


def register_rows(store: AuditStore, period: Period, catalogue: Catalogue) -> tuple[list[RegisterRow], int]:
    """One row per catalogue service (by name), and the requests of the period to services outside it."""
    filters = period.filters()
    stats = Q.stats(store, filters, "service")
    by_service = {g["key"]: g for g in stats["groups"]}
    departments = Q.counts_by(store, filters, "service", "department")
    rows = []
    for svc in sorted(catalogue.services.values(), key=lambda s: s.name.casefold()):
        g = by_service.get(svc.id, {})
        rows.append(RegisterRow(svc, {d: int(g.get(d, 0)) for d in DECISIONS}, departments.get(svc.id, [])))
    outside = sum(g["count"] for k, g in by_service.items() if k not in catalogue.services)
    return rows, outside


def _yes(value: bool) -> str:
    return "oui" if value else "non"


def _departments(pairs: list[tuple[str | None, int]]) -> str:
    return ", ".join(f"{d or '(non renseigné)'} ({n})" for d, n in pairs)


#: (French column name, the value of a row; a date stays a date for the spreadsheet)
COLUMNS: list[tuple[str, Callable[[RegisterRow], Cell]]] = [
    ("Identifiant", lambda r: r.service.id),
    ("Service", lambda r: r.service.name),
    ("Finalité", lambda r: r.service.governance.purpose if r.service.governance else None),
    ("Statut", lambda r: STATUS_LABELS_FR[r.service.status]),
    ("Conforme à la charte", lambda r: _yes(is_compliant(r.service))),
    ("Hébergement", lambda r: HOSTING_LABELS_FR[r.service.hosting]),
    ("Entraînement sur les données saisies", lambda r: _yes(r.service.trains_on_inputs)),
    ("Contrat", lambda r: r.service.contract),
    ("Hébergeur de données de santé (HDS)", lambda r: _yes(r.service.hds)),
    ("Catégories acceptées", lambda r: ", ".join(CATEGORY_LABELS_FR.get(c, c) for c in r.service.accepts) or "aucune"),
    ("Niveau de risque (AI Act)", lambda r: AI_ACT_RISK_LABELS_FR.get(r.service.governance.ai_act_risk or "")
     if r.service.governance else None),
    ("AIPD", lambda r: DPIA_LABELS_FR.get(r.service.governance.dpia or "") if r.service.governance else None),
    ("Validé par", lambda r: r.service.governance.validated_by if r.service.governance else None),
    ("Validé le", lambda r: r.service.governance.validated_on if r.service.governance else None),
    ("Dernière revue", lambda r: r.service.governance.reviewed_on if r.service.governance else None),
    ("Requêtes sur la période", lambda r: r.total),
    ("Autorisées", lambda r: r.by_decision["allow"]),
    ("Avertissements", lambda r: r.by_decision["warn"]),
    ("Bloquées (charte)", lambda r: r.by_decision["block"]),
    ("Refusées (technique)", lambda r: r.by_decision["refuse"]),
    ("Départements utilisateurs", lambda r: _departments(r.departments)),
]
HEADERS = [name for name, _ in COLUMNS]


def cells(row: RegisterRow) -> list[Cell]:
    return [value(row) for _, value in COLUMNS]


def as_text(value: Cell, empty: str = "") -> str:
    """A cell as people read it: dates ``JJ/MM/AAAA``, nothing as ``empty``."""
    if value is None or value == "":
        return empty
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    return str(value)


def to_json(rows: list[RegisterRow], period: Period, outside: int) -> dict[str, Any]:
    items = []
    for r in rows:
        reg = r.service.governance
        items.append({
            "id": r.service.id, "name": r.service.name, "status": r.service.status, "compliant": is_compliant(r.service),
            "hosting": r.service.hosting, "trains_on_inputs": r.service.trains_on_inputs, "contract": r.service.contract,
            "hds": r.service.hds, "accepts": list(r.service.accepts),
            "governance": reg.model_dump(mode="json") if reg else None,
            "count": r.total, "by_decision": r.by_decision,
            "departments": [{"department": d, "count": n} for d, n in r.departments],
            "columns_fr": dict(zip(HEADERS, (as_text(c) for c in cells(r)))),
        })
    return {"period": {"since": Q.iso(period.since), "until": Q.iso(period.until), "label": period.label()},
            "services": items, "requests_outside_catalogue": outside}


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def to_csv(rows: list[RegisterRow]) -> str:
    """The audit exports' dialect (BOM, ``;``, CRLF): LibreOffice and Excel in French open it as is."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    for r in rows:
        out = []
        for value in cells(r):
            text = value.isoformat() if isinstance(value, date) else as_text(value)
            out.append("'" + text if text.startswith(_FORMULA) else text)  # configuration text never runs as a formula
        writer.writerow(out)
    return buf.getvalue()


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def to_markdown(rows: list[RegisterRow], period: Period, outside: int, generated: datetime, title: str) -> str:
    lines = [f"# {title}", "",
             f"Période des décisions : {period.label()}. Généré par Garde-fou le {Q.paris(generated):%d/%m/%Y à %H:%M} "
             "(heure de Paris), à partir du catalogue des services et du journal d'audit.", ""]
    if outside:
        lines += [f"Requêtes vers des services hors catalogue sur la période : {outside} (voir « IA hors catalogue »).", ""]
    lines.append("| " + " | ".join(HEADERS) + " |")
    lines.append("|" + "|".join("---" for _ in HEADERS) + "|")
    for r in rows:
        lines.append("| " + " | ".join(_md(as_text(c, "—")) for c in cells(r)) + " |")
    return "\n".join(lines) + "\n"


def to_ods(rows: list[RegisterRow], period: Period, outside: int, generated: datetime, title: str) -> bytes:
    about: list[list[Cell]] = [
        ["Document", title],
        ["Période des décisions", period.label()],
        ["Généré le (heure de Paris)", f"{Q.paris(generated):%d/%m/%Y %H:%M}"],
        ["Requêtes vers des services hors catalogue", outside],
        ["Source", "Garde-fou : catalogue des services et journal d'audit"],
    ]
    return write_ods([("Registre", [HEADERS, *(cells(r) for r in rows)]), ("À propos", about)], title=title)


TITLE = "Registre des systèmes d'IA"


def render(fmt: str, rows: list[RegisterRow], period: Period, outside: int, generated: datetime) -> bytes:
    if fmt == "csv":
        return to_csv(rows).encode("utf-8")
    if fmt == "md":
        return to_markdown(rows, period, outside, generated, TITLE).encode("utf-8")
    if fmt == "ods":
        return to_ods(rows, period, outside, generated, TITLE)
    raise ValueError(fmt)


def default_period(today: date, days: int = 365) -> Period:
    """The last ``days`` Paris days up to today included."""
    start = today - timedelta(days=days - 1)
    return Period(Q.parse_time("since", start.isoformat(), tz=Q.PARIS),
                  Q.parse_time("until", today.isoformat(), end=True, tz=Q.PARIS))
