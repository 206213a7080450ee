"""A long alternation of terms, rewritten so that the regex engine tries only the terms that can
start at each position.

Python's ``re`` tries the branches of ``a|b|c|…`` one after the other at every position of the text:
with a few hundred clinical terms, a 300-character prompt costs tens of thousands of branch tests.
``dispatched`` groups the branches by their first character, ``é(?:pilep|chograph)|h(?:ta\\b|…)|…``:
at a position the engine checks one character per group and enters one group only.

The rewrite gives exactly the matches of the original (``finditer``: same spans, same text), because
at a position only the branches whose first character is the text's character can match, and they
keep their order inside their group, so the same branch wins. A branch that opens on a word
boundary before a word character, ``\\bhta``, becomes ``h(?<!\\w\\w)ta``: after the ``h`` (a word
character), "the two characters before are not both word characters" says that the one before the
``h`` is not, which is what ``\\b`` said there. Only the branch openings met in the detectors'
patterns are understood (a literal character, a character list, ``\\d``, ``\\d{m,n}``, a
non-capturing group of such alternatives, each optionally behind ``\\b``); anything else raises
``ValueError`` at import, and ``tests/detectors/test_health.py`` compares the matches of both forms.
A list matched ignoring case is grouped by its lower-case first characters (``ignorecase``;
``tests/detectors/test_alternation.py``).
"""

from __future__ import annotations

import re

_SPECIAL = set("()[]{}|?*+^$.\\")


def _scan(pattern: str):
    """(index, character, group depth after it) of each character outside escapes and classes."""
    depth, in_class, i = 0, False, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        else:
            depth += (ch == "(") - (ch == ")")
            yield i, ch, depth
        i += 1


def split_top(pattern: str) -> list[str]:
    """The top-level alternatives of ``pattern`` (outside groups and character classes)."""
    cuts = [i for i, ch, depth in _scan(pattern) if ch == "|" and depth == 0]
    return [pattern[a + 1: b] for a, b in zip([-1, *cuts], [*cuts, len(pattern)])]


def _closing(pattern: str) -> int:
    """The index of the parenthesis closing the one ``pattern`` opens with."""
    for i, ch, depth in _scan(pattern):
        if ch == ")" and depth == 0:
            return i
    raise ValueError(f"unbalanced group in {pattern!r}")


def _first(body: str) -> tuple[list[str], str]:
    """(the characters a branch can open on, as pattern atoms; the rest of the branch after one of them)."""
    if body.startswith("\\d"):
        atoms, src, n = ["\\d"], "\\d", 2
    elif body.startswith("["):
        close = body.index("]", 1)
        chars = body[1:close]
        if not chars or chars[0] == "^" or "-" in chars or "\\" in chars or "[" in chars:
            raise ValueError(f"character class not understood: {body!r}")
        atoms, src, n = list(dict.fromkeys(chars)), body[: close + 1], close + 1
    elif body and body[0] not in _SPECIAL:
        atoms, src, n = [body[0]], body[0], 1
    else:
        raise ValueError(f"branch opening not understood: {body!r}")
    rest = body[n:]
    if rest[:1] in ("?", "*", "+"):
        raise ValueError(f"optional first character: {body!r}")
    if rest[:1] == "{":  # x{m,n} (x{m,}, x{m}): one x consumed, then x{m-1,n-1} (x{m-1,}, x{m-1})
        close = rest.index("}")
        low, comma, high = rest[1:close].partition(",")
        if not low.isdigit() or int(low) < 1 or (high and not high.isdigit()):
            raise ValueError(f"repeat not understood: {body!r}")
        upper = (f",{int(high) - 1}" if high else ",") if comma else ""
        rest = f"{src}{{{int(low) - 1}{upper}}}" + rest[close + 1:]
    return [a if a == "\\d" else _escape(a) for a in atoms], rest


def _escape(ch: str) -> str:
    return "\\" + ch if ch in _SPECIAL or ch in "-#&~ " else ch


