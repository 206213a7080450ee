"""Public details of an institution are not personal data; placeholders are not secrets; ward and
English clinical shorthand about one patient is health data. Positive, negative and evasion cases."""

from __future__ import annotations

import pytest

from detectors.free_text import _value_near


def cats(scanner, text):
    return {f.category for f in scanner.scan(text).findings}


def types(scanner, text):
    return {f.type for f in scanner.scan(text).findings}


# -- functional mailboxes, service lines, institutional addresses --------------------------------


# -- placeholders are no secrets -------------------------------------------------------------------


def test_a_secret_window_needs_a_value_near_it():
    assert not _value_near("trois codes PIN erronés ? Comment se passe le déblocage avec le code PUK ?", 0, 60)
    assert not _value_near("mysqldump -u <user> -p'<password>' -h <host> <base> > dump.sql", 0, 60)
    assert not _value_near('le Wi-Fi invité et "<mot de passe disponible à l\'accueil>" à la place', 0, 60)
    for value in ("le mdp c'est soleil", "code du coffre 7-2-6", "Urg3nces_2025", "s o l e i l", "code alarme 0 8 1 5"):
        assert _value_near(value, 0, len(value)), value


# -- ward and English shorthand ------------------------------------------------------------------------


# -- English names -----------------------------------------------------------------------------------------

def test_english_titles_and_names_the_french_model_runs_on(scanner):
    assert "PERSON" in types(scanner, "Dear Ms. Laura Chen, your contract renewal")
    found = [f for f in scanner.scan("ask Sophie Martin for the keys").findings if f.type == "PERSON"]
    assert found and "ask Sophie Martin for the keys"[found[0].start:found[0].end] == "Sophie Martin"


# -- from dev8: published or template framing, security advice, examples -----------------------------


def test_a_documented_example_iban_quoted_as_such_is_no_ones():
    from detectors.iban import IbanRecognizer

    rec = IbanRecognizer()
    assert not rec.analyze("Explain the check digit with the usual documentation example FR76 3000 6000 0112 3456 7890 189.")
    assert rec.analyze("Virement sur FR76 3000 6000 0112 3456 7890 189 pour Mme Lefèvre, merci.")  # no "example": reported


def test_staff_health_of_the_one_in_the_team_said_to_be_so(scanner):
    assert "health" in cats(scanner, "Mail au pool : la secrétaire de direction est en congé maternité depuis hier.")
    assert "health" not in cats(scanner, "La secrétaire doit-elle déclarer un congé maternité à la DRH ?")
    assert "health" not in cats(scanner, "Quels sont les droits d'une salariée en congé maternité ?")


def test_an_english_negotiation_is_confidential(scanner):
    text = ("Summarise for the HR director: our negotiated rates with the temp agency are 52 €/h for nurses, "
            "8 % below their public price list; the competing agency offered 55 €/h.")
    assert "confidential" in cats(scanner, text)
    assert "confidential" not in cats(scanner, "How are negotiated procedures regulated in French public procurement?")


# -- from dev9: public details said to be so, notices, fiction in prose, notion questions -------------

@pytest.mark.parametrize("text", [
    "Mets en forme la signature mail commune du service, c'est nos coordonnées publiques : Secrétariat de "
    "cardiologie – secretariat.cardio@ch-exemple.fr – 02 99 00 00 00",
    "Bloc « Nous contacter » avec les infos publiques de l'EHPAD : 10 rue du Moulin 38500 Voiron, standard "
    "04 76 05 12 00, FINESS 380012345",
    "Liste des partenaires (ce sont les coordonnées publiques des structures) : EDS Nord – 03 20 00 00 11 – "
    "eds-nord@departement-exemple.fr",
])
def test_details_said_to_be_public_are_not_personal(scanner, text):
    assert cats(scanner, text) <= {"confidential"} and "personal" not in cats(scanner, text), text


def test_a_person_in_public_details_is_still_a_person(scanner):
    text = "Nos coordonnées publiques : Mme Josiane Marchand, 06 12 34 56 78, josiane.marchand@gmail.com"
    assert "personal" in cats(scanner, text)


def test_a_conference_poster_about_our_patient_is_health(scanner):
    text = ("Write a case vignette for our poster at the neonatal meeting, based on our patient last month: "
            "6-week-old boy, bronchiolitis, admitted to PICU, intubated on day 2.")
    assert "health" in cats(scanner, text)


