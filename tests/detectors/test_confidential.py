import pytest

from detectors.confidential import ConfidentialRecognizer, DictionaryRecognizer

rec = ConfidentialRecognizer()


def cats(text):
    return [f.type for f in rec.analyze(text)]


@pytest.mark.parametrize(
    "text",
    [
        "CONFIDENTIEL — projet de plan de retour à l'équilibre.",
        "Diffusion restreinte : compte rendu du directoire.",
        "Note interne - ne pas diffuser.",
        "[Usage interne] Procédure de bascule du DPI en mode dégradé.",
        "Analyse des offres du marché de restauration : le candidat retenu propose 4,12 € HT par repas.",
        "Plan d'adressage : VLAN 10 serveurs DPI, VLAN 20 biomédical, règles pare-feu entre les VLAN.",
        "Rapport d'audit : le serveur de messagerie de notre CHU expose une vulnérabilité critique CVE-2024-21413 non corrigée.",
        "Rédige la synthèse de la demande de brevet déposée par notre laboratoire.",
        "Notre établissement a un déficit de 850 k€ ; voici l'EPRD 2025 en version de travail.",
        "Contrat de maintenance : offre financière de la société Medisoft à 48 500 € HT par an.",
    ],
)
def test_confidential(text):
    assert "CONFIDENTIAL" in cats(text)


@pytest.mark.parametrize(
    "text",
    [
        "Explique ce qu'est un marché public et les grandes étapes d'un appel d'offres.",
        "Le budget de l'État pour 2025 prévoit une hausse des crédits. Résume en trois points.",
        "La politique de confidentialité du site explique comment les données sont utilisées.",
        "Les données confidentielles des patients doivent être protégées : rappelle les règles.",
        "Propose un plan de formation sur la cybersécurité pour les agents hospitaliers.",
        "Calcule 15 % de 2 340 €.",
        "Comment rédiger un bon appel d'offres pour un marché de fournitures de bureau ?",
    ],
)
def test_not_confidential(text):
    assert cats(text) == []


def test_dictionary():
    d = DictionaryRecognizer(["Projet Hermès", "intranet.chu-exemple.fr", {"term": "Modèle CR-OP-12", "type": "INTERNAL_TEMPLATE"}])
    text = "Résume le PROJET HERMÈS et la page intranet.chu-exemple.fr/rh selon le modèle CR-OP-12."
    found = [(f.type, text[f.start : f.end]) for f in d.analyze(text)]
    assert ("CONFIDENTIAL", "PROJET HERMÈS") in found
    assert ("CONFIDENTIAL", "intranet.chu-exemple.fr") in found
    assert ("INTERNAL_TEMPLATE", "modèle CR-OP-12") in found
    assert d.analyze("Hermès est un dieu grec ; projet hermèsien") == []


def test_is_security_and_concepts():
    assert "CONFIDENTIAL" in cats("Analyse de la vulnérabilité Log4Shell sur nos serveurs internes : liste des machines non patchées.")
    assert cats("Le Code de la santé publique définit le secret professionnel : explique-le.") == []


def test_budget_projection_and_trial_protocol_are_confidential(scanner):
    budget = ("Voici le projet de budget 2027 du pôle médecine : nous prévoyons une réduction de 12 postes "
              "d'infirmiers, merci de rédiger l'argumentaire pour le directoire.")
    trial = ("Résume le protocole de l'essai clinique PHRC-2025 avant soumission au CPP : critères d'inclusion, "
             "randomisation, bras expérimental.")
    for text in (budget, trial):
        assert scanner.scan(text).categories == ["confidential"], text


def test_public_budget_prose_is_not_confidential(scanner):
    text = "Le budget de l'État pour 2026 prévoit une hausse des crédits de la mission santé, selon la loi de finances."
    assert scanner.scan(text).categories == []


@pytest.mark.parametrize("text", [
    "Nos résultats intermédiaires (non publiés, l'article est en relecture) montrent une baisse de 41 % des chutes.",
    "Le plan de réorganisation n'est pas encore présenté au CSE, on veut préparer la com.",
    "Our merger with the clinic is not yet announced, draft the staff memo.",
])
def test_our_unpublished_matters_are_confidential(text):
    assert "confidential" in {f.category for f in ConfidentialRecognizer(4).analyze(text)}


