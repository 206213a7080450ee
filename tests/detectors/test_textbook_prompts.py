"""Knowledge questions, exercises and textbook values are not data about anybody; the same words
about a real case, an internal document or a real secret still are (each with its evasion form)."""

import pytest


def cats(scanner, text):
    return set(scanner.scan(text).categories)


@pytest.mark.parametrize("text", [
    "Grille AGGIR : explique les 10 variables discriminantes et le calcul du GIR",
    "Critères diagnostiques de la dénutrition chez la personne âgée de 70 ans et plus selon la HAS",
    "C'est quoi un EPRD et quel lien avec le CPOM d'un ESMS ? je débute en finances",
    "Je suis DAF, explique la différence entre EPRD et PGFP simplement",
    "Exercice de formation, cas entièrement fictif : la commune imaginaire de Valbrune lance un MAPA, "
    "offre A à 28 400 € HT, offre B à 31 000 € HT. Classe les offres.",
    "Planning Excel : comment calculer les heures de nuit quand le poste passe minuit, ex. 20h45-7h15 ?",
    "Différence entre WPA2-Personnel et WPA2-Entreprise pour un wifi, pour un non-informaticien",
    "c'est quoi la différence entre 10.0.0.0/8, 172.16.0.0/12 et 192.168.0.0/16 ?",
    "Un agent de 58 ans en CLD peut-il partir à la retraite pour invalidité ? règles générales CNRACL",
    "How does a French appel d'offres compare with an EU open procedure? Are the DCE, BPU and CCTP equivalent?",
    "Exercice de compta : amortissement linéaire d'un scanner à 900 000 € HT sur 7 ans, impact sur le compte de résultat",
    "Summarise what was publicly reported about the ransomware attacks on Dax hospital (2021): impact, lessons learned.",
    "Write a generic ransomware incident response checklist for a small hospital IT team, based on ANSSI guidance.",
    "Que faire si on se fait pirater la messagerie ? fiche réflexe pour les agents",
    "les enfants avec TSA (3 à 6 ans) : quelles activités sensorielles proposer en groupe ?",
])
def test_textbook_prompts_are_allowed(scanner, text):
    assert cats(scanner, text) == set()


@pytest.mark.parametrize("text,category", [
    ("Jean DUPONT, 70 ans, dénutri, hospitalisé le 3/04 en gériatrie, albumine 28", "health"),
    ("patiente de 70 ans et plus ou moins confuse, hospitalisée le 3/04, albumine à 28, perte de 8 kg", "health"),
    ("Voici notre EPRD 2026 avant le conseil de surveillance : déficit prévisionnel 4,8 M€, CAF négative", "confidential"),
    ("Plan d'adressage : VLAN 10 serveurs DPI, VLAN 20 biomédical, règles pare-feu entre les VLAN.", "confidential"),
    ("CONFIDENTIEL - cas fictif : offre de la société Durand à 28 400 € HT", "confidential"),  # a marking counts
    ("le mot de passe du wifi c'est Kiwi2025-Banane", "secret"),
    ("notre réseau interne 192.168.10.0/24, le serveur DPI est en 192.168.10.12", "confidential"),
    ("notre agent de 58 ans, M. Leroy, est en CLD pour un cancer depuis mars, hospitalisé le 3/04", "health"),
    ("Exercice de formation : le NIR de la patiente est 2 69 05 49 588 157 80", "personal"),  # identifiers count
    ("on s'est fait pirater le site de la médiathèque, le fichier des inscrits a été exporté, le maire veut attendre",
     "confidential"),
    ("Le brevet n'est pas encore déposé : aide-moi à décrire notre capteur de chute clipsable", "confidential"),
    ("Before we file a patent, help me describe our low-cost occlusion sensor for IV lines", "confidential"),
    ("entre nous, la mairie va céder la résidence autonomie, l'annonce est prévue après les municipales", "confidential"),
    ("le jeune de l'IME (14 ans, TSA) a mordu un éducateur, rédige le rapport d'incident", "health"),
    ("le jeune de l’IME (14ans;TSA) a encore fugué", "health"),
])
def test_the_same_words_about_real_things_still_block(scanner, text, category):
    assert category in cats(scanner, text)