def test_a_notion_question_is_not_an_internal_document(scanner):
    text = ("Explique ce qu'est un plan de retour à l'équilibre financier (PRE) dans un hôpital public : qui le "
            "déclenche, qui le valide, quel rôle pour le directoire et l'ARS.")
    assert "confidential" not in cats(scanner, text)
    ours = ("Résume pour le directoire notre plan de retour à l'équilibre : 3,2 M€ d'économies en 2026, "
            "40 postes gelés au pôle gériatrie.")
    assert "confidential" in cats(scanner, ours)


def test_a_key_box_code_in_sms_style_is_a_secret(scanner):
    assert "secret" in cats(scanner, "le code de la boîte à clés des véhicules de l'HAD c 3390, mets-le dans le mail")


def test_an_account_pair_with_letters_and_digits_and_a_share_written_with_slashes(scanner):
    assert "secret" in cats(scanner, "Le logiciel a toujours le compte admin / Diet2022 mis à l'installation.")
    assert "confidential" in cats(scanner, "table = load_table('//srv-picu01/doses/pediatric_v7.csv')")
    assert "confidential" not in cats(scanner, "see https://example.org/docs/v2 for the API")


def test_an_imperative_is_no_first_name_and_doc_urls_are_no_secret(scanner):
    assert "personal" not in cats(scanner, "Compare EMDR et TCC centrée sur le trauma, avec le niveau de preuve.")
    text = ("Dans la doc SQLAlchemy, l'exemple d'URL est postgresql://user:password@localhost/dbname. "
            "Comment éviter de mettre le vrai mot de passe dans le code ?")
    assert "secret" not in cats(scanner, text)


def test_a_template_is_its_slots_not_a_programs_subscripts(scanner):
    template = ("Dans la doc de notre éditeur, la chaîne est « Server=<serveur>;Database=<base>;User Id=<user>;"
                "Password=<password>; ». Comment la stocker dans Azure Key Vault ?")
    assert "confidential" not in cats(scanner, template)
    code = ("Relis ce code de notre module de prescription maison (pas open source, développé par la DSI) : "
            "dose = poids * table['dose_kg'] ; maxi = table['dose_kg'] * 2 ; mini = table['dose_kg'] / 2")
    assert "confidential" in cats(scanner, code)


def test_not_yet_communicated_is_not_a_press_release(scanner):
    text = ("Voici le projet de délibération qui passera en commission le mois prochain, pas encore communiqué "
            "aux agents : suppression de 14 postes au service des espaces verts, économie de 520 000 €.")
    assert "confidential" in cats(scanner, text)


def _cases(name: str, category: str, present: bool, *texts: str) -> list:
    return [pytest.param(category, present, t, id=f"{name}-{i}") for i, t in enumerate(texts)]