@pytest.mark.parametrize("text", [
    "Peut-on citer des résultats non publiés dans une thèse ?",
    "Le décret n'est pas encore publié au JO, que dit le projet ?",
])
def test_unpublished_in_general_is_not(text):
    assert ConfidentialRecognizer(4).analyze(text) == []


@pytest.mark.parametrize("text", [
    "We're under attack right now, several A&E workstations show a LockBit ransom note since 6am.",
    "Depuis ce matin un rançongiciel chiffre les serveurs de la pharmacie, que fait-on en premier ?",
])
def test_attack_in_progress_is_confidential(text):
    assert "confidential" in {f.category for f in ConfidentialRecognizer(4).analyze(text)}


@pytest.mark.parametrize("text", [
    "Comment préparer un hôpital à une cyberattaque par rançongiciel ?",
    "Explique ce qu'est un ransomware à des agents non informaticiens.",
])
def test_attacks_in_general_are_not(text):
    assert ConfidentialRecognizer(4).analyze(text) == []


@pytest.mark.parametrize("text", [
    "Communiqué sous embargo strict jusqu'à la séance du 3 : la commune cède la salle des fêtes.",
    "Press release, embargoed until Monday 9am: the clinic joins the regional group.",
    "Embargo : ne rien publier avant le conseil d'administration.",
    "Note interne : réorganisation de l'accueil du CCAS à partir de mars.",
    "Compte-rendu interne — comité de pilotage du 12 avril",
])
def test_embargoes_and_internal_headings_are_markings(text):
    assert [f.recognizer for f in rec.analyze(text)] == ["confidential:marking"]


@pytest.mark.parametrize("text", [
    "L'embargo sur les armes vers ce pays a été levé : résume l'article.",
    "Comment rédiger une note interne efficace ?",
    "Rédige une note interne : rappel des horaires du self.",  # a request, not the heading of a document
])
def test_no_marking(text):
    assert [f for f in rec.analyze(text) if f.recognizer == "confidential:marking"] == []


@pytest.mark.parametrize("text", [
    "Un agent de l'accueil a cliqué sur un lien de phishing hier, ses identifiants ont été utilisés depuis l'étranger.",
    "On the 3rd a secretary clicked on a phishing link and her credentials were used to send spam from our tenant.",
])
def test_phishing_that_worked_is_an_incident(text):
    assert [f.recognizer for f in rec.analyze(text)] == ["confidential:incident"]


def test_phishing_awareness_is_not_an_incident():
    assert rec.analyze("Fais une affiche de sensibilisation au phishing : ne cliquez pas sur les liens inconnus.") == []


@pytest.mark.parametrize("text", [
    "Négo avec le fournisseur de seringues : ils proposent 0,21 € pièce, leur concurrent nous fait 0,19 €. Je réponds quoi ?",
    "Marché de nettoyage : l'offre de Proxiclean est à 3,8 % sous l'estimation, celle de Net+ à 2,1 %. Laquelle retenir ?",
    "On a conçu un lève-personne pliable, dépôt INPI prévu en juin : aide-moi pour la revendication principale.",
    "Rédige les revendications dépendantes du brevet de notre capteur de chute.",
    "MFA non activé sur 30 % des comptes de notre collectivité : rédige la note au DGS.",
])
def test_negotiations_offers_patent_filings_and_weak_security(text):
    assert "confidential" in {f.category for f in rec.analyze(text)}


@pytest.mark.parametrize("text", [
    "Comment déposer un brevet à l'INPI ? quelles étapes et quels délais ?",
    "Explique ce qu'est une revendication de brevet.",
    "Le MFA non activé est-il un risque ? explique simplement.",
    "Rédige les revendications du préavis de grève des agents.",
])
def test_the_same_topics_in_general_are_not(text):
    assert rec.analyze(text) == []


def test_embargo_evasion(scanner_nospacy):
    text = "Communiqué sous EMBARGO STRICT jusqu\u200b'au conseil : fermeture du centre aquatique."
    assert "confidential" in scanner_nospacy.scan(text).categories
