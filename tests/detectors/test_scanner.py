import base64
import threading
from urllib.parse import quote

from bench.corpus import gen_nir
from detectors.base import Finding, ScanResult
from detectors.scanner import Scanner, build_default_scanner


def test_categories_and_offsets(scanner, rng):
    nir = gen_nir(rng)
    text = f"Bonjour\u200b ! NIR : {nir[:1]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}, tél ０６ 12 34 56 78."
    res = scanner.scan(text)
    assert res.categories[0] == "personal"  # (the classifier may add a category for the whole text)
    got = {f.type: text[f.start : f.end] for f in res.findings}
    assert got["FR_NIR"].replace(" ", "") == nir
    assert got["PHONE_NUMBER"] == "０６ 12 34 56 78"


def test_base64_fragment(scanner, rng):
    nir = gen_nir(rng)
    blob = base64.b64encode(f"Mon NIR est {nir}".encode()).decode()
    text = f"Décode ceci : {blob}"
    res = scanner.scan(text)
    f = next(f for f in res.findings if f.type == "FR_NIR")
    assert text[f.start : f.end] == blob and f.recognizer.endswith(":base64")


def test_url_encoded_fragment_keeps_context(scanner):
    text = "Numéro ADELI : " + quote("691 234 567")
    assert any(f.type == "FR_ADELI" for f in scanner.scan(text).findings)


def test_empty_and_benign(scanner):
    assert scanner.scan("").findings == []
    assert scanner.scan("Quels sont les effets secondaires du paracétamol ?").categories == []


def test_thread_safety(scanner, rng):
    texts = [f"Patiente de {40 + i} ans, diabète, hospitalisée le 12/03. Tél 06 12 34 56 7{i % 10}" for i in range(40)]
    expected = [scanner.scan(t).counts() for t in texts]
    results = [None] * len(texts)

    def work(i):
        results[i] = scanner.scan(texts[i]).counts()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected


def test_options():
    s = build_default_scanner({"spacy": False, "siren": "off", "disabled": ["ip"], "dictionary": ["Projet Atlas"],
                               "patient_ids": [{"type": "FR_IPP", "regex": r"P\d{5}", "context": ["patient"]}]})
    assert "ip" not in s.names and "siren" not in s.names and "dictionary" in s.names
    res = s.scan("Le projet atlas concerne le patient P12345.")
    assert {"CONFIDENTIAL", "FR_IPP"} <= {f.type for f in res.findings}


def test_custom_recognizer_protocol():
    class Dummy:
        name = "dummy"

        def analyze(self, text):
            return [Finding("X", "secret", 0, 1, 1.0, "dummy")]

    assert Scanner([Dummy()]).scan("abc").categories == ["secret"]


def test_scan_result_helpers():
    r = ScanResult([Finding("A", "health", 0, 1), Finding("B", "personal", 0, 1), Finding("A", "health", 2, 3)])
    assert r.categories == ["personal", "health"]
    assert r.counts() == {"A": 2, "B": 1}


def test_nested_encoding(scanner, rng):
    nir = gen_nir(rng)
    blob = base64.b64encode(quote(f"Mon NIR est {nir}").encode()).decode()
    text = f"payload={blob}"
    hits = [f for f in scanner.scan(text).findings if f.type == "FR_NIR"]
    assert hits and text[hits[0].start : hits[0].end] == blob


def test_vignette_inside_long_document(scanner_nospacy):
    filler = "Le comité a examiné le rapport annuel sur l'accueil du public dans les services. " * 80
    text = filler + "Patiente de 54 ans, diabète de type 2, HbA1c à 9 %, hospitalisée en cardiologie le 12/03. " + filler
    hits = [f for f in scanner_nospacy.scan(text).findings if f.type == "HEALTH_DATA"]
    assert hits and len(filler) - 5 <= hits[0].start < len(filler) + 100


def test_resolve_overlaps_semantics():
    from detectors.scanner import resolve_overlaps

    a = Finding("FR_NIR", "personal", 0, 21)
    b = Finding("PHONE_NUMBER", "personal", 5, 18)  # inside a longer personal finding: dropped
    c = Finding("HEALTH_DATA", "health", 5, 18)  # other category: kept
    d = Finding("FR_SIREN", "personal", 30, 39)
    e = Finding("CREDIT_CARD", "personal", 30, 39)  # same span, other type: kept
    assert resolve_overlaps([b, a, c, d, e, a]) == [a, c, d, e] or set(resolve_overlaps([b, a, c, d, e, a])) == {a, c, d, e}


