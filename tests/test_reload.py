"""Configuration reload (issue 14, "Change"): SIGHUP and ``POST /admin/api/reload`` put a new file in
force for new requests, without dropping those in flight; a file that does not validate keeps the
configuration running and says why; what cannot change is reported as needing a restart; with
``--workers`` every worker reloads. Real ``gardefou serve`` processes, the fake provider over HTTP."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import anyio
import httpx
import pytest
import yaml

from gateway.audit import AuditStore
from gateway.config import parse_config
from gateway.live import Live, keep_running, needs_restart
from gateway.testing.factories import FakeScanner, tconfig, tpipeline
from gateway.testing.provider import FakeProvider, start_fake_provider
from tests.browser_support import NIR, browser_config, start_browser_gateway, start_rig
from tests.conftest import wait_ready

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN, DPO_TOKEN = "jeton-admin-de-test", "jeton-dpo-de-test"
CLEAN = "Quelle est la posologie usuelle du paracétamol chez l'adulte ?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Gateway:
    """``gardefou serve`` in a subprocess, with its configuration file, both listeners and its log."""

    def __init__(self, tmp_path: Path, fake: FakeProvider, workers: int = 1):
        self.tmp_path, self.fake = tmp_path, fake
        self.port, self.admin_port = free_port(), free_port()
        self.config = tmp_path / "config.yaml"
        self.db = tmp_path / "audit.db"
        self.write(mistral="allowed", workers=workers)
        self.stderr = open(tmp_path / "stderr.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--config", str(self.config)], cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT), "MISTRAL_API_KEY": "k"},
            stdout=subprocess.DEVNULL, stderr=self.stderr)
        wait_ready(_Reader(self), f"{self.url}/readyz", timeout=120)
        self.wait_for(lambda s: True)  # and the admin listener

    def data(self, mistral: str = "allowed", workers: int = 1, **extra) -> dict:
        cfg = {
            "listen": {"host": "127.0.0.1", "port": self.port, "workers": workers},
            "admin": {"host": "127.0.0.1", "port": self.admin_port},
            "audit": {"url": f"sqlite:///{self.db}"},
            "detectors": {"spacy": False},
            "services": [{"id": "mistral", "base_url": f"{self.fake.url}/v1", "status": mistral}],
            "admins": [{"id": "admin-1", "role": "admin", "token_sha256": sha(ADMIN_TOKEN)},
                       {"id": "dpo-1", "role": "dpo", "token_sha256": sha(DPO_TOKEN)}],
        }
        cfg.update(extra)
        return cfg

    def write(self, text: str | None = None, **kw) -> str:
        text = text if text is not None else yaml.safe_dump(self.data(**kw), allow_unicode=True)
        self.config.write_text(text, encoding="utf-8")
        return sha(text)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}/admin/api"

    def chat(self, text: str = CLEAN, **body) -> httpx.Response:
        return httpx.post(f"{self.url}/v1/chat/completions", timeout=30,
                          json={"model": "mistral/mistral-small-latest", "messages": [{"role": "user", "content": text}],
                                **body})

    def reload(self, token: str | None = ADMIN_TOKEN) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.post(f"{self.admin}/reload", headers=headers, timeout=180)

    def status(self) -> dict:
        return httpx.get(f"{self.admin}/config", headers={"authorization": f"Bearer {DPO_TOKEN}"}, timeout=10).json()

    def wait_for(self, predicate, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                status = self.status()
            except httpx.ConnectError:  # with --workers, /readyz may answer before worker 1's admin listener
                status = {}
            if status and predicate(status):
                return status
            assert self.proc.poll() is None, self.log()
            assert time.monotonic() < deadline, f"not reloaded in time: {status}\n{self.log()}"
            time.sleep(0.1)

    def log(self) -> str:
        return (self.tmp_path / "stderr.log").read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        self.stderr.close()


class _Reader:
    """What ``wait_ready`` reads of a process whose stderr goes to a file."""

    def __init__(self, gw: Gateway):
        self.gw = gw
        self.stderr = self

    def poll(self):
        return self.gw.proc.poll()

    def read(self) -> bytes:
        return self.gw.log().encode()


@pytest.fixture
def own_fake():
    fake = start_fake_provider()
    yield fake
    fake.release.set()
    fake.server.shutdown()


@pytest.fixture
def gateway(tmp_path, own_fake):
    gw = Gateway(tmp_path, own_fake)
    yield gw
    gw.stop()


def test_sighup_denies_a_service_for_new_requests_while_a_stream_in_flight_finishes(gateway, own_fake):
    gw = gateway
    assert gw.chat().status_code == 200
    first = httpx.get(f"{gw.url}/readyz").json()["config"]
    assert first["generation"] == 1 and first["sha256"] == sha(gw.config.read_text(encoding="utf-8"))

    chunks: list[bytes] = []
    started, outcome = threading.Event(), {}

    def stream() -> None:  # the fake sends one chunk, then waits for ``release``
        body = {"model": "mistral/gated", "stream": True, "messages": [{"role": "user", "content": CLEAN}]}
        with httpx.stream("POST", f"{gw.url}/v1/chat/completions", json=body, timeout=60) as resp:
            outcome["status"], outcome["audit_id"] = resp.status_code, resp.headers["x-gardefou-audit-id"]
            for chunk in resp.iter_raw():
                chunks.append(chunk)
                started.set()

    thread = threading.Thread(target=stream)
    thread.start()
    assert started.wait(20), "the stream did not start"

    digest = gw.write(mistral="denied")
    gw.proc.send_signal(signal.SIGHUP)
    gw.wait_for(lambda s: s["generation"] == 2)
    ready = httpx.get(f"{gw.url}/readyz").json()["config"]
    assert ready["generation"] == 2 and ready["sha256"] == digest == gw.status()["sha256"]
    refused = gw.chat()
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "gardefou_blocked"
    assert "interdit par la politique" in refused.json()["error"]["message"]
    assert thread.is_alive(), "the stream in flight was cut by the reload"

    own_fake.release.set()
    thread.join(30)
    body = b"".join(chunks).decode()
    assert outcome["status"] == 200 and "fournisseur." in body and body.rstrip().endswith("data: [DONE]")
    assert gw.proc.poll() is None  # SIGHUP no longer kills the process
    store = AuditStore(f"sqlite:///{gw.db}")
    try:
        deadline = time.monotonic() + 10
        while (rec := store.get(outcome["audit_id"]))["total_ms"] is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rec["decision"] == "allow" and rec["status_code"] == 200 and rec["upstream_error"] is None
        assert [r["decision"] for r in store.recent(10)][:1] == ["block"]
    finally:
        store.dispose()
    log = gw.log()
    assert "configuration reload (SIGHUP): generation 2 in force" in log and "changed: services" in log


def test_admin_api_reload_roles_invalid_file_and_what_needs_a_restart(gateway):
    gw = gateway
    running = sha(gw.config.read_text(encoding="utf-8"))
    assert gw.reload(token=None).status_code == 401
    forbidden = gw.reload(token=DPO_TOKEN)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["message"] == ("Votre rôle (dpo) ne permet pas de recharger la configuration "
                                                    "(réservé au rôle admin).")

    # A file that does not validate: nothing changes, the answer says why (in French, with the error).
    text = yaml.safe_dump(gw.data()) + "policy:\n  warn_mode: parfois\n"
    gw.write(text)
    bad = gw.reload()
    assert bad.status_code == 422, bad.text
    error = bad.json()["error"]
    assert error["code"] == "invalid_configuration"
    assert error["message"].startswith("Configuration refusée : le fichier ne passe pas la validation ; la "
                                       "configuration en service (génération 1) est conservée.")
    line = text.splitlines().index("  warn_mode: parfois") + 1
    assert f"{gw.config}: line {line}: policy.warn_mode" in error["validation_error"]
    assert bad.json()["config"]["generation"] == 1 and bad.json()["config"]["sha256"] == running
    assert gw.chat().status_code == 200  # the old configuration still decides
    gw.proc.send_signal(signal.SIGHUP)  # the same by signal: a log line, the process keeps running
    deadline = time.monotonic() + 30
    while "configuration reload (SIGHUP) refused" not in gw.log():
        assert time.monotonic() < deadline and gw.proc.poll() is None, gw.log()
        time.sleep(0.1)
    assert "generation 1 stays in force" in gw.log() and "policy.warn_mode" in gw.log()
    assert gw.chat().status_code == 200 and gw.status()["generation"] == 1

    # A valid file that also moves the port and the audit database: applied, those two kept until a restart.
    data = gw.data(mistral="denied", institution={"contact_text": "Question ? Appelez la DSN au poste 4242."})
    data["listen"]["port"] = free_port()
    data["audit"]["url"] = f"sqlite:///{gw.tmp_path / 'other.db'}"
    digest = gw.write(yaml.safe_dump(data, allow_unicode=True))
    ok = gw.reload()
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["status"] == "ok" and body["generation"] == 2 and body["sha256"] == digest
    assert body["needs_restart"] == ["listen.port", "audit.url"]
    assert set(body["changed"]) == {"services", "institution"}
    assert body["message"].startswith("Configuration rechargée : génération 2 en service")
    assert "Nécessite un redémarrage (valeur en service conservée d'ici là) : listen.port, audit.url." in body["message"]
    refused = gw.chat()  # on the port in force, recorded in the audit database in force
    assert refused.status_code == 403 and "Appelez la DSN au poste 4242." in refused.json()["error"]["message"]
    assert not (gw.tmp_path / "other.db").exists()
    assert gw.status()["sha256"] == digest

    access = httpx.get(f"{gw.admin}/access-log", params={"action": "config.reload"},
                       headers={"authorization": f"Bearer {ADMIN_TOKEN}"}).json()["items"]
    assert sorted(i["outcome"] for i in access) == ["denied", "ok", "ok", "unauthenticated"]
    assert {i["user_id"] for i in access if i["outcome"] == "ok"} == {"admin-1"}
    metrics_text = httpx.get(f"http://127.0.0.1:{gw.admin_port}/metrics").text
    assert "gardefou_config_generation 2.0" in metrics_text
    assert 'gardefou_config_reloads_total{outcome="invalid"} 2.0' in metrics_text
    assert f'gardefou_config_info{{sha256="{digest}"}} 1.0' in metrics_text
    assert "needs a restart (running values kept): listen.port, audit.url" in gw.log()


def test_every_worker_reloads_on_sighup_to_the_parent_and_on_the_admin_api(tmp_path, own_fake):
    gw = Gateway(tmp_path, own_fake, workers=2)
    try:
        children = Path(f"/proc/{gw.proc.pid}/task/{gw.proc.pid}/children").read_text().split()
        start = gw.wait_for(lambda s: all(w["pid"] for w in s["workers"]))  # worker 2 may still be loading
        assert [w["worker"] for w in start["workers"]] == [1, 2]
        assert {w["pid"] for w in start["workers"]} == {int(c) for c in children}
        assert all(w["generation"] == 1 and w["sha256"] == start["sha256"] for w in start["workers"])

        digest = gw.write(mistral="denied", workers=2)
        gw.proc.send_signal(signal.SIGHUP)  # to the parent: relayed to every worker
        gw.wait_for(lambda s: all(w["generation"] == 2 and w["sha256"] == digest for w in s["workers"]))
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: gw.chat().status_code, range(24)))
        assert codes == [403] * 24
        assert gw.log().count("configuration reload (SIGHUP): generation 2 in force") == 2

        digest = gw.write(mistral="allowed", workers=2)
        answer = gw.reload()  # on worker 1: it signals worker 2 and waits for its outcome
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert [(w["worker"], w["generation"], w["sha256"], w["last_reload_ok"]) for w in body["workers"]] == [
            (1, 3, digest, True), (2, 3, digest, True)]
        assert "Les 2 processus de la passerelle l'ont chargée." in body["message"]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: gw.chat().status_code, range(24)))
        assert codes == [200] * 24
        assert gw.proc.poll() is None and all(Path(f"/proc/{c}").exists() for c in children)
    finally:
        gw.stop()


# -- the browser path (in process, as serve runs it) -----------------------------------------------------

@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    rig = start_rig(tmp_path_factory.mktemp("rig"))
    yield rig
    for app in rig[1].all():
        app.stop()


def test_the_browser_path_takes_a_reload_for_new_flows(rig, tmp_path, scanner):
    pki, apps, ca_dir = rig
    cfg = browser_config(apps, pki, f"sqlite:///{tmp_path / 'audit.db'}", ca_dir)
    path = tmp_path / "config.yaml"
    gw = start_browser_gateway(cfg, scanner=scanner, config_path=path)
    try:
        html = {"accept": "text/html"}
        with gw.client() as client:
            before = client.get(f"https://localhost:{apps.chat.port}/recherche", params={"q": f"dossier {NIR}"},
                                headers=html)
            assert before.status_code == 403 and "délégué à la protection des données" in before.text
        app_ca = ssl.create_default_context(cafile=str(pki.upstream_ca_file))  # a tunnel: the app's own certificate
        with gw.client(verify=app_ca) as client:
            assert client.get(f"https://localhost:{apps.tunnel.port}/").status_code == 200
        tunnel = next(s for s in cfg["services"] if s["id"] == "tunnelapp")
        tunnel["status"] = "denied"
        cfg["institution"] = {"contact_text": "Une question ? Le DPO répond au poste 4242."}
        cfg["limits"]["max_body_bytes"] = 300_000
        path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
        live = gw.proxy.live
        result = asyncio.run_coroutine_threadsafe(live.reload("test"), gw.loop).result(60)
        assert result.outcome == "reloaded" and set(result.changed) == {"services", "institution", "limits"}
        with gw.client() as client:
            after = client.get(f"https://localhost:{apps.chat.port}/recherche", params={"q": f"dossier {NIR}"},
                               headers=html)
            assert after.status_code == 403 and "Le DPO répond au poste 4242." in after.text
        with gw.client(verify=app_ca) as client, pytest.raises(httpx.ProxyError):  # denied now: CONNECT refused
            client.get(f"https://localhost:{apps.tunnel.port}/")
        assert gw.proxy.master.options.body_size_limit == "300000"
        assert gw.records(endpoint="connect")[0]["rule_ids"] == ["service.denied"]
    finally:
        gw.stop()


# -- in process: the holder itself -------------------------------------------------------------------

def live_on(tmp_path: Path, text: str, **kw) -> tuple[Live, Path]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    config = parse_config(text, str(path), environ={})
    pipeline, _, _ = tpipeline(config)
    return Live(config, pipeline, path=path, environ={}, **kw), path


def test_detectors_that_fail_to_build_keep_the_pipeline_in_force(tmp_path):
    live, path = live_on(tmp_path, "detectors: {spacy: false}\n")
    before = live.pipeline
    (tmp_path / "not-a-model").mkdir()
    path.write_text(f"detectors:\n  spacy: true\n  spacy_model: {tmp_path / 'not-a-model'}\n", encoding="utf-8")
    result = anyio.run(live.reload, "test")
    assert result.outcome == "failed" and live.pipeline is before and live.loaded.generation == 1
    status, body = result.answer()
    assert status == 500 and body["error"]["code"] == "reload_failed"
    assert "la configuration en service (génération 1) est conservée" in body["error"]["message"]
    assert "not-a-model" in body["error"]["detail"]


def test_a_reload_shares_the_store_and_the_admission_and_rebuilds_detectors_only_when_they_change(tmp_path):
    built = []

    def build(options):
        built.append(options)
        return FakeScanner()

    live, path = live_on(tmp_path, "services:\n  - id: xai-grok\n    status: allowed\n", build_scanner=build)
    first = live.pipeline
    path.write_text("services:\n  - id: xai-grok\n    status: denied\nlimits:\n  max_concurrent_scans: 3\n",
                    encoding="utf-8")
    result = anyio.run(live.reload, "test")
    assert result.outcome == "reloaded" and result.changed == ("services", "limits") and built == []
    second = live.pipeline
    assert second is not first and second.scanner is first.scanner and second.store is first.store
    assert second.admission is first.admission and first.admission.scan_slots.total_tokens == 3
    assert second.catalogue.get("xai-grok").status == "denied" and first.catalogue.get("xai-grok").status == "allowed"
    path.write_text("detectors: {disabled: [ip]}\n", encoding="utf-8")
    assert anyio.run(live.reload, "test").outcome == "reloaded" and len(built) == 1
    assert live.pipeline.scanner is not first.scanner and live.loaded.generation == 3


def test_reload_without_a_file_says_there_is_nothing_to_reload():
    pipeline, _, _ = tpipeline()
    live = Live(tconfig(), pipeline, path=None, environ={})
    status, body = anyio.run(live.reload, "test").answer()
    assert status == 409 and "rien à recharger" in body["error"]["message"] and live.pipeline is pipeline


def test_what_needs_a_restart():
    running = tconfig(listen={"port": 8080, "workers": 2}, audit={"url": "sqlite:///./a.db", "retention_days": 30})
    new = tconfig(listen={"port": 8080, "workers": 4, "trusted_proxies": ["10.0.0.1"]},
                  audit={"url": "sqlite:///./a.db", "retention_days": 90, "pool_size": 20}, limits={"max_connections": 10},
                  proxy={"ack_minutes": 5}, admins=[{"id": "a", "role": "admin", "token_sha256": "0" * 64}],
                  services=[{"id": "openai", "status": "denied"}])
    assert needs_restart(running, new) == ["listen.trusted_proxies", "listen.workers", "proxy.ack_minutes",
                                           "audit.pool_size", "limits.max_connections", "admins"]
    assert needs_restart(running, running) == []
    kept = keep_running(running, new)  # the running values where they cannot change, the file's elsewhere
    assert kept.listen == running.listen and kept.audit.pool_size == 10 and kept.audit.retention_days == 90
    assert kept.limits.max_connections == running.limits.max_connections and kept.admins == new.admins
    assert kept.catalogue().get("openai").status == "denied"

