"""AI web apps whose own streaming reply the browser proxy can write, so that a refusal shows up
*in the conversation* instead of as an error the app does not explain.

A service of the catalogue names its app (``web_app: chatgpt | lechat | claude``; the built-in
``openai``, ``mistral`` and ``anthropic`` entries do). When one of that app's conversation requests
(``AppFormat.handles``: the method and the path) is blocked, needs an acknowledgement or is refused,
the proxy answers with a stream in the app's format whose assistant message is the French
explanation (``conversation_text``: the categories found, never a value; what to do, whom to contact;
the audit id).

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

from typing import Protocol

from gateway.proxy.apps import chatgpt, claude, lechat
from gateway.proxy.apps.base import AppReply
from policies.catalogue import Service
from policies.decision import Decision
from policies.messages import Messages


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
                      audit_id: str | None, messages: Messages) -> str:
    """What the person reads in the app's conversation, in French (Markdown: the three apps render it),
    composed by ``Messages.conversation`` with the institution's contact, charter and internal tool.
    It names categories (from the decision), never a value: nothing of the request is quoted."""
    return messages.conversation(code, service_name, decision, message, audit_id)


__all__ = ["FORMATS", "AppFormat", "AppReply", "conversation_text", "for_request"]
