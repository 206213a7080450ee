"""E-mail addresses, including obfuscated spellings.

Handles "jean.dupont@chu.fr", "jean.dupont [at] chu [dot] fr", "jean.dupont (arobase) chu point fr",
"jean dot dupont at chu dot fr", homoglyphs (via normalisation) and a line break next to the "@".
"""

from __future__ import annotations

import re

from detectors.context import ScanContext
from detectors.offline import is_public_suffix
from detectors.recognizer import BaseRecognizer

_AT = r"(?:\s{0,2}@\s{0,2}|\s*[\[({<]\s*(?:at|arobase|@)\s*[\])}>]\s*|\s+(?:at|arobase)\s+)"
_DOT = r"(?:\.|\s*[\[({<]\s*(?:dot|point|\.)\s*[\])}>]\s*|\s+(?:dot|point)\s+)"
_LOCAL = r"[\w+\-]+(?:" + _DOT + r"[\w+\-]+)*"
_TLD = r"[a-z]{2,12}"
_EMAIL = re.compile(
    r"(?<![\w.+\-])" + _LOCAL + _AT + r"[\w\-]+(?:" + _DOT + r"[\w\-]+)*" + _DOT + _TLD + r"(?![\w\-])",
    re.IGNORECASE,
)
_CUES = re.compile(r"@|\bat\b|arobase", re.IGNORECASE)
# Spelled-out separators ("at", "dot", "point") are only trusted with a real top-level domain.
_COMMON_TLDS = frozenset(
    "fr com org net eu gouv be ch lu ca de es it uk io info biz re gp mq gf yt pf nc pm bzh paris".split()
)


class EmailRecognizer(BaseRecognizer):
    name = "email"

    def analyze_ctx(self, ctx: ScanContext):
        if not _CUES.search(ctx.text):
            return []
        out = []
        for m in _EMAIL.finditer(ctx.text):
            value = m.group()
            tld = re.split(r"\W+", value.rstrip().lower())[-1]
            if "@" not in value and tld not in _COMMON_TLDS:
                continue
            if not is_public_suffix("x." + tld):
                continue
            out.append(ctx.finding("EMAIL_ADDRESS", "personal", m.start(), m.end(), 0.95, self.name))
        return out
