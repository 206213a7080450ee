"""The institution CA of the browser path, in mitmproxy's own file layout so mitmproxy uses it as is.

``proxy.ca_dir`` holds, as ``mitmproxy.certs.CertStore.create_store`` writes them:

* ``mitmproxy-ca.pem``       private key + certificate (mode 0600): what the proxy signs with
* ``mitmproxy-ca.p12``       the same in PKCS#12 (mode 0600)
* ``mitmproxy-ca-cert.pem``  the public certificate: what ``/ca.crt`` serves and what is deployed
  to the browsers (also ``.cer`` and ``.p12``, the same certificate for other systems)
* ``mitmproxy-dhparam.pem``  Diffie-Hellman parameters

The private key is never logged, printed or served.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BASENAME = "mitmproxy"  # mitmproxy's TlsConfig looks for this basename in its confdir
KEY_SIZE = 3072
DEFAULT_NAME = "Garde-fou"

#: the files that hold the private key
SECRET_FILES = (f"{BASENAME}-ca.pem", f"{BASENAME}-ca.p12")
PUBLIC_FILES = (f"{BASENAME}-ca-cert.pem", f"{BASENAME}-ca-cert.cer", f"{BASENAME}-ca-cert.p12",
                f"{BASENAME}-dhparam.pem")


@dataclass(frozen=True)
class CaFiles:
    directory: Path

    @property
    def key_and_cert(self) -> Path:
        return self.directory / SECRET_FILES[0]

    @property
    def certificate(self) -> Path:
        return self.directory / PUBLIC_FILES[0]

    def exists(self) -> bool:
        return self.key_and_cert.exists()


def ca_files(ca_dir: str | Path) -> CaFiles:
    return CaFiles(Path(ca_dir).expanduser())


def ca_problem(ca_dir: str | Path) -> str | None:
    """Why the CA in ``ca_dir`` cannot be used (None when it can): missing, unreadable, not a key and
    a CA certificate, expired."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    files = ca_files(ca_dir)
    if not files.exists():
        return f"no institution CA in {files.directory}"
    try:
        raw = files.key_and_cert.read_bytes()
        load_pem_private_key(raw, None)
        cert = x509.load_pem_x509_certificates(raw)[0]
    except OSError as exc:
        return f"cannot read {files.key_and_cert}: {exc.strerror}"
    except (ValueError, TypeError, IndexError):
        return f"{files.key_and_cert} does not hold an unencrypted private key and its CA certificate"
    if cert.not_valid_after_utc <= datetime.now(UTC):
        return f"the institution CA in {files.directory} has expired"
    if not files.certificate.exists():
        return f"{files.certificate} is missing"
    return None


class CaExists(Exception):
    """``ca init`` without ``--force`` over an existing CA."""


def init_ca(ca_dir: str | Path, *, force: bool = False, name: str = DEFAULT_NAME) -> Path:
    """Create the institution CA in ``ca_dir``; returns the public certificate's path."""
    from mitmproxy.certs import CertStore

    files = ca_files(ca_dir)
    present = [f for f in (*SECRET_FILES, *PUBLIC_FILES) if (files.directory / f).exists()]
    if present and not force:
        raise CaExists(f"{files.directory} already holds a CA ({', '.join(present)}); "
                       "use --force to replace it (every browser must then trust the new one)")
    files.directory.mkdir(parents=True, exist_ok=True)
    os.chmod(files.directory, 0o700)
    for f in present:
        (files.directory / f).unlink()
    CertStore.create_store(files.directory, BASENAME, KEY_SIZE, organization=name, cn=f"{name} (inspection HTTPS)")
    for f in SECRET_FILES:  # mitmproxy writes them under a 0o77 umask; say it, whatever the umask did
        os.chmod(files.directory / f, 0o600)
    return files.certificate