def _openings(branch: str) -> list[tuple[str, str]]:
    """(first character atom, the rest of the branch) for each character ``branch`` can open on."""
    boundary = branch.startswith("\\b")
    body = branch[2:] if boundary else branch
    guard = "(?<!\\w\\w)" if boundary else ""
    if body.startswith("(?:"):
        close = _closing(body)
        after = body[close + 1:]
        if after[:1] in ("?", "*", "+", "{"):
            raise ValueError(f"optional group opening a branch: {branch!r}")
        rests: dict[str, list[str]] = {}
        for alt in split_top(body[3:close]):
            atoms, rest = _first(alt)
            for atom in atoms:
                rests.setdefault(atom, []).append(rest)
        pairs = [(atom, f"{guard}(?:{'|'.join(r)}){after}") for atom, r in rests.items()]
    else:
        atoms, rest = _first(body)
        pairs = [(atom, guard + rest) for atom in atoms]
    if boundary and any(a != "\\d" and not (a[-1].isalnum() or a[-1] == "_") for a, _ in pairs):
        raise ValueError(f"\\b before a non-word character: {branch!r}")
    return pairs


def dispatched(pattern: str, ignorecase: bool = False) -> str:
    """``pattern`` (an alternation) with its branches grouped by first character (see the module).

    ``ignorecase``: for a pattern meant to match ignoring case. The result is then compiled
    *without* ``re.IGNORECASE``: each group opens on the exact list of the characters its first
    character matches ignoring case (``[pP]``, ``[kKK]`` with the Kelvin sign, asked of ``re``
    itself, ``_case_classes``), and the rest of its branches is matched ignoring case (``(?i:…)``).
    A list the engine can test before entering the group, where under the flag it would enter every
    group. Two groups whose lists share a character (``s`` and ``ſ``) would overlap: refused."""
    groups: dict[str, list[str]] = {}
    for branch in split_top(pattern):
        for atom, rest in _openings(branch):
            groups.setdefault(atom.lower() if ignorecase else atom, []).append(rest)
    if "\\d" in groups and any(len(a) == 1 and a.isdigit() for a in groups):
        raise ValueError("a literal digit beside \\d: the groups would overlap")
    if not ignorecase:
        return "(?:" + "|".join(f"{atom}(?:{'|'.join(rests)})" for atom, rests in groups.items()) + ")"
    letters = [a for a in groups if a != "\\d"]  # an atom is a character, escaped or not, or \d
    classes = _case_classes([a[-1] for a in letters])
    seen: dict[str, str] = {}
    for a in letters:
        for ch in classes[a[-1]]:
            if seen.setdefault(ch, a) != a:
                raise ValueError(f"{seen[ch]!r} and {a!r} match {ch!r} ignoring case: the groups would overlap")
    opening = {a: a if a == "\\d" else "[" + "".join(_escape_in_class(c) for c in classes[a[-1]]) + "]" for a in groups}
    return "(?:" + "|".join(f"{opening[a]}(?i:{'|'.join(rests)})" for a, rests in groups.items()) + ")"


def _case_classes(chars: list[str]) -> dict[str, str]:
    """For each character, every character ``re`` matches with it under ``re.IGNORECASE``: one
    search of a string of all code points for the characters together, then each found one
    checked against each character (a few dozen, once at import). Unicode's case pairs of the Basic
    Multilingual Plane stay in it (the cased scripts beyond it pair among themselves), so characters
    of that plane are looked for there only (65,536 code points: milliseconds)."""
    if not chars:
        return {}
    everything = "".join(map(chr, range(0x10000 if max(map(ord, chars)) < 0x10000 else 0x110000)))
    found = re.findall("[" + "".join(_escape_in_class(c) for c in chars) + "]", everything, re.IGNORECASE)
    return {c: "".join(x for x in found if re.fullmatch(re.escape(c), x, re.IGNORECASE)) for c in chars}


def _escape_in_class(ch: str) -> str:
    return "\\" + ch if ch in "\\]^-[" else ch
