"""The `gardefou` command line: check-config, serve refusing a bad configuration, scan."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import wait_ready

ROOT = Path(__file__).resolve().parents[1]


def gardefou(*args, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout)


def test_check_config_example_is_valid():
    r = gardefou("check-config", "config.example.yaml")
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout


def test_check_config_names_bad_key_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("listen:\n  host: 127.0.0.1\n  prot: 8080\npolicy:\n  warn_mode: sometimes\n")
    r = gardefou("check-config", str(bad))
    assert r.returncode == 2
    assert "line 3: listen.prot" in r.stderr
    assert "line 5: policy.warn_mode" in r.stderr


def test_check_config_bad_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("services:\n  - id: x\n   name: [\n")
    r = gardefou("check-config", str(bad))
    assert r.returncode == 2 and "line" in r.stderr and "invalid YAML" in r.stderr
    r = gardefou("check-config", str(tmp_path / "missing.yaml"))
    assert r.returncode == 2 and "cannot read" in r.stderr


def test_serve_refuses_a_bad_configuration(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("audit:\n  url: sqlite:///x.db\n  retention: 3\n")
    r = gardefou("serve", "--config", str(bad), timeout=60)
    assert r.returncode == 2 and "line 3: audit.retention" in r.stderr


def test_serve_refuses_an_unreachable_audit_store(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"audit:\n  url: sqlite:///{tmp_path}/no/such/dir/a.db\n")
    r = gardefou("serve", "--config", str(cfg), "--port", "0", timeout=60)
    assert r.returncode == 2 and "cannot start" in r.stderr


NIR = "2 69 05 49 588 157 80"


def scan(capsys, monkeypatch, scanner, *args, stdin: str = "") -> tuple[int, str, str]:
    """``gardefou scan`` in-process, on the run's scanner (a subprocess would load spaCy again)."""
    import io

    from gateway.cli import main

    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["scan", *args], scanner=scanner)
    out, err = capsys.readouterr()
    return code, out, err


def test_scan_command_runs_as_a_program():
    r = gardefou("scan", stdin=f"Patiente, NIR {NIR}.")
    assert r.returncode == 20 and json.loads(r.stdout)["decision"] == "block" and NIR not in r.stdout


def test_scan_single_block_and_allow(capsys, monkeypatch, scanner):
    code, out, _ = scan(capsys, monkeypatch, scanner, stdin=f"Patiente, NIR {NIR}.")
    assert code == 20
    res = json.loads(out)
    assert res["decision"] == "block" and "personal" in res["categories"]
    (f,) = [f for f in res["findings"] if f["type"] == "FR_NIR"]
    assert f["start"] == 14 and f["end"] == 14 + len(NIR)
    assert NIR not in out and "*" in f["excerpt"]
    code, out, _ = scan(capsys, monkeypatch, scanner, stdin="Quels sont les effets secondaires du paracétamol ?")
    assert code == 0 and json.loads(out)["decision"] == "allow"
    code, out, _ = scan(capsys, monkeypatch, scanner, "--service", "openai", stdin="Bonjour")
    assert code == 10 and json.loads(out)["decision"] == "warn"
    code, _, err = scan(capsys, monkeypatch, scanner, "--service", "nope", stdin="Bonjour")
    assert code == 2 and "unknown service" in err


def test_scan_jsonl(tmp_path, capsys, monkeypatch, scanner):
    lines = [
        {"id": "a", "text": "Écrire à marie.curie@example.fr"},
        {"id": "b", "text": "Résume ce texte sur la météo."},
        {"id": "c", "text": "Bonjour", "service": "xai-grok"},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(x) for x in lines) + '\nnot json\n{"id": "d"}\n{"id": "e", "text": "x", "service": "nope"}\n')
    code, stdout, _ = scan(capsys, monkeypatch, scanner, "--jsonl", str(src))
    out = [json.loads(x) for x in stdout.splitlines()]
    assert [o.get("id") for o in out] == ["a", "b", "c", None, "d", "e"]
    assert [o.get("decision") for o in out[:3]] == ["block", "allow", "warn"]
    assert "ligne invalide" in out[3]["error"] and out[3]["line"] == 4
    assert "ligne invalide" in out[4]["error"] and "text" in out[4]["error"]
    assert out[5]["error"] == "service inconnu : nope"
    assert code == 2  # a bad line is reported, never dropped silently


