"""IBAN (any country), validated by python-stdnum's ISO 13616 checks (mod 97 + country format)."""

from __future__ import annotations

import re

from stdnum import iban

from detectors.context import BaseRecognizer, ScanContext

_SEP = r"[ \t\r\n.\-/_]{0,2}"
_CANDIDATE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}" + _SEP + r"\d\d(?:" + _SEP + r"[A-Za-z0-9]){11,30}")
_NOSEP = re.compile(r"[^A-Za-z0-9]")


class IbanRecognizer(BaseRecognizer):
    name = "iban"

    def analyze_ctx(self, ctx: ScanContext):
        out = []
        for m in _CANDIDATE.finditer(ctx.text):
            raw = m.group()
            # Map compact characters to their offsets, then shrink until valid (trailing words
            # may have been swallowed by the greedy group).
            idx = [k for k, ch in enumerate(raw) if not _NOSEP.match(ch)]
            compact = "".join(raw[k] for k in idx).upper()
            for end in range(len(compact), 14, -1):
                if iban.is_valid(compact[:end]):
                    out.append(ctx.finding("IBAN_CODE", "personal", m.start(), m.start() + idx[end - 1] + 1, 1.0, self.name))
                    break
        return out
