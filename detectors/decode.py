"""Encoded fragments: base64, URL-encoded (percent-encoded), HTML entities, ROT13 and numbers
dictated in French words ("zéro six douze trente-quatre...").

``encoded_fragments(text)`` yields ``(start, end, decoded_text, kind)`` for fragments that decode to
mostly printable UTF-8 text; the scanner scans the decoded text and reports findings on the span of
the whole encoded fragment in the original text.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import re
from urllib.parse import unquote_plus

MIN_B64 = 16
MAX_FRAGMENT = 16384

_B64 = re.compile(r"(?<![A-Za-z0-9+/=_\-])(?:[A-Za-z0-9+/]{4}){4,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?(?![A-Za-z0-9+/=])"
                  r"|(?<![A-Za-z0-9_\-])[A-Za-z0-9_\-]{20,}={0,2}(?![A-Za-z0-9_\-=])")
# Every base64 match lies inside a run of 16 or more of these characters (the union of both
# alternatives' characters and of their lookaheads'): the expensive pattern is tried on those runs only.
_B64_RUN = re.compile(r"[A-Za-z0-9+/=_\-]{16,}")
_PCT = re.compile(r"(?:[A-Za-z0-9._~+\-!*'()]*%[0-9A-Fa-f]{2}){2,}[A-Za-z0-9._~+\-!*'()]*")


def _printable(s: str) -> bool:
    if not s:
        return False
    good = sum(1 for c in s if c.isprintable() or c in "\n\r\t")
    letters = sum(1 for c in s if c.isalnum())
    return good / len(s) > 0.95 and letters / len(s) > 0.4


_ENTITY = re.compile(r"&(?:#\d{2,6}|#[xX][0-9a-fA-F]{2,5}|[a-zA-Z]{2,10});")
_LINE = re.compile(r"[^\n]+")
_WORD = re.compile(r"[a-zA-Z]+")
# Frequent short words of French and English: normal prose is a third of them; ROT13 of it, almost none.
_COMMON = frozenset("le la les de des du un une et est en que qui pour dans sur pas par avec il elle je nous vous au ce "
                    "the of and to in is for on that with it this you are be at".split())
# Words that any stretch of French or English prose contains: their presence rules ROT13 out cheaply.
_TELLTALE = ("le", "la", "de", "et", "les", "des", "est", "un", "une", "the", "of", "and", "to", "is")
_UNITS = {"zero": 0, "zéro": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
          "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15,
          "seize": 16}
_TENS = {"vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60, "septante": 70,
         "huitante": 80, "octante": 80, "nonante": 90}
_NUMBER_WORD = (r"(?:z[ée]ro|une?|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|"
                r"vingts?|trente|quarante|cinquante|soixante|septante|huitante|octante|nonante|et)")
_NUMBER_RUN = re.compile(rf"(?i)\b{_NUMBER_WORD}(?:[\s,;.\-]+{_NUMBER_WORD}){{4,}}\b")
_NUMBER_WORDS = frozenset(_UNITS) | frozenset(_TENS) | {"et"}
_LETTER_RUN = re.compile(r"[^\W\d_]+")


def _may_hold_number_run(text: str) -> bool:
    """Five number words in a row, whatever lies between them: true of every ``_NUMBER_RUN`` match
    (each of its words is a whole run of letters), and ten times cheaper to rule out than the regex."""
    run = 0
    for w in _LETTER_RUN.findall(text.lower()):
        if w in _NUMBER_WORDS:
            run += 1
            if run >= 5:
                return True
        else:
            run = 0
    return False


def _number_value(words: list[str]) -> tuple[int, int] | None:
    """(value, words used) of the French number 0-99 at the start of ``words``."""
    w = [x.lower() for x in words[:5]] + [""] * 5
    if w[0] == "quatre" and w[1] in ("vingt", "vingts"):
        base, used = 80, 2
    elif w[0] in _TENS:
        base, used = _TENS[w[0]], 1
    elif w[0] in _UNITS:
        return _UNITS[w[0]], 1
    else:
        return None
    if w[used] == "et":
        used += 1
    nxt = _UNITS.get(w[used])
    if nxt is not None and nxt >= 10 and base in (60, 80):  # soixante-dix, quatre-vingt-douze
        base, used = base + nxt, used + 1
        unit = _UNITS.get(w[used])
        if nxt == 10 and unit is not None and 0 < unit < 10:  # soixante-dix-huit
            return base + unit, used + 1
        return base, used
    if nxt is not None and 0 < nxt < 10:
        return base + nxt, used + 1
    return base, used


def number_words(fragment: str) -> str | None:
    """"zéro six douze trente-quatre" -> "06 12 34" (two-digit groups as dictated), or None."""
    groups: list[int] = []
    for chunk in re.split(r"[,;.]", fragment):  # a comma ends a number: "quatre-vingts, quatre..."
        words = re.findall(r"[a-zA-Zéè]+", chunk)
        i = 0
        while i < len(words):
            got = _number_value(words[i:])
            if got is None:
                i += 1
                continue
            groups.append(got[0])
            i += got[1]
    if len(groups) < 4:
        return None
    out: list[str] = []
    for k, v in enumerate(groups):  # "zéro six" is 06: a lone zero joins the next digit
        if k and groups[k - 1] == 0 and v < 10 and out and out[-1] == "0":
            out[-1] = f"0{v}"
        else:
            out.append(str(v))
    return " ".join(out)


def _b64_matches(text: str):
    """``_B64.finditer(text)``, tried on the runs that can hold a match only (prose has few): the same
    matches, since a run is maximal (the character after it fails both lookaheads as it would in the
    whole text) and a lookbehind still sees the characters before the run's start."""
    for run in _B64_RUN.finditer(text):
        yield from _B64.finditer(text, run.start(), run.end())


def encoded_fragments(text: str):
    if len(text) < MIN_B64:
        return
    if "&" in text and _ENTITY.search(text):
        for m in _LINE.finditer(text):
            if _ENTITY.search(m.group()):
                yield m.start(), m.end(), html.unescape(m.group()), "html"
    head = text[:4000].lower()
    if not any(f" {w} " in head for w in _TELLTALE) and len(words := _WORD.findall(head)) >= 8 and (
            sum(w in _COMMON for w in words) < 0.05 * len(words)):
        rot = codecs.encode(text, "rot13")
        rwords = _WORD.findall(rot[:4000])
        if sum(w.lower() in _COMMON for w in rwords) >= max(3, 0.15 * len(rwords)):
            yield 0, len(text), rot, "rot13"
    if ("ze" in text or "zé" in text or "ix" in text or "ux" in text) and _may_hold_number_run(text):
        for m in _NUMBER_RUN.finditer(text):
            digits = number_words(m.group())
            if digits:
                yield m.start(), m.end(), digits, "words"
    for m in _b64_matches(text):
        frag = m.group()
        if len(frag) > MAX_FRAGMENT or frag.isdigit() or frag.isalpha():
            continue
        # Pure identifiers / hex hashes are not base64 text.
        if re.fullmatch(r"[0-9a-fA-F]+", frag):
            continue
        padded = frag + "=" * (-len(frag) % 4)
        try:
            urlsafe = "-" in frag or "_" in frag
            raw = base64.urlsafe_b64decode(padded) if urlsafe else base64.b64decode(padded, validate=True)
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