def test_lowercase_length_changes_keep_offsets(scanner_nospacy):
    text = "İİİ CONFIDENTIEL İ écrire à jean.dupont@chu-lyon.fr"
    res = scanner_nospacy.scan(text)
    got = {f.type: text[f.start : f.end] for f in res.findings}
    assert got["EMAIL_ADDRESS"] == "jean.dupont@chu-lyon.fr"
    assert got["CONFIDENTIAL"].startswith("CONFIDENTIEL")


def test_many_encoded_fragments_cost_one_scan_per_level(scanner, monkeypatch):
    """Each decoding level rescans the text once, however many fragments it holds (a request full of
    base64 must not turn into fragments x text rescans)."""
    import base64

    fragments = [base64.b64encode(f"bonjour le monde numero {i} ok".encode()).decode() for i in range(200)]
    nested = base64.b64encode(b"contact%20%3A%20jean.dupont%40example.fr").decode()
    text = " ".join(fragments) + " puis " + nested
    calls = []
    original = type(scanner)._run
    monkeypatch.setattr(type(scanner), "_run", lambda self, t, deadline=None: calls.append(len(t)) or original(self, t, deadline))
    result = scanner.scan(text)
    assert len(calls) <= 1 + scanner.decode_depth
    emails = [f for f in result.findings if f.type == "EMAIL_ADDRESS"]
    assert [(f.start, f.end) for f in emails] == [(text.index(nested), len(text))]


def test_options_are_validated():
    """A mapping is validated into DetectorOptions: typos, quoted booleans, unknown categories and
    invalid regexes are refused instead of silently meaning something else."""
    import pytest
    from pydantic import ValidationError

    for bad in ({"spacy": "false"}, {"health_treshold": 3}, {"sirne": "off"},
                {"dictionary": [{"term": "Atlas", "category": "confidentiel"}]},
                {"patient_ids": [{"regex": "(", "context": ["ipp"]}]}, {"disabled": ["adress"]}):
        with pytest.raises(ValidationError):
            build_default_scanner({"spacy": False, **bad} if "spacy" not in bad else bad)


def test_options_model_and_recognizer_names():
    from detectors.scanner import RECOGNIZER_NAMES, DetectorOptions

    opts = DetectorOptions(spacy=False, siren="always", dictionary=[{"term": "Atlas", "category": "secret"}])
    s = build_default_scanner(opts)
    assert sorted(s.names) == sorted(RECOGNIZER_NAMES)  # every name `disabled` accepts is a real one
    f = next(f for f in s.scan("Le dossier Atlas avance.").findings if f.recognizer == "dictionary")
    assert f.category == "secret"
    assert "siren" not in build_default_scanner(DetectorOptions(spacy=False, siren=False)).names  # YAML `off`


def test_allow_list_of_the_institutions_own_numbers_and_mailboxes():
    from detectors.scanner import build_default_scanner

    s = build_default_scanner({"spacy": False, "allow_list": ["01 40 27 30 00", "secretariat.urgences@chu-exemple.fr"],
                               "disabled": ["free_text"]})
    text = "Joindre le 01.40.27.30.00 ou +33 1 40 27 30 00, ou secretariat.urgences@chu-exemple.fr"
    assert s.scan(text).findings == []
    other = s.scan("ou le 06 12 34 56 78, ou marie.durand@chu-exemple.fr").findings
    assert {f.type for f in other} == {"PHONE_NUMBER", "EMAIL_ADDRESS"}


def test_switchboards_are_not_personal_numbers(scanner_nospacy):
    text = "le standard de l'hôpital c'est bien le 01 40 27 30 00 ? je le mets dans le livret d'accueil"
    assert "PHONE_NUMBER" not in [f.type for f in scanner_nospacy.scan(text).findings]
    assert "PHONE_NUMBER" in [f.type for f in scanner_nospacy.scan("son portable c'est le 06 12 34 56 78").findings]


def test_a_text_said_to_be_generic_keeps_no_topical_confidential_finding():
    from detectors.scanner import drop_fiction

    topic = Finding("CONFIDENTIAL_TEXT", "confidential", 0, 10, 0.9, "free_text")
    marking = Finding("CONFIDENTIAL", "confidential", 0, 5, 0.95, "confidential:marking")
    person = Finding("PERSON", "personal", 20, 30, 0.8, "person:rule")
    generic = "Write a KB article from this generic issue description (no real machines): the print spooler stops."
    assert drop_fiction(generic, [topic]) == []
    # markings, names and identifiers stay: "generic" is no licence for real people or marked documents
    assert drop_fiction(generic, [topic, marking, person]) == [marking, person]
    # asking for a generic version of a real document keeps it
    real = "Fais une version générique de notre plan de retour à l'équilibre : déficit 4,8 M€."
    assert drop_fiction(real, [topic]) == [topic]
