"""``gardefou keys add | list | revoke`` and ``gardefou admin list-users | remove-user | rotate-token``:
the file edited in place (bytes outside the edited section unchanged), the secret printed once and
only its hash stored, and what a running gateway or admin listener does with the change."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from gateway.cli import main
from gateway.config import hash_key, load_config
from gateway.server import create_app
from tests.admin_support import TOKENS, start_admin
from tests.conftest import serve_in_thread

HEADER = """\
# Garde-fou - CHU de test
# (comments, blank lines and odd spacing outside the edited section must survive byte for byte)

listen:
  host:   127.0.0.1     # spaces kept
  port: 0
"""

FOOTER = """\
  # - id: agent-7f3a            # pseudonymous id recorded in the audit
  #   key_sha256: <sha256 hex>

limits:
  max_body_bytes: 200000   # 200 kB
  upstream_timeout_s: 1.5
"""


def config_text(db_url: str, fake_url: str, mode: str = "api_key") -> str:
    return (HEADER + f"""\
audit:
  url: {db_url}
services:
  - id: mistral
    base_url: {fake_url}/v1
auth:
  mode: {mode}   # checked
  clients:
    # the pharmacy's workstation
    - id: poste-pharma
      department: Pharmacie
      key_sha256: {hash_key("cle-pharma-existante")}
