"""Durability: a gateway killed with SIGKILL under load loses no record it answered for, on SQLite and
on PostgreSQL, and the hash chain still verifies afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import yaml

from gateway.audit import AuditStore

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_kill_9_under_load_loses_no_answered_record(fake, db_url, tmp_path):
    port = _free_port()
    cfg = {"listen": {"host": "127.0.0.1", "port": port}, "audit": {"url": db_url},
           "services": [{"id": "mistral", "base_url": f"{fake.url}/v1"}],
           "detectors": {"spacy": False}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--config", str(tmp_path / "c.yaml")],
                            cwd=ROOT, env={**os.environ, "MISTRAL_API_KEY": "k"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        answered: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def client(i: int) -> None:
            n = 0
            with httpx.Client(timeout=5) as c:
                while not stop.is_set() and n < 400:  # bounded
                    n += 1
                    content = "Reformule ce paragraphe." if n % 2 else "NIR 1 85 05 78 006 084 91"
                    try:
                        r = c.post(url + "/v1/chat/completions", json={
                            "model": "mistral/mistral-small-latest", "messages": [{"role": "user", "content": content}]})
                    except httpx.HTTPError:
                        return
                    if r.status_code in (200, 403):
                        with lock:
                            answered.append(r.headers["x-gardefou-audit-id"])

        threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        os.kill(proc.pid, signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join(10)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(answered) > 20, "the load did not run"
    store = AuditStore(db_url)
    try:
        missing = [a for a in answered if store.get(a) is None]
        assert missing == []
        result = store.verify()
        assert result.problem is None and result.checked >= len(answered)
    finally:
        store.dispose()