# (what the case shows, the category, whether it must be found, the prompts)
CASES = [
    *_cases("an_institutions_public_details_are_not_personal", "personal", False,
    "Rappel : utilisez la boîte du service secretariat.geriatrie@chu-exemple.fr pour les familles.",
    "Contact presse : communication@ch-exemple.fr",
    "Écrivez à accueil [at] ehpad-exemple [dot] fr pour une visite.",
    "Pied de page : CCAS, tél 04 77 48 00 00, ccas@ville-exemple.fr",
    "Téléphone de l'accueil : 04 77 00 00 42 (du lundi au vendredi)",
    "Secrétariat 03 80 29 30 31, ouvert de 9 h à 17 h",
    "Adresse publique de notre ESAT : 3 rue de l'Industrie 26000 Valence",
    ),
    *_cases("a_persons_details_stay_personal", "personal", True,
    "Écris à marie.dupont@chu-exemple.fr pour le planning.",
    "Le mail de l'infirmière : sophie.accueil@chu-exemple.fr",  # a first name in the local part
    "À l'accueil, rappelle le fils au 06 12 34 56 78.",  # a mobile is someone's
    "Appelle Mme Durand, tél 04 76 12 34 56, pour son rendez-vous.",  # a title next to the number
    "La fille du patient habite 12 rue des Lilas 38000 Grenoble.",
    ),
    *_cases("placeholders_and_protocol_names_are_not_secrets", "secret", False,
    "Exemple avec DB_URL=postgresql://user:<password>@localhost/db dans python-dotenv ?",
    "Chaîne de la doc : Server=myServerAddress;Database=myDataBase;User Id=myUsername;Password=myPassword;",
    "Laisse des cases vides « code d'accès : ____ » qu'on remplira au stylo.",
    "Dans la procédure : « identifiant : prenom.nom / mot de passe : ******** (remis par la DSI) ».",
    "Our laptops no longer join the WPA2-Enterprise network using PEAP-MSCHAPv2 after the update.",
    ),
    *_cases("real_values_are_still_secrets", "secret", True,
    "DB_URL=postgresql://app:Hop1tal!2024@db.chu.local/prod",
    "Password=Urg3nces_2025; dans la chaîne ODBC",
    "identifiant : jdupont / mot de passe : Kiwi!Banane77",
    "le wifi du service : SSID CHU-Invites, clé wpa2 Gr3nouille#88",
    ),
    *_cases("shorthand_about_one_patient_is_health", "health", True,
    "pt ch 22 K+ 6,8 je fais quoi en attendant l'interne",
    "lithemie a 1,9 chez mon pt du 2 il tremble bcp et vomit, je fais koi",
    "le pt du 4 a une CRP à 180, je préviens qui ?",
    "Summarise for the consultant: 31F, G1P0 at 36+4, BP 162/108, proteinuria 3+, platelets 95.",
    "Rewrite: pt 45 F, BMI 41, known difficult airway, Cormack 3, OSA on CPAP, listed for lap chole.",
    "Translate for the parents: your baby, born at 32 weeks and now in cot 3, had two apnoea episodes overnight.",
    ),
    *_cases("the_same_vocabulary_as_knowledge_is_not", "health", False,
    "pt = abréviation de patient dans les transmissions ?",
    "que faire si K+ à 6,8 chez un patient dialysé ? protocole",
    "What is the normal platelet count and when do we worry about HELLP in pre-eclampsia?",
    "Explain the Cormack-Lehane grades and BMI cut-offs for a difficult airway.",
    "caffeine citrate dose for apnoea of prematurity in preterm infants?",
    ),
    *_cases("published_templates_and_advice_are_not_confidential", "confidential", False,
    "Résume cet avis d'attribution paru au BOAMP : marché attribué à la société Protecmed, montant total 310 000 € HT.",
    "Draft a generic email template for giving a contractor remote VPN access. Use placeholders like [Contractor name].",
    "Traduis pour l'affiche : \"Merci de ne pas communiquer le code d'accès du service aux visiteurs.\"",
    "Translate for a poster: \"Please do not share your login credentials with anyone.\"",
    "C'est quoi la règle 3-2-1 des sauvegardes, et pourquoi ne pas joindre le serveur de sauvegarde au domaine ?",
    ),
    *_cases("real_markings_and_internal_figures_stay_confidential", "confidential", True,
    "Rapport – ne pas diffuser. Le budget 2025 baisse de 3 M€, suppression de 12 postes au pôle gériatrie.",
    "Ne pas communiquer à l'extérieur : notre offre pour le lot 2 sera de 412 000 € HT, 8 % sous le prix actuel.",
    "Our board approved the closure of the maternity unit; do not share before the staff meeting on Friday.",
    ),
    *_cases("settings_and_standards_are_not_passwords", "secret", False,
    "Review: def hash_password(p): return bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=12))",
    "What's the practical difference between WPA2-Personal and WPA3-Enterprise? Our guest wifi uses a portal.",
    ),
    *_cases("more_functional_mailboxes", "personal", False,
    "Les familles peuvent envoyer leurs photos à animation@ehpad-exemple.fr pour l'album.",
    "Auto-reply for the shared mailbox pharmacy.orders@ch-example.fr, please.",
    "Invitation envoyée par la liste anciens@ch-exemple.fr et etat-civil@mairie-exemple.fr.",
    ),
    *_cases("codes_of_devices_and_account_pairs_are_secrets", "secret", True,
    "l'alarme du bâtiment administratif se coupe avec 8 2 0 5 puis OFF",
    "le téléphone d'astreinte se déverrouille avec le 1 9 0 8",
    "le portail des livraisons s'ouvre avec le 1939#",
    "prendre la carte bleue de la régie dans le coffre du bureau éducatif, code 2618",
    "Derrière la box c'est écrit admin / Ehpad@Rosiers, c'est ça que je tape ?",
    ),
    *_cases("the_same_words_without_a_code_are_not", "secret", False,
    "le portail s'ouvre avec le badge de l'accueil",
    "l'alarme se coupe avec 30 secondes de délai",
    "le coffre se ferme avec une combinaison à 4 chiffres, comment la changer ?",
    "admin / admin par défaut sur ce routeur, c'est grave ?",
    "la réunion s'ouvre avec le bilan 2024",
    ),
    *_cases("notices_fiction_and_dose_questions_are_not_health", "health", False,
    "Reformule ce texte en une affiche pour les salles d'opération : « vérifier l'identité du patient, le site opératoire »",
    "Un flyer pour la PMI à partir du calendrier vaccinal officiel : le nourrisson reçoit l'hexavalent à 2 mois.",
    "J'écris une nouvelle sur une éducatrice de foyer, Lise, et Théo, 12 ans, qui fugue sans arrêt. Écris la scène.",
    "what's the usual apixaban dose for AF in an 85 y/o with CrCl around 30?",
    ),
    *_cases("service_lines_and_letterheads_are_not_personal", "personal", False,
    "Pour les urgences d'état civil, contacter l'astreinte au 04 75 02 10 10.",
    "Ouverture du centre de vaccination, sur rendez-vous au 04 76 00 12 12.",
    "Mets en forme l'en-tête de nos courriers : Centre hospitalier, 28 rue de Charlieu, 42300 Roanne, FINESS 420780033.",
    "Mets à jour la page contact du site : Police municipale – 04 74 78 30 00 – police.municipale@mairie-exemple.fr",
    ),
    *_cases("exam_revision_and_dose_questions_are_not_health", "health", False,
    "Révision ECOS : une femme de 32 ans, à 36 SA, consulte pour céphalées. PA 165/110. Explique comme à un étudiant.",
    "Posologie de la morphine orale à l'initiation chez un patient de 85 ans naïf d'opioïdes ? Et comment titrer ?",
    ),
    *_cases("more_shorthand_about_one_person_is_health", "health", True,
    "patiente salle 3 primipare 6 cm, ralentissements tardifs depuis 20 min, je fais quoi ??",
    "hey the lady in 14B is refusing her dialysis again, daughter coming at 4pm, how do I document it?",
    "Le brigadier-chef de notre police municipale a fait un infarctus en mars, il est inapte à la voie publique.",
    "Hémoc positive à 9h : cocci Gram+ en amas, c'est pour la réa chambre 3, aide-moi à prévenir le réanimateur.",
    ),
]


