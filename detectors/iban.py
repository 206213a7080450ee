"""IBAN (any country), validated by python-stdnum's ISO 13616 checks (mod 97 + country format)."""

from __future__ import annotations

import re

from stdnum import iban

from detectors.context import ScanContext
from detectors.recognizer import BaseRecognizer

_SEP = r"[ \t\r\n.\-/_]{0,2}"
_CANDIDATE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}" + _SEP + r"\d" + _SEP + r"\d(?:" + _SEP + r"[A-Za-z0-9]){11,30}")
_NOSEP = re.compile(r"[^A-Za-z0-9]")
def _iban_lengths() -> dict[str, int]:
    """Country code -> IBAN length, from python-stdnum's bundled SWIFT registry (iban.dat)."""
    import importlib.resources

    lengths = {}
    data = importlib.resources.files("stdnum").joinpath("iban.dat").read_text(encoding="utf-8")
    for line in data.splitlines():
        m = re.match(r"([A-Z]{2}) .*bban=\"([^\"]+)\"", line)
        if m:
            lengths[m.group(1)] = 4 + sum(int(n) for n in re.findall(r"(\d+)!?[nac]", m.group(2)))
    return lengths


_LENGTHS = _iban_lengths()

# Cheap pre-filter: two letters then two digits (the country code and check digits).
_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[ \t\r\n.\-/_]{0,2}\d[ \t\r\n.\-/_]{0,2}\d")


# IBANs published as documentation examples (the ECBS / French banks' sample, Wikipedia's): quoted as
# an example ("the usual documentation example FR76 3000 6000..."), they identify nobody. Without that
# word they are reported like any other valid IBAN (a writer may have borrowed one for a real case).
_DOC_EXAMPLES = frozenset({"FR7630006000011234567890189", "FR1420041010050500013M02606", "DE89370400440532013000",
                           "GB82WEST12345698765432", "GB29NWBK60161331926819", "BE68539007547034", "CH9300762011623852957"})


_AS_EXAMPLE = re.compile(r"exemple|example|sample|documentation|fictif|fictive|fictitious|dummy", re.IGNORECASE)


class IbanRecognizer(BaseRecognizer):
    name = "iban"

    def analyze_ctx(self, ctx: ScanContext):
        out = []
        text = ctx.text
        last_end = -1
        for start in _START.finditer(text):
            if start.start() < last_end or text[start.start() : start.start() + 2].upper() not in _LENGTHS:
                continue
            m = _CANDIDATE.match(text, start.start())
            if not m:
                continue
            raw = m.group()
            # Map compact characters to their offsets, then shrink until valid (trailing words
            # may have been swallowed by the greedy group).
            idx = [k for k, ch in enumerate(raw) if not _NOSEP.match(ch)]
            compact = "".join(raw[k] for k in idx).upper()
            end = _LENGTHS.get(compact[:2], 0)
            if end and len(compact) >= end:
                value = compact[:end]
                if iban.is_valid(value) and not (value in _DOC_EXAMPLES and _AS_EXAMPLE.search(text)):
                    out.append(ctx.finding("IBAN_CODE", "personal", m.start(), m.start() + idx[end - 1] + 1, 1.0, self.name))
                    last_end = m.start() + idx[end - 1] + 1
        return out
