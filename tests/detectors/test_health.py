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
