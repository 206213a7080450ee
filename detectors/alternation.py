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
"""

from __future__ import annotations

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
    if rest[:1] == "{":  # x{m,n}: one x consumed, then x{m-1,n-1}
        close = rest.index("}")
        low, _, high = rest[1:close].partition(",")
        if not low.isdigit() or int(low) < 1 or (high and not high.isdigit()):
            raise ValueError(f"repeat not understood: {body!r}")
        rest = f"{src}{{{int(low) - 1},{int(high) - 1 if high else ''}}}" + rest[close + 1:]
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


def dispatched(pattern: str) -> str:
    """``pattern`` (an alternation) with its branches grouped by first character (see the module)."""
    groups: dict[str, list[str]] = {}
    for branch in split_top(pattern):
        for atom, rest in _openings(branch):
            groups.setdefault(atom, []).append(rest)
    if "\\d" in groups and any(len(a) == 1 and a.isdigit() for a in groups):
        raise ValueError("a literal digit beside \\d: the groups would overlap")
    return "(?:" + "|".join(f"{atom}(?:{'|'.join(rests)})" for atom, rests in groups.items()) + ")"
