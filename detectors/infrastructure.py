"""The institution's IS infrastructure named in a prompt: what an attacker maps a network with.

* LDAP / Active Directory distinguished names (``OU=Medecins,OU=Utilisateurs,DC=chu,DC=local``);
* UNC paths to internal shares (``\\\\srv-fichiers01\\RH$``);
* host names under internal-only suffixes (``dpi-prod.chu.local``, ``srv-ad01.intra``, ``*.corp``,
  ``*.lan``, ``*.internal``);
* SQL run against a production database (``SELECT ... FROM solis_prod.dossiers``, "cette requête sur
  notre base de prod"): its schemas, tables and columns map the institution's production system.

All are reported as ``confidential`` (IS security is confidential under the charters). Public domain
names, URLs on the internet and ``localhost`` are not: an internal suffix or an AD structure is what
makes it the institution's own network.
"""

from __future__ import annotations

import re

from detectors.context import ScanContext
from detectors.recognizer import BaseRecognizer

_DN = re.compile(r"(?i)\b(?:CN|OU|DC)=[^,=\s][^,=\n]{0,60}(?:\s*,\s*(?:CN|OU|DC)=[^,=\s][^,=\n]{0,60}){1,}")
_UNC_SLASH = re.compile(r"(?<![\w:/])//(?=[A-Za-z0-9-]*\d|srv|fs|nas|files?|share)[A-Za-z0-9][A-Za-z0-9_-]{1,62}"
                        r"(?:/[A-Za-z0-9$._-]{1,80})+")
_UNC = re.compile(r"(?<![\w\\])\\\\[A-Za-z0-9][A-Za-z0-9._-]{1,62}(?:\\[A-Za-z0-9$._-]{1,80})+")
_INTERNAL_HOST = re.compile(
    r"(?i)(?<![\w.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:local|lan|intra|intranet|corp|internal|priv|localdomain|ad)\b(?![.-]\w)"
)


_SUFFIXES = (".local", ".lan", ".intra", ".corp", ".internal", ".priv", ".ad")

# A statement with its table: SELECT ... FROM t, INSERT INTO t, UPDATE t SET, DELETE FROM t.
_SQL = re.compile(
    r"(?is)\b(?:select\b.{1,400}?\bfrom|insert\s+into|delete\s+from)\s+[\w.\"`\[\]]+|\bupdate\s+[\w.\"`\[\]]+\s+set\b"
)
# ... on production: a schema or database named so, or the prompt saying so. Training queries on
# a test base or in a course have neither.
_PRODUCTION = re.compile(
    r"(?i)\b\w+_prod\w*\.\w|\bprod_\w+\.\w|\b(?:base|bdd|bd|serveur|instance|schéma|schema|environnement|database|db|server)"
    r"\s+(?:de\s+)?(?:prod|production|pr[ée]prod)\b|\b(?:en|in|on)\s+prod(?:uction)?\b|\bprod(?:uction)?\s+(?:database|db|server|base)\b"
)


class InfrastructureRecognizer(BaseRecognizer):
    name = "infrastructure"

    def analyze_ctx(self, ctx: ScanContext):
        text = ctx.text
        out = []
        if "=" in text:
            for m in _DN.finditer(text):
                out.append(ctx.finding("IS_INFRASTRUCTURE", "confidential", m.start(), m.end(), 0.85, f"{self.name}:ldap"))
        if "\\\\" in text:
            for m in _UNC.finditer(text):
                out.append(ctx.finding("IS_INFRASTRUCTURE", "confidential", m.start(), m.end(), 0.8, f"{self.name}:unc"))
        if "//" in text:  # the same share written with slashes ("//srv-picu01/doses/..."), not a URL
            for m in _UNC_SLASH.finditer(text):
                out.append(ctx.finding("IS_INFRASTRUCTURE", "confidential", m.start(), m.end(), 0.8, f"{self.name}:unc"))
        low = ctx.lower
        if any(sfx in low for sfx in _SUFFIXES):
            for m in _INTERNAL_HOST.finditer(text):
                out.append(ctx.finding("IS_INFRASTRUCTURE", "confidential", m.start(), m.end(), 0.75, f"{self.name}:host"))
        if "prod" in low and any(k in low for k in ("select", "insert", "update", "delete")) and _PRODUCTION.search(text):
            sql = _SQL.search(text)
            if sql:
                out.append(ctx.finding("IS_INFRASTRUCTURE", "confidential", sql.start(), sql.end(), 0.75, f"{self.name}:sql"))
        return out