""" + FOOTER)


@pytest.fixture
def cfg(tmp_path, fake) -> Path:
    path = tmp_path / "gardefou.yaml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'audit.db'}", fake.url), encoding="utf-8")
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_outside_unchanged(before: str, after: str, section: str, next_text: str) -> None:
    """Everything before ``section:`` and from ``next_text`` on is byte-for-byte the same."""
    start = before.index(section + ":\n")
    assert after[:start] == before[:start]
    assert after[after.index(next_text):] == before[before.index(next_text):]


# -- keys --------------------------------------------------------------------------------------

def test_keys_add_prints_the_key_once_and_stores_its_hash(cfg, capsys):
    before = cfg.read_text(encoding="utf-8")
    code, out, _ = run(capsys, "keys", "add", "agent-7f3a", "--department", "Urgences adultes", "--config", str(cfg))
    assert code == 0
    key = out.strip().splitlines()[-1]
    assert key.startswith("gf-") and len(key) > 40
    after = cfg.read_text(encoding="utf-8")
    assert key not in after and hash_key(key) in after
    assert_outside_unchanged(before, after, "auth", FOOTER)
    assert "    # the pharmacy's workstation\n" in after and "  mode: api_key   # checked\n" in after
    clients = load_config(cfg).auth.clients
    assert [(c.id, c.department, c.key_sha256) for c in clients] == [
        ("poste-pharma", "Pharmacie", hash_key("cle-pharma-existante")),
        ("agent-7f3a", "Urgences adultes", hash_key(key))]
    # a second key gives a different secret; a client without department
    code, out2, _ = run(capsys, "keys", "add", "script-rh", "--config", str(cfg))
    assert code == 0 and out2.strip().splitlines()[-1] != key
    assert load_config(cfg).auth.clients[-1].department is None


def test_keys_add_refusals_leave_the_file_alone(cfg, capsys, tmp_path):
    before = cfg.read_text(encoding="utf-8")
    code, out, err = run(capsys, "keys", "add", "poste-pharma", "--config", str(cfg))
    assert code == 1 and "already has a key" in err and out == ""
    code, _, err = run(capsys, "keys", "add", "bad id!", "--config", str(cfg))
    assert code == 2 and "invalid client id" in err
    code, _, err = run(capsys, "keys", "add", "ok-id", "--department", "", "--config", str(cfg))
    assert code == 2 and "invalid department" in err
    assert cfg.read_text(encoding="utf-8") == before
    broken = tmp_path / "broken.yaml"
    broken.write_text(before.replace("mode: api_key", "mode: sometimes"), encoding="utf-8")
    code, _, err = run(capsys, "keys", "add", "x", "--config", str(broken))
    assert code == 2 and "auth.mode" in err
    assert broken.read_text(encoding="utf-8") == before.replace("mode: api_key", "mode: sometimes")


def test_keys_add_says_when_keys_are_not_checked(tmp_path, fake, capsys):
    path = tmp_path / "g.yaml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'a.db'}", fake.url, mode="none"), encoding="utf-8")
    code, out, _ = run(capsys, "keys", "add", "agent-1", "--config", str(path))
    assert code == 0 and "auth.mode is 'none'" in out
    code, out, _ = run(capsys, "keys", "list", "--config", str(path))
    assert "keys NOT checked" in out


def test_keys_list_shows_no_secret(cfg, capsys):
    code, out, _ = run(capsys, "keys", "add", "agent-7f3a", "--department", "Urgences", "--config", str(cfg))
    key = out.strip().splitlines()[-1]
    code, out, _ = run(capsys, "keys", "list", "--config", str(cfg))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("auth.mode: api_key (keys checked); 2 client key(s)")
    assert lines[1].split() == ["ID", "DEPARTMENT"]
    assert [line.split(None, 1) for line in lines[2:]] == [["poste-pharma", "Pharmacie"], ["agent-7f3a", "Urgences"]]
    code, out_json, _ = run(capsys, "keys", "list", "--json", "--config", str(cfg))
    assert json.loads(out_json) == {"mode": "api_key", "clients": [
        {"id": "poste-pharma", "department": "Pharmacie"}, {"id": "agent-7f3a", "department": "Urgences"}]}
    for text in (out, out_json):
        assert key not in text and hash_key(key) not in text and hash_key("cle-pharma-existante") not in text


def test_keys_revoke(cfg, capsys):
    run(capsys, "keys", "add", "agent-7f3a", "--config", str(cfg))
    before = cfg.read_text(encoding="utf-8")
    code, _, err = run(capsys, "keys", "revoke", "inconnu", "--config", str(cfg))
    assert code == 1 and "no client 'inconnu'" in err
    assert cfg.read_text(encoding="utf-8") == before
    code, out, _ = run(capsys, "keys", "revoke", "poste-pharma", "--config", str(cfg))
    assert code == 0 and "revoked" in out
    after = cfg.read_text(encoding="utf-8")
    assert_outside_unchanged(before, after, "auth", FOOTER)
    assert hash_key("cle-pharma-existante") not in after
    assert "# the pharmacy's workstation" not in after  # the entry's own comment goes with it
    assert [c.id for c in load_config(cfg).auth.clients] == ["agent-7f3a"]
    code, _, err = run(capsys, "keys", "revoke", "poste-pharma", "--config", str(cfg))
    assert code == 1


def _chat(url: str, key: str) -> int:
    return httpx.post(url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=20,
                      json={"model": "mistral/mistral-small-latest",
                            "messages": [{"role": "user", "content": "Reformule : la réunion est à 10 h."}]}
                      ).status_code


def test_a_revoked_key_is_refused_by_the_gateway_after_a_restart(cfg, capsys, scanner):
    """A gateway started from the file takes the added key; after `keys revoke` and a restart, it
    refuses it (401) and still takes the other clients' keys."""
    code, out, _ = run(capsys, "keys", "add", "agent-7f3a", "--config", str(cfg))
    key = out.strip().splitlines()[-1]

    def start():
        app = create_app(load_config(cfg), scanner=scanner)
        url, server, thread = serve_in_thread(app)
        return url, server, thread, app.state.pipeline.store

    url, server, thread, store = start()
    try:
        assert _chat(url, key) == 200 and _chat(url, "cle-pharma-existante") == 200
        assert _chat(url, "gf-not-a-key") == 401
        assert run(capsys, "keys", "revoke", "agent-7f3a", "--config", str(cfg))[0] == 0
    finally:
        server.should_exit = True
        thread.join(10)
        store.dispose()
    url, server, thread, store = start()  # the restart
    try:
        assert _chat(url, key) == 401
        assert _chat(url, "cle-pharma-existante") == 200
        records = store.recent(10)  # (the outcome of the last one may still be on its way)
        assert records[0]["client_id"] == "poste-pharma" and records[0]["decision"] == "allow"
        assert records[1]["client_id"] is None and "auth.failed" in records[1]["rule_ids"]
    finally:
        server.should_exit = True
        thread.join(10)
        store.dispose()


# -- admin users ---------------------------------------------------------------------------------

ADMINS_FOOTER = """\
  # - id: dpo-2
  #   role: dpo

policy:
  warn_mode: forward  # keep
"""


