"""A real local HTTP server standing in for the AI providers (OpenAI and Anthropic wire formats).

It records every request it receives, so tests can prove that blocked prompts never reached it and
that allowed ones arrived intact. Behaviour is chosen by the upstream model name:
``fail-500`` answers 500, ``slow`` sleeps past the gateway's timeout, ``gated`` streams a first chunk
then waits for ``release`` before sending the rest.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict | None


@dataclass
class FakeProvider:
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def clear(self) -> None:
        self.received.clear()

    def bodies_text(self) -> str:
        return json.dumps([r.body for r in self.received], ensure_ascii=False)


def _chat(model: str) -> dict:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Réponse du fournisseur."}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }


def _anthropic(model: str) -> dict:
    return {
        "id": "msg_1", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": "Réponse du fournisseur."}],
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 3},
    }


def _openai_stream(model: str, include_usage: bool = False) -> list[bytes]:
    """Chat completion chunks; with ``stream_options.include_usage`` a last chunk carries the usage
    (no choices), as OpenAI and Mistral send it."""
    chunks = []
    for i, piece in enumerate(["Réponse ", "du ", "fournisseur."]):
        delta = {"content": piece} if i else {"role": "assistant", "content": piece}
        ev = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
              "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        chunks.append(f"data: {json.dumps(ev)}\n\n".encode())
    if include_usage:
        ev = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": [],
              "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}}
        chunks.append(f"data: {json.dumps(ev)}\n\n".encode())
    chunks.append(b"data: [DONE]\n\n")
    return chunks


def _anthropic_stream(model: str) -> list[bytes]:
    # as Anthropic streams it: the input count first, the final output count in message_delta
    msg = _anthropic(model) | {"content": [], "stop_reason": None, "usage": {"input_tokens": 5, "output_tokens": 1}}
    events = [
        ("message_start", {"type": "message_start", "message": msg}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Réponse "}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "du fournisseur."}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": 3}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]


def _response_for(path: str, body: dict) -> dict:
    model = body.get("model", "")
    if path.endswith("/messages"):
        return _anthropic(model)
    if path.endswith("/messages/count_tokens"):
        return {"input_tokens": 5}
    if path.endswith("/chat/completions"):
        return _chat(model)
    if path.endswith("/completions"):
        return {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": model,
                "choices": [{"index": 0, "text": "suite", "finish_reason": "stop", "logprobs": None}]}
    if path.endswith("/embeddings"):
        n = len(body["input"]) if isinstance(body.get("input"), list) else 1
        return {"object": "list", "model": model, "usage": {"prompt_tokens": 1, "total_tokens": 1},
                "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(n)]}
    if path.endswith("/responses"):
        return {"id": "resp_1", "object": "response", "created_at": 1, "model": model, "status": "completed",
                "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                            "content": [{"type": "output_text", "text": "Réponse du fournisseur.", "annotations": []}]}],
                "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
                "usage": {"input_tokens": 9, "output_tokens": 4, "total_tokens": 13}}
    return {"ok": True}


def start_fake_provider() -> FakeProvider:
    holder: dict = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args):  # keep test output clean
            pass

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            fake: FakeProvider = holder["fake"]
            fake.received.append(Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            body = body or {}
            model = str(body.get("model", ""))
            if model == "fail-500":
                return self._send(500, {"error": {"message": "boom"}})
            if model == "slow":
                time.sleep(3)
                return self._send(200, _chat(model))
            if body.get("stream") or model == "gated":
                options = body.get("stream_options")
                include_usage = isinstance(options, dict) and options.get("include_usage") is True
                chunks = _anthropic_stream(model) if self.path.endswith("/messages") else \
                    _openai_stream(model, include_usage)
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for i, chunk in enumerate(chunks):
                    if model == "gated" and i == 1:
                        fake.release.wait(10)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                return None
            return self._send(200, _response_for(self.path, body))

        def _send(self, status: int, payload: dict):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("x-request-id", "req-fake-1")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake = FakeProvider(server)
    holder["fake"] = fake
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake
