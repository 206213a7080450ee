"""The browser path's generic web format: any request a web app sends, whatever its body's format.

The service is read from the destination host (``Catalogue.by_host``), not from a ``model`` field.
The text inspected is everything the request carries that an app can put a prompt in:

* the URL's query values (``translate.google.com/?text=...``);
* JSON bodies: every scalar (``gateway.extract.walk``), and JSON nested inside strings, to any depth
  up to ``MAX_NESTING`` (Gemini's ``f.req``, Google Translate's ``batchexecute``);
* form-urlencoded bodies: every value (and every key that is not a plain name), nested JSON included;
* multipart bodies: every text part, the file names, and the text files (whatever their extension:
  content that decodes as text is text); PDF and .docx files by their text (``gateway.documents``:
  an encrypted, malformed or partly read document is uninspectable); other binary files are
  uninspectable and follow ``policy.uninspectable``;
* any other body: a PDF or a .docx by its text, else read as text when it decodes as text, else
  uninspectable.

Request headers (the request leaves with all of them: the proxy cannot drop an app's headers, so
it reads those that can carry what a person typed):

* the headers a browser writes itself, with a fixed grammar (``BROWSER_HEADERS``, ``sec-*``) are not
  read, except ``Sec-WebSocket-Protocol`` (a page's script chooses its values);
* ``Referer``: its path and query, read like the request's own URL (a page can put text in its URL
  with ``history.pushState`` without requesting it);
* the credentials (``Cookie``, ``Authorization``, ``Proxy-Authorization``) are relayed, never
  scanned (the secret detectors would take an app's session for a leaked key) and never recorded;
* every other header (``X-*``, an app's own ``oai-*`` or ``anthropic-*``...) is read like a query
  value (JSON inside opened), except a value that is one opaque token (a session or anti-CSRF
  token, a JWT, a device id: ``_opaque_token``), the app's credential rather than something typed.

A WebSocket handshake is a request like the others (its URL and headers are read); then every
message the client sends on it is one more pass through the pipeline (``Incoming.params["websocket"]``):
a text message is read like a body (JSON inside opened), a binary one is uninspectable and follows
``policy.uninspectable``. The request goes upstream exactly as it was received, so what was inspected
is what leaves.

A body that claims to be multipart and is not well formed (no boundary, a preamble or an epilogue
around the parts, truncated) is refused: an app server could read parts this parser did not.
"""

from __future__ import annotations

import base64
import binascii
import json
import quopri
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from python_multipart.multipart import MultipartParseError, MultipartParser, MultipartState, parse_options_header

from gateway.adapters.base import Adapter, Route
from gateway.documents import read_document
from gateway.extract import Extracted, walk
from gateway.pipeline import Incoming, Refusal
from policies.catalogue import Catalogue
from policies.vocabulary import Wire

#: JSON inside a string inside JSON...: how deep strings are opened (deeper ones are scanned as text)
MAX_NESTING = 8
#: a body or file with more of these control bytes (in its first 64 KiB) is binary
_BINARY_RATIO = 0.05
_SNIFF = 65536
_CONTROL = frozenset(range(0, 32)) - {9, 10, 12, 13}


#: request headers a browser writes itself, with a fixed grammar: not read (``sec-*`` neither)
BROWSER_HEADERS = frozenset({
    "accept", "accept-charset", "accept-encoding", "accept-language", "access-control-request-headers",
    "access-control-request-method", "cache-control", "connection", "content-encoding", "content-length",
    "content-type", "date", "dnt", "expect", "host", "if-match", "if-modified-since", "if-none-match",
    "if-range", "if-unmodified-since", "keep-alive", "origin", "pragma", "priority", "proxy-connection", "range",
    "te", "trailer", "transfer-encoding", "upgrade", "upgrade-insecure-requests", "user-agent", "via",
})
#: credentials: relayed as received, never scanned, never recorded
CREDENTIAL_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization"})
#: the ``sec-*`` header whose values a page's script chooses (``new WebSocket(url, protocols)``)
_SCRIPT_SEC_HEADERS = frozenset({"sec-websocket-protocol"})

