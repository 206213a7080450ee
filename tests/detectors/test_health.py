import re

import pytest

from detectors.health import HealthRecognizer

rec = HealthRecognizer()


def is_health(text):
    return [f.type for f in rec.analyze(text)] == ["HEALTH_DATA"]


@pytest.mark.parametrize(
    "text",
    [
        "patiente de 54 ans, diabète de type 2, HbA1c à 9 %, hospitalisée en cardiologie le 12/03",
        "mon patient de 72 ans a une créat à 210, je baisse la metformine ?",
        "Chambre 14 lit B : la dame de 86 ans a fait une chute cette nuit, sous anticoagulants.",
        "Nourrisson de 3 mois, fièvre à 39,5 °C depuis 48 h, CRP à 80 mg/L : quelle antibiothérapie ?",
        "G2P1 à 32 SA, diabète gestationnel sous insuline, hospitalisée pour menace d'accouchement prématuré.",
        "Il s'agit d'un enfant âgé de six mois, de sexe féminin, qui a été hospitalisée pour dyspnée aiguë.",
        "Ma collègue est en arrêt maladie depuis le 02/03 pour une dépression, comment organiser son remplacement ?",
        "L'agent est en congé longue maladie depuis le 07/12 (traitement pour un burn-out).",
        "le petit Lucas, 4 ans, a été vu aux urgences pour une otite",
        "Résidente chambre 21 : escarre sacrée stade 3, dénutrition, albumine à 25 g/L.",
        "patient 67a, ATCD IDM, admis pour douleur thoracique, tropo positive",
    ],
)
def test_vignettes(text):
    assert is_health(text)


@pytest.mark.parametrize(
    "text",
    [
        "Quels sont les effets secondaires du paracétamol ?",
        "Explique la physiopathologie du diabète de type 2.",
        "Chez la femme enceinte, quels antibiotiques sont contre-indiqués ?",
        "Les patients diabétiques doivent-ils arrêter la metformine avant une injection de produit de contraste ?",
        "Quelle est la dose maximale de paracétamol chez l'adulte de plus de 50 kg ?",
        "Chez le sujet âgé de plus de 75 ans, quels sont les risques des benzodiazépines ?",
        "Parmi les propositions suivantes concernant l'insuline, laquelle est exacte ? a) ... b) ...",
        "Qu'est-ce que ce médicament et dans quels cas est-il utilisé ? Il est indiqué chez l'enfant de plus de 6 ans.",
        "Quelle est la durée maximale d'un arrêt maladie pour un fonctionnaire ?",
        "Le patient diabétique doit surveiller sa glycémie plusieurs fois par jour : explique pourquoi.",
    ],
)
def test_knowledge_is_not_health(text):
    assert not is_health(text)


@pytest.mark.parametrize(
    "text",
    [
        "Mon fils de 8 ans a de la fièvre depuis hier, 39 °C, et des boutons ; c'est grave ?",
        "Je suis enceinte de 3 mois et j'ai des saignements, que faire ?",
        "Ma mère (79 ans) est sous Eliquis et elle est tombée, faut-il passer un scanner ?",
        "Déclaration d'accident du travail : l'agent s'est coupé la main le 04/10 en cuisine centrale.",
        "Peux-tu corriger ce CR : « Patiente de 29 ans, G1P0, accouchement par voie basse le 2 mai, suites simples »",
    ],
)
def test_relatives_first_person_and_staff(text):
    assert is_health(text)


@pytest.mark.parametrize(
    "text",
    [
        "Quelle est la prise en charge d'une femme de 30 ans présentant une cystite simple selon la HAS ?",
        "Le dépistage organisé du cancer du sein concerne les femmes de 50 à 74 ans.",
        "Rédige un cas clinique fictif pour un examen d'étudiants infirmiers.",
    ],
)
def test_hypothetical_cases_are_not_health(text):
    assert not is_health(text)


def test_exam_case_question_is_knowledge():
    text = ("Un homme de 60 ans, fumeur, présente une toux chronique et une dyspnée. Parmi les propositions suivantes, "
            "laquelle est exacte ?\na) BPCO probable\nb) asthme\nc) embolie pulmonaire\nd) pneumothorax\ne) cancer")
    assert not is_health(text)


def test_relative_with_treatment_and_event_is_health_data(scanner):
    text = "Mon père a 81 ans, il est sous Eliquis et il a fait une chute hier, faut-il s'inquiéter de l'hématome ?"
    assert "health" in scanner.scan(text).categories


@pytest.mark.parametrize(
    "text",
    [
        # a person designated by their room, the way wards talk
        "la mamie de la 14 a encore arraché sa sonde, on la contentionne ?",
        "le monsieur du 7 est VIH+, quelles précautions pour les soins ?",
        # the legal forms of a psychiatric stay, and an event of someone's care
        "Kiki du foyer a refait une crise, hospitalisé au CHS en SDRE cette nuit, qui prévenir ?",
        "le résident de l'unité fermée, en SPDRE depuis 3 ans, demande une permission pour un mariage",
        # SMS style: a title in lower case, a room written "ch"
        "mme durand ch 4 a chuté cette nuit, hématome frontal, on appelle la fille ?",
        "Lina B., 9 ans, suivie au CMP pour un TSA : rédige le bilan pour la MDPH",
    ],
)
def test_ward_shorthand_and_psychiatric_stays(text):
    assert is_health(text)


