"""Encoded fragments: base64 and URL-encoded (percent-encoded) pieces of reasonable size.

``encoded_fragments(text)`` yields ``(start, end, decoded_text, kind)`` for fragments that decode to
mostly printable UTF-8 text; the scanner scans the decoded text and reports findings on the span of
the whole encoded fragment in the original text.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote_plus

MIN_B64 = 16
MAX_FRAGMENT = 16384

_B64 = re.compile(r"(?<![A-Za-z0-9+/=_\-])(?:[A-Za-z0-9+/]{4}){4,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?(?![A-Za-z0-9+/=])"
                  r"|(?<![A-Za-z0-9_\-])[A-Za-z0-9_\-]{20,}={0,2}(?![A-Za-z0-9_\-=])")
_PCT = re.compile(r"(?:[A-Za-z0-9._~+\-!*'()]*%[0-9A-Fa-f]{2}){2,}[A-Za-z0-9._~+\-!*'()]*")


def _printable(s: str) -> bool:
    if not s:
        return False
    good = sum(1 for c in s if c.isprintable() or c in "\n\r\t")
    letters = sum(1 for c in s if c.isalnum())
    return good / len(s) > 0.95 and letters / len(s) > 0.4


def encoded_fragments(text: str):
    if len(text) < MIN_B64:
        return
    for m in _B64.finditer(text):
        frag = m.group()
        if len(frag) > MAX_FRAGMENT or frag.isdigit() or frag.isalpha():
            continue
        # Pure identifiers / hex hashes are not base64 text.
        if re.fullmatch(r"[0-9a-fA-F]+", frag):
            continue
        padded = frag + "=" * (-len(frag) % 4)
        try:
            raw = base64.b64decode(padded, validate=True) if "-" not in frag and "_" not in frag else base64.urlsafe_b64decode(padded)
            decoded = raw.decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            continue
        if _printable(decoded):
            yield m.start(), m.end(), decoded, "base64"
    if "%" in text:
        for m in _PCT.finditer(text):
            frag = m.group()
            if len(frag) > MAX_FRAGMENT:
                continue
            decoded = unquote_plus(frag)
            if decoded != frag and _printable(decoded):
                yield m.start(), m.end(), decoded, "url"
