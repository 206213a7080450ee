"""ChatGPT (chatgpt.com): the conversation stream of ``POST /backend-api/conversation`` and
``POST /backend-api/f/conversation``.

The request is JSON (``action``, ``messages[].content.parts``, ``conversation_id``,
``parent_message_id``...). The answer is a stream of server-sent events ending with
``data: [DONE]``, in one of two encodings:

* when the request lists ``"v1"`` in ``supported_encodings`` (today's web client): an
  ``event: delta_encoding`` / ``data: "v1"`` event, then ``event: delta`` events that patch one
  message: ``{"p": "", "o": "add", "v": {"message": …, "conversation_id": …}}`` creates the
  assistant message, ``{"p": "/message/content/parts/0", "o": "append", "v": "…"}`` appends to its
  text, ``{"p": "", "o": "patch", "v": [...]}`` applies several operations (the final status);
  then ``{"type": "message_stream_complete"}``;
* otherwise (older clients): every ``data:`` event is the whole message so far,
  ``{"message": {"author": {"role": "assistant"}, "content": {"content_type": "text",
  "parts": ["…"]}, "status": …}, "conversation_id": …, "error": null}``.

Sources: the shapes that public open-source ChatGPT web clients and API bridges send and parse.
``/backend-api/f/conversation/prepare`` (a JSON call made while typing) is not a conversation
stream: it keeps the generic JSON refusal.
"""

from __future__ import annotations

import time
import uuid

from gateway.proxy.apps.base import AppReply, echo_id, request_json, sse

PATHS = frozenset({"/backend-api/conversation", "/backend-api/f/conversation"})


class ChatGPT:
    name = "chatgpt"

    def handles(self, method: str, path: str) -> bool:
        return method == "POST" and path.rstrip("/") in PATHS

    def reply(self, text: str, request: bytes) -> AppReply:
        body = request_json(request)
        conversation_id = echo_id(body.get("conversation_id")) or str(uuid.uuid4())
        messages = body.get("messages")
        last = messages[-1] if isinstance(messages, list) and messages and isinstance(messages[-1], dict) else {}
        parent = echo_id(last.get("id")) or echo_id(body.get("parent_message_id"))
        message = {
            "id": str(uuid.uuid4()),
            "author": {"role": "assistant", "name": None, "metadata": {}},
            "create_time": time.time(),
            "update_time": None,
            "content": {"content_type": "text", "parts": [text]},
            "status": "finished_successfully",
            "end_turn": True,
            "weight": 1.0,
            "metadata": {"is_complete": True, "finish_details": {"type": "stop", "stop_tokens": []},
                         "parent_id": parent, "model_slug": "gardefou"},
            "recipient": "all",
            "channel": None,
        }
        encodings = body.get("supported_encodings")
        if isinstance(encodings, list) and "v1" in encodings:
            events = _v1(message, conversation_id, text)
        else:
            events = [sse({"message": message, "conversation_id": conversation_id, "error": None})]
        events.append(sse("[DONE]"))
        return AppReply("text/event-stream; charset=utf-8", "".join(events).encode("utf-8"))


def _v1(message: dict, conversation_id: str, text: str) -> list[str]:
    """The delta encoding: the message added empty and in progress, its text appended, then finished."""
    start = {**message, "content": {"content_type": "text", "parts": [""]}, "status": "in_progress",
             "end_turn": None, "metadata": {**message["metadata"], "is_complete": False}}
    finish = [{"p": "/message/status", "o": "replace", "v": "finished_successfully"},
              {"p": "/message/end_turn", "o": "replace", "v": True},
              {"p": "/message/metadata", "o": "append", "v": {"is_complete": True, "finish_reason": "stop"}}]
    return [
        sse("v1", event="delta_encoding"),
        sse({"p": "", "o": "add", "v": {"message": start, "conversation_id": conversation_id, "error": None}, "c": 0},
            event="delta"),
        sse({"p": "/message/content/parts/0", "o": "append", "v": text}, event="delta"),
        sse({"p": "", "o": "patch", "v": finish}, event="delta"),
        sse({"type": "message_stream_complete", "conversation_id": conversation_id}),
    ]


FORMAT = ChatGPT()
