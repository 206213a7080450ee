"""What the app formats share: the reply, the request's JSON, identifiers, SSE events."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

#: an identifier the reply may echo back from the request: a UUID (with or without its hyphens), the
#: form the apps give their conversations and messages; anything else is not echoed (it could be text)
_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32}")


@dataclass(frozen=True)
class AppReply:
    content_type: str
    body: bytes


def request_json(raw: bytes) -> dict[str, Any]:
    """The request's JSON object, or {} (a reply is written whatever the request looked like)."""
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


def echo_id(value: Any) -> str | None:
    """An identifier of the request, fit to echo back (a UUID), else None."""
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def sse(data: Any, event: str | None = None) -> str:
    """One server-sent event (``data`` a JSON value, or a literal string such as ``[DONE]``)."""
    payload = data if isinstance(data, str) and data == "[DONE]" else dumps(data)
    return (f"event: {event}\n" if event else "") + f"data: {payload}\n\n"


