"""Edits of the configuration file by the command line (``gardefou keys ...``, ``gardefou admin ...``):
entries of a list (``auth.clients``, ``admins``) added, removed or changed by ``id``, the rest of the
file kept as it was written.

Only the top-level section holding the list (``auth:``, ``admins:``) is rewritten, from its key to its
last value, by a ruamel.yaml round trip (comments, quotes, key order and flow styles kept); every byte
before and after it, the comments that follow its last value included, is left exactly as it was. The
indentation of sequences is the file's own (``- `` under or indented from its key). The new text is
then validated as the gateway would (:func:`checked`): it must differ from the old one in that list
alone. :func:`write_atomically` replaces the file (temporary file, ``fsync``, rename; same mode and
owner), refusing if the file changed since it was read.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.tokens import CommentToken

from gateway.config import Config, parse_config

#: a list's location in the configuration: ("admins",) or ("auth", "clients")
Path_ = tuple[str, ...]


class EditError(Exception):
    """The edit cannot be made (unknown or duplicate id, a file changed meanwhile...); the message says why."""


# -- the round trip ------------------------------------------------------------------------------

def _yaml(*texts: str) -> YAML:
    """A round-trip YAML that indents sequences as the first of ``texts`` that has one does."""
    y = YAML()  # round trip
    y.preserve_quotes = True
    y.width = 4096  # never fold a long line
    offset = next((o for o in map(_sequence_offset, texts) if o is not None), 2)
    y.indent(mapping=2, sequence=offset + 2, offset=offset)
    # keep `null` written out (ruamel's default writes nothing after the colon)
    y.representer.add_representer(type(None),
                                  lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null"))
    return y


def _sequence_offset(text: str) -> int | None:
    """How far ``text`` indents ``- `` from the key of a block sequence (0 for PyYAML's own output, 2
    for config.example.yaml); None when it has none."""
    lines = text.splitlines()
    for prev, line in zip(lines, lines[1:], strict=False):
        key = re.fullmatch(r"( *)[^\s#-][^#]*:\s*(#.*)?", prev)
        dash = re.match(r"( *)- ", line)
        if key and dash:
            return max(len(dash.group(1)) - len(key.group(1)), 0)
    return None


def _dump(y: YAML, data: Any) -> str:
    out = io.StringIO()
    y.dump(data, out)
    return out.getvalue()


def _content_end(node: yaml.Node) -> yaml.Mark:
    """Where a node's own text ends: its last scalar or flow collection (a block collection's end mark
    runs on over the comments that follow it)."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    return node.end_mark


def _section(text: str, key: str) -> tuple[int, int] | None | bool:
    """The lines ``[start, end)`` of top-level ``key`` from its key to its last value; None when the
    file has no such key; False when the file is not a block mapping (edit the whole document)."""
    try:
        tree = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise EditError(f"invalid YAML: {exc}") from None
    if tree is None:
        return None
    if not isinstance(tree, yaml.MappingNode) or tree.flow_style:
        return False
    for k, v in tree.value:
        if k.value != key:
            continue
        if k.start_mark.column != 0:
            return False
        end = _content_end(v)
        last = end.line if end.column > 0 else end.line - 1
        return k.start_mark.line, max(last, k.start_mark.line) + 1
    return None


def edit(text: str, section: str, change: Callable[[CommentedMap], None]) -> str:
    """``text`` with ``change`` applied to the round-trip mapping ``{section: ...}``; only that
    section's lines are rewritten (the whole document if the file is not a plain block mapping)."""
    where = _section(text, section)
    if where is False:
        return _whole(_yaml(text), text, change)
    if where is None:  # a new section at the end of the file
        root = CommentedMap()
        change(root)
        body = _dump(_yaml(text), root)
        if not text.strip():
            return body
        return text.rstrip("\n") + "\n\n" + body
    assert not isinstance(where, bool)
    start, end = where
    lines = text.splitlines(keepends=True)
    region = "".join(lines[start:end])
    y = _yaml(region, text)  # the section's own indentation first, else the file's
    try:
        root = y.load(region)
    except RuamelError:  # e.g. an alias to an anchor outside the section
        return _whole(y, text, change)
    change(root)
    return "".join(lines[:start]) + _dump(y, root) + "".join(lines[end:])


def _whole(y: YAML, text: str, change: Callable[[CommentedMap], None]) -> str:
    try:
        root = y.load(text)
    except RuamelError as exc:
        raise EditError(f"invalid YAML: {exc}") from None
    if not isinstance(root, CommentedMap):
        raise EditError("the configuration must be a mapping of keys")
    change(root)
    return _dump(y, root)


# -- the list operations ---------------------------------------------------------------------------

def _list_at(root: CommentedMap, path: Path_, create: bool) -> CommentedSeq:
    node = root
    for key in path[:-1]:
        if not isinstance(node.get(key), CommentedMap):
            if not create:
                raise EditError(f"no {'.'.join(path)} in the file")
            node[key] = CommentedMap()
        node = node[key]
        node.fa.set_block_style()
    seq = node.get(path[-1])
    if not isinstance(seq, CommentedSeq):
        if not create:
            raise EditError(f"no {'.'.join(path)} in the file")
        node[path[-1]] = seq = CommentedSeq()
    seq.fa.set_block_style()
    return seq


def _index(seq: CommentedSeq, entry_id: str) -> int | None:
    for i, item in enumerate(seq):
        if isinstance(item, dict) and str(item.get("id")) == entry_id:
            return i
    return None


