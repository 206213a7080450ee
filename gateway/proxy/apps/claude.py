"""Claude (claude.ai): the answer stream of
``POST /api/organizations/{org}/chat_conversations/{conversation}/completion`` (and
``…/retry_completion``).

The request is JSON (``prompt``, ``parent_message_uuid``, ``attachments``, ``files``,
``rendering_mode``...). The answer is a stream of server-sent events, in one of two forms:

* when the request says ``"rendering_mode": "messages"`` (today's web client): the Messages API's
  events, ``message_start`` (an assistant message, empty), ``content_block_start`` (a ``text``
  block), ``content_block_delta`` (``{"type": "text_delta", "text": …}``), ``content_block_stop``,
  ``message_delta`` (``stop_reason``), ``message_limit``, ``message_stop``;
* otherwise (older clients): ``completion`` events, ``{"type": "completion", "completion": "…",
  "stop_reason": null | "stop_sequence", …}``, each carrying the next piece of text.

Sources: the shapes that public open-source claude.ai clients send and parse.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from gateway.proxy.apps.base import AppReply, echo_id, request_json, sse

_PATH = re.compile(r"/api/organizations/[^/]+/chat_conversations/[^/]+/(?:completion|retry_completion)")


class Claude:
    name = "claude"

    def handles(self, method: str, path: str) -> bool:
        return method == "POST" and _PATH.fullmatch(path.rstrip("/")) is not None

    def reply(self, text: str, request: bytes) -> AppReply:
        body = request_json(request)
        if body.get("rendering_mode") != "messages":
            events = [
                sse({"type": "completion", "completion": text, "stop_reason": None, "model": "", "stop": None,
                     "log_id": uuid.uuid4().hex, "messageLimit": {"type": "within_limit"}}, event="completion"),
                sse({"type": "completion", "completion": "", "stop_reason": "stop_sequence", "model": "",
                     "stop": None, "log_id": uuid.uuid4().hex, "messageLimit": {"type": "within_limit"}},
                    event="completion"),
            ]
            return AppReply("text/event-stream; charset=utf-8", "".join(events).encode("utf-8"))
        message: dict[str, Any] = {
            "id": "chatcompl_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant", "model": "",
            "parent_uuid": echo_id(body.get("parent_message_uuid")), "uuid": str(uuid.uuid4()),
            "content": [], "stop_reason": None, "stop_sequence": None}
        events = [
            sse({"type": "message_start", "message": message}, event="message_start"),
            sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "", "citations": []}},
                event="content_block_start"),
            sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
                event="content_block_delta"),
            sse({"type": "content_block_stop", "index": 0}, event="content_block_stop"),
            sse({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}},
                event="message_delta"),
            sse({"type": "message_limit", "message_limit": {"type": "within_limit"}}, event="message_limit"),
            sse({"type": "message_stop"}, event="message_stop"),
        ]
        return AppReply("text/event-stream; charset=utf-8", "".join(events).encode("utf-8"))


FORMAT = Claude()
