"""The dashboard in a real headless Chromium (Debian's ``chromium`` package), driven over the Chrome
DevTools Protocol with ``websocket-client``: login, data shown, filters, detail view, and no request
leaving 127.0.0.1.

Chromium is located at ``/usr/bin/chromium`` (or ``$GARDEFOU_CHROMIUM``); if missing, the session
setup runs ``apt-get install -y chromium`` (Debian package, never a downloaded browser).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
    "--disable-extensions", "--window-size=1280,1600", "--remote-debugging-port=0",
]


def find_chromium() -> str | None:
    for cand in (os.environ.get("GARDEFOU_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if cand and os.path.exists(cand):
            return cand
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, timeout=900, env=env)
        path = find_chromium()
    if path is None:
        if os.environ.get("GARDEFOU_REQUIRE_CHROMIUM", "1") == "1":
            pytest.fail("Debian's chromium is required (apt-get install -y chromium; "
                        "GARDEFOU_REQUIRE_CHROMIUM=0 to skip)")
        pytest.skip("chromium not available")
    return path


class Browser:
    """Just enough CDP: navigate, evaluate, screenshot, and every URL the page requested."""

    def __init__(self, binary: str, flags: tuple[str, ...] = ()):
        import websocket

        self.profile = tempfile.mkdtemp(prefix="gf-chromium-")
        self.proc = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, *flags, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        ws_url, deadline = None, time.monotonic() + 60
        while ws_url is None:
            line = self.proc.stderr.readline()
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                ws_url = m.group(1)
            elif not line and self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chromium did not start")
        # keep draining chromium's stderr so that a chatty browser never blocks on a full pipe
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict] = []
        self.requested: list[str] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.call(f"{domain}.enable", session=True)

    def _recv(self) -> dict:
        msg = json.loads(self.ws.recv())
        if msg.get("method") == "Network.requestWillBeSent":
            self.requested.append(msg["params"]["request"]["url"])
        if "method" in msg:
            self.events.append(msg)
        return msg

    def call(self, method: str, session: bool = False, **params) -> dict:
        mid = next(self.ids)
        msg = {"id": mid, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            reply = self._recv()
            if reply.get("id") == mid:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def wait_load(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e.get("method") == "Page.loadEventFired" for e in self.events):
                self.events.clear()
                return
            self._recv()
        raise TimeoutError("page did not load")

    def goto(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_load()

    def js(self, expression: str):
        res = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in res:
            raise RuntimeError(res["exceptionDetails"])
        return res["result"].get("value")

    def submit(self, expression: str) -> None:
        """Run a statement that navigates (form submit, link click) and wait for the new page."""
        self.events.clear()
        self.js(expression)
        self.wait_load()

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture
def browser(chromium_path):
    b = Browser(chromium_path)
    yield b
    b.close()



def texts(browser: Browser, selector: str) -> list[str]:
    return browser.js(f"Array.from(document.querySelectorAll({json.dumps(selector)})).map(e => e.textContent.trim())")


def test_dashboard_in_chromium(admin, browser, tmp_path):
    from tests.admin_support import TOKENS

    # without a session: back to the login form
    browser.goto(admin.url + "/admin/")
    assert urlparse(browser.js("location.href")).path == "/admin/login"
    browser.submit("document.getElementById('token').value = 'faux'; document.querySelector('form').submit()")
    assert "Jeton invalide" in browser.js("document.body.innerText")

    browser.submit(f"document.getElementById('token').value = {json.dumps(TOKENS['dpo'])};"
                   "document.querySelector('form').submit()")
    landed = urlparse(browser.js("location.href"))
    assert landed.path == "/admin/" and landed.query.startswith("since=")  # default view: last 30 days
    assert browser.js("document.getElementById('f-since').value") == landed.query[len("since="):]
    browser.goto(admin.url + "/admin/?since=2026-03-01")
    # the token is not readable by scripts, nor stored in a URL
    assert browser.js("document.cookie") == ""
    assert TOKENS["dpo"] not in browser.js("location.href")
    body = browser.js("document.body.innerText")
    assert "Tableau de bord" in body and "dpo.user (dpo)" in body
    assert texts(browser, "#total-all strong") == ["30"]
    assert texts(browser, "#total-block strong") == ["12"]
    assert len(texts(browser, "#decisions tbody tr")) == 30
    assert len(texts(browser, "#latest-blocks tbody tr")) == 8
    assert browser.js("document.querySelectorAll('svg.chart rect.bar-block').length") == 3  # 3 days
    assert "pharmacie" in body and "données de santé" in body and "mistral" in body
    assert "Journal des accès" not in browser.js("document.querySelector('header').innerText")  # dpo: no link
    browser.screenshot(tmp_path / "dashboard.png")
    if os.environ.get("GARDEFOU_SCREENSHOT_DIR"):
        shutil.copy(tmp_path / "dashboard.png", Path(os.environ["GARDEFOU_SCREENSHOT_DIR"]) / "dashboard.png")

    # filters: decision + department through the form
    browser.submit("document.getElementById('f-decision').value = 'block';"
                   "document.getElementById('f-department').value = 'urgences';"
                   "document.getElementById('filters').submit()")
    rows = texts(browser, "#decisions tbody tr td:nth-child(2)")
    expected = [r for r in admin.records if r["decision"] == "block" and r["department"] == "urgences"]
    assert len(rows) == len(expected) == 6 and set(rows) == {"bloquée"}
    assert texts(browser, "#total-all strong") == ["6"]
    assert "department=urgences" in browser.js("document.getElementById('export-csv').href")
    # a bad filter is explained in French, not a crash
    browser.goto(admin.url + "/admin/?since=hier")
    assert "« since » invalide" in browser.js("document.getElementById('filter-error').innerText")

    # detail view of a record
    browser.goto(admin.url + "/admin/?category=health&since=2026-03-01")
    assert len(texts(browser, "#decisions tbody tr")) == 6
    # export buttons point to our own origin and carry the filters (the session cookie authenticates them)
    href = browser.js("document.getElementById('export-jsonl').href")
    assert href == admin.url + "/admin/api/export.jsonl?since=2026-03-01T00%3A00%3A00Z&category=health"
    browser.submit("document.querySelector('#decisions a.detail-link').click()")
    detail = browser.js("document.body.innerText")
    assert "FR_NIR" in detail and "Décision" in detail and "le contenu n'est jamais conservé" in detail

    # nothing was requested outside 127.0.0.1
    assert browser.requested
    for url in browser.requested:
        parsed = urlparse(url)
        assert parsed.scheme in ("http", "data", "about") and (parsed.scheme != "http" or parsed.hostname == "127.0.0.1"), url
    assert any(u.endswith("/admin/static/admin.css") for u in browser.requested)
    html = browser.js("document.documentElement.outerHTML")
    assert not re.search(r"(src|href)=\"(https?:)?//(?!127\.0\.0\.1)", html)

    # every page view is in the access log, with the filters used
    actions = [(r["channel"], r["action"], r["outcome"]) for r in reversed(admin.store.access_log(100))]
    assert ("dashboard", "login", "unauthenticated") in actions and ("dashboard", "login", "ok") in actions
    assert actions.count(("dashboard", "dashboard", "ok")) >= 3
    assert ("dashboard", "decisions.get", "ok") in actions
    logged = [r["params"] for r in admin.store.access_log(100) if r["action"] == "dashboard"]
    assert any(p.get("decision") == "block" and p.get("department") == "urgences" for p in logged)


def test_access_log_page_admin_only(admin, browser):
    from tests.admin_support import TOKENS

    browser.goto(admin.url + "/admin/login")
    browser.submit(f"document.getElementById('token').value = {json.dumps(TOKENS['rssi'])};"
                   "document.querySelector('form').submit()")
    browser.goto(admin.url + "/admin/access-log")
    assert "ne permet pas" in browser.js("document.body.innerText")
    browser.submit("document.querySelector('form.inline').submit()")  # logout
    browser.goto(admin.url + "/admin/")
    assert urlparse(browser.js("location.href")).path == "/admin/login"
    browser.submit(f"document.getElementById('token').value = {json.dumps(TOKENS['admin'])};"
                   "document.querySelector('form').submit()")
    browser.goto(admin.url + "/admin/access-log")
    rows = texts(browser, "#access-log tbody tr")
    assert any("rssi.user" in r and "denied" in r for r in rows)
    assert any("admin.user" in r and "access_log.list" in r for r in rows)
