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
    # (the dates of the dashboard's form are Paris dates: 1 March 2026 starts at 23:00 UTC the day before)
    assert href == admin.url + "/admin/api/export.jsonl?since=2026-02-28T23%3A00%3A00Z&category=health"
    browser.submit("document.querySelector('#decisions a.detail-link').click()")
    detail = browser.js("document.body.innerText")
    # detected types read in French (issue 15: « NIR », not the code FR_NIR)
    assert "NIR" in detail and "FR_NIR" not in detail
    assert "Décision" in detail and "le contenu n'est jamais conservé" in detail

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
    # outcomes and actions in French (issue 15: « refusé », not « denied »)
    assert any("rssi.user" in r and "refusé (rôle)" in r for r in rows)
    assert any("admin.user" in r and "journal des accès" in r for r in rows)
    assert not any("denied" in r or "access_log.list" in r for r in rows)


# -- issue 15: the dashboard as a DPO reads it ---------------------------------------------------

#: where screenshots are kept: the test's pytest tmp dir (pytest keeps the last 3 runs under
#: /tmp/pytest-of-$USER/), and $GARDEFOU_SCREENSHOT_DIR too when set
def keep_screenshot(browser: Browser, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    browser.screenshot(path)
    if os.environ.get("GARDEFOU_SCREENSHOT_DIR"):
        target = Path(os.environ["GARDEFOU_SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / name)
    return path


def png_width(path: Path) -> int:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big")


def login(browser: Browser, url: str, role: str) -> None:
    from tests.admin_support import TOKENS

    browser.goto(url + "/admin/login")
    browser.submit(f"document.getElementById('token').value = {json.dumps(TOKENS[role])};"
                   "document.querySelector('form').submit()")


def options(browser: Browser, select_id: str) -> list[tuple[str, str]]:
    return [tuple(o) for o in browser.js(
        f"Array.from(document.getElementById({json.dumps(select_id)}).options).map(o => [o.value, o.textContent.trim()])")]


def test_refusals_apart_french_labels_paris_time(admin, browser, tmp_path):
    """Technical refusals are counted, charted and filtered apart from charter blocks; types, rules and
    decisions read in French; times in Europe/Paris with their zone; filters are select lists."""
    from tests.admin_support import seed_dpo_extras

    extra = seed_dpo_extras(admin.store)
    login(browser, admin.url, "dpo")
    browser.goto(admin.url + "/admin/?since=2026-03-01")
    keep_screenshot(browser, tmp_path, "dashboard-dpo.png")

    # counts: 12 + 1 charter blocks, 3 technical refusals, never added together
    assert texts(browser, "#total-all strong") == ["36"]
    assert texts(browser, "#total-block strong") == ["13"]
    assert texts(browser, "#total-refuse strong") == ["3"]
    assert texts(browser, "#total-refuse") == ["3 refusées (technique)"]
    # the refusals are one grey bar of their own, on 4 March: 23:30-23:50 UTC on the 3rd is past midnight in Paris
    titles = browser.js("Array.from(document.querySelectorAll('svg.chart rect.bar-refuse title')).map(t => t.textContent)")
    assert titles == ["04/03/2026 : 3 refusées (technique)"]
    assert "refusées (technique)" in browser.js("document.querySelector('.legends').innerText")
    # the latest blocks are the charter's only
    block_links = browser.js("Array.from(document.querySelectorAll('#latest-blocks a')).map(a => a.getAttribute('href'))")
    assert block_links[0] == f"/admin/decisions/{extra['block']['id']}"
    assert not any(extra[f"refuse{i}"]["id"] in href for i in range(3) for href in block_links)
    assert "charte : données de santé" in texts(browser, "#latest-blocks tbody tr")[0]

    # French labels in the decisions table, not codes
    table = browser.js("document.getElementById('decisions').innerText")
    for label in ("refusée (technique)", "requête : JSON invalide", "authentification : clé absente ou invalide",
                  "passerelle : saturée", "téléphone", "santé (texte libre)", "charte : données de santé",
                  "NIR", "adresse e-mail"):
        assert label in table, label
    for code in ("PHONE_NUMBER", "HEALTH_TEXT", "FR_NIR", "EMAIL_ADDRESS", "charter.health", "request.invalid_json",
                 "refuse"):
        assert code not in table, code
    # times: Paris, with the zone; the UTC instant kept in the <time> element
    first = browser.js(f"document.querySelector('#decisions a[href=\"/admin/decisions/{admin.records[0]['id']}\"] time')"
                       ".outerHTML")
    assert "02/03/2026 09:00:00 UTC+1" in first and 'datetime="2026-03-02T08:00:00Z"' in first
    summer = browser.js(f"document.querySelector('a[href=\"/admin/decisions/{extra['summer']['id']}\"]').innerText")
    assert summer == "14/07/2026 12:00:00 UTC+2"
    assert "heure de Paris" in browser.js("document.getElementById('tz-note').innerText")

    # filters are choices filled from the catalogue and the records
    assert ("refuse", "refusée (technique)") in options(browser, "f-decision")
    services = options(browser, "f-service")
    assert services[0] == ("", "tous")
    assert ("mistral", "mistral — Le Chat / La Plateforme (Mistral AI)") in services
    assert ("xai-grok", "xai-grok — Grok (xAI)") in services  # catalogue entries, even unused
    assert ("inconnu-x", "inconnu-x (hors catalogue)") in services  # recorded, outside the catalogue
    assert options(browser, "f-department") == [("", "tous"), ("cardiologie", "cardiologie"),
                                                 ("pharmacie", "pharmacie"), ("urgences", "urgences")]
    types = dict(options(browser, "f-type"))
    assert types["FR_NIR"] == "NIR" and types["PHONE_NUMBER"] == "téléphone"
    assert types["HEALTH_TEXT"] == "santé (texte libre)"
    assert browser.js("document.getElementById('f-since').type") == "date"

    # choosing « refusée (technique) »: the refusals only, and no charter block listed
    browser.submit("document.getElementById('f-decision').value = 'refuse'; document.getElementById('filters').submit()")
    assert set(texts(browser, "#decisions tbody tr td:nth-child(2)")) == {"refusée (technique)"}
    assert texts(browser, "#total-all strong") == ["3"] and texts(browser, "#total-block strong") == ["0"]
    assert browser.js("document.getElementById('latest-blocks')") is None
    assert "decision=refuse" in browser.js("document.getElementById('export-csv').href")
    # a type chosen from the list
    browser.goto(admin.url + "/admin/?since=2026-03-01")
    browser.submit("document.getElementById('f-type').value = 'PHONE_NUMBER'; document.getElementById('filters').submit()")
    assert len(texts(browser, "#decisions tbody tr")) == 1
    assert dict(options(browser, "f-type"))["PHONE_NUMBER"] == "téléphone"
    assert browser.js("document.getElementById('f-type').value") == "PHONE_NUMBER"
    # dates typed in the form are Paris days: 4 March includes the refusals of 23:30 UTC on the 3rd
    browser.goto(admin.url + "/admin/?since=2026-03-04&until=2026-03-04&decision=refuse")
    assert texts(browser, "#total-all strong") == ["3"]
    browser.goto(admin.url + "/admin/?since=2026-03-03&until=2026-03-03&decision=refuse")
    assert texts(browser, "#total-all strong") == ["0"]

    # the detail page: labels and both times
    browser.goto(admin.url + f"/admin/decisions/{extra['block']['id']}")
    keep_screenshot(browser, tmp_path, "detail-block.png")
    assert browser.js("document.getElementById('rules').innerText") == "charte : données de santé"
    assert browser.js("document.getElementById('ts-paris').innerText") == "04/03/2026 11:00:00 UTC+1"
    assert browser.js("document.getElementById('ts-utc').innerText") == "2026-03-04T10:00:00Z"
    findings = texts(browser, "#findings tbody tr td:first-child")
    assert findings == ["téléphone", "santé (texte libre)"]
    assert browser.js("document.querySelector('#findings .code-label').title") == "PHONE_NUMBER"  # the code on hover
    browser.goto(admin.url + f"/admin/decisions/{extra['refuse0']['id']}")
    assert "refusée (technique)" in browser.js("document.querySelector('h1').innerText")
    assert browser.js("document.getElementById('rules').innerText") == "requête : JSON invalide"


LAYOUT_JS = """(() => {
  const out = [];
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth) out.push(`page ${page.scrollWidth} > ${page.clientWidth}`);
  for (const t of document.querySelectorAll('table')) {
    const box = t.parentElement, style = getComputedStyle(box);
    const inner = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    if (t.scrollWidth > inner) out.push(`#${t.id} ${t.scrollWidth} > ${inner} (its card's content box)`);
    if (box.scrollWidth > box.clientWidth) out.push(`#${t.id}'s card scrolls: ${box.scrollWidth} > ${box.clientWidth}`);
    for (const c of t.querySelectorAll('th, td'))
      if (c.scrollWidth > c.clientWidth + 1) out.push(`#${t.id} cell clipped: ${c.textContent.slice(0, 40)}`);
  }
  for (const f of document.querySelectorAll('form.filters')) {
    const right = f.getBoundingClientRect().right;
    for (const e of f.querySelectorAll('input, select, button, a'))
      if (e.getBoundingClientRect().right > right + 0.5) out.push(`filter ${e.id || e.name} past the form`);
  }
  return out;
})()"""


def test_no_column_clipped_or_scrolled_at_1400px(admin, browser, tmp_path):
    """At 1400 px, with a 123-character model name, a long client id and fourteen detected types in one
    row, no table is wider than its card, no cell clips its text and the page does not scroll sideways:
    on the dashboard, a record's detail page and the access log."""
    from tests.admin_support import LONG_MODEL, seed_dpo_extras

    extra = seed_dpo_extras(admin.store)
    browser.call("Emulation.setDeviceMetricsOverride", session=True, width=1400, height=1000,
                 deviceScaleFactor=1, mobile=False)
    login(browser, admin.url, "admin")
    browser.goto(admin.url + "/admin/?since=2026-03-01")
    assert browser.js("window.innerWidth") == 1400
    assert LONG_MODEL in browser.js("document.getElementById('decisions').innerText")  # shown whole, wrapped
    cols = browser.js("document.querySelectorAll('#decisions thead th').length")
    assert cols == 10
    assert browser.js(LAYOUT_JS) == []
    shot = keep_screenshot(browser, tmp_path, "dashboard-1400.png")
    assert 1380 <= png_width(shot) <= 1400  # the page at 1400 px (less the scroll bar when one is drawn)
    browser.goto(admin.url + f"/admin/decisions/{extra['long']['id']}")
    assert len(texts(browser, "#findings tbody tr")) == 14
    assert browser.js(LAYOUT_JS) == []
    keep_screenshot(browser, tmp_path, "detail-1400.png")
    browser.goto(admin.url + "/admin/access-log")
    assert len(texts(browser, "#access-log tbody tr")) >= 3
    assert browser.js(LAYOUT_JS) == []
    keep_screenshot(browser, tmp_path, "access-log-1400.png")


def test_access_log_page_filters_pagination_export(admin, browser, tmp_path):
    """The access log page (admin): select lists for user, action and outcome, Paris dates, pages of
    ``limit`` rows, French words, and an export link carrying the filters."""
    import httpx

    from tests.admin_support import auth

    for role in ("dpo", "rssi", "dpo", "rssi", "dpo"):
        assert httpx.get(admin.url + "/admin/api/decisions", headers=auth(role), timeout=10).status_code == 200
    assert httpx.get(admin.url + "/admin/api/access-log", headers=auth("rssi"), timeout=10).status_code == 403
    assert httpx.get(admin.url + "/admin/api/decisions", params={"decision": "x"}, headers=auth("dpo"),
                     timeout=10).status_code == 400
    login(browser, admin.url, "admin")
    browser.goto(admin.url + "/admin/access-log")
    keep_screenshot(browser, tmp_path, "access-log.png")
    outcomes = options(browser, "a-outcome")
    assert outcomes == [("", "tous"), ("ok", "accordé"), ("denied", "refusé (rôle)"),
                        ("unauthenticated", "non authentifié"), ("invalid", "invalide (paramètres)")]
    users = [v for v, _ in options(browser, "a-user")]
    assert users == ["", "admin.user", "dpo.user", "rssi.user"]
    actions = dict(options(browser, "a-action"))
    assert actions["export.csv"] == "export CSV" and actions["access_log.export"] == "export du journal des accès"
    cells = texts(browser, "#access-log tbody tr td:nth-child(7)")
    assert "accordé" in cells and "refusé (rôle)" in cells and "invalide (paramètres)" in cells
    assert not any(c.endswith((" ok", "ok")) for c in cells)  # « accordé », not « accordé ok »
    params = texts(browser, "#access-log tbody tr[data-outcome='invalid'] td.params")
    assert params == ["décision : x"]
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d UTC\+[12]", texts(browser, "#access-log td")[0])

    # filters through the form
    browser.submit("document.getElementById('a-user').value = 'rssi.user';"
                   "document.getElementById('a-outcome').value = 'ok';"
                   "document.getElementById('access-filters').submit()")
    rows = browser.js("Array.from(document.querySelectorAll('#access-log tbody tr')).map(r => [r.cells[1].innerText, r.dataset.outcome])")
    assert rows == [["rssi.user", "ok"], ["rssi.user", "ok"]]
    href = browser.js("document.getElementById('access-export-csv').href")
    assert href == admin.url + "/admin/api/access-log.csv?user=rssi.user&outcome=ok"
    browser.submit("document.getElementById('a-action').value = 'access_log.list';"
                   "document.getElementById('a-outcome').value = 'denied';"
                   "document.getElementById('access-filters').submit()")
    assert len(texts(browser, "#access-log tbody tr[data-outcome='denied']")) == 1
    # Paris dates: nothing before today, nothing until yesterday
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    browser.goto(admin.url + f"/admin/access-log?until={today - timedelta(days=1)}")
    assert texts(browser, "#access-log tbody tr") == ["Aucun accès ne correspond aux filtres."]
    browser.goto(admin.url + f"/admin/access-log?since={today}")
    assert len(texts(browser, "#access-log tbody tr")) >= 8

    # pages of 3, keyset: no row twice, newest first, back to the first page
    browser.goto(admin.url + "/admin/access-log?limit=3")
    seen = []
    for _ in range(3):
        seqs = browser.js("Array.from(document.querySelectorAll('#access-log tbody tr')).map(r => +r.dataset.seq)")
        assert len(seqs) == 3
        seen += seqs
        browser.submit("document.getElementById('access-next').click()")
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 9
    assert browser.js("document.getElementById('access-first').getAttribute('href')") == "?limit=3"
    # a bad filter is said in French, the page goes on
    browser.goto(admin.url + "/admin/access-log?outcome=peut-etre")
    assert "« outcome » invalide" in browser.js("document.getElementById('filter-error').innerText")
    assert len(texts(browser, "#access-log tbody tr")) >= 10