def admin_file(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "admins.yaml"
    lines = [HEADER, f"audit:\n  url: {db_url}\n", "admins:\n"]
    for role, tok in TOKENS.items():
        lines.append(f"  # {role}\n  - id: {role}.user\n    role: {role}\n    token_sha256: \"{hash_key(tok)}\"\n")
    path.write_text("".join(lines) + ADMINS_FOOTER, encoding="utf-8")
    return path


def test_admin_list_users_shows_no_token(tmp_path, capsys):
    path = admin_file(tmp_path, f"sqlite:///{tmp_path / 'a.db'}")
    code, out, _ = run(capsys, "admin", "list-users", "--config", str(path))
    assert code == 0
    assert [line.split() for line in out.splitlines()] == [
        ["ID", "ROLE"], ["dpo.user", "dpo"], ["rssi.user", "rssi"], ["admin.user", "admin"]]
    code, out_json, _ = run(capsys, "admin", "list-users", "--json", "--config", str(path))
    assert json.loads(out_json)[0] == {"id": "dpo.user", "role": "dpo"}
    for tok in TOKENS.values():
        assert tok not in out + out_json and hash_key(tok) not in out + out_json
    empty = tmp_path / "empty.yaml"
    empty.write_text("admins: []\n", encoding="utf-8")
    code, out, _ = run(capsys, "admin", "list-users", "--config", str(empty))
    assert code == 0 and "No admin users" in out


def test_admin_remove_user_and_rotate_token_refuse_unknown_ids(tmp_path, capsys):
    path = admin_file(tmp_path, f"sqlite:///{tmp_path / 'a.db'}")
    before = path.read_text(encoding="utf-8")
    for command in ("remove-user", "rotate-token"):
        code, out, err = run(capsys, "admin", command, "nobody", "--config", str(path))
        assert code == 1 and "no admin user 'nobody'" in err and out == ""
    code, _, err = run(capsys, "admin", "add-user", "dpo.user", "--role", "dpo", "--config", str(path))
    assert code == 1 and "already exists" in err
    assert path.read_text(encoding="utf-8") == before


def _login(url: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=10)
    assert client.post("/admin/login", data={"token": token}).status_code == 303
    return client


def test_admin_remove_user_and_rotate_token_on_a_running_admin_listener(tmp_path, capsys):
    """The admin listener re-reads the file: a removed user's token and session stop at once; a
    rotated token replaces the old one, whose sessions end too; other users are untouched."""
    db_url = f"sqlite:///{tmp_path / 'a.db'}"
    path = admin_file(tmp_path, db_url)
    srv = start_admin(db_url, config_path=path)
    dpo, rssi, admin = (_login(srv.url, TOKENS[r]) for r in ("dpo", "rssi", "admin"))
    try:
        for c in (dpo, rssi, admin):
            assert c.get("/admin/api/decisions").status_code == 200
        before = path.read_text(encoding="utf-8")
        code, out, _ = run(capsys, "admin", "remove-user", "rssi.user", "--config", str(path))
        assert code == 0 and "removed" in out
        after = path.read_text(encoding="utf-8")
        assert_outside_unchanged(before, after, "admins", ADMINS_FOOTER)
        assert "  # rssi\n" not in after and "  # dpo\n" in after and "  # admin\n" in after
        assert rssi.get("/admin/api/decisions").status_code == 401
        bearer = {"Authorization": f"Bearer {TOKENS['rssi']}"}
        assert httpx.get(srv.url + "/admin/api/decisions", headers=bearer, timeout=10).status_code == 401

        before = after
        code, out, _ = run(capsys, "admin", "rotate-token", "dpo.user", "--config", str(path))
        assert code == 0
        new_token = out.strip().splitlines()[-1]
        after = path.read_text(encoding="utf-8")
        changed = [(o, n) for o, n in zip(before.splitlines(), after.splitlines(), strict=True) if o != n]
        assert changed == [(f'    token_sha256: "{hash_key(TOKENS["dpo"])}"', f'    token_sha256: "{hash_key(new_token)}"')]
        assert dpo.get("/admin/api/decisions").status_code == 401  # the session opened with the old token
        old = {"Authorization": f"Bearer {TOKENS['dpo']}"}
        assert httpx.get(srv.url + "/admin/api/decisions", headers=old, timeout=10).status_code == 401
        new = {"Authorization": f"Bearer {new_token}"}
        assert httpx.get(srv.url + "/admin/api/decisions", headers=new, timeout=10).status_code == 200
        assert _login(srv.url, new_token).get("/admin/api/decisions").status_code == 200
        assert admin.get("/admin/api/access-log").status_code == 200  # untouched
        assert [(u.id, u.role) for u in load_config(path).admins] == [("dpo.user", "dpo"), ("admin.user", "admin")]
    finally:
        for c in (dpo, rssi, admin):
            c.close()
        srv.stop()
        srv.store.dispose()


def test_removing_the_last_admin_role_warns(tmp_path, capsys):
    path = admin_file(tmp_path, f"sqlite:///{tmp_path / 'a.db'}")
    code, _, err = run(capsys, "admin", "remove-user", "admin.user", "--config", str(path))
    assert code == 0 and "no user with the admin role left" in err
    run(capsys, "admin", "remove-user", "dpo.user", "--config", str(path))
    code, _, err = run(capsys, "admin", "remove-user", "rssi.user", "--config", str(path))
    assert code == 0 and "no admin users left" in err
    assert load_config(path).admins == []
    assert "admins: []\n" in path.read_text(encoding="utf-8")
