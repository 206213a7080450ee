"""Shadow-AI discovery as the DPO reads it: the AI hosts outside the catalogue that the browser proxy
saw (volume, clients, departments, first and last seen), and catalogue entries drafted from them.

A draft is a YAML file written under ``discovery.drafts_dir`` for a person to review: nothing is ever
applied to the configuration. Its values are conservative (hosted outside the EU, training on inputs,
``status: denied``) until someone who knows the contract says otherwise.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from gateway.audit import AuditStore
from gateway.audit import query as Q
from policies.catalogue import Catalogue, Service, parse_host_entry
from policies.discovery import Discovery, ListedService


@dataclass
class HostSeen:
    """One destination outside the catalogue, over a period."""

    host: str
    listed: ListedService | None
    #: the catalogue entry that covers this host now (it was added after these records)
    catalogued: Service | None
    count: int
    by_decision: dict[str, int]
    clients: int
    departments: list[tuple[str | None, int]]
    first_seen: datetime
    last_seen: datetime
    first_ever: datetime
    #: first seen (ever, in the records kept) within the period
    new: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "listed_service": None if self.listed is None else {
                "id": self.listed.id, "name": self.listed.name, "kind": self.listed.kind, "kind_label": self.listed.kind_fr},
            "catalogued_as": self.catalogued.id if self.catalogued else None,
            "count": self.count, "by_decision": self.by_decision, "clients": self.clients,
            "departments": [{"department": d, "count": n} for d, n in self.departments],
            "first_seen": Q.iso(self.first_seen), "last_seen": Q.iso(self.last_seen),
            "first_ever": Q.iso(self.first_ever), "new": self.new,
        }


def split_host(value: str) -> tuple[str, int]:
    """``host`` or ``host:port`` as recorded (a default port is not written: 443, what a CONNECT uses)."""
    name, sep, port = value.rpartition(":")
    if sep and port.isdigit() and "]" not in port:
        return name, int(port)
    return value, 443


@dataclass
class DiscoveryView:
    hosts: list[HostSeen] = field(default_factory=list)

    @property
    def listed(self) -> list[HostSeen]:
        return [h for h in self.hosts if h.listed is not None]

    @property
    def unlisted(self) -> list[HostSeen]:
        return [h for h in self.hosts if h.listed is None]


def hosts_seen(store: AuditStore, filters: Q.Filters, discovery: Discovery | None, catalogue: Catalogue) -> DiscoveryView:
    """Every destination outside the catalogue in the period, most used first, matched to the discovery
    list (``listed``) and to the catalogue as it is now (``catalogued``)."""
    view = DiscoveryView()
    for row in Q.unknown_hosts(store, filters):
        name, port = split_host(row["host"])
        listed = discovery.by_host(name, port) if discovery is not None else None
        new = (filters.since is None or row["first_ever"] >= filters.since) and \
            (filters.until is None or row["first_ever"] < filters.until)
        view.hosts.append(HostSeen(row["host"], listed, catalogue.by_host(name, port), row["count"], row["by_decision"],
                                   row["clients"], row["departments"], row["first_seen"], row["last_seen"],
                                   row["first_ever"], new))
    return view


# -- drafts ---------------------------------------------------------------------------------------

class DraftError(Exception):
    """A draft that was not written; the message is in French, for the page."""


_SLUG = re.compile(r"[^a-z0-9]+")


def _host_id(host: str) -> str:
    return _SLUG.sub("-", host.lower()).strip("-")[:60] or "service"


def draft_entry(host: str, discovery: Discovery | None, catalogue: Catalogue) -> tuple[dict[str, Any], str]:
    """The catalogue entry proposed for ``host`` and what it is: ``nouveau service`` or an existing
    service's hosts completed. Raises ``DraftError`` when there is nothing to draft."""
    try:
        pattern = parse_host_entry(host)
    except ValueError:
        raise DraftError(f"« {host} » n'est pas un nom d'hôte valide.") from None
    name, port = split_host(host)
    if catalogue.by_host(name, port) is not None:
        raise DraftError(f"L'hôte « {host} » est déjà couvert par le catalogue : il n'y a rien à préparer.")
    taken = {h for svc in catalogue.services.values() for h in svc.hosts}
    listed = discovery.by_host(name, port) if discovery is not None else None
    hosts = [h for h in listed.hosts if h not in taken] if listed is not None else [str(pattern)]
    if listed is not None and listed.id in catalogue.services:
        existing = catalogue.services[listed.id]
        entry: dict[str, Any] = {"id": existing.id, "hosts": [*existing.hosts, *hosts]}
        what = f"hôtes ajoutés au service « {existing.name} » du catalogue"
    else:
        sid = listed.id if listed is not None else _host_id(name)
        if sid in catalogue.services:
            sid = f"{sid}-{_host_id(name)}"[:64]
        entry = {"id": sid, "name": listed.name if listed is not None else name, "hosts": hosts,
                 "hosting": "non-eu", "trains_on_inputs": True, "contract": None, "hds": False, "status": "denied",
                 "governance": {"purpose": None, "ai_act_risk": None, "dpia": "to_do", "validated_by": None,
                              "validated_on": None, "reviewed_on": None}}
        what = "nouveau service"
    merged = {**catalogue.services[entry["id"]].model_dump(), **entry} if entry["id"] in catalogue.services else entry
    Service(**merged)  # a draft the configuration would refuse is a bug here, not the reviewer's problem
    return entry, what


