"""Le Chat (chat.mistral.ai): the answer stream of ``POST /api/chat``.

The request is JSON (``chatId``, ``mode``, ``messageId``, ``messageInput`` as a string or as
``[{"type": "text", "text": …}]``...). The answer is a line protocol, one record per line,
``CODE:JSON``, in one of two forms:

* when the request says ``"shouldUseMessagePatch": true`` (today's clients): ``15:`` records carrying
  ``{"json": {"type": "message", "messageId": …, "messageVersion": 0, "patches": [...]}}``, JSON
  patches on the assistant message: ``replace /`` creates it (``role: assistant``,
  ``generationStatus: in-progress``), ``replace /contentChunks`` sets its text chunks
  (``[{"type": "text", "text": …}]``), ``replace /generationStatus`` with ``success`` ends it; an
  ``8:null`` record closes the stream;
* otherwise (older clients): ``0:`` records, each a JSON string appended to the answer.

Sources: the shapes that public open-source Le Chat clients send and parse.
"""

from __future__ import annotations

import time
import uuid

from gateway.proxy.apps.base import AppReply, dumps, echo_id, request_json

PATHS = frozenset({"/api/chat"})


class LeChat:
    name = "lechat"

    def handles(self, method: str, path: str) -> bool:
        return method == "POST" and path.rstrip("/") in PATHS

    def reply(self, text: str, request: bytes) -> AppReply:
        body = request_json(request)
        if body.get("shouldUseMessagePatch") is not True:
            return AppReply("text/plain; charset=utf-8", f"0:{dumps(text)}\n".encode())
        message_id = str(uuid.uuid4())
        chat_id = echo_id(body.get("chatId"))
        parent = echo_id(body.get("messageId"))

        def record(patches: list[dict]) -> str:
            return "15:" + dumps({"json": {"type": "message", "messageId": message_id, "messageVersion": 0,
                                           "patches": patches}}) + "\n"

        created = {"id": message_id, "version": 0, "role": "assistant", "chatId": chat_id, "parentId": parent,
                   "parentVersion": 0, "generationStatus": "in-progress", "content": "",
                   "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}
        lines = [
            record([{"op": "replace", "path": "/", "value": created}]),
            record([{"op": "replace", "path": "/contentChunks", "value": [{"type": "text", "text": text}]}]),
            record([{"op": "replace", "path": "/generationStatus", "value": "success"}]),
            "8:null\n",
        ]
        return AppReply("text/plain; charset=utf-8", "".join(lines).encode("utf-8"))


FORMAT = LeChat()
