"""The DPO's weekly summary: charter blocks by category and by department, the new AI hosts outside the
catalogue, the most used services, technical refusals apart; for one ISO week of Paris time.

``gardefou report weekly [--week YYYY-Www] -o FILE`` writes it as Markdown or as a self-contained HTML
file (to schedule with cron or a systemd timer, and mail); the dashboard shows the same at
``/admin/weekly``. Counts, categories, departments, service and host names only: never a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from gateway.audit import AuditStore
from gateway.audit import query as Q
from gateway.dpo.discovery import HostSeen, hosts_seen
from policies.catalogue import Catalogue
from policies.discovery import Discovery
from policies.vocabulary import CATEGORY_LABELS_FR, DECISION_PLURALS_FR, DECISIONS

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class WeekError(ValueError):
    """A week that is not ``YYYY-Www``; the message is in French."""


@dataclass(frozen=True)
class Week:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Week:
        m = _WEEK.match(text.strip())
        try:
            if not m:
                raise ValueError
            date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            raise WeekError(f"Semaine « {text} » invalide : écrivez-la AAAA-Sss au format ISO, par exemple "
                            "2026-W48.") from None
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, day: date) -> Week:
        y, w, _ = day.isocalendar()
        return cls(y, w)

    @classmethod
    def last_complete(cls, now: datetime) -> Week:
        """The week before the one ``now`` (Paris time) is in."""
        return cls.of(Q.paris(now).date() - timedelta(days=7))

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    def shifted(self, weeks: int) -> Week:
        return Week.of(self.monday + timedelta(weeks=weeks))

    def filters(self, **extra: Any) -> Q.Filters:
        """The week's Paris days, as UTC instants (a week with a clock change is 167 or 169 hours)."""
        since = Q.parse_time("since", self.monday.isoformat(), tz=Q.PARIS)
        until = Q.parse_time("until", (self.monday + timedelta(days=6)).isoformat(), end=True, tz=Q.PARIS)
        return Q.Filters(since=since, until=until, **extra)

    def label(self) -> str:
        sunday = self.monday + timedelta(days=6)
        return f"semaine {self.number} de {self.year}, du lundi {self.monday:%d/%m/%Y} au dimanche {sunday:%d/%m/%Y}"


@dataclass
class Weekly:
    week: Week
    generated: datetime
    by_decision: dict[str, int]
    total: int
    previous_by_decision: dict[str, int]
    blocks_by_category: list[tuple[str, int]]
    blocks_by_department: list[tuple[str | None, int]]
    #: category -> departments with their blocks
    category_departments: dict[str, list[tuple[str | None, int]]]
    top_services: list[dict[str, Any]]
    new_hosts: list[HostSeen] = field(default_factory=list)
    unknown_hosts: list[HostSeen] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "week": str(self.week), "label": self.week.label(), "generated": Q.iso(self.generated),
            "total": self.total, "by_decision": self.by_decision, "previous_week_by_decision": self.previous_by_decision,
            "blocks_by_category": [{"category": c, "label": CATEGORY_LABELS_FR.get(c, c), "count": n}
                                   for c, n in self.blocks_by_category],
            "blocks_by_department": [{"department": d, "count": n} for d, n in self.blocks_by_department],
            "blocks_by_category_and_department": {c: [{"department": d, "count": n} for d, n in v]
                                                  for c, v in self.category_departments.items()},
            "top_services": self.top_services,
            "new_unknown_ai_hosts": [h.to_json() for h in self.new_hosts],
            "unknown_ai_hosts": [h.to_json() for h in self.unknown_hosts],
        }


def weekly(store: AuditStore, week: Week, catalogue: Catalogue, discovery: Discovery | None, now: datetime,
           top: int = 10) -> Weekly:
    """Everything the summary says, read from the store (one worker thread)."""
    period = week.filters()
    blocks = week.filters(decision="block")
    overall = Q.stats(store, period, "decision")
    previous = Q.stats(store, week.shifted(-1).filters(), "decision")
    categories = Q.stats(store, blocks, "category")
    departments = Q.stats(store, blocks, "department")
    services = Q.stats(store, period, "service", top)
    for g in services["groups"]:
        svc = catalogue.get(g["key"])
        g["label"] = svc.name if svc else ("(hors catalogue)" if g["key"] is None else f"{g['key']} (hors catalogue)")
    seen = hosts_seen(store, period, discovery, catalogue)
    unknown_ai = [h for h in seen.listed if h.catalogued is None]
    return Weekly(
        week=week, generated=now, by_decision=overall["by_decision"], total=overall["total"],
        previous_by_decision=previous["by_decision"],
        blocks_by_category=[(g["key"], g["count"]) for g in categories["groups"]],
        blocks_by_department=[(g["key"], g["count"]) for g in departments["groups"]],
        category_departments=Q.counts_by(store, blocks, "category", "department"),
        top_services=services["groups"], new_hosts=[h for h in unknown_ai if h.new], unknown_hosts=unknown_ai,
    )


