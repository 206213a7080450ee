"""Text extraction shared by the adapters: every string a request carries, and what cannot be read.

Scanning every string leaf of the body (but routing keys) rather than a list of known fields is
deliberate: a prompt can hide in tool arguments, tool results, ``metadata`` or a ``user`` field, and
a field added to an API tomorrow is scanned without a code change. Binary parts (images, audio,
files) cannot be inspected and are reported as such, for the policy to decide.
"""

from __future__ import annotations

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
    """Collect content strings of a JSON value into ``out``."""
    if isinstance(obj, str):
        if key in SKIP_KEYS:
            return
        if obj.startswith("data:") and ";base64," in obj[:100]:
            out.mark("image" if obj.startswith("data:image") else "file")
            return
        out.add(obj)
    elif isinstance(obj, bool) or obj is None or isinstance(obj, float):
        return
    elif isinstance(obj, int):
        if abs(obj) >= 10**8:  # long numbers may be identifiers (phone, NIR...)
            out.add(str(obj))
    elif isinstance(obj, list):
        for item in obj:
            walk(item, out, key)
    elif isinstance(obj, dict):
        kind = obj.get("type")
        if isinstance(kind, str):
            if kind in IMAGE_TYPES:
                out.mark("image")
                return
            if kind in AUDIO_TYPES:
                out.mark("audio")
                return
            if kind in FILE_TYPES:
                source = obj.get("source")
                if isinstance(source, dict) and source.get("type") in ("text", "content"):
                    walk(source.get("data") if source.get("type") == "text" else source.get("content"), out, "data")
                    for k, v in obj.items():  # title, context... of the document
                        if k not in ("source", "type"):
                            walk(v, out, k)
                else:
                    out.mark("file")
                return
        for k, v in obj.items():
            if k in SKIP_KEYS and not isinstance(v, (dict, list)):
                continue
            walk(v, out, k)


def is_token_array(value: Any) -> bool:
    """``[1, 2, 3]`` or ``[[1, 2], [3]]``: pre-tokenised input the gateway cannot read."""
    if not isinstance(value, list) or not value:
        return False
    if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return True
    return all(isinstance(v, list) and all(isinstance(x, int) for x in v) for v in value)
