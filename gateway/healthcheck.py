"""The container's health check: ``python -m gateway.healthcheck [URL]`` exits 0 when the gateway's
``/readyz`` answers 200 (a probe scan found what it must, and the audit store took a write), 1 otherwise.

The slim image has no curl; this uses the standard library only. Over HTTPS to a loopback address
(``listen.tls_cert_file`` set), the certificate is not verified: the probe talks to the process beside
it in the same container, sends nothing secret, and the certificate names the public host name, not
127.0.0.1. Any other host is verified as usual.
"""

from __future__ import annotations

import ipaddress
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8080/readyz"
TIMEOUT_S = 8.0  # /readyz bounds each of its checks to 5 s


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def check(url: str = DEFAULT_URL, timeout: float = TIMEOUT_S) -> tuple[bool, str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return False, f"not an http(s) URL: {url}"
    context = None
    if parts.scheme == "https" and _loopback(parts.hostname):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as resp:
            return resp.status == 200, f"{resp.status} {resp.read(200).decode(errors='replace')}"
    except urllib.error.HTTPError as exc:  # 503: not ready
        return False, f"{exc.code} {exc.read(200).decode(errors='replace')}"
    except (OSError, ValueError) as exc:
        return False, f"unreachable: {exc}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    ok, detail = check(args[0] if args else DEFAULT_URL)
    print(("ready: " if ok else "not ready: ") + detail)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
