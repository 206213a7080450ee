"""Shadow-AI discovery: the generative-AI hosts Garde-fou recognises outside the catalogue, as data.

The list (``policies/ai_hosts.yaml``, or a newer file named by ``discovery.hosts_file``) maps hosts to
the AI service they belong to, with the list's date and sources. On the browser path the PAC sends
these hosts to the proxy too, and a request to one that no catalogue entry covers is decided as an
unknown service (``policy.unknown_service``) instead of going ``DIRECT`` unseen. The catalogue always
wins: a listed host that a catalogue entry covers is that entry's service.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from policies.catalogue import HostEntry, HostPattern, parse_host_entry

BUNDLED = Path(__file__).with_name("ai_hosts.yaml")

#: What an AI service of the list does.
Kind = Literal["chat", "writing", "translation", "transcription", "voice", "image", "video", "code", "clinical"]
KINDS: tuple[str, ...] = get_args(Kind)
KIND_LABELS_FR = {
    "chat": "assistant conversationnel",
    "writing": "rédaction",
    "translation": "traduction",
    "transcription": "transcription",
    "voice": "synthèse vocale",
    "image": "image",
    "video": "vidéo",
    "code": "assistant de code",
    "clinical": "assistant clinique",
}


class ListedService(BaseModel):
    """One AI service of the list: an id (also the id a drafted catalogue entry gets), its name, what it
    does and its hosts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str = Field(min_length=1, max_length=120)
    kind: Kind
    hosts: tuple[HostEntry, ...] = Field(min_length=1)

    @property
    def kind_fr(self) -> str:
        return KIND_LABELS_FR[self.kind]


class AiHostList(BaseModel):
    """The list as a file holds it: its date, its sources, its services."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: date
    sources: tuple[str, ...] = Field(min_length=1)
    services: tuple[ListedService, ...] = Field(min_length=1)

    @field_validator("services")
    @classmethod
    def _distinct(cls, services: tuple[ListedService, ...]) -> tuple[ListedService, ...]:
        ids: set[str] = set()
        owner: dict[str, str] = {}
        for s in services:
            if s.id in ids:
                raise ValueError(f"service {s.id!r} is listed twice")
            ids.add(s.id)
            for h in s.hosts:
                other = owner.setdefault(h, s.id)
                if other != s.id:
                    raise ValueError(f"host {h!r} is listed by {other!r} and {s.id!r}")
        return services


class Discovery:
    """The loaded list, ready to match hosts (most specific entry first, as the catalogue does)."""

    def __init__(self, data: AiHostList, source: str):
        self.data = data
        #: where the list was read from (``bundled`` or the configured file), for the pages and the API
        self.source = source
        self.by_id = {s.id: s for s in data.services}
        self.patterns: list[tuple[HostPattern, ListedService]] = sorted(
            ((parse_host_entry(h), s) for s in data.services for h in s.hosts),
            key=lambda item: (item[0].wildcard, item[0].port is None, -len(item[0].name)))

    @property
    def date(self) -> date:
        return self.data.date

    def by_host(self, host: str, port: int | None = None) -> ListedService | None:
        """The listed service a host (and port) belongs to, or None."""
        host = host.lower().rstrip(".")
        for pattern, service in self.patterns:
            if pattern.matches(host, port):
                return service
        return None

    def summary(self) -> dict:
        return {"date": self.data.date.isoformat(), "sources": list(self.data.sources), "source": self.source,
                "services": len(self.data.services), "hosts": len(self.patterns)}


class DiscoveryListError(ValueError):
    """A list file that cannot be used; the message names the file, and the entry when it can."""


def parse_list(text: str, source: str) -> AiHostList:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        raise DiscoveryListError(f"{source}:{where} invalid YAML") from None
    try:
        return AiHostList.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        raise DiscoveryListError(f"{source}: {loc}: {err['msg'].removeprefix('Value error, ')}") from None


@cache
def _bundled() -> Discovery:
    return Discovery(parse_list(BUNDLED.read_text(encoding="utf-8"), str(BUNDLED)), "bundled")


def load_discovery(hosts_file: str | None = None) -> Discovery:
    """The configured list file, or the bundled one (read once per process)."""
    if hosts_file is None:
        return _bundled()
    path = Path(hosts_file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DiscoveryListError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DiscoveryListError(f"{path} is not UTF-8 text") from None
    return Discovery(parse_list(text, str(path)), str(path))
