"""Text normalisation against evasion, with an offset map back to the original text.

Recognizers run on a *normalised* copy of the prompt in which:

* zero-width and other invisible format characters (ZWSP, ZWJ, soft hyphen, BOM, bidi controls,
  variation selectors, tag characters) are removed;
* exotic spaces (NBSP, thin spaces, ideographic space) and control characters (NUL, 0x1C-0x1F...)
  become a plain space, other line separators (VT, FF, NEL, U+2028/2029) a line break, and exotic
  dashes a '-';
* full-width forms and mathematical alphanumerics are folded to ASCII (NFKC);
* any Unicode decimal digit (Arabic-Indic, Devanagari, full-width...) becomes its ASCII digit;
* Cyrillic / Greek letters that look like Latin letters (homoglyphs) become the Latin letter.

Every other character is left untouched, so French accents survive. ``Normalized.span()`` maps a
span of the normalised text back to the original text, so findings always carry original offsets.

Only the characters that need a change are visited (one regex pass), so plain French text costs a
single ``re.search``.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

# Cyrillic and Greek letters commonly used as Latin look-alikes.
_HOMOGLYPHS = {
    # Cyrillic lower case
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ɡ": "g", "ь": "b",
    # Cyrillic upper case
    "А": "A", "В": "B", "Е": "E", "Ё": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ї": "I", "Ј": "J", "Ԛ": "Q",
    "Ԝ": "W", "Һ": "H", "Ӏ": "I",
    # Greek
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y", "ω": "w",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Other Cyrillic letters, transliterated (still read as the intended Latin letter)
    "Д": "D", "Л": "L", "П": "P", "Г": "G", "И": "I", "Я": "R", "Ц": "U", "Ш": "W", "Ь": "b", "Б": "B",
    "д": "d", "л": "l", "п": "n", "г": "r", "и": "u", "я": "r", "ц": "u", "ш": "w", "б": "b",
    # Armenian look-alikes
    "ս": "u", "օ": "o", "հ": "h", "ո": "n", "ց": "g", "զ": "q", "Օ": "O", "Ս": "U",
    # Latin look-alikes from other blocks
    "’": "'", "‘": "'", "ʼ": "'", "´": "'",
    "ı": "i", "ℓ": "l", "＠": "@", "﹫": "@", "․": ".", "｡": ".", "。": ".",
}

_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f"
)
_SPACES = "\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_DASHES = "\u2010-\u2015\u2212\u2043\ufe58\ufe63\uff0d"
# Line and paragraph separators other than \n (VT, FF, NEL, U+2028/2029) become \n; other control
# characters (NUL, the 0x1C-0x1F information separators, DEL...) a space, so they separate like one.
_LINES = "\x0b\x0c\x85\u2028\u2029"
_CONTROLS = "\x00-\x08\x0e-\x1f\x7f"

_CHANGE = re.compile(
    "[" + _INVISIBLE + _SPACES + _DASHES + _LINES + _CONTROLS
    + "\uff01-\uff5e"                      # full-width ASCII
    + "\U0001d400-\U0001d7ff"              # mathematical alphanumerics
    + "".join(sorted(_HOMOGLYPHS))
    + "]|(?![0-9])\\d"                      # non-ASCII decimal digits
)
_INVISIBLE_RE = re.compile("[" + _INVISIBLE + "]")
_SPACES_RE = re.compile("[" + _SPACES + "]")
_DASHES_RE = re.compile("[" + _DASHES + "]")
_LINES_RE = re.compile("[" + _LINES + "]")
_CONTROLS_RE = re.compile("[" + _CONTROLS + "]")


def _replacement(ch: str) -> str:
    if _INVISIBLE_RE.match(ch):
        return ""
    if _SPACES_RE.match(ch) or _CONTROLS_RE.match(ch):
        return " "
    if _LINES_RE.match(ch):
        return "\n"
    if _DASHES_RE.match(ch):
        return "-"
    if ch in _HOMOGLYPHS:
        return _HOMOGLYPHS[ch]
    dec = unicodedata.decimal(ch, None)
    if dec is not None:
        return str(dec)
    folded = unicodedata.normalize("NFKC", ch)
    return _HOMOGLYPHS.get(folded, folded)


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised text plus the data needed to map its offsets back to the original."""

    original: str
    text: str
    # Parallel lists describing replaced pieces: normalised start, normalised end, original start,
    # original end. Outside replaced pieces the shift is constant (see ``_shift``).
    _n_starts: tuple[int, ...] = ()
    _n_ends: tuple[int, ...] = ()
    _o_starts: tuple[int, ...] = ()
    _o_ends: tuple[int, ...] = ()

    @property
    def identity(self) -> bool:
        return not self._n_starts

    def _to_orig(self, pos: int, *, end: bool) -> int:
        if not self._n_starts:
            return pos
        # Index of the last replaced piece starting at or before pos.
        i = bisect.bisect_right(self._n_starts, pos) - 1
        if end:
            # pos is an exclusive end: look at the character before it.
            j = bisect.bisect_right(self._n_starts, pos - 1) - 1
            if j >= 0 and pos - 1 < self._n_ends[j]:
                return self._o_ends[j]
            if j < 0:
                return pos
            return self._o_ends[j] + (pos - self._n_ends[j])
        if i >= 0 and pos < self._n_ends[i]:
            return self._o_starts[i]
        if i < 0:
            return pos
        return self._o_ends[i] + (pos - self._n_ends[i])

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalised text to the original text."""
        if not self._n_starts:
            return start, end
        s = self._to_orig(start, end=False)
        e = self._to_orig(end, end=True)
        return s, max(e, s)


def normalize(text: str) -> Normalized:
    """Return the normalised form of ``text`` with its offset map."""
    first = _CHANGE.search(text)
    if first is None:
        return Normalized(text, text)
    parts: list[str] = []
    n_starts: list[int] = []
    n_ends: list[int] = []
    o_starts: list[int] = []
    o_ends: list[int] = []
    last = 0
    npos = 0
    for m in _CHANGE.finditer(text, first.start()):
        a, b = m.span()
        if a > last:
            parts.append(text[last:a])
            npos += a - last
        rep = _replacement(m.group())
        parts.append(rep)
        n_starts.append(npos)
        npos += len(rep)
        n_ends.append(npos)
        o_starts.append(a)
        o_ends.append(b)
        last = b
    parts.append(text[last:])
    return Normalized(text, "".join(parts), tuple(n_starts), tuple(n_ends), tuple(o_starts), tuple(o_ends))