@pytest.mark.parametrize(
    "text",
    [
        "Quelle est la différence entre SDT, SDRE et SPI ? qui signe les certificats ?",
        "Résume ce support de formation : un tiers des personnes de plus de 65 ans chutent chaque année ; les facteurs "
        "de risque sont la polymédication, la dénutrition et les troubles de l'équilibre ; après une chute le résident "
        "et sa famille sont informés, le médecin réévalue le traitement.",
        "Posologie pédiatrique de l'amoxicilline dans l'otite : combien de mg/kg par jour chez l'enfant ?",
        "le bureau du 3 est libre, la réunion de la 5e commission est annulée",
    ],
)
def test_legal_forms_populations_and_reference_doses_are_knowledge(text):
    assert not is_health(text)


def test_ward_shorthand_evasion():
    assert is_health("LA MAMIE DE LA 14 A ENCORE ARRACHE SA SONDE, ON LA CONTENTIONNE ?")
    assert is_health("le monsieur du 7 est seropositif, quelles precautions pour les soins ?")


# The gate as it was first written, one alternation: the reference ``detectors.health.gate`` keeps.
_GATE_AS_ONE_REGEX = re.compile(
    r"je suis|j'ai|\bsdt|\bs?dre\b|\bspdre\b|\ba\s+(?:re)?fait\b|\b(?:de\s+la|du)\s+\d|\bsa\b|\bson\b|ans\b|mois\b|"
    r"patient|malade|hospitalis|admis|arr[êe]t|cong[ée]|\bmon\b|\bma\b|\bil\b|\belle\b|\bm\.|\bmme\b|chambre|"
    r"\bsalle\s+\d|\blit\b|\bch\s?\d|\bbox\s+\d|\bpte?\b|\bj\d|/\d|r[ée]sident|antécédent|ant[ée]c[ée]dent|\bg\d")


def test_the_gate_says_what_the_single_alternation_says():
    """The gate split in three cheaper parts answers as the one regex did: on texts made of its cues,
    near-misses and separators (cue inside a word, at a word's end, glued to digits or underscores)."""
    import random

    from detectors.health import gate

    rng = random.Random(7)
    pieces = ["je suis", "j'ai", "sdt", "sdre", "dre", "spdre", "a fait", "a  refait", "de la 5", "du 3", "sa", "son",
              "ans", "mois", "patient", "malade", "hospitalis", "admis", "arrêt", "arret", "congé", "conge", "mon",
              "ma", "il", "elle", "m.", "mme", "chambre", "salle 4", "lit", "ch3", "ch 3", "box 2", "pt", "pte", "j3",
              "/4", "résident", "resident", "antécédent", "antecedent", "g2", "x", "é", "_", "1", "dans", "ma_",
              "lits", "pts", "été", "\n", "masa", "a\tfait"]
    seps = [" ", "", "-", "_", ".", "'", "é", "a", "2"]
    texts = ["explique la différence entre une délibération et un arrêté municipal.",
             "le règlement impose de tenir un registre des traitements."]
    for _ in range(30_000):
        texts.append("".join(rng.choice(pieces) + rng.choice(seps) for _ in range(rng.randint(1, 4))))
    assert sum(gate(t) for t in texts) > 1000  # both answers are exercised
    assert [t for t in texts if gate(t) != bool(_GATE_AS_ONE_REGEX.search(t))] == []


def _matches(rx, text):
    return [(m.span(), m.group()) for m in rx.finditer(text)]


@pytest.mark.parametrize("name", ["_CLINICAL_TERMS", "_KNOWLEDGE_CUES"])
def test_the_term_lists_grouped_by_first_character_match_as_written(name):
    """``dispatched`` gives exactly the matches of the alternation as written: on texts made of the
    pattern's own words glued to word and non-word characters (``\\b`` openings), upper case,
    digits, and on the staff prompts and training corpus."""
    import json
    import random
    import re
    from pathlib import Path

    import detectors.health as health
    from detectors.alternation import dispatched

    source = getattr(health, name)
    written, grouped = re.compile(source), re.compile(dispatched(source))
    assert grouped.pattern != source
    words = re.findall(r"[a-zà-ÿœ'’/+-]+|\d+", source.replace("\\s+", " ").replace("\\b", " ").replace("\\d", "7"))
    seps = [" ", "", "_", "x", "9", "é", ".", "\n", "'", "-", "=", ":", "à ", "+", "/", "("]
    rng = random.Random(11)
    texts = ["".join(rng.choice(words) + rng.choice(seps) for _ in range(rng.randint(1, 6))) for _ in range(20_000)]
    root = Path(__file__).resolve().parents[2]
    for path in sorted((root / "bench" / "data").glob("staff_dev*.jsonl")):
        texts += [json.loads(line)["text"].lower() for line in path.read_text().splitlines() if line.strip()]
    texts += [t.upper() for t in texts[:2000]]
    assert sum(bool(written.search(t)) for t in texts) > 3000  # the terms are exercised
    assert [t for t in texts if _matches(written, t) != _matches(grouped, t)] == []


def test_dispatched_refuses_what_it_does_not_understand():
    from detectors.alternation import dispatched

    assert dispatched(r"\bhta\b|hyper|[ée]pilep|\b\d{1,2}\s?cm") == (
        r"(?:h(?:(?<!\w\w)ta\b|yper)|é(?:pilep)|e(?:pilep)|\d(?:(?<!\w\w)\d{0,1}\s?cm))")
    for source in (r"\d{3}x|y", r"\d{2,}x|y", r"\d{2,3}x|y"):  # exactly, at least, between: as written
        written, grouped = re.compile(source), re.compile(dispatched(source))
        texts = ["7x", "77x", "777x", "7777x", "y", "a77x 777x7777x"]
        assert [_matches(written, t) for t in texts] == [_matches(grouped, t) for t in texts]
    for bad in (r"a?b|c", r"(?:ab)?c|d", r"[^a]x|y", r"[a-c]x|y", r"\b-x|y", r".x|y", r"\sx|y"):
        with pytest.raises(ValueError):
            dispatched(bad)