_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
# One opaque token: a JWT, hex, or base64(url) with upper case, lower case and digits.
_TOKEN = re.compile(
    r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"
    r"|[0-9a-fA-F]{16,}"
    r"|(?=[^A-Z]*[A-Z])(?=[^a-z]*[a-z])(?=[^0-9]*[0-9])[A-Za-z0-9_.~+/-]{16,}={0,2}"
)
_DIGIT_RUN = re.compile(r"[0-9]{9,}")


@dataclass
class WebBody:
    """A web request as the adapter reads it: the raw body (forwarded unchanged) and what says how
    to read it."""

    raw: bytes
    content_type: str = ""
    query: str = ""
    #: the URL path: what a person types after the host reaches the app too ("/c/<NIR>")
    path: str = ""
    parts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    #: a WebSocket message sent by the client: ``text`` or ``binary`` (None: an HTTP request)
    frame: str | None = None
    #: the request headers read (``scanned_headers``): (lower-case name, value)
    headers: list[tuple[str, str]] = field(default_factory=list)


class WebAdapter(Adapter):
    api: ClassVar[Wire] = "web"
    routes: ClassVar[dict[str, Route]] = {}
    key_optional: ClassVar[bool] = True
    speaks_service_api: ClassVar[bool] = False
    reads_documents: ClassVar[bool] = True
    error_types: ClassVar[dict[int, str]] = {400: "invalid_request_error", 403: "policy_violation",
                                             407: "authentication_error", 413: "invalid_request_error",
                                             429: "rate_limit_error"}

    # -- request --------------------------------------------------------------------------------
    def client_key(self, headers: Mapping[str, str]) -> str | None:
        """The password of ``Proxy-Authorization: Basic`` (the user name is not used: the key says who)."""
        return basic_password(headers.get("proxy-authorization", ""))

    def parse(self, raw: bytes, inc: Incoming) -> WebBody:
        frame = inc.params.get("websocket")
        if frame is not None:
            return WebBody(raw=raw, frame=frame)
        headers = inc.headers
        body = WebBody(raw=raw, content_type=headers.get("content-type", "") or "", query=inc.params.get("query", ""),
                       path=inc.params.get("path", ""), headers=scanned_headers(headers))
        mime, params = _content_type(body.content_type)
        if raw and mime.startswith("multipart/"):
            body.parts = parse_multipart(raw, params.get("boundary", ""))
        return body

    def target(self, inc: Incoming, body: Any, catalogue: Catalogue) -> tuple[str | None, str | None]:
        service = catalogue.by_host(inc.host, inc.port) if inc.host else None
        return (service.id if service else None), None

    def extract(self, endpoint: str, body: WebBody) -> Extracted:
        out = Extracted()
        if body.frame is not None:  # a WebSocket message: text is read, binary is uninspectable
            text = _utf8(body.raw) if body.frame == "text" else None
            if text is None:
                out.mark("websocket")
            else:
                _text(text, out, 0)
            return out
        for segment in _content_segments(body.path):
            out.add(segment)
        if body.query:
            _pairs(urllib.parse.parse_qsl(body.query, keep_blank_values=True, errors="replace"), out)
        for name, value in body.headers:
            if name == "referer":
                url = urllib.parse.urlsplit(value)
                for segment in _content_segments(url.path):
                    out.add(segment)
                _pairs(urllib.parse.parse_qsl(url.query, keep_blank_values=True, errors="replace"), out)
            else:
                _text(urllib.parse.unquote(value, errors="replace") if "%" in value else value, out, 0)
        if not body.raw:
            return out
        mime, params = _content_type(body.content_type)
        if mime.startswith("multipart/"):
            for headers, data in body.parts:
                _part(headers, data, out)
        elif mime == "application/x-www-form-urlencoded":
            text = _decode_text(body.raw, params.get("charset"))
            if text is None:
                out.mark("file")
            else:
                _pairs(urllib.parse.parse_qsl(text, keep_blank_values=True, errors="replace"), out)
        else:
            _content(body.raw, params.get("charset"), out)
        return out

    def client_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {}  # the request goes upstream as received; its headers are not the pipeline's to relay

    # -- upstream -------------------------------------------------------------------------------
    def upstream_body(self, body: WebBody, model: str | None) -> bytes:
        return body.raw

    # -- errors ---------------------------------------------------------------------------------
    def error_body(self, status: int, code: str, message: str, param: str | None = None) -> dict:
        return {"error": {"message": message, "type": self.error_types.get(status, "api_error"), "code": code}}


