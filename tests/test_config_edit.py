"""``gateway.config_edit``: list entries added, removed or changed by id, with every byte outside the
edited section kept, the comments inside it kept, and an atomic replacement of the file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from gateway.config import hash_key, parse_config
from gateway.config_edit import EditError, add_entry, checked, remove_entry, set_fields, update_file, write_atomically

CLIENTS = ("auth", "clients")
H = {name: hash_key(name) for name in ("a", "b", "c", "n")}

#: a file with comments everywhere: above, inside and below the edited list, and in other sections
FILE = f"""\
# Garde-fou - CHU de test   (trailing spaces kept)
listen:
  port: 8080        # gateway
  host: 127.0.0.1

# Client authentication
auth:
  mode: api_key     # keys checked
  clients:
    # pharmacie
    - id: a
      department: Pharmacie
      key_sha256: {H['a']}   # eol a
    # urgences
    - id: b
      department: null
      key_sha256: "{H['b']}"
    # bloc
    - id: c
      key_sha256: '{H['c']}'
  # - id: agent-7f3a            # an example, commented out
  #   key_sha256: <sha256 hex>

admins: []
  # - id: dpo-1

policy: {{warn_mode: forward}}   # flow style elsewhere is untouched
"""

AUTH_START, AUTH_END = FILE.index("auth:\n"), FILE.index("  # - id: agent-7f3a")


def outside(text: str) -> tuple[str, str]:
    """What comes before the ``auth:`` section and after its last value."""
    return text[:text.index("auth:\n")], text[text.index("  # - id: agent-7f3a"):]


def ids(text: str) -> list[str]:
    return [c.id for c in parse_config(text).auth.clients]


def test_add_keeps_every_byte_outside_the_section_and_the_comments_inside():
    new = add_entry(FILE, CLIENTS, {"id": "n", "department": "Urgences adultes", "key_sha256": H["n"]})
    assert outside(new) == (FILE[:AUTH_START], FILE[AUTH_END:])
    assert ids(new) == ["a", "b", "c", "n"]
    section = new[new.index("auth:\n"):new.index("  # - id: agent-7f3a")]
    # the section's own lines, comments and quotes included, are all there, in order, before the new entry
    old_lines = FILE[AUTH_START:AUTH_END].splitlines()
    assert section.splitlines()[:len(old_lines)] == old_lines
    assert section.splitlines()[len(old_lines):] == [
        "    - id: n", "      department: Urgences adultes", f"      key_sha256: {H['n']}"]


@pytest.mark.parametrize("gone", ["a", "b", "c"])
def test_remove_takes_the_entry_and_its_own_comment_lines(gone):
    new = remove_entry(FILE, CLIENTS, gone)
    assert outside(new) == (FILE[:AUTH_START], FILE[AUTH_END:])
    assert ids(new) == [i for i in "abc" if i != gone]
    own = {"a": "# pharmacie", "b": "# urgences", "c": "# bloc"}
    for cid, comment in own.items():
        assert (comment in new) == (cid != gone), (cid, new)
    assert ("# eol a" in new) == (gone != "a")
    assert H[gone] not in new
    kept = [line for line in FILE.splitlines() if line in new.splitlines()]
    assert [line for line in new.splitlines()] == kept  # nothing rewritten, only lines taken out


def test_remove_every_entry_leaves_an_empty_list():
    new = FILE
    for cid in "bac":
        new = remove_entry(new, CLIENTS, cid)
    assert ids(new) == []
    assert "  clients: []\n" in new
    assert outside(new) == (FILE[:AUTH_START], FILE[AUTH_END:])


def test_set_field_changes_one_value():
    new = set_fields(FILE, CLIENTS, "b", {"key_sha256": H["n"]})
    diff = [(o, n) for o, n in zip(FILE.splitlines(), new.splitlines(), strict=True) if o != n]
    assert diff == [(f'      key_sha256: "{H["b"]}"', f'      key_sha256: "{H["n"]}"')]


def test_unknown_and_duplicate_ids():
    with pytest.raises(EditError, match="no 'zz'"):
        remove_entry(FILE, CLIENTS, "zz")
    with pytest.raises(EditError, match="no 'zz'"):
        set_fields(FILE, CLIENTS, "zz", {"key_sha256": H["n"]})
    with pytest.raises(EditError, match="already"):
        add_entry(FILE, CLIENTS, {"id": "a", "key_sha256": H["n"]})
    with pytest.raises(EditError, match="no auth.clients"):
        remove_entry("listen:\n  port: 1\n", CLIENTS, "a")


@pytest.mark.parametrize("original", [
    "",
    "# only a comment\n",
    "listen:\n  port: 9000\n",
    "auth:\n  mode: api_key\n",
    "auth:\nlisten:\n  port: 9000\n",
    "auth: {mode: api_key}\nlisten: {port: 9001}\n",
    "auth:\n  clients: []\n  # - id: example\nlisten:\n  port: 9000\n",
    f"auth:\n  clients:\n  - id: a\n    key_sha256: {H['a']}\nlimits:\n  max_body_bytes: 4096\n",  # PyYAML's layout
    f"auth:\n  clients: [{{id: a, key_sha256: '{H['a']}'}}]  # flow\n",
    "auth:\n  mode: api_key\n  clients: []",  # no final newline
])
def test_add_on_every_shape(original):
    entry = {"id": "n", "key_sha256": H["n"]}
    new = add_entry(original, CLIENTS, entry)
    before = yaml.safe_load(original) or {}
    after = yaml.safe_load(new)
    assert after["auth"]["clients"][-1] == entry
    assert len(after["auth"]["clients"]) == len((before.get("auth") or {}).get("clients") or []) + 1
    for key in before:
        if key != "auth":
            assert after[key] == before[key]
    assert (after["auth"].get("mode")) == ((before.get("auth") or {}).get("mode"))
    parse_config(new)
    if "  - id: a\n    key" in original:  # the file's own sequence indentation is followed
        assert "  - id: n\n    key_sha256" in new


def test_checked_refuses_an_edit_that_changes_anything_else():
    new = FILE.replace("port: 8080", "port: 8090")
    with pytest.raises(EditError, match="more than auth.clients"):
        checked(FILE, new, "f", CLIENTS, parse_config(FILE).model_dump()["auth"]["clients"])
    with pytest.raises(EditError, match="would not read as intended"):
        checked(FILE, FILE, "f", CLIENTS, [])


def test_write_atomically_keeps_mode_follows_links_and_refuses_a_file_changed_meanwhile(tmp_path):
    real = tmp_path / "real.yaml"
    real.write_text(FILE, encoding="utf-8")
    os.chmod(real, 0o640)
    link = tmp_path / "config.yaml"
    link.symlink_to(real)
    new = remove_entry(FILE, CLIENTS, "b")
    write_atomically(link, new, FILE)
    assert link.is_symlink() and real.read_text(encoding="utf-8") == new
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    with pytest.raises(EditError, match="changed while"):
        write_atomically(link, FILE, FILE)  # the file holds `new` now, not what was read
    assert real.read_text(encoding="utf-8") == new
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "real.yaml"]  # no temporary left


def test_update_file_refuses_an_invalid_file_and_leaves_it(tmp_path):
    from gateway.config import ConfigError

    path = tmp_path / "c.yaml"
    bad = FILE.replace("mode: api_key", "mode: maybe")
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError):
        update_file(path, CLIENTS, lambda t: remove_entry(t, CLIENTS, "a"), lambda old: old[1:])
    assert path.read_text(encoding="utf-8") == bad


def test_example_configuration_round_trip():
    """The shipped example: a key and a user added, then removed, give the file back byte for byte."""
    example = (Path(__file__).parent.parent / "config.example.yaml").read_text(encoding="utf-8")
    new = add_entry(example, CLIENTS, {"id": "n", "department": "Pharmacie", "key_sha256": H["n"]})
    new = add_entry(new, ("admins",), {"id": "d", "role": "dpo", "token_sha256": H["a"]})
    cfg = parse_config(new)
    assert [c.id for c in cfg.auth.clients] == ["n"] and [u.id for u in cfg.admins] == ["d"]
    block = new[new.index("auth:"):new.index("admins:")]
    assert block.index("- id: n") < block.index("# - id: agent-7f3a")  # above the commented example
    back = remove_entry(remove_entry(new, CLIENTS, "n"), ("admins",), "d")
    assert back == example


def test_the_sections_own_sequence_indentation_wins_over_the_files():
    original = (f"services:\n  - id: mistral\n    hosts: [mistral.ai]\nauth:\n  clients:\n  - id: a\n"
                f"    key_sha256: {H['a']}\n")
    new = add_entry(original, CLIENTS, {"id": "n", "key_sha256": H["n"]})
    assert new == original + f"  - id: n\n    key_sha256: {H['n']}\n"
