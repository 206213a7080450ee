"""HTTPS listeners (``listen.tls_cert_file`` / ``tls_key_file`` and the same under ``admin``): the strict
configuration's checks, and real TLS connections to ``gardefou serve``."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.config import ConfigError, hash_key, parse_config

ROOT = Path(__file__).resolve().parents[1]

def _have_trustme() -> bool:
    try:
        import trustme  # noqa: F401
    except ImportError:
        return False
    return True


# trustme when it is installed (a test CA and a certificate it issued), else the openssl command (a
# self-signed certificate, as an administrator would make one).
GENERATORS = [g for g, ok in (("trustme", _have_trustme()), ("openssl", shutil.which("openssl") is not None)) if ok]
needs_certs = pytest.mark.skipif(not GENERATORS, reason="neither trustme nor the openssl command is installed")


def make_cert(directory: Path, name: str = "gw", generator: str | None = None) -> tuple[Path, Path, Path]:
    """A certificate for 127.0.0.1 and localhost, its unencrypted key (mode 0600), and the file a client
    trusts it with."""
    generator = generator or GENERATORS[0]
    cert, key, ca = directory / f"{name}.crt", directory / f"{name}.key", directory / f"{name}-ca.crt"
    if generator == "trustme":
        import trustme

        authority = trustme.CA()
        issued = authority.issue_cert("127.0.0.1", "localhost")
        issued.private_key_pem.write_to_path(str(key))
        cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
        authority.cert_pem.write_to_path(str(ca))
    else:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=gardefou-test",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True, timeout=60)
        shutil.copy(cert, ca)  # self-signed: its own authority
    key.chmod(0o600)
    return cert, key, ca


def encrypt_key(key: Path, out: Path) -> None:
    """``key`` protected by a passphrase, as some certificate tools deliver it."""
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("neither cryptography nor the openssl command to encrypt a key")
        subprocess.run(["openssl", "pkey", "-in", str(key), "-aes256", "-passout", "pass:secret", "-out", str(out)],
                       check=True, capture_output=True, timeout=60)
        return
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    out.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.BestAvailableEncryption(b"secret")))


def tls_config(cert: Path, key: Path, section: str = "listen") -> str:
    return yaml.safe_dump({section: {"tls_cert_file": str(cert), "tls_key_file": str(key)},
                           "detectors": {"spacy": False}})


def problems(text: str) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "c.yaml", environ={})
    return str(exc.value)


# -- the configuration ------------------------------------------------------------------------------

@pytest.mark.parametrize("section", ["listen", "admin"])
def test_certificate_and_key_go_together(section, tmp_path):
    text = f"{section}:\n  port: 9443\n  tls_cert_file: /x/gw.crt\n"
    assert f"line 1: {section}.tls_key_file: tls_cert_file is set: give its private key here too" in problems(text)
    text = f"{section}:\n  port: 9443\n  tls_key_file: /x/gw.key\n"
    assert f"line 3: {section}.tls_key_file: a private key without tls_cert_file" in problems(text)
    # neither: plain HTTP, no TLS option for uvicorn
    cfg = parse_config(f"{section}:\n  port: 9443\n", environ={})
    assert getattr(cfg, section).tls_options() == {}


def test_unknown_tls_key_is_refused_with_a_suggestion():
    assert "listen.tls_cert: unknown key, did you mean 'tls_cert_file'?" in problems("listen:\n  tls_cert: a.pem\n")


@needs_certs
@pytest.mark.parametrize("generator", GENERATORS)
def test_files_must_be_readable_and_a_matching_unencrypted_pair(tmp_path, generator):
    cert, key, _ = make_cert(tmp_path, generator=generator)
    _, other_key, _ = make_cert(tmp_path, "other", generator=generator)
    good = parse_config(tls_config(cert, key), environ={})
    assert good.listen.tls_options() == {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    assert good.admin.tls_options() == {}
    # missing file, at its key
    msg = problems(tls_config(cert, tmp_path / "missing.key"))
    assert "listen.tls_key_file: cannot read" in msg and "missing.key" in msg
    # a key that is not the certificate's
    assert "admin.tls_cert_file:" in (m := problems(tls_config(cert, other_key, "admin"))) and "does not match" in m
    # not PEM at all
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    assert "listen.tls_cert_file:" in (m := problems(tls_config(junk, key))) and "not a PEM certificate" in m
    # an encrypted key is refused instead of asking for a passphrase on a terminal the service has not got
    enc = tmp_path / "enc.key"
    encrypt_key(key, enc)
    assert "listen.tls_key_file:" in (m := problems(tls_config(cert, enc))) and "is encrypted" in m
    # the file checks are the machine's: without environ (add-user, audit commands) the text alone is checked
    parse_config(tls_config(cert, tmp_path / "missing.key"))


@needs_certs
def test_check_config_refuses_an_unreadable_key_as_serve_does(tmp_path):
    cert, key, _ = make_cert(tmp_path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(tls_config(cert, tmp_path / "nope.key") + f"audit:\n  url: sqlite:///{tmp_path}/a.db\n")
    for argv in (["check-config", str(cfg)], ["serve", "--config", str(cfg), "--port", "0"]):
        r = subprocess.run([sys.executable, "-m", "gateway.cli", *argv], capture_output=True, text=True, cwd=ROOT,
                           timeout=120)
        assert r.returncode == 2 and "listen.tls_key_file: cannot read" in r.stderr, (argv, r.stderr)
    assert not (tmp_path / "a.db").exists()


# -- real TLS connections ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_certs
def test_serve_over_https_on_both_listeners(tmp_path):
    cert, key, ca = make_cert(tmp_path)
    gw_port, admin_port = _free_port(), _free_port()
    token = "tok-tls-admin-7Q"
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump({
        "listen": {"host": "127.0.0.1", "port": gw_port, "tls_cert_file": str(cert), "tls_key_file": str(key)},
        "admin": {"host": "127.0.0.1", "port": admin_port, "tls_cert_file": str(cert), "tls_key_file": str(key)},
        "audit": {"url": f"sqlite:///{tmp_path / 'audit.db'}"},
        "admins": [{"id": "lea.admin", "role": "admin", "token_sha256": hash_key(token)}],
    }), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--config", str(path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    trust = ssl.create_default_context(cafile=str(ca))
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                r = httpx.get(f"https://127.0.0.1:{gw_port}/readyz", verify=trust, timeout=10)
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "gateway did not become ready over HTTPS"
            time.sleep(0.2)
        assert r.json()["checks"] == {"detectors": True, "audit_store": True}

        # the handshake itself: TLS 1.2 at least, and the certificate configured
        for port in (gw_port, admin_port):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                    trust.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3")
                assert ("IP Address", "127.0.0.1") in tls.getpeercert()["subjectAltName"]

        # a client that does not trust this certificate is refused by its own TLS check
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"https://127.0.0.1:{gw_port}/healthz", timeout=10)
        # plain HTTP on the HTTPS port gets no HTTP answer
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{gw_port}/healthz", timeout=5)

        # the API decides over HTTPS as over HTTP
        r = httpx.post(f"https://127.0.0.1:{gw_port}/v1/chat/completions", verify=trust, timeout=30,
                       json={"model": "mistral/mistral-small-latest",
                             "messages": [{"role": "user", "content": "Mon NIR : 1 85 05 78 006 084 91"}]})
        assert r.status_code == 403 and r.headers["x-gardefou-decision"] == "block"

        # the audit review: the token over HTTPS, and the session cookie marked Secure
        admin_url = f"https://127.0.0.1:{admin_port}"
        r = httpx.get(admin_url + "/admin/api/access-log", headers={"Authorization": f"Bearer {token}"},
                      verify=trust, timeout=10)
        assert r.status_code == 200
        r = httpx.post(admin_url + "/admin/login", data={"token": token}, verify=trust, timeout=10,
                       headers={"Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 303
        cookie = r.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie

        # the container's health check speaks HTTPS to the loopback listener
        from gateway.healthcheck import check

        ok, detail = check(f"https://127.0.0.1:{gw_port}/readyz")
        assert ok, detail
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode()
    assert f"running on https://127.0.0.1:{gw_port}" in out and f"running on https://127.0.0.1:{admin_port}" in out


@needs_certs
def test_an_https_listener_refuses_tls_below_1_2(tmp_path):
    from gateway.cli import uvicorn_config

    cert, key, _ = make_cert(tmp_path)
    cfg = parse_config(tls_config(cert, key), environ={})

    async def app(scope, receive, send):  # pragma: no cover - never called
        pass

    settings = uvicorn_config(app, "127.0.0.1", 0, [], **cfg.listen.tls_options())
    settings.load()
    assert settings.is_ssl and settings.ssl is not None
    assert settings.ssl.minimum_version >= ssl.TLSVersion.TLSv1_2
