from detectors.address import AddressRecognizer
from detectors.dob import DateOfBirthRecognizer
from detectors.ipp import PatientIdRecognizer


def test_date_of_birth():
    rec = DateOfBirthRecognizer()
    for text in ["né le 12/03/1954", "Née le 3 mars 1962", "date de naissance : 1954-03-12", "DDN 12.03.54", "né(e) le 1er janvier 1990"]:
        assert [f.type for f in rec.analyze(text)] == ["DATE_OF_BIRTH"], text
    assert rec.analyze("réunion le 12/03/2024") == []


def test_address():
    rec = AddressRecognizer()
    text = "M. Martin est domicilié au 12 rue des Lilas, 69003 Lyon."
    res = rec.analyze(text)
    assert len(res) == 1 and text[res[0].start : res[0].end].startswith("12 rue des Lilas")
    assert len(rec.analyze("Il habite rue de Weber, 33731 Jourdan.")) == 1
    # An institution's public address is not personal data.
    assert rec.analyze("La mairie, 1 place de la Comédie, 69001 Lyon, est ouverte le samedi.") == []
    assert rec.analyze("Le service est au 2e étage du bâtiment B.") == []


def test_patient_ids_default_and_custom():
    rec = PatientIdRecognizer()
    assert [f.type for f in rec.analyze("IPP 80012345 : fusionner les dossiers")] == ["FR_IPP"]
    assert [f.type for f in rec.analyze("NDA : 2400123456")] == ["FR_NDA"]
    assert rec.analyze("Quelle est la différence entre un IPP et un NDA ?") == []
    custom = PatientIdRecognizer([{"type": "FR_IPP", "regex": r"P-\d{6}", "context": ["dossier"]}], include_defaults=False)
    assert len(custom.analyze("dossier P-123456 à archiver")) == 1
    assert custom.analyze("code P-123456") == []


def test_dates_of_a_birth_column():
    rec = DateOfBirthRecognizer()
    text = "Nettoie ce tableau :\nID;initiales;DOB;sexe\n001;A.B.;12/05/1961;M\n002;C.D.;1974-11-03;F\n"
    assert [text[f.start:f.end] for f in rec.analyze(text)] == ["12/05/1961", "1974-11-03"]
    text = "Nom | Prénom | Date de naissance | Service\nDURAND | Marc | 14/03/1978 | Cardio"
    assert [text[f.start:f.end] for f in rec.analyze(text)] == ["14/03/1978"]
    # a column of births counted per day holds no date of birth; other dates of the table are not births
    assert rec.analyze("Date;Naissances;Décès\n12/03/2024;120;80\n13/03/2024;98;70") == []
    assert rec.analyze("ID;DOB;date d'admission\n001;;12/03/2024") == []


def test_birth_column_evasion(scanner_nospacy):
    text = "ID;DOB;sexe\n001;１２/05/1961;M"  # full-width digits
    assert "DATE_OF_BIRTH" in [f.type for f in scanner_nospacy.scan(text).findings]


def test_the_birth_cue_test_answers_as_the_case_blind_pattern():
    """``has_cue`` (on the lower-cased text) says what ``_CUE`` says on the text, case-blind."""
    import random

    from detectors.context import ScanContext
    from detectors.dob import _CUE, has_cue

    rng = random.Random(13)
    pieces = ["née", "NÉE", "Né", "nee", "naissance", "NAISSANCE", "ddn", "DDN", "d.d.n", "D.D.N", "birth", "BIRTH",
              "dob", "DoB", "nés", "neé", "x", "1", "_", "é", "Mme", "le"]
    texts = ["".join(rng.choice(pieces) + rng.choice([" ", "", ".", "-", "_", "1", "é"]) for _ in range(rng.randint(1, 5)))
             for _ in range(20_000)]
    contexts = [ScanContext(t) for t in texts]
    assert sum(has_cue(c.lower) for c in contexts) > 1000
    assert [c.text for c in contexts if has_cue(c.lower) != bool(_CUE.search(c.text))] == []
