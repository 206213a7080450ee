"""Evasion forms through the whole scanner: every form must still be found, on original offsets."""

import base64
from urllib.parse import quote

import pytest

from bench.corpus import NUMBER_EVASIONS, evade_number, gen_card, gen_iban, gen_nir, gen_phone, gen_rpps

GENS = {"FR_NIR": gen_nir, "IBAN_CODE": gen_iban, "CREDIT_CARD": gen_card, "PHONE_NUMBER": gen_phone, "FR_RPPS": gen_rpps}


@pytest.mark.parametrize("id_type", sorted(GENS))
@pytest.mark.parametrize("evasion", [e for e in NUMBER_EVASIONS if e not in ("base64", "url")])
def test_number_evasions(scanner_nospacy, rng, id_type, evasion):
    value = GENS[id_type](rng)
    shown = evade_number(value, id_type, evasion, rng)
    text = f"Voici le numéro : {shown} merci."
    hits = [f for f in scanner_nospacy.scan(text).findings if f.type == id_type]
    assert hits, (id_type, evasion, shown)
    assert text[hits[0].start : hits[0].end] == shown


@pytest.mark.parametrize("id_type", sorted(GENS))
def test_encoded_fragments(scanner_nospacy, rng, id_type):
    value = evade_number(GENS[id_type](rng), id_type, "spaces", rng)
    blob = base64.b64encode(f"numéro {value}".encode()).decode()
    for text, frag in ((f"décode : {blob}", blob), (f"numéro : {quote(value)}", quote(value))):
        hits = [f for f in scanner_nospacy.scan(text).findings if f.type == id_type]
        assert hits and text[hits[0].start : hits[0].end] == frag


@pytest.mark.parametrize(
    "text, type_",
    [
        ("ｊｅａｎ．ｄｕｐｏｎｔ＠ｃｈｕ－ｌｙｏｎ．ｆｒ", "EMAIL_ADDRESS"),  # full-width
        ("jεan.dupοnt@chu-lyon.fr", "EMAIL_ADDRESS"),  # Greek epsilon / omicron
        ("JEAN.DUPONT [AT] CHU-LYON [DOT] FR", "EMAIL_ADDRESS"),
        ("Mme Dս\u200bpont a appelé", "PERSON"),  # zero-width inside a name
        ("Courrier pour M. ДUPONT", "PERSON"),  # Cyrillic Д is not a Latin look-alike: still a capitalised name
    ],
)
def test_text_evasions(scanner_nospacy, text, type_):
    assert type_ in [f.type for f in scanner_nospacy.scan(text).findings]


def test_numbers_dictated_in_words(scanner_nospacy):
    text = "Rappelle-la au zéro six douze trente-quatre cinquante-six soixante-dix-huit stp"
    assert "PHONE_NUMBER" in [f.type for f in scanner_nospacy.scan(text).findings]
    nir = ("un quatre-vingt-cinq zéro cinq soixante-dix-huit zéro zéro six zéro quatre-vingt-quatre "
           "quatre-vingt-onze")
    assert "FR_NIR" in [f.type for f in scanner_nospacy.scan(f"son NIR : {nir}").findings]
    assert scanner_nospacy.scan("Il y a deux ou trois choses à dire, quatre au plus.").findings == [] or all(
        f.recognizer != "phone:words" for f in scanner_nospacy.scan("deux ou trois choses, quatre au plus").findings)


def test_html_entities_are_decoded(scanner_nospacy):
    nir = "".join(f"&#{ord(c)};" if c.isdigit() else c for c in "1 85 05 78 006 084 91")
    found = scanner_nospacy.scan(f"NIR : {nir}").findings
    assert [f.recognizer for f in found if f.type == "FR_NIR"] == ["nir:html"]
    assert scanner_nospacy.scan("Caf&eacute; et th&eacute; &agrave; volont&eacute;").categories == []


def test_rot13_is_decoded(scanner_nospacy):
    import codecs

    text = codecs.encode("Le numéro de la patiente est le 06 12 34 56 78, rappelle-la pour le rendez-vous.", "rot13")
    assert "PHONE_NUMBER" in [f.type for f in scanner_nospacy.scan(text).findings]


@pytest.mark.parametrize("text", [
    "voir U2FsdGVkX1+vupppZksvRf5pq5g5XJeTyQ== et aussi (ZGVtYW5kZSBkZSBzb2lucw) fin",
    "jeton=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0+YWJjZGVmZ2hpamtsbW5vcA==",
    "a+/" * 20 + " ZGVtYW5kZSBkZSBzb2luczogcGF0aWVudGUgSmVhbm5lIE1hcnRpbg==",
    "d'administration anticonstitutionnellement " * 5,
])
def test_base64_is_looked_for_in_candidate_runs_with_the_same_matches(text):
    """The base64 pattern, tried on runs of base64 characters only, matches what it matches over the
    whole text (the lookarounds at the runs' edges behave the same)."""
    from detectors.decode import _B64, _b64_matches

    assert [m.span() for m in _b64_matches(text)] == [m.span() for m in _B64.finditer(text)]
