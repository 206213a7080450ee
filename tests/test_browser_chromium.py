"""The browser path in a real headless Chromium (Debian's ``chromium``), configured as a workstation
would be: the PAC served by the gateway (``--proxy-pac-url``), QUIC off, the institution CA trusted
(``--ignore-certificate-errors-spki-list`` with the CA's key hash, the flag's way of trusting a root
without an NSS database). Driven over the DevTools protocol with websocket-client.

Chromium never sends loopback addresses through a PAC, so the fake apps get made-up names under
``.gardefou.test`` (their certificates carry those names); the gateway's event loop resolves those
names to 127.0.0.1 and refuses any other (``LoopbackApps``, test only). Chromium resolves nothing
itself (``--host-resolver-rules``): nothing leaves 127.0.0.1.

Screenshots are written to the test's directory and, with ``GARDEFOU_SCREENSHOT_DIR`` set, kept there.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from gateway.proxy.ca import init_ca
from gateway.testing.webapp import start_fake_webapp
from tests.browser_support import CLEAN, NIR, NIR_DIGITS, make_pki, start_browser_gateway
from tests.test_admin_dashboard import Browser, chromium_path  # noqa: F401 - the session fixture

DOMAIN = ".gardefou.test"


class LoopbackApps:
    """Test only: the gateway's event loop resolves the fake apps' names (``*.gardefou.test``) to
    127.0.0.1, and no other name (what it was asked is kept, to prove nothing else was reached)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.asked: list[str] = []
        original = loop.getaddrinfo

        async def getaddrinfo(host, port, *args, **kwargs):
            name = host.decode() if isinstance(host, bytes) else str(host)
            self.asked.append(name)
            if name.endswith(DOMAIN):
                return await original("127.0.0.1", port, *args, **kwargs)
            if name != "127.0.0.1":
                raise OSError(f"{name}: only 127.0.0.1 and the fake apps are reachable in this test")
            return await original(host, port, *args, **kwargs)

        loop.getaddrinfo = getaddrinfo  # type: ignore[method-assign]


def spki_hash(cert_path: Path) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def keep(path: Path) -> None:
    if os.environ.get("GARDEFOU_SCREENSHOT_DIR"):
        shutil.copy(path, Path(os.environ["GARDEFOU_SCREENSHOT_DIR"]) / path.name)


