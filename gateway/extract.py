"""Text extraction shared by the adapters: every scalar a request carries, and what cannot be read.

Every scalar of the body is content: strings, numbers (in the text form they are forwarded in) and
object keys that are not plain identifiers. Scanning everything rather than a list of known fields
is deliberate: a prompt can hide in tool arguments, tool results, ``metadata``, a JSON-schema
``default`` or a ``seed``, and a field added to an API tomorrow is scanned without a code change.

Only two kinds of value are not handed to the scanner:

* an enumeration value (``role: "user"``, ``type: "input_text"``) that matches the strict grammar of
  enumerations: anything else in such a field (a NIR, an e-mail, a key) is scanned like text;
* binary payloads (a ``data:`` URL or a long base64 blob that does not decode to text): they are
  reported as uninspectable for the policy to decide, while every other field of the same object is
  still scanned. Textual ``data:`` URLs and base64 text are decoded and scanned.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

# Keys whose values are enumerations in the OpenAI / Anthropic / Gemini formats. A value is skipped
# only when it matches ``_ENUM`` (lower-case words, digit groups of a date stamp at most).
ENUM_KEYS = frozenset(
    {
        "role", "type", "object", "status", "detail", "encoding_format", "reasoning_effort", "service_tier",
        "truncation", "stop_reason", "finish_reason", "voice", "tool_choice", "media_type", "format",
        "modality", "modalities", "response_format", "effort", "mimetype", "mime_type",
    }
)
_ENUM = re.compile(r"[a-z]{1,24}(?:[_./+-](?:[a-z]{1,24}|[0-9]{1,8}))*")

# Content-part types that always carry something the gateway cannot read.
IMAGE_TYPES = frozenset({"image", "image_url", "input_image", "image_file"})
AUDIO_TYPES = frozenset({"input_audio", "audio", "input_audio_buffer"})
VIDEO_TYPES = frozenset({"video", "video_url", "input_video"})
FILE_TYPES = frozenset({"file", "input_file", "document", "container_upload"})
# Keys that name binary content in other formats (Gemini ``inlineData``/``fileData``, ``*_url`` parts).
BINARY_KEYS = {
    "inlinedata": None, "inline_data": None, "filedata": "file", "file_data": None, "fileuri": "file",
    "file_uri": "file", "image_url": "image", "audio_url": "audio", "video_url": "video", "document_url": "file",
    "file_url": "file", "file_id": "file",
}

SEPARATOR = "\n\n"

# A base64 blob long enough to be a payload rather than a token or a key (keys stay scanned).
_B64_BLOB = re.compile(r"[A-Za-z0-9+/\r\n]{256,}={0,2}|[A-Za-z0-9_\-\r\n]{256,}={0,2}")
_DATA_URL = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[\w.+-]+=[^;,]*)*)(?P<b64>;base64)?,",
                       re.IGNORECASE)
_TEXT_MIME = re.compile(
    r"text/|application/(?:json|xml|x-ndjson|ld\+json|csv|x-yaml|yaml|javascript|x-sh|sql)$|[\w.+-]+\+(?:json|xml)$",
    re.IGNORECASE,
)


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
    """Collect every scalar of a JSON value into ``out``, in document order.

    Iterative (explicit stack), so that no nesting depth the JSON parser accepts can make it fail.
    ``kind`` travels down from an enclosing binary content part, to name what a payload is.
    """
    stack: list[tuple[Any, str | None, str | None]] = [(obj, key, None)]
    while stack:
        value, k, kind = stack.pop()
        if isinstance(value, str):
            _string(value, k, kind, out)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, (int, float)):
            # Numbers reach the provider as json.dumps writes them: scan that very text.
            out.add(repr(value))
        elif isinstance(value, list):
            stack.extend((item, k, kind) for item in reversed(value))
        elif isinstance(value, dict):
            children: list[tuple[Any, str | None, str | None]] = []
            inner = _part_kind(value, out) or kind
            for name, child in value.items():
                # Object keys reach the provider too (metadata, JSON-schema properties...): a key that
                # is not a plain identifier ("Jean Dupont", an e-mail, a number) is content.
                if isinstance(name, str) and (not name.isidentifier() or any(c.isdigit() for c in name)):
                    out.add(name)
                child_kind = inner
                if isinstance(name, str) and name.lower() in BINARY_KEYS:
                    child_kind = BINARY_KEYS[name.lower()] or inner or "file"
                    if BINARY_KEYS[name.lower()]:  # a reference to content the gateway cannot see
                        out.mark(child_kind)
                children.append((child, name, child_kind))
            stack.extend(reversed(children))


def _part_kind(obj: dict, out: Extracted) -> str | None:
    """Mark a content part whose ``type`` says it carries an image, audio, video or a binary file."""
    kind = obj.get("type")
    if not isinstance(kind, str):
        return None
    if kind in IMAGE_TYPES:
        out.mark("image")
        return "image"
    if kind in AUDIO_TYPES:
        out.mark("audio")
        return "audio"
    if kind in VIDEO_TYPES:
        out.mark("video")
        return "video"
    if kind in FILE_TYPES:
        if not _is_text_document(obj):
            out.mark("file")
        return "file"
    return None


def _is_text_document(obj: dict) -> bool:
    """A document part whose content is text the gateway reads (Anthropic ``text``/``content``
    sources, base64 or ``data:`` payloads of a textual media type)."""
    source = obj.get("source")
    if isinstance(source, dict):
        stype = source.get("type")
        if stype in ("text", "content"):
            return True
        if stype == "base64":
            return isinstance(source.get("media_type"), str) and bool(_TEXT_MIME.match(source["media_type"]))
        return False
    data = obj.get("file_data")
    if isinstance(data, str):
        m = _DATA_URL.match(data)
        return bool(m and m.group("mime") and _TEXT_MIME.match(m.group("mime")))
    return False


def _string(value: str, key: str | None, kind: str | None, out: Extracted) -> None:
    if key in ENUM_KEYS and len(value) <= 64 and _ENUM.fullmatch(value):
        return
    if value[:5].lower() == "data:":
        m = _DATA_URL.match(value)
        if m:
            _data_url(value, m, kind, out)
            return
    if len(value) >= 256 and _B64_BLOB.fullmatch(value):
        text = _b64_text(value)
        if text is None:
            out.mark(kind or "file")
        else:
            out.add(text)
        return
    out.add(value)


def _data_url(value: str, m: re.Match, kind: str | None, out: Extracted) -> None:
    """A ``data:`` URL: its text is decoded and scanned when the media type is textual (or the
    payload decodes to text); otherwise it is marked uninspectable, named by its media type."""
    mime = (m.group("mime") or "text/plain").lower()
    payload = value[m.end():]
    out.add(value[: m.end()])  # the media type and parameters (a file name can hide there)
    if m.group("b64"):
        text = _b64_text(payload)
    else:
        try:
            text = urllib.parse.unquote(payload, errors="strict")
        except UnicodeDecodeError:
            text = None
    major = mime.split("/", 1)[0]
    if text is not None:  # whatever media type it claims, text is read
        out.add(text)
        if major not in ("image", "audio", "video"):
            return
    out.mark(major if major in ("image", "audio", "video") else (kind or "file"))


def _b64_text(payload: str) -> str | None:
    """The UTF-8 text a base64 payload decodes to, or None for binary content."""
    compact = re.sub(r"\s+", "", payload)
    try:
        raw = base64.b64decode(compact + "=" * (-len(compact) % 4), altchars=b"-_" if "-" in compact or "_" in compact else None,
                               validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(1 for c in text if c.isprintable() or c in "\n\r\t")
    return text if text and printable >= 0.95 * len(text) else None


def is_token_array(value: Any) -> bool:
    """``[1, 2, 3]``, ``[1, 2, 3.0]`` or ``[[1, 2], [3]]``: pre-tokenised input the gateway cannot read."""

    def numbers(items: list) -> bool:
        return bool(items) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items)

    if not isinstance(value, list) or not value:
        return False
    return numbers(value) or all(isinstance(v, list) and numbers(v) for v in value)
