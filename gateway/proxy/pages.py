"""What a person sees on the browser path: French pages for navigations, JSON for the apps' own calls.

Pages name the categories found, never the values; they are served on the app's own origin (the
proxy answers in its place), so they carry no script and a strict Content-Security-Policy. Their
sentences about the institution (whom to contact, the charter, the internal tool) come from the
request's pipeline (``policies.messages.Messages``), so a reload changes them for new requests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from policies.decision import Decision
from policies.messages import Messages
from policies.vocabulary import CATEGORY_LABELS_FR

if TYPE_CHECKING:
    from gateway.charter import CharterGate

HERE = Path(__file__).parent

#: the path, on every inspected host, that « Continuer » posts to (answered by the proxy itself)
ACK_PATH = "/__gardefou/continuer"

#: the path, on every inspected host, that « J'accepte » (the charter) posts to
CHARTER_PATH = "/__gardefou/charte"

CHARTER_HINT_FR = (" Ouvrez ce service dans un onglet du navigateur : la charte s'affiche, lisez-la et cliquez "
                   "sur « J'accepte », puis renvoyez votre message.")

PAGE_HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
JSON_HEADERS = {"content-type": "application/json; charset=utf-8", "cache-control": "no-store"}


def is_navigation(headers) -> bool:
    """A page the person asked for (as opposed to the app's own API calls)."""
    return headers.get("sec-fetch-mode", "") == "navigate" or "text/html" in headers.get("accept", "")


class Pages:
    def __init__(self, ack_minutes: int):
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
        self.ack_minutes = ack_minutes

    def _render(self, name: str, messages: Messages, **context: Any) -> bytes:
        return self.env.get_template(name).render(internal_tools=messages.tools, contact=messages.contact(),
                                                  charter_url=messages.charter_url, **context).encode("utf-8")

    # ``notice``: a banner above the page (a long conversation: start a new one)
    def block(self, messages: Messages, service_name: str, decision: Decision, audit_id: str,
              notice: str | None = None) -> bytes:
        found = decision.blocked_categories or tuple(c for c in decision.categories)
        return self._render("block.html", messages, service_name=service_name, audit_id=audit_id,
                            reasons=decision.reasons, categories=[CATEGORY_LABELS_FR.get(c, c) for c in found],
                            notice=notice)

    def warning(self, messages: Messages, service_name: str, decision: Decision, audit_id: str, token: str,
                return_to: str, notice: str | None = None) -> bytes:
        return self._render("warning.html", messages, service_name=service_name, audit_id=audit_id,
                            reasons=decision.reasons, token=token, return_to=return_to, ack_path=ACK_PATH,
                            minutes=self.ack_minutes, notice=notice)

    def charter(self, messages: Messages, charter: CharterGate, service_name: str, audit_id: str, token: str,
                return_to: str) -> bytes:
        """The interstitial of a first use: the charter (its text, its link) and « J'accepte »."""
        paragraphs = [p.strip() for p in (charter.text or "").split("\n\n") if p.strip()]
        return self._render("charter_ack.html", messages, title=charter.title, version=charter.version,
                            url=charter.url, paragraphs=paragraphs, service_name=service_name, audit_id=audit_id,
                            token=token, return_to=return_to, accept_path=CHARTER_PATH)

    def refused(self, messages: Messages, message: str, audit_id: str | None, notice: str | None = None) -> bytes:
        return self._render("refused.html", messages, message=message, audit_id=audit_id, notice=notice,
                            contact_if_persists=messages.contact("Si le problème persiste"))


def json_error(body: dict, audit_id: str | None) -> bytes:
    if audit_id and isinstance(body.get("error"), dict):
        body["error"]["audit_id"] = audit_id
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def safe_return_path(value: str | None) -> str:
    """Where « Continuer » goes back to: a path on the same host only (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or any(
            ord(c) < 32 for c in value):
        return "/"
    return value