def _dep(d: str | None) -> str:
    return d or "(non renseigné)"


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(w: Weekly) -> str:
    b, p = w.by_decision, w.previous_by_decision
    out = ["# Garde-fou — synthèse hebdomadaire pour le DPO", "",
           f"{w.week.label().capitalize()} (heure de Paris). Générée le {Q.paris(w.generated):%d/%m/%Y à %H:%M}.", "",
           "## En bref", "",
           f"- Requêtes : {w.total}",
           *(f"- {DECISION_PLURALS_FR[d].capitalize()} : {b[d]} (semaine précédente : {p[d]})" for d in DECISIONS),
           "",
           "« Bloquées » : la charte a arrêté un contenu. « Refusées (technique) » : requêtes mal formées, clés "
           "invalides ou passerelle indisponible, comptées à part.", "",
           "## Blocages par catégorie", ""]
    if w.blocks_by_category:
        out += ["| Catégorie | Blocages | Principaux départements |", "|---|---|---|"]
        for cat, n in w.blocks_by_category:
            deps = ", ".join(f"{_dep(d)} ({k})" for d, k in w.category_departments.get(cat, [])[:5])
            out.append(f"| {_md(CATEGORY_LABELS_FR.get(cat, cat))} | {n} | {_md(deps)} |")
    else:
        out.append("Aucun blocage cette semaine.")
    out += ["", "## Blocages par département", ""]
    if w.blocks_by_department:
        out += ["| Département | Blocages |", "|---|---|"]
        out += [f"| {_md(_dep(d))} | {n} |" for d, n in w.blocks_by_department]
    else:
        out.append("Aucun blocage cette semaine.")
    out += ["", "## Nouveaux services d'IA hors catalogue", ""]
    if w.new_hosts:
        out += ["| Hôte | Service | Type | Requêtes | Postes ou personnes | Départements | Première apparition |",
                "|---|---|---|---|---|---|---|"]
        for h in w.new_hosts:
            assert h.listed is not None
            deps = ", ".join(f"{_dep(d)} ({k})" for d, k in h.departments[:5])
            out.append(f"| {_md(h.host)} | {_md(h.listed.name)} | {h.listed.kind_fr} | {h.count} | {h.clients} | "
                       f"{_md(deps)} | {Q.paris(h.first_ever):%d/%m/%Y %H:%M} |")
    else:
        out.append("Aucun nouveau service d'IA hors catalogue cette semaine.")
    others = [h for h in w.unknown_hosts if not h.new]
    if others:
        out += ["", "Déjà vus les semaines précédentes et toujours utilisés : "
                + ", ".join(f"{_md(h.host)} ({h.count})" for h in others[:10]) + "."]
    out += ["", "## Services les plus utilisés", ""]
    if w.top_services:
        out += ["| Service | Requêtes | Autorisées | Avertissements | Bloquées | Refusées (technique) |",
                "|---|---|---|---|---|---|"]
        out += [f"| {_md(g['label'])} | {g['count']} | {g['allow']} | {g['warn']} | {g['block']} | {g['refuse']} |"
                for g in w.top_services]
    else:
        out.append("Aucune requête cette semaine.")
    out += ["", "---", "Garde-fou ne conserve jamais le contenu des requêtes : ces chiffres viennent du journal d'audit "
            "(types, catégories, décisions)."]
    return "\n".join(out) + "\n"


def to_html(w: Weekly) -> str:
    """A self-contained HTML file (the dashboard's stylesheet inlined, nothing fetched): to mail or archive."""
    from gateway.admin.dashboard import HERE, templates

    css = (HERE / "static" / "admin.css").read_text(encoding="utf-8")
    return templates.get_template("weekly_report.html").render(w=w, css=css)
