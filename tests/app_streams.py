"""The AI web apps' answer streams read the way their clients read them (test side, written apart
from ``gateway/proxy/apps/``): each reader returns the text of the assistant message the app would
show, and fails on a stream the app would not accept (missing end, wrong structure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "apps"


def fixture(app: str, name: str) -> str:
    return (FIXTURES / app / name).read_text(encoding="utf-8")


def sse_events(body: str) -> list[tuple[str | None, str]]:
    """(event name, data) of each server-sent event (data lines joined with newlines)."""
    out = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        event, data = None, []
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
        assert data, f"an event without data: {block!r}"
        out.append((event, "\n".join(data)))
    return out


def _pointer(doc: Any, path: str) -> tuple[Any, str | int]:
    """The container and the key a JSON pointer (``/a/0/b``) designates."""
    keys = [k.replace("~1", "/").replace("~0", "~") for k in path.split("/")[1:]]
    for key in keys[:-1]:
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    last: str | int = int(keys[-1]) if isinstance(doc, list) else keys[-1]
    return doc, last


def apply(doc: Any, op: str, path: str, value: Any) -> Any:
    """One patch operation (add, replace, append, remove) on ``doc``; returns the new document."""
    if path in ("", "/"):
        assert op in ("add", "replace"), op
        return value
    parent, key = _pointer(doc, path)
    if op in ("add", "replace"):
        if isinstance(parent, list) and op == "add":
            parent.insert(int(key), value)
        else:
            parent[key] = value
    elif op == "append":
        current = parent[key] if (isinstance(parent, dict) and key in parent) or isinstance(parent, list) else None
        if isinstance(current, str):
            parent[key] = current + value
        elif isinstance(current, dict):
            current.update(value)
        elif isinstance(current, list):
            current.extend(value if isinstance(value, list) else [value])
        else:
            parent[key] = value
    elif op == "remove":
        del parent[key]
    else:
        raise AssertionError(f"unknown patch operation {op!r}")
    return doc


# -- ChatGPT ---------------------------------------------------------------------------------------

def chatgpt_text(body: str) -> str:
    events = sse_events(body)
    assert events[-1] == (None, "[DONE]"), "a ChatGPT stream ends with data: [DONE]"
    assistant: list[dict] = []
    if events[0] == ("delta_encoding", '"v1"'):
        current: dict | None = None
        last_p, last_o = "", ""
        for event, data in events[1:-1]:
            frame = json.loads(data)
            if event != "delta":
                assert "type" in frame, frame  # markers, titles, the end of the stream
                continue
            if "v" not in frame:
                continue  # a bare counter
            p, o = frame.get("p", last_p), frame.get("o", last_o)  # a bare "v" continues the last operation
            last_p, last_o = p, o
            items = frame["v"] if o == "patch" else [{"p": p, "o": o, "v": frame["v"]}]
            for item in items:
                if item["p"] == "" and item["o"] == "add":
                    current = json.loads(json.dumps(item["v"]))
                    if current["message"]["author"]["role"] == "assistant":
                        assistant.append(current)
                    continue
                assert current is not None, "a patch before any message"
                apply(current, item["o"], item["p"], item["v"])
        messages = [doc["message"] for doc in assistant]
    else:
        for event, data in events[:-1]:
            frame = json.loads(data)
            assert event is None and "message" in frame and frame.get("error") is None, frame
            if frame["message"]["author"]["role"] == "assistant":
                assistant.append(frame)
        messages = [frame["message"] for frame in assistant]
    assert messages, "no assistant message"
    final = messages[-1]
    assert final["status"] == "finished_successfully" and final["content"]["content_type"] == "text"
    return "".join(final["content"]["parts"])


# -- Le Chat ---------------------------------------------------------------------------------------

def lechat_text(body: str) -> str:
    lines = [line for line in body.split("\n") if line.strip()]
    assert lines, "an empty Le Chat stream"
    if not lines[0].startswith("15:"):
        text = ""
        for line in lines:
            code, sep, payload = line.partition(":")
            assert sep and code.isdigit(), line
            if code == "0":
                text += json.loads(payload)
        return text
    messages: dict[str, Any] = {}
    ended = False
    for line in lines:
        code, sep, payload = line.partition(":")
        assert sep, line
        if code == "8":
            assert payload == "null" and not ended
            ended = True
            continue
        assert code == "15", line
        frame = json.loads(payload)["json"]
        if frame["type"] != "message":
            assert frame["type"] in ("bootstrap", "chat"), frame
            continue
        doc = messages.get(frame["messageId"], {})
        for patch in frame["patches"]:
            doc = apply(doc, patch["op"], patch["path"], json.loads(json.dumps(patch.get("value"))))
        messages[frame["messageId"]] = doc
    assistant = [m for m in messages.values() if m.get("role") == "assistant"]
    assert ended and assistant, "a Le Chat stream ends with 8:null after an assistant message"
    final = assistant[-1]
    assert final["generationStatus"] == "success"
    chunks = final.get("contentChunks")
    if chunks is None:
        return final["content"]
    return "".join(c["text"] for c in chunks if c.get("type") == "text" and "_context" not in c)


# -- Claude ----------------------------------------------------------------------------------------

def claude_text(body: str) -> str:
    events = sse_events(body)
    if events[0][0] == "completion":
        text, stop = "", None
        for event, data in events:
            frame = json.loads(data)
            assert event == "completion" and frame["type"] == "completion", frame
            assert stop is None, "text after the end"
            text += frame["completion"]
            stop = frame["stop_reason"]
        assert stop is not None, "a completion stream ends with a stop_reason"
        return text
    blocks: dict[int, dict] = {}
    started = stopped = False
    stop_reason = None
    for event, data in events:
        frame = json.loads(data)
        assert frame["type"] == event, (event, frame)
        if event == "message_start":
            assert frame["message"]["role"] == "assistant" and not started
            started = True
        elif event == "content_block_start":
            blocks[frame["index"]] = dict(frame["content_block"])
        elif event == "content_block_delta":
            delta = frame["delta"]
            if delta["type"] == "text_delta":
                blocks[frame["index"]]["text"] += delta["text"]
        elif event == "message_delta":
            stop_reason = frame["delta"]["stop_reason"]
        elif event == "message_stop":
            stopped = True
    assert started and stopped and stop_reason, "a Messages stream starts, gets a stop_reason and stops"
    return "".join(b["text"] for _, b in sorted(blocks.items()) if b["type"] == "text")


READERS = {"chatgpt": chatgpt_text, "lechat": lechat_text, "claude": claude_text}
