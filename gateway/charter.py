"""The institution's charter, accepted before first use: once per person on the browser path, once per
client key on the API path, and again whenever its version changes (configuration key ``charter``;
none by default: nothing to accept).

Who accepted is the *subject*: ``client:ID`` for a client known by its key (API key, or the proxy
credential of the browser path: the same key is the same person on both paths), ``adresse:IP`` for a
client known only by its address. An acceptance is a row of ``charter_acceptances`` (who, when, which
version, through which ingress, how); once read from the store it is kept in this process's memory,
so the check costs a set lookup per request (a miss reads the store: an acceptance made through
another gateway process counts at once).

How a person accepts is the ingress's wording: the browser path shows an interstitial with
« J'accepte » (``gateway/proxy``); on the API a script either posts once to ``/gardefou/charte``
with its key, or sends the ``X-Gardefou-Charter-Accept: VERSION`` header (``gateway/server.py``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gateway.config import CharterConfig

if TYPE_CHECKING:
    from gateway.audit import AuditStore
    from gateway.pipeline import Client

log = logging.getLogger("gardefou.charter")

#: the request header by which an API client accepts the current version
ACCEPT_HEADER = "x-gardefou-charter-accept"
#: the API listener's page of the charter (GET) and its acceptance (POST)
API_PATH = "/gardefou/charte"

MAX_CACHED = 100_000


def subject_of(client: Client) -> str:
    """Who accepts: the client's id when its key named it, else its address."""
    if client.id:
        return f"client:{client.id}"[:200]
    return f"adresse:{client.addr or '?'}"[:200]


class CharterGate:
    def __init__(self, config: CharterConfig, store: AuditStore):
        self.version = config.version
        self.title = config.title
        self.url = config.url
        self.text = config.text
        self.store = store
        self._accepted: set[str] = set()

    def required_fr(self) -> str:
        """Why the request was not forwarded (each ingress adds how to accept)."""
        where = f" : {self.url}" if self.url else ""
        return (f"Avant d'utiliser les services d'IA, vous devez lire et accepter la {self.title.lower()} de "
                f"l'établissement (version {self.version}){where}. La requête n'a pas été transmise.")

    def remembers(self, subject: str) -> bool:
        """Whether this process already knows that ``subject`` accepted the current version."""
        return subject in self._accepted

    def accepted(self, subject: str) -> bool:
        """Whether ``subject`` accepted the current version (the store is read on a miss: call it off
        the event loop; raises ``AuditError`` when the store fails)."""
        if subject in self._accepted:
            return True
        if self.store.has_accepted(subject, self.version):
            self._remember(subject)
            return True
        return False

    def accept(self, client: Client, channel: str, method: str, audit_id: str | None = None) -> bool:
        """Record the acceptance of the current version (True if it is the subject's first); raises
        ``AuditError`` when it cannot be recorded (nothing is then granted)."""
        from gateway.pipeline import _address, _clip

        subject = subject_of(client)
        new = self.store.record_acceptance({
            "subject": subject, "client_id": _clip(client.id, 128), "department": _clip(client.department, 128),
            "client_addr": _address(client.addr), "version": self.version, "channel": channel, "method": method,
            "audit_id": audit_id,
        })
        self._remember(subject)
        return new

    def _remember(self, subject: str) -> None:
        if len(self._accepted) >= MAX_CACHED:  # forgetting only costs a read of the store
            self._accepted.clear()
        self._accepted.add(subject)
