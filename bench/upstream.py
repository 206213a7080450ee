"""A lean fake AI provider for the benchmarks: OpenAI chat completions over HTTP/1.1 keep-alive.

    python -m bench.upstream --port 9100 [--latency-ms 0] [--first-token-ms 0] [--stream-ms 0] [--chunks 20]

Unlike the tests' provider (gateway/testing/provider.py, which records every request), it keeps
nothing and costs a few tens of microseconds per request, so that "direct" measures the network
stack and not the fake. A non-streamed request is answered after ``--latency-ms``; a request with
``"stream": true`` gets its first SSE chunk after ``--first-token-ms`` and the rest spread over
``--stream-ms``, then ``data: [DONE]``. Every answer carries ``usage``. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json

ANSWER = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "bench",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "Voici une proposition de reformulation."}}],
    "usage": {"prompt_tokens": 60, "completion_tokens": 8, "total_tokens": 68},
}).encode()


def _chunk(i: int, last: bool) -> bytes:
    delta = {} if last else {"content": f"mot{i} "}
    event = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": "bench",
             "choices": [{"index": 0, "delta": delta, "finish_reason": "stop" if last else None}]}
    if last:
        event["usage"] = {"prompt_tokens": 60, "completion_tokens": i, "total_tokens": 60 + i}
    data = b"data: " + json.dumps(event).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


class Upstream(asyncio.Protocol):
    """One connection: parse requests (Content-Length or chunked bodies), answer in order."""

    def __init__(self, opts: argparse.Namespace):
        self.opts = opts
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.worker: asyncio.Task | None = None

    def connection_made(self, transport):  # type: ignore[override]
        self.transport = transport
        self.worker = asyncio.get_running_loop().create_task(self.serve())

    def connection_lost(self, exc):
        self.queue.put_nowait(None)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].lower()
            rest = self.buf[end + 4:]
            if b"transfer-encoding: chunked" in head:
                body, used = _dechunk(rest)
                if body is None:
                    return
            else:
                length = 0
                for line in head.split(b"\r\n"):
                    if line.startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if len(rest) < length:
                    return
                body, used = rest[:length], length
            self.buf = rest[used:]
            self.queue.put_nowait(body)

    async def serve(self) -> None:
        while (body := await self.queue.get()) is not None:
            assert self.transport is not None
            stream = b'"stream": true' in body or b'"stream":true' in body
            if not stream:
                if self.opts.latency_ms:
                    await asyncio.sleep(self.opts.latency_ms / 1000)
                self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                                     % (len(ANSWER), ANSWER))
                continue
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                                 b"transfer-encoding: chunked\r\n\r\n")
            if self.opts.first_token_ms:
                await asyncio.sleep(self.opts.first_token_ms / 1000)
            n = self.opts.chunks
            gap = self.opts.stream_ms / 1000 / max(1, n)
            for i in range(n):
                if i and gap:
                    await asyncio.sleep(gap)
                if self.transport.is_closing():
                    return
                self.transport.write(_chunk(i, last=False))
            done = b"data: [DONE]\n\n"
            self.transport.write(_chunk(n, last=True) + b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))


def _dechunk(data: bytes) -> tuple[bytes | None, int]:
    out, pos = [], 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return None, 0
        size = int(data[pos:eol].split(b";")[0], 16)
        start = eol + 2
        if len(data) < start + size + 2:
            return None, 0
        out.append(data[start:start + size])
        pos = start + size + 2
        if size == 0:
            return b"".join(out), pos


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--first-token-ms", type=float, default=0.0)
    ap.add_argument("--stream-ms", type=float, default=0.0)
    ap.add_argument("--chunks", type=int, default=20)
    opts = ap.parse_args(argv)
    async def run():
        server = await asyncio.get_running_loop().create_server(lambda: Upstream(opts), "127.0.0.1", opts.port,
                                                                backlog=1024)
        print("ready", flush=True)
        await server.serve_forever()

    try:
        import uvloop
    except ImportError:
        asyncio.run(run())
    else:
        uvloop.run(run())


if __name__ == "__main__":
    main()