def write_draft(directory: str | Path, host: str, seen: HostSeen | None, discovery: Discovery | None,
                catalogue: Catalogue, author: str, now: datetime) -> Path:
    """Write the draft for ``host`` as ``DIRECTORY/ID.yaml`` (never over an existing file) and return its path."""
    entry, what = draft_entry(host, discovery, catalogue)
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o750)
    except OSError as exc:
        raise DraftError(f"Impossible de créer le dossier des brouillons {directory} : {exc.strerror}.") from None
    path = directory / f"{entry['id']}.yaml"
    local = Q.paris(now)
    lines = [
        f"# Brouillon de fiche catalogue préparé par Garde-fou le {local:%d/%m/%Y à %H:%M} (heure de Paris) par {author},",
        "# depuis la page « IA hors catalogue » du tableau de bord.",
        f"# Hôte vu : {host}" + (f" — {seen.count} requête(s), {seen.clients} poste(s) ou personne(s), du "
                                 f"{Q.paris(seen.first_seen):%d/%m/%Y} au {Q.paris(seen.last_seen):%d/%m/%Y}." if seen else "."),
    ]
    if discovery is not None:
        listed = discovery.by_host(*split_host(host))
        if listed is not None:
            lines.append(f"# Liste des services d'IA (du {discovery.date:%d/%m/%Y}) : « {listed.name} », {listed.kind_fr}.")
    lines += [
        f"# Nature : {what}.",
        "# RIEN N'EST APPLIQUÉ. Vérifiez chaque valeur (hébergement, entraînement sur les données, contrat, HDS,",
        "# statut ; les valeurs proposées sont les plus prudentes), complétez le registre (finalité, niveau de",
        "# risque AI Act, AIPD, validation), puis copiez l'entrée sous « services: » dans la configuration et",
        "# vérifiez-la avec : gardefou check-config FICHIER",
        "",
    ]
    text = "\n".join(lines) + yaml.safe_dump({"services": [entry]}, sort_keys=False, allow_unicode=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    except FileExistsError:
        raise DraftError(f"Un brouillon existe déjà pour ce service : {path}. Relisez-le ou supprimez-le "
                         "avant d'en préparer un autre.") from None
    except OSError as exc:
        raise DraftError(f"Impossible d'écrire le brouillon {path} : {exc.strerror}.") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