@pytest.fixture
def setup(tmp_path, scanner, chromium_path):  # noqa: F811
    pki = make_pki(tmp_path)
    chat = start_fake_webapp(pki.server_context(pki.trusted, "chat" + DOMAIN), "chat")
    warn = start_fake_webapp(pki.server_context(pki.trusted, "warn" + DOMAIN), "warn")
    ca_dir = tmp_path / "ca"
    init_ca(ca_dir)
    cfg = {
        "audit": {"url": f"sqlite:///{tmp_path / 'audit.db'}"},
        "proxy": {"enabled": True, "host": "127.0.0.1", "port": 0, "ca_dir": str(ca_dir),
                  "upstream_ca_file": str(pki.upstream_ca_file)},
        "services": [
            {"id": "chatapp", "name": "Chat conforme", "hosts": [f"chat{DOMAIN}:{chat.port}"], "inspect": True,
             "hosting": "eu", "trains_on_inputs": False},
            {"id": "warnapp", "name": "Chat non conforme", "hosts": [f"warn{DOMAIN}:{warn.port}"], "inspect": True,
             "hosting": "non-eu", "trains_on_inputs": True},
        ],
    }
    gw = start_browser_gateway(cfg, scanner=scanner)
    loopback = LoopbackApps(gw.loop)
    browser = Browser(chromium_path, (
        f"--proxy-pac-url={gw.url}/proxy.pac", "--disable-quic",
        f"--ignore-certificate-errors-spki-list={spki_hash(gw.ca_cert)}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ))
    yield gw, chat, warn, loopback, browser
    browser.close()
    gw.stop()
    chat.stop()
    warn.stop()


def body_text(browser: Browser) -> str:
    return browser.js("document.body.innerText")


def type_and_send(browser: Browser, text: str) -> None:
    browser.submit(f"document.getElementById('prompt').value = {json.dumps(text)}; document.querySelector('form').submit()")


def test_chromium_through_the_pac_block_page_warning_and_continue(setup, tmp_path):
    gw, chat, warn, loopback, browser = setup
    base = f"https://chat{DOMAIN}:{chat.port}"

    # a compliant app: the page loads through the proxy (TLS by the institution CA), a clean prompt goes through
    browser.goto(base + "/")
    assert browser.js("document.querySelector('h1').textContent") == "Application chat"
    type_and_send(browser, CLEAN)
    assert "Message reçu" in body_text(browser)
    sent = [r for r in chat.received if r.method == "POST"]
    assert len(sent) == 1 and sent[0].body.startswith(b"prompt=Reformule")

    # a prompt with a NIR: the French block page is what the person sees, the app receives nothing
    browser.goto(base + "/")
    type_and_send(browser, f"Courrier de sortie pour le patient NIR {NIR}")
    page = body_text(browser)
    assert "Votre envoi vers « Chat conforme » a été bloqué" in page
    assert "données personnelles" in page and "Que faire à la place" in page
    assert "délégué à la protection des données" in page
    assert NIR not in page and NIR_DIGITS not in page
    audit_id = browser.js("document.querySelector('.ref').textContent")
    browser.screenshot(tmp_path / "chromium-block-page.png")
    keep(tmp_path / "chromium-block-page.png")
    assert len([r for r in chat.received if r.method == "POST"]) == 1
    blocked = gw.record(audit_id)
    assert blocked["decision"] == "block" and blocked["service_id"] == "chatapp" and "FR_NIR" in blocked["finding_types"]

    # a non-compliant app: the interstitial, then « Continuer », then the page and a prompt pass
    warn_base = f"https://warn{DOMAIN}:{warn.port}"
    browser.goto(warn_base + "/")
    page = body_text(browser)
    assert "« Chat non conforme » n'est pas conforme à la charte" in page and "Continuer" in page
    browser.screenshot(tmp_path / "chromium-warning-page.png")
    keep(tmp_path / "chromium-warning-page.png")
    assert warn.received == []
    browser.submit("document.querySelector('form button').click()")
    assert browser.js("document.querySelector('h1').textContent") == "Application warn"
    assert urlparse(browser.js("location.href")).path == "/"
    type_and_send(browser, CLEAN)
    assert "Message reçu" in body_text(browser)
    browser.screenshot(tmp_path / "chromium-after-continue.png")
    keep(tmp_path / "chromium-after-continue.png")
    assert [r.method for r in warn.received if r.path in ("/", "/form")] == ["GET", "POST"]

    # every event is in the audit store
    records = gw.store.recent(1000)
    by = {(r["service_id"], r["decision"], tuple(r["rule_ids"])) for r in records}
    assert ("chatapp", "allow", ("charter.compliant",)) in by
    assert blocked["rule_ids"][0] == "charter.personal"
    assert ("warnapp", "warn", ("charter.non_compliant", "warn.ack_required")) in by
    assert ("warnapp", "warn", ("warn.acknowledged",)) in by
    assert ("warnapp", "warn", ("charter.non_compliant",)) in by  # after « Continuer », still inspected
    dumped = json.dumps(records, default=str)
    assert NIR not in dumped and NIR_DIGITS not in dumped

    # nothing left 127.0.0.1: the browser asked for the two apps and the gateway only, the proxy connected
    # to 127.0.0.1 only
    hosts = {urlparse(u).hostname for u in browser.requested if urlparse(u).scheme in ("http", "https")}
    assert hosts <= {"chat" + DOMAIN, "warn" + DOMAIN, "127.0.0.1"}, hosts
    assert loopback.asked and set(loopback.asked) <= {"chat" + DOMAIN, "warn" + DOMAIN, "127.0.0.1"}, loopback.asked