@pytest.mark.parametrize("category, present, text", CASES)
def test_category_of(scanner, category, present, text):
    assert (category in cats(scanner, text)) is present, text


# -- from dev11: example configurations, shell defaults, public web pages, generic reflex sheets --------

def test_example_configs_and_shell_defaults_hold_no_secret(scanner):
    env = ("# .env.example\nDATABASE_URL=postgresql://user:<password>@localhost:5432/mydb\n"
           "REDIS_URL=redis://localhost:6379/0\nLOG_LEVEL=debug")
    assert "secret" not in cats(scanner, env)
    assert "secret" not in {f.category for f in scanner.scan(': "${MISTRAL_API_KEY:?variable non définie}"').findings
                            if f.recognizer.startswith("secret")}
    assert "secret" in cats(scanner, "DATABASE_URL=postgresql://app:Hop1tal!2024@db.chu.local:5432/prod")


def test_public_pages_generic_sheets_and_rules_for_every_agent(scanner):
    page = ("Please translate this page from our hospital's public website: « Accueil principal : 12 avenue du "
            "Général-Leclerc, 45000 Orléans. Horaires de visite : 13 h à 20 h. »")
    assert "personal" not in cats(scanner, page)
    sheet = ("Rédige une fiche réflexe générique de déclenchement du plan blanc pour un centre hospitalier : qui "
             "prévenir, rôle de la cellule de crise, rappel des personnels.")
    assert "confidential" not in cats(scanner, sheet)
    rule = ("Réécris ce règlement pour le livret d'accueil : « En cas d'arrêt de travail pour maladie, l'agent doit "
            "prévenir son encadrement et transmettre les volets 2 et 3 de l'avis d'arrêt. »")
    assert "health" not in cats(scanner, rule)
    assert "health" in cats(scanner, "Arrêt maladie jusqu'au 14 mars pour l'agent Martin, service de nuit, dépression.")