def test_serve_with_embedded_defaults(tmp_path):
    """`gardefou serve` without a configuration: built-in catalogue, SQLite audit file in the cwd."""
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)], cwd=tmp_path,
                            env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}/readyz")
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models").json()["data"]
        assert any(m["id"].startswith("mistral/") for m in models)
        r = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions",
                       json={"model": "mistral/mistral-small-latest",
                             "messages": [{"role": "user", "content": "Mon NIR : 1 85 05 78 006 084 91"}]})
        assert r.status_code == 403 and r.headers["x-gardefou-decision"] == "block"
        assert (tmp_path / "gardefou-audit.db").exists()
    finally:
        proc.terminate()
        err = proc.communicate(timeout=10)[1].decode()
    assert f"configuration: embedded defaults (no --config and no ./config.yaml in {tmp_path})" in err


def test_version():
    from importlib.metadata import version

    r = gardefou("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"gardefou {version('gardefou')}"
    assert re.fullmatch(r"gardefou \d+\.\d+\S*", r.stdout.strip())


def _serve(cwd: Path, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", *args], cwd=cwd,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _thread_cores(pid: int) -> list[set[int]]:
    """The cores each thread of process ``pid`` may run on."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out.append(os.sched_getaffinity(int(task.name)))
        except ProcessLookupError:
            pass
    return out


TWO_CORES = len(os.sched_getaffinity(0)) >= 2


def test_serve_uses_config_yaml_of_the_working_directory(tmp_path):
    """No --config: ./config.yaml when it exists (its port, its audit file), and the log says so."""
    port = _free_port()
    (tmp_path / "config.yaml").write_text(
        f"listen: {{host: 127.0.0.1, port: {port}, cpu_pinning: false}}\naudit:\n  url: sqlite:///./from-config-yaml.db\n"
        "detectors: {spacy: false}\n", encoding="utf-8")
    proc = _serve(tmp_path)
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}/readyz")
        assert (tmp_path / "from-config-yaml.db").exists() and not (tmp_path / "gardefou-audit.db").exists()
        # listen.cpu_pinning: false (the default): every thread keeps every core
        assert all(cores == os.sched_getaffinity(0) for cores in _thread_cores(proc.pid))
    finally:
        proc.terminate()
        err = proc.communicate(timeout=10)[1].decode()
    assert f"configuration: {tmp_path / 'config.yaml'} (./config.yaml found in the working directory" in err


def test_serve_config_option_wins_over_config_yaml(tmp_path):
    port = _free_port()
    (tmp_path / "config.yaml").write_text("listen: {port: 1}\naudit:\n  url: sqlite:///./wrong.db\n", encoding="utf-8")
    other = tmp_path / "other.yaml"
    other.write_text(f"listen: {{port: {port}}}\naudit:\n  url: sqlite:///./other.db\ndetectors: {{spacy: false}}\n",
                     encoding="utf-8")
    proc = _serve(tmp_path, "--config", str(other))
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}/healthz")
        assert (tmp_path / "other.db").exists() and not (tmp_path / "wrong.db").exists()
    finally:
        proc.terminate()
        err = proc.communicate(timeout=10)[1].decode()
    assert f"configuration: {other} (--config)" in err


def test_serve_refuses_an_invalid_config_yaml_of_the_working_directory(tmp_path):
    """A ./config.yaml that does not validate is not silently skipped for the embedded defaults."""
    (tmp_path / "config.yaml").write_text("listen:\n  prot: 8080\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "gateway.cli", "serve", "--port", "0"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2 and f"{tmp_path / 'config.yaml'}: line 2: listen.prot" in r.stderr
    assert not (tmp_path / "gardefou-audit.db").exists()


# What `serve` refuses, `check-config` refuses too, with the key and the line (and serve before creating
# the audit database).
REFUSED = {
    "detectors_typo": ("detectors:\n  spacy: false\n  health_treshold: 3\n", "line 3: detectors.health_treshold"),
    "alias_unknown_service": ("aliases:\n  perdu: mistrall/small\n", "line 2: aliases.perdu"),
    "postgres_scheme": ("audit:\n  url: postgres://app@127.0.0.1/gardefou\n", "postgresql+psycopg://"),
    "admin_port": ("listen: {host: 127.0.0.1, port: 18080}\nadmin: {host: 127.0.0.1, port: 18080}\n",
                   "line 2: admin.port"),
    "service_without_name": ("services:\n  - id: llm-interne\n    api: openai\n",
                             "line 2: services.0.name: service 'llm-interne'"),
}


def test_check_config_refuses_what_serve_refuses(tmp_path):
    for case, (text, expected) in REFUSED.items():
        cfg = tmp_path / f"{case}.yaml"
        cfg.write_text(text if "audit" in text else text + f"audit:\n  url: sqlite:///{tmp_path}/{case}.db\n")
        r = gardefou("check-config", str(cfg))
        assert r.returncode == 2 and expected in r.stderr, (case, r.stdout, r.stderr)


def test_serve_refuses_them_before_creating_the_audit_store(tmp_path):
    for case in ("alias_unknown_service", "admin_port"):
        text, expected = REFUSED[case]
        db = tmp_path / f"{case}.db"
        cfg = tmp_path / f"{case}.yaml"
        cfg.write_text(text + f"audit:\n  url: sqlite:///{db}\n")
        r = gardefou("serve", "--config", str(cfg), timeout=60)
        assert r.returncode == 2 and "invalid configuration" in r.stderr and expected in r.stderr, (case, r.stderr)
        assert not db.exists()


def test_serve_refuses_a_port_override_taken_by_the_admin_listener(tmp_path):
    db = tmp_path / "a.db"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"audit:\n  url: sqlite:///{db}\nadmin: {{host: 127.0.0.1, port: 18081}}\n"
                   f"admins:\n  - {{id: dpo-1, role: dpo, token_sha256: '{'0' * 64}'}}\n")
    r = gardefou("serve", "--config", str(cfg), "--host", "127.0.0.1", "--port", "18081", timeout=60)
    assert r.returncode == 2 and "admin.port (18081) must differ from the gateway's port (18081)" in r.stderr
    assert not db.exists()


def test_unset_fingerprint_key_variable_is_refused_before_the_audit_store_is_created(tmp_path):
    db = tmp_path / "a.db"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"audit:\n  url: sqlite:///{db}\n  fingerprint_key_env: GARDEFOU_TEST_UNSET_FP_KEY\n")
    expected = "line 3: audit.fingerprint_key_env: names the environment variable GARDEFOU_TEST_UNSET_FP_KEY"
    r = gardefou("check-config", str(cfg))
    assert r.returncode == 2 and expected in r.stderr
    r = gardefou("serve", "--config", str(cfg), "--port", "0", timeout=60)
    assert r.returncode == 2 and expected in r.stderr
    assert not db.exists()


def test_serve_with_two_workers_shares_the_port_and_keeps_one_chain(tmp_path):
    """`serve --workers 2`: two processes answer on one port, every request is recorded once, the hash
    chain verifies, a client's rate limit counts both workers together; stopping the parent stops the
    workers."""
    import concurrent.futures
    import os
    import signal
    import socket

    import httpx

    from gateway.testing.provider import start_fake_provider

    fake = start_fake_provider()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"audit:\n  url: sqlite:///{tmp_path}/audit.db\nservices:\n  - id: mistral\n    base_url: {fake.url}/v1\n"
                   "listen:\n  workers: 2\n  cpu_pinning: true\nlimits:\n  client_requests_per_minute: 45\n")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--config", str(cfg), "--port", str(port)],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT), "MISTRAL_API_KEY": "k"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}/readyz", timeout=90)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert len(children) == 2
        if TWO_CORES:  # listen.cpu_pinning: each worker's threads on a core of its own
            placed = [{frozenset(c) for c in _thread_cores(int(child))} for child in children]
            assert sorted(placed, key=str) == sorted([{frozenset({c})} for c in sorted(os.sched_getaffinity(0))[:2]],
                                                     key=str)

        def ask(i: int) -> int:
            text = f"Question {i} : quelle est la posologie usuelle du paracétamol ?"
            if i % 4 == 0:
                text = f"Mon NIR : 1 85 05 78 006 084 91 ({i})"
            return httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", timeout=30,
                              json={"model": "mistral/mistral-small-latest",
                                    "messages": [{"role": "user", "content": text}]}).status_code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(ask, range(40)))
        assert codes.count(200) == 30 and codes.count(403) == 10
        assert len(fake.received) == 30
        # 45 a minute for this client (its address) on the instance: per worker, all 10 would pass
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            more = list(pool.map(ask, range(41, 61, 2)))  # odd: no NIR
        assert sorted(more) == [200] * 5 + [429] * 5, more
        assert len(fake.received) == 35
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        fake.server.shutdown()
    assert all(not Path(f"/proc/{c}").exists() for c in children)
    r = gardefou("audit", "verify", "--config", str(cfg))
    assert r.returncode == 0 and "OK: 50 record(s) verified" in r.stdout, r.stdout + r.stderr


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def test_serve_shares_long_scans_with_a_helper_process_and_stops_it(tmp_path):
    """`limits.scan_helpers: 1`: the gateway forks one scan helper; a long prompt is inspected (and
    blocked) through it; when the gateway stops, the helper stops too (no orphan process)."""
    import httpx

    port = _free_port()
    (tmp_path / "config.yaml").write_text(f"listen: {{host: 127.0.0.1, port: {port}, cpu_pinning: true}}\n"
                                          "limits: {scan_helpers: 1, scan_helper_min_chars: 100}\n")
    proc = _serve(tmp_path)
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}/readyz")
        (helper,) = _children(proc.pid)
        if TWO_CORES:  # the gateway's threads on one core (listen.cpu_pinning); its helper on the others
            first = min(os.sched_getaffinity(0))
            assert {frozenset(c) for c in _thread_cores(proc.pid)} == {frozenset({first})}
            assert all(cores == os.sched_getaffinity(0) - {first} for cores in _thread_cores(helper))
        long_clinical = ("Peux-tu résumer ce dossier pour la relève ? " * 5 + "Mme Lefèvre, 81 ans, chambre 12, "
                         "hospitalisée depuis le 3/11 pour une pneumopathie, sous amoxicilline, confuse cette nuit.")
        r = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions",
                       json={"model": "mistral/mistral-small-latest",
                             "messages": [{"role": "user", "content": long_clinical}]})
        assert r.status_code == 403 and r.headers["x-gardefou-decision"] == "block"
        assert "health" in r.json()["error"]["message"].lower() or "santé" in r.json()["error"]["message"]
        assert Path(f"/proc/{helper}").exists()
    finally:
        proc.terminate()
        err = proc.communicate(timeout=15)[1].decode()
    assert "scan helpers: 1 process(es)" in err
    deadline = __import__("time").monotonic() + 5
    while Path(f"/proc/{helper}").exists() and __import__("time").monotonic() < deadline:
        __import__("time").sleep(0.05)
    assert not Path(f"/proc/{helper}").exists() or "zombie" in Path(f"/proc/{helper}/status").read_text().lower()


def test_worker_sockets_share_one_port_and_refuse_a_taken_one():
    """`--workers N`: one listening socket per worker on the same port (SO_REUSEPORT: the kernel
    spreads connections over them); port 0 gives them all the first one's port; a port another
    program listens on is refused, as with one socket."""
    import socket

    import pytest

    from gateway.cli import _worker_sockets

    socks = _worker_sockets("127.0.0.1", 0, 3)
    try:
        ports = {s.getsockname()[1] for s in socks}
        assert len(socks) == 3 and len(ports) == 1
        with socket.create_connection(("127.0.0.1", ports.pop()), timeout=5):
            pass  # accepted into one of the three backlogs
    finally:
        for s in socks:
            s.close()
    with socket.create_server(("127.0.0.1", 0)) as taken:
        with pytest.raises(OSError):
            _worker_sockets("127.0.0.1", taken.getsockname()[1], 2)
