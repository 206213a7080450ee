"""Text extraction shared by the adapters: every string a request carries, and what cannot be read.

Scanning every string leaf of the body (but routing keys), and object keys that are not plain
identifiers, rather than a list of known fields is deliberate: a prompt can hide in tool arguments, tool results, ``metadata`` or a ``user`` field, and
a field added to an API tomorrow is scanned without a code change. Binary parts (images, audio,
files) cannot be inspected and are reported as such, for the policy to decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Keys whose string values are routing or enumerations, not content.
SKIP_KEYS = frozenset(
    {
        "model", "role", "type", "id", "tool_call_id", "call_id", "object", "tool_choice",
        "media_type", "detail", "encoding_format", "reasoning_effort", "service_tier", "voice",
        "stop_reason", "cache_control", "previous_response_id", "truncation", "status",
    }
)
IMAGE_TYPES = frozenset({"image", "image_url", "input_image"})
AUDIO_TYPES = frozenset({"input_audio", "audio"})
FILE_TYPES = frozenset({"file", "input_file", "document", "container_upload"})

SEPARATOR = "\n\n"


@dataclass
class Extracted:
    parts: list[str] = field(default_factory=list)
    uninspectable: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        if text and not text.isspace():
            self.parts.append(text)

    def mark(self, kind: str) -> None:
        if kind not in self.uninspectable:
            self.uninspectable.append(kind)

    @property
    def chars(self) -> int:
        return sum(len(p) for p in self.parts)


def walk(obj: Any, out: Extracted, key: str | None = None) -> None:
    """Collect content strings of a JSON value into ``out``, in document order.

    Iterative (explicit stack), so that no nesting depth the JSON parser accepts can make it fail.
    """
    stack: list[tuple[Any, str | None]] = [(obj, key)]
    while stack:
        value, k = stack.pop()
        if isinstance(value, str):
            if k in SKIP_KEYS and is_routing_value(value):
                continue
            if value.startswith("data:") and ";base64," in value[:100]:
                out.mark("image" if value.startswith("data:image") else "file")
                continue
            out.add(value)
        elif isinstance(value, bool) or value is None or isinstance(value, float):
            continue
        elif isinstance(value, int):
            if abs(value) >= 10**8:  # long numbers may be identifiers (phone, NIR...)
                out.add(str(value))
        elif isinstance(value, list):
            stack.extend((item, k) for item in reversed(value))
        elif isinstance(value, dict):
            for name in value:
                # Object keys reach the provider too (metadata, JSON-schema properties...): a key that
                # is not a plain identifier ("Jean Dupont", an e-mail, a number) is content.
                if isinstance(name, str) and (not name.isidentifier() or any(c.isdigit() for c in name)):
                    out.add(name)
            stack.extend(reversed(_children(value, out)))


def _children(obj: dict, out: Extracted) -> list[tuple[Any, str | None]]:
    """The values of a JSON object to scan, marking binary content parts as uninspectable."""
    kind = obj.get("type")
    if isinstance(kind, str):
        if kind in IMAGE_TYPES:
            out.mark("image")
            return []
        if kind in AUDIO_TYPES:
            out.mark("audio")
            return []
        if kind in FILE_TYPES:
            source = obj.get("source")
            if not (isinstance(source, dict) and source.get("type") in ("text", "content")):
                out.mark("file")
                return []
            inner = source.get("data") if source.get("type") == "text" else source.get("content")
            # the document's text, then its title, context...
            return [(inner, "data")] + [(v, k) for k, v in obj.items() if k not in ("source", "type")]
    return [(v, k) for k, v in obj.items()]  # routing fields are skipped by ``walk``


_DATA_LIKE = re.compile(r"\s|@|\d{9}")  # 9+ digits: phone, NIR, SIREN...; not a model date stamp


def is_routing_value(value: str) -> bool:
    """An enumeration or an id ("user", "call_9f2a"), not data smuggled in a routing field."""
    return len(value) <= 64 and not _DATA_LIKE.search(value)


def is_token_array(value: Any) -> bool:
    """``[1, 2, 3]`` or ``[[1, 2], [3]]``: pre-tokenised input the gateway cannot read."""
    if not isinstance(value, list) or not value:
        return False
    if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return True
    return all(isinstance(v, list) and all(isinstance(x, int) for x in v) for v in value)
