"""Postal addresses: a street number + street type + name (optionally postcode and city).

Institutional addresses (the address of a town hall, hospital or agency) are public: a street
address is not reported when an institution word precedes it closely and no personal cue
("domicilié", "habite", "demeurant", "adresse personnelle", a title) is present.
"""

from __future__ import annotations

import re

from detectors.base import Finding
from detectors.context import ScanContext
from detectors.recognizer import BaseRecognizer

_STREET_TYPES = (
    r"rue|avenue|av\.|bd|boulevard|place|pl\.|all[ée]e|impasse|chemin|route|rte|quai|cours|square|"
    r"r[ée]sidence|lotissement|faubourg|fbg|passage|villa|cit[ée]|hameau|lieu-dit|sentier|voie|esplanade|parvis|mont[ée]e|rond-point"
)
_ADDRESS = re.compile(
    r"(?<![\w])\d{1,4}(?:\s?(?:bis|ter|quater|[a-d]))?\s?,?\s+(?:" + _STREET_TYPES + r")\s+"
    r"(?:(?:de|du|des|la|le|l'|l’|d'|d’|les|aux?|saint|ste?|-)\s*){0,3}[A-ZÀ-Ý][\w'’\-]+(?:[ \t]+[A-ZÀ-Ýa-zà-ÿ][\w'’\-]+){0,4}"
    r"(?:\s*,?\s*(?:\d{5}|\d{2}\s\d{3})\s+[A-ZÀ-Ý][\w'’\-]+(?:[ \t\-][A-ZÀ-Ý][\w'’\-]+){0,3}(?:\s+cedex(?:\s+\d+)?)?)?",
    re.IGNORECASE,
)
# No street number, but a street and a postcode + city.
_STREET_CITY = re.compile(
    r"(?<![\w])(?:" + _STREET_TYPES + r")\s+(?:(?:de|du|des|la|le|l'|d'|les|aux?|saint|ste?|-)\s*){0,3}"
    r"[A-ZÀ-Ý][\w'\-]+(?:[ \t]+[A-ZÀ-Ýa-zà-ÿ][\w'\-]+){0,4}"
    r"\s*,?\s*(?:\d{5}|\d{2}\s\d{3})\s+[A-ZÀ-Ý][\w'\-]+(?:[ \t\-][A-ZÀ-Ý][\w'\-]+){0,3}",
    re.IGNORECASE,
)
_INSTITUTION = re.compile(
    r"mairie|h[ôo]pital|\bchu\b|\bch\b|clinique|pr[ée]fecture|minist[èe]re|si[èe]ge|agence|\bars\b|centre|antenne|"
    r"\bccas\b|\bcias\b|\bmdph\b|\bcaf\b|permanence|accueil\s+du\s+public|d[ée]m[ée]nag|"
    r"direction|service|universit[ée]|[ée]cole|coll[èe]ge|lyc[ée]e|tribunal|caisse|cpam|ehpad|institut|"
    r"soci[ée]t[ée]|entreprise|magasin|restaurant|h[ôo]tel|salle|gymnase|mus[ée]e|biblioth[èe]que|locaux|bureaux|"
    r"\besat\b|\bime\b|\bitep\b|\bmecs\b|\bsessad\b|\bfoyer\b|\bpmi\b|cr[èe]che|association|[ée]tablissement|"
    r"adresse\s+(?:publique|postale\s+de\s+(?:l'|notre))",
    re.IGNORECASE,
)
_PERSONAL = re.compile(
    r"domicili|habite|demeur|r[ée]sid(?:e|ant)|adresse personnelle|son adresse|mon adresse|\bchez\s+(?:m\.|mme|monsieur|madame)|"
    r"\bm\.\s|\bmme\b|monsieur|madame|patient|n[ée]e? le|vit\s+(?:au|à)",
    re.IGNORECASE,
)


_STREET_GATE = re.compile(r"\b(?:" + _STREET_TYPES + r")\s")


class AddressRecognizer(BaseRecognizer):
    name = "address"

    def analyze_ctx(self, ctx: ScanContext):
        out: list[Finding] = []
        if not _STREET_GATE.search(ctx.lower):
            return out
        matches = list(_ADDRESS.finditer(ctx.text))
        matches += [m for m in _STREET_CITY.finditer(ctx.text) if not any(o.start() <= m.start() < o.end() for o in matches)]
        for m in matches:
            before = ctx.text[max(0, m.start() - 80) : m.start()]
            if _INSTITUTION.search(before) and not _PERSONAL.search(before):
                continue
            out.append(ctx.finding("LOCATION", "personal", m.start(), m.end(), 0.75, self.name))
        return out
