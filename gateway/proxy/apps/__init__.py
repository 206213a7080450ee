"""AI web apps whose own streaming reply the browser proxy can write, so that a refusal shows up
*in the conversation* instead of as an error the app does not explain.

A service of the catalogue names its app (``web_app: chatgpt | lechat | claude``; the built-in
``openai``, ``mistral`` and ``anthropic`` entries do). When one of that app's conversation requests
(``AppFormat.handles``: the method and the path) is blocked, needs an acknowledgement or is refused,
the proxy answers with a stream in the app's format whose assistant message is the French
explanation (``conversation_text``: the categories found, never a value; what to do; the audit id).

Every other request of the service, and every service without a ``web_app``, keeps the generic
answers (a French page for a navigation, the JSON 403 for the app's other calls).

The answer is an HTTP 200: the apps render a conversation stream only from a successful response
(an error status makes them show their own generic error, without the explanation). What was
decided travels in ``X-Gardefou-Decision`` and ``X-Gardefou-Audit-Id``, and the audit record keeps
the refusal's own status (403). Nothing of the request is echoed back but identifiers the app itself
generated (conversation and message ids), so that the app can attach the reply to its conversation.

Each app's format lives in one small module (``chatgpt``, ``lechat``, ``claude``), with a sample
request and answer of that app under ``tests/fixtures/apps/`` as its test fixture.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from gateway.proxy.apps import chatgpt, claude, lechat
from gateway.proxy.apps.base import AppReply
from policies.catalogue import Service
from policies.decision import Decision, labels_fr


class AppFormat(Protocol):
    name: str

    def handles(self, method: str, path: str) -> bool:
        """Whether a request is one of the app's conversation requests (a path without its query)."""
        ...

    def reply(self, text: str, request: bytes) -> AppReply:
        """The app's own streaming answer whose assistant message is ``text``."""
        ...


#: ``Service.web_app`` -> its format
FORMATS: dict[str, AppFormat] = {"chatgpt": chatgpt.FORMAT, "lechat": lechat.FORMAT, "claude": claude.FORMAT}


def for_request(service: Service | None, method: str, path: str) -> AppFormat | None:
    """The app format to answer this request in, or None (the generic answers)."""
    if service is None or service.web_app is None:
        return None
    fmt = FORMATS.get(service.web_app)
    if fmt is None or not fmt.handles(method.upper(), path.split("?", 1)[0]):
        return None
    return fmt


def conversation_text(code: str | None, service_name: str, decision: Decision, message: str | None,
                      audit_id: str | None, internal_tools: Sequence[Mapping[str, str | None]]) -> str:
    """What the person reads in the app's conversation, in French (Markdown: the three apps render it).

    It names categories (from the decision), never a value: nothing of the request is quoted."""
    tools = ", ".join(f"{t['name']} ({t['url']})" if t.get("url") else str(t["name"]) for t in internal_tools)
    ref = (f"\n\nRéférence de la décision : `{audit_id}` (à communiquer au DPO ou à la DSN)."
           if audit_id else "")
    if code == "gardefou_blocked":
        found = decision.blocked_categories or decision.categories
        lines = [f"**Garde-fou a bloqué ce message** : il n'a pas été envoyé à « {service_name} »."]
        if found:
            lines.append(f"Ce qui a été trouvé : {labels_fr(found)}. Seule la nature des éléments est indiquée ; "
                         "leur contenu n'est ni affiché ni conservé.")
        lines.extend(decision.reasons)
        todo = "Que faire : retirez de votre texte ou de vos fichiers les éléments signalés, puis réessayez"
        todo += f" ; ou utilisez l'outil interne de l'établissement : {tools}." if tools else "."
        lines.append(todo + " En cas de doute, contactez le délégué à la protection des données (DPO) ou la DSN.")
        return "\n\n".join(lines) + ref
    if code == "gardefou_ack_required":
        lines = [f"**Garde-fou : avertissement avant d'utiliser « {service_name} »** — votre message n'a pas "
                 "encore été envoyé.", *decision.reasons,
                 "Pour continuer, rechargez la page de ce service (ou ouvrez-le dans un nouvel onglet) et "
                 "confirmez l'avertissement de Garde-fou avec le bouton « Continuer », puis renvoyez votre message. "
                 "N'y envoyez aucune donnée personnelle ou de santé, aucune information interne."]
        if tools:
            lines.append(f"Préférez l'outil interne de l'établissement : {tools}.")
        return "\n\n".join(lines) + ref
    return f"**Garde-fou n'a pas transmis ce message.** {message or ''}".rstrip() + ref


__all__ = ["FORMATS", "AppFormat", "AppReply", "conversation_text", "for_request"]