def scanned_headers(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    """The request headers whose values are read (see the module's docstring): every header but the
    browser's own, the credentials and the values that are one opaque token."""
    out = []
    for name, value in headers.items():
        key = name.lower()
        if key in CREDENTIAL_HEADERS or key in BROWSER_HEADERS or not value.strip():
            continue
        if key.startswith("sec-") and key not in _SCRIPT_SEC_HEADERS:
            continue
        if key != "referer" and _opaque_token(value):
            continue
        out.append((key, value))
    return out


def _opaque_token(value: str) -> bool:
    """One token that is an app's credential or id (a session or anti-CSRF token, a JWT, a UUID, a
    device id), not text: a UUID, or a single word of base64, hex or JWT shape without a run of nine
    digits or more (a NIR, a phone number or an RPPS in a token-shaped value is read all the same)."""
    token = value.strip()
    if _UUID.fullmatch(token):
        return True
    return _TOKEN.fullmatch(token) is not None and _DIGIT_RUN.search(token) is None


def basic_password(value: str) -> str | None:
    """The password of a ``Basic`` credential (``user:password`` in base64), or None."""
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    _, sep, password = decoded.partition(":")
    return password if sep and password else None


# -- reading bodies ----------------------------------------------------------------------------

def _content_type(value: str) -> tuple[str, dict[str, str]]:
    mime, params = parse_options_header(value or "")
    return (mime.decode("latin-1").lower(),
            {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in params.items()})


def _is_binary(raw: bytes) -> bool:
    head = raw[:_SNIFF]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b in _CONTROL)
    return controls > _BINARY_RATIO * len(head)


def _utf8(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _decode_text(raw: bytes, charset: str | None = None) -> str | None:
    """The text of bytes that are text (the declared charset, else UTF-8, else Windows-1252 as French
    spreadsheets write it), or None for binary content."""
    if _is_binary(raw):
        return None
    for encoding in (charset, "utf-8-sig"):
        if not encoding:
            continue
        try:
            return raw.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("cp1252", errors="replace")


def _content(raw: bytes, charset: str | None, out: Extracted, kind: str = "file") -> None:
    """A body or a file: a PDF's or a .docx's text (``gateway.documents``; what of it could not be
    read makes it uninspectable), else its text (JSON opened), else uninspectable ``kind``."""
    document = read_document(raw)
    if document is not None:
        for piece in document.parts:
            out.add(piece)
        if document.unread:
            out.mark(kind)
        return
    text = _decode_text(raw, charset)
    if text is None:
        out.mark(kind)
    else:
        _text(text, out, 0)


def _text(value: str, out: Extracted, depth: int) -> None:
    """A string: JSON inside it is opened (every scalar scanned), anything else is scanned as is."""
    stripped = value.strip()
    if depth < MAX_NESTING and stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
        try:
            inner = json.loads(stripped)
        except (ValueError, RecursionError):
            inner = None
        if isinstance(inner, (dict, list)):
            _json(inner, out, depth + 1)
            return
    out.add(value)


def _json(obj: Any, out: Extracted, depth: int) -> None:
    found = Extracted()
    walk(obj, found)
    for part in found.parts:
        _text(part, out, depth)
    for kind in found.uninspectable:
        out.mark(kind)


def _pairs(pairs: list[tuple[str, str]], out: Extracted) -> None:
    for key, value in pairs:
        if not key.isidentifier() or any(c.isdigit() for c in key):
            out.add(key)
        _text(value, out, 0)


_ROUTE_WORD = re.compile(r"[A-Za-z_.~-]+")  # "api", "backend-api", "conversation.json": routing, not content
# a UUID, a hex id with letters (a NIR has none), a counter shorter than any identifier
_OPAQUE_ID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}|(?=[0-9]*[a-fA-F])[0-9a-fA-F]{16,}|[0-9]{1,8}")