def add_entry(text: str, path: Path_, entry: dict[str, Any]) -> str:
    """Append ``entry`` to the list at ``path`` (after its last entry, before the comments below it)."""
    def change(root: CommentedMap) -> None:
        seq = _list_at(root, path, create=True)
        if _index(seq, str(entry["id"])) is not None:
            raise EditError(f"{entry['id']!r} is already in {'.'.join(path)}")
        seq.append(CommentedMap(entry))
    return edit(text, path[0], change)


def set_fields(text: str, path: Path_, entry_id: str, fields: dict[str, Any]) -> str:
    """Change ``fields`` of the entry ``entry_id`` of the list at ``path`` (its comments kept)."""
    def change(root: CommentedMap) -> None:
        seq = _list_at(root, path, create=False)
        i = _index(seq, entry_id)
        if i is None:
            raise EditError(f"no {entry_id!r} in {'.'.join(path)}")
        seq[i].update(fields)
    return edit(text, path[0], change)


def remove_entry(text: str, path: Path_, entry_id: str) -> str:
    """Remove the entry ``entry_id`` from the list at ``path``, with the comment lines just above it;
    the comment lines below it stay (they are the next entry's, or the section's)."""
    def change(root: CommentedMap) -> None:
        seq = _list_at(root, path, create=False)
        i = _index(seq, entry_id)
        if i is None:
            raise EditError(f"no {entry_id!r} in {'.'.join(path)}")
        parent = root
        for key in path[:-1]:
            parent = parent[key]
        _move_following_comments(seq, i, parent.ca.items.get(path[-1]))
        del seq[i]
    return edit(text, path[0], change)


def _post_comment(item: Any):
    """The comment token ruamel attaches after an entry's last scalar: that line's end-of-line comment,
    then the full comment lines up to the next entry."""
    if isinstance(item, CommentedMap) and item:
        last = list(item.keys())[-1]
        if isinstance(item[last], (CommentedMap, CommentedSeq)):
            return None, None
        slots = item.ca.items.get(last)
        return (slots[2] if slots and len(slots) > 2 else None), last
    return None, None


def _move_following_comments(seq: CommentedSeq, i: int, key_slots: list | None) -> None:
    """ruamel keeps the comment lines above entry ``i`` on the entry before it (or on the list and its
    key, ``key_slots``), and those below it on entry ``i`` itself: give the lines below to whatever
    precedes entry ``i``, in place of the lines above it, so that deleting the entry takes its own
    comments along."""
    after, _ = _post_comment(seq[i])
    below = after.value.split("\n", 1)[1] if after is not None and "\n" in after.value else ""
    if i == 0:
        lines = _line_tokens(below)
        seq.ca.comment = [None, lines] if lines else None
        if key_slots is not None and len(key_slots) > 3:
            key_slots[3] = lines or None  # ruamel writes the lines above a list's first entry from here
        return
    prev, last = _post_comment(seq[i - 1])
    if last is None:
        return
    eol = prev.value.split("\n", 1)[0] if prev is not None else ""  # the previous entry's own comment
    if not eol and not below:
        seq[i - 1].ca.items.pop(last, None)
    elif prev is not None:
        prev.value = eol + "\n" + below
    else:
        assert after is not None
        after.value = "\n" + below
        seq[i - 1].ca.items[last] = [None, None, after, None]


def _line_tokens(text: str) -> list[CommentToken]:
    """Comment lines as the tokens ruamel puts before a list's first entry (one per line, its column)."""
    out = []
    for line in text.splitlines():
        out.append(CommentToken(line.strip() + "\n", CommentMark(len(line) - len(line.lstrip()))))
    return out


# -- checks and writing -----------------------------------------------------------------------------

def checked(old_text: str, new_text: str, source: str, path: Path_, expected: list[dict[str, Any]]) -> Config:
    """Validate ``new_text`` as the gateway would and make sure it differs from ``old_text`` only by
    the list at ``path``, which must now hold ``expected`` (entries as the configuration reads them)."""
    cfg = parse_config(new_text, source)
    old, new = parse_config(old_text, source).model_dump(), cfg.model_dump()
    node_old, node_new = old, new
    for key in path[:-1]:
        node_old, node_new = node_old[key], node_new[key]
    if node_new[path[-1]] != expected:
        raise EditError(f"internal error: {'.'.join(path)} would not read as intended; file left unchanged")
    node_old[path[-1]] = node_new[path[-1]]
    if old != new:
        raise EditError("internal error: the edit would change more than " + ".".join(path) + "; file left unchanged")
    return cfg


def write_atomically(path: Path, text: str, read_text: str) -> None:
    """Replace ``path`` with ``text``: a temporary file beside it with the same mode (and owner, when
    allowed), flushed to disk, renamed over it. Refused if the file no longer holds ``read_text``
    (another edit ran meanwhile). A symbolic link is followed: its target is replaced."""
    target = path.resolve()
    st = target.stat()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, st.st_mode & 0o7777)
        try:
            os.chown(tmp, st.st_uid, st.st_gid)
        except PermissionError:  # not root: the file stays ours, as the one we could write
            pass
        if target.read_text(encoding="utf-8") != read_text:
            raise EditError(f"{path} changed while it was being edited; nothing written, run the command again")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)


def update_file(path: Path, where: Path_, edit_text: Callable[[str], str],
                expected: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Config:
    """Edit the list at ``where`` in the configuration file ``path``: the file must be valid before,
    ``edit_text`` makes the new text, which must read as ``expected(entries before)`` with nothing else
    changed; then it replaces the file atomically. Returns the new configuration."""
    text = path.read_text(encoding="utf-8")
    before: Any = parse_config(text, str(path)).model_dump()  # the file must be valid before we touch it
    for key in where:
        before = before[key]
    new_text = edit_text(text)
    config = checked(text, new_text, str(path), where, expected(before))
    write_atomically(path, new_text, text)
    return config
