"""The proxy auto-configuration file (``GET /proxy.pac``), generated from the catalogue's hosts.

Every host of the catalogue (allowed or denied: a denied one must reach the proxy to be refused), and
every host of the discovery list of generative-AI services (``policies/discovery.py``: the proxy must
see them to decide them as unknown services), goes to ``PROXY host:port`` with no ``DIRECT`` fallback:
when the proxy is down those hosts fail instead of silently bypassing the control. Everything else
goes ``DIRECT``.

The matching is the catalogue's (``HostPattern``): an exact name matches itself only, ``*.domain``
any name ending in ``.domain`` (``dnsDomainIs(host, ".domain")``, so not ``domain`` itself), and
``:port`` restricts either to that port, read from the URL (default ports by scheme).
"""

from __future__ import annotations

import ipaddress
import json
import re

from policies.catalogue import Catalogue, parse_host_entry
from policies.discovery import Discovery

MEDIA_TYPE = "application/x-ns-proxy-autoconfig"
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def proxy_directive(host: str, port: int) -> str:
    """``PROXY host:port`` for the PAC (an IPv6 address in brackets)."""
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"PROXY [{host}]:{port}"
    except ValueError:
        if not _HOSTNAME.fullmatch(host):
            raise ValueError(f"not a host name: {host!r}") from None
    return f"PROXY {host}:{port}"


def pac_script(catalogue: Catalogue, directive: str, discovery: Discovery | None = None) -> str:
    exact: dict[str, bool] = {}
    exact_port: dict[str, bool] = {}
    domains: set[str] = set()
    domains_port: set[tuple[str, int]] = set()
    entries = [h for svc in catalogue.services.values() for h in svc.hosts]
    if discovery is not None:
        entries += [h for listed in discovery.data.services for h in listed.hosts]
    for entry in entries:
        p = parse_host_entry(entry)
        if p.wildcard and p.port is None:
            domains.add("." + p.name)
        elif p.wildcard:
            assert p.port is not None
            domains_port.add(("." + p.name, p.port))
        elif p.port is None:
            exact[p.name] = True
        else:
            exact_port[f"{p.name}:{p.port}"] = True

    def js(value) -> str:
        return json.dumps(value, sort_keys=True)

    return f"""// Garde-fou: proxy auto-configuration generated from the service catalogue and the list of
// generative-AI hosts (shadow-AI discovery). The AI services' hosts go to the Garde-fou proxy, with
// no DIRECT fallback: if the proxy cannot be reached they fail rather than bypass the control.
// Everything else goes DIRECT.
var GARDEFOU = {js(directive)};
var EXACT = {js(exact)};
var EXACT_PORT = {js(exact_port)};
var DOMAINS = {js(sorted(domains))};
var DOMAINS_PORT = {js([list(d) for d in sorted(domains_port)])};

function gardefouPort(url) {{
  var m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\\/\\/(?:[^\\/?#@]*@)?(?:\\[[^\\]]*\\]|[^\\/?#:]*)(?::([0-9]+))?/.exec(url);
  if (!m) return -1;
  if (m[2]) return parseInt(m[2], 10);
  var scheme = m[1].toLowerCase();
  if (scheme == "https" || scheme == "wss") return 443;
  if (scheme == "http" || scheme == "ws") return 80;
  return -1;
}}

function gardefouHas(table, key) {{
  return Object.prototype.hasOwnProperty.call(table, key);
}}

function FindProxyForURL(url, host) {{
  host = host.toLowerCase();
  if (host.charAt(host.length - 1) == ".") host = host.substring(0, host.length - 1);
  if (gardefouHas(EXACT, host)) return GARDEFOU;
  var port = gardefouPort(url);
  if (gardefouHas(EXACT_PORT, host + ":" + port)) return GARDEFOU;
  for (var i = 0; i < DOMAINS.length; i++) {{
    if (dnsDomainIs(host, DOMAINS[i])) return GARDEFOU;
  }}
  for (var j = 0; j < DOMAINS_PORT.length; j++) {{
    if (DOMAINS_PORT[j][1] == port && dnsDomainIs(host, DOMAINS_PORT[j][0])) return GARDEFOU;
  }}
  return "DIRECT";
}}
"""