def _content_segments(path: str) -> list[str]:
    """The URL path's segments that can carry what a person typed ("/c/<NIR>", "/search/jean%20dupont
    06..."), decoded; route words and opaque ids are left out (they would only feed the classifier noise)."""
    out = []
    for raw in path.split("/"):
        segment = urllib.parse.unquote_plus(raw, errors="replace").strip()
        if segment and not _ROUTE_WORD.fullmatch(segment) and not _OPAQUE_ID.fullmatch(segment):
            out.append(segment)
    return out


def parse_multipart(raw: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a ``multipart/form-data`` body, each (headers in lower case, content), with
    python-multipart (Starlette's parser). Anything but a well-formed body is refused."""
    if not boundary:
        raise _bad_multipart()
    delimiter = b"--" + boundary.encode("latin-1")
    if not raw.startswith(delimiter) or raw.rstrip(b"\r\n")[-len(delimiter) - 2:] != delimiter + b"--":
        raise _bad_multipart()  # a preamble or an epilogue: text this parser would skip
    parts: list[tuple[dict[str, str], bytes]] = []
    state: dict[str, Any] = {}

    def begin() -> None:
        state.update(headers={}, data=bytearray(), field=b"", value=b"")

    def header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def header_end() -> None:
        state["headers"][state["field"].decode("latin-1").lower()] = state["value"].decode("utf-8", "replace")
        state["field"], state["value"] = b"", b""

    def data(chunk: bytes, start: int, end: int) -> None:
        state["data"] += chunk[start:end]

    def end() -> None:
        parts.append((state["headers"], bytes(state["data"])))

    parser = MultipartParser(boundary, {"on_part_begin": begin, "on_header_field": header_field,
                                        "on_header_value": header_value, "on_header_end": header_end,
                                        "on_part_data": data, "on_part_end": end}, max_header_count=32)
    try:
        parser.write(raw)
        parser.finalize()
    except MultipartParseError:
        raise _bad_multipart() from None
    if parser.state != MultipartState.END:
        raise _bad_multipart()
    return parts


def _part(headers: dict[str, str], data: bytes, out: Extracted) -> None:
    disposition = headers.get("content-disposition", "")
    out.add(urllib.parse.unquote(disposition))  # the field's name and the file's name
    mime, params = _content_type(headers.get("content-type", ""))
    encoding = headers.get("content-transfer-encoding", "").strip().lower()
    if encoding == "base64":
        try:
            data = base64.b64decode(data, validate=False)
        except (binascii.Error, ValueError):
            out.mark("file")
            return
    elif encoding == "quoted-printable":
        data = quopri.decodestring(data)
    elif encoding not in ("", "7bit", "8bit", "binary"):
        out.mark("file")
        return
    if mime.startswith("multipart/"):
        try:
            for inner_headers, inner in parse_multipart(data, params.get("boundary", "")):
                _part(inner_headers, inner, out)
        except Refusal:
            out.mark("file")
        return
    _content(data, params.get("charset"), out)


def _bad_multipart() -> Refusal:
    return Refusal(400, "invalid_request", "Le corps multipart de la requête est mal formé : il n'a pas été transmis.",
                   "request.invalid_multipart")
