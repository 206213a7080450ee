"""The institution's IS infrastructure named in a prompt: what an attacker maps a network with.

* LDAP / Active Directory distinguished names (``OU=Medecins,OU=Utilisateurs,DC=chu,DC=local``);
* UNC paths to internal shares (``\\\\srv-fichiers01\\RH$``);
* host names under internal-only suffixes (``dpi-prod.chu.local``, ``srv-ad01.intra``, ``*.corp``,
  ``*.lan``, ``*.internal``).

All are reported as ``confidential`` (IS security is confidential under the charters). Public domain
names, URLs on the internet and ``localhost`` are not: an internal suffix or an AD structure is what
makes it the institution's own network.
"""

from __future__ import annotations

import re

from detectors.context import ScanContext
from detectors.recognizer import BaseRecognizer

_DN = re.compile(r"(?i)\b(?:CN|OU|DC)=[^,=\s][^,=\n]{0,60}(?:\s*,\s*(?:CN|OU|DC)=[^,=\s][^,=\n]{0,60}){1,}")
_UNC = re.compile(r"(?<![\w\\])\\\\[A-Za-z0-9][A-Za-z0-9._-]{1,62}(?:\\[A-Za-z0-9$._-]{1,80})+")
_INTERNAL_HOST = re.compile(
    r"(?i)(?<![\w.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:local|lan|intra|intranet|corp|internal|priv|localdomain|ad)\b(?![.-]\w)"
)


_SUFFIXES = (".local", ".lan", ".intra", ".corp", ".internal", ".priv", ".ad")


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
        if any(sfx in ctx.lower for sfx in _SUFFIXES):
            for m in _INTERNAL_HOST.finditer(text):
                out.append(ctx.finding("IS_INFRASTRUCTURE", "confidential", m.start(), m.end(), 0.75, f"{self.name}:host"))
        return out
