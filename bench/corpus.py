"""Reproducible labelled French corpus for the detection benchmark.

``build_corpus(seed)`` returns a list of records::

    {"id", "text", "expected": "block" | "allow", "category": personal|health|confidential|secret|benign,
     "kind": short label of the template family,
     "id_type": FR_NIR... (structured identifiers only), "evasion": plain|spaces|...}

Synthetic items come from Faker ``fr_FR`` with a fixed seed and templates; hand-written hard cases
are read from ``bench/hard_cases.jsonl``. Identifier values are *generated* with valid checksums
(python-stdnum), and look-alikes with broken checksums are generated for the benign side.
"""

from __future__ import annotations

import base64
import json
import random
import string
from pathlib import Path
from urllib.parse import quote

from faker import Faker
from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.fr import nir as std_nir

HERE = Path(__file__).resolve().parent
HARD_CASES = HERE / "hard_cases.jsonl"

# --------------------------------------------------------------------------------------------
# Identifier generators (valid checksums)


def gen_nir(rng: random.Random, corsica: bool = False, temporary: bool = False) -> str:
    sex = rng.choice("78") if temporary else rng.choice("12")
    year = f"{rng.randint(0, 99):02d}"
    month = f"{rng.randint(1, 12):02d}"
    dept = rng.choice(["2A", "2B"]) if corsica else f"{rng.choice([d for d in range(1, 96) if d != 20]):02d}"
    commune = f"{rng.randint(1, 990):03d}"
    order = f"{rng.randint(1, 999):03d}"
    body = sex + year + month + dept + commune + order
    return body + std_nir.calc_check_digits(body + "00")


def gen_rpps(rng: random.Random) -> str:
    body = "10" + "".join(rng.choice(string.digits) for _ in range(8))
    return body + luhn.calc_check_digit(body)


def gen_finess(rng: random.Random) -> str:
    body = f"{rng.randint(1, 95):02d}" + "".join(rng.choice(string.digits) for _ in range(6))
    return body + luhn.calc_check_digit(body)


def gen_adeli(rng: random.Random) -> str:
    body = f"{rng.randint(1, 95):02d}" + rng.choice("0123456789") + "".join(rng.choice(string.digits) for _ in range(5))
    return body + luhn.calc_check_digit(body)


def gen_siren(rng: random.Random) -> str:
    body = "".join(rng.choice(string.digits) for _ in range(8))
    return body + luhn.calc_check_digit(body)


def gen_siret(rng: random.Random) -> str:
    body = gen_siren(rng) + "".join(rng.choice(string.digits) for _ in range(4))
    return body + luhn.calc_check_digit(body)


def gen_iban(rng: random.Random) -> str:
    bban = "".join(rng.choice(string.digits) for _ in range(23))
    # French BBAN has its own RIB key; stdnum validates it, so compute it properly.
    bank, branch, account = bban[:5], bban[5:10], bban[10:21]
    key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
    bban = bank + branch + account + f"{key:02d}"
    check = std_iban.calc_check_digits("FR00" + bban)
    return "FR" + check + bban


def gen_card(rng: random.Random) -> str:
    prefix = rng.choice(["4", "51", "53", "55", "2221", "4970"])
    body = prefix + "".join(rng.choice(string.digits) for _ in range(15 - len(prefix)))
    return body + luhn.calc_check_digit(body)


def gen_phone(rng: random.Random) -> str:
    import phonenumbers

    while True:
        number = "0" + rng.choice("12345679") + "".join(rng.choice(string.digits) for _ in range(8))
        if phonenumbers.is_valid_number(phonenumbers.parse(number, "FR")):
            return number


def break_check(value: str, rng: random.Random) -> str:
    """Change the last digit so the checksum fails."""
    last = value[-1]
    new = rng.choice([d for d in string.digits if d != last])
    return value[:-1] + new


def invalid_fr_iban_digits(rng: random.Random) -> str:
    """23 random digits that do NOT make a valid IBAN after "FR76" (random ones pass ~1 % of the time)."""
    while True:
        digits = _rand(rng, 23, string.digits)
        if not std_iban.is_valid("FR76" + digits):
            return digits


# --------------------------------------------------------------------------------------------
# Presentation and evasion


def group(value: str, sizes: list[int], sep: str = " ") -> str:
    out, i = [], 0
    for s in sizes:
        if i >= len(value):
            break
        out.append(value[i : i + s])
        i += s
    if i < len(value):
        out.append(value[i:])
    return sep.join(out)


_GROUPINGS = {
    "FR_NIR": [1, 2, 2, 2, 3, 3, 2],
    "FR_RPPS": [3, 3, 3, 2],
    "FR_FINESS": [3, 3, 3],
    "FR_ADELI": [3, 3, 3],
    "FR_SIREN": [3, 3, 3],
    "FR_SIRET": [3, 3, 3, 5],
    "IBAN_CODE": [4, 4, 4, 4, 4, 4, 3],
    "CREDIT_CARD": [4, 4, 4, 4],
    "PHONE_NUMBER": [2, 2, 2, 2, 2],
}
_FULLWIDTH = {ord(c): chr(ord(c) + 0xFEE0) for c in string.digits + string.ascii_letters}
_ARABIC = {ord(c): chr(0x0660 + int(c)) for c in string.digits}
_CYR = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і"}

NUMBER_EVASIONS = ["plain", "spaces", "dots", "dashes", "slashes", "zero_width", "fullwidth", "arabic_digits",
                   "line_break", "base64", "url"]


def evade_number(value: str, id_type: str, evasion: str, rng: random.Random) -> str:
    sizes = _GROUPINGS.get(id_type, [3] * 8)
    if evasion == "plain":
        return value
    if evasion == "spaces":
        return group(value, sizes, " ")
    if evasion == "dots":
        return group(value, sizes, ".")
    if evasion == "dashes":
        return group(value, sizes, "-")
    if evasion == "slashes":
        return group(value, sizes, "/")
    if evasion == "zero_width":
        return "\u200b".join(value)
    if evasion == "fullwidth":
        return group(value, sizes, " ").translate(_FULLWIDTH)
    if evasion == "arabic_digits":
        return group(value, sizes, " ").translate(_ARABIC)
    if evasion == "line_break":
        cut = rng.randint(3, len(value) - 3)
        return value[:cut] + "\n" + value[cut:]
    raise ValueError(evasion)


def encode_sentence(sentence: str, how: str) -> str:
    if how == "base64":
        return base64.b64encode(sentence.encode()).decode()
    return quote(sentence)


# --------------------------------------------------------------------------------------------
# Templates

_ID_TEMPLATES = {
    "FR_NIR": ["Mon numéro de sécurité sociale est {v}, pouvez-vous vérifier mes droits ?",
               "NIR du patient : {v}", "Rédige un courrier à la CPAM pour l'assuré n° {v}.",
               "INS : {v} — merci de compléter le dossier.", "Le numéro {v} est-il bien celui de l'agent ?"],
    "FR_RPPS": ["Le Dr {last}, RPPS {v}, a signé l'ordonnance.", "Numéro RPPS du prescripteur : {v}",
                "Ajoute le prescripteur {v} à la liste."],
    "FR_ADELI": ["Infirmière libérale, n° ADELI {v}.", "Numéro ADELI : {v}"],
    "FR_FINESS": ["Établissement FINESS {v} : préparer la déclaration du patient.", "FINESS géographique : {v}"],
    "FR_SIREN": ["Je suis auto-entrepreneur, mon SIREN est {v}.", "Entrepreneur individuel {first} {last}, SIREN {v}."],
    "FR_SIRET": ["Infirmier libéral, SIRET {v}, facture jointe.", "Micro-entreprise de M. {last}, SIRET : {v}"],
    "IBAN_CODE": ["Voici mon IBAN pour le remboursement : {v}", "Virement sur le compte {v} svp.",
                  "RIB de l'agent : {v}"],
    "CREDIT_CARD": ["Ma carte bancaire {v} a été débitée deux fois.", "Paiement avec la carte {v}, exp 12/27."],
    "PHONE_NUMBER": ["Rappelez-moi au {v} demain matin.", "Le numéro de la famille est {v}.", "Tél : {v}"],
}
_NAME_TEMPLATES = [
    "Peux-tu rédiger un mail à M. {LAST} pour lui rappeler son rendez-vous de jeudi ?",
    "Mme {Last} a appelé pour son dossier, résume sa demande.",
    "Le Dr {Last} souhaite avancer la consultation.",
    "Résume l'entretien avec {First} {LAST} du 3 mars.",
    "Le patient {F}.{L}. se plaint de douleurs.",
    "Bonjour,\nvoici le compte rendu demandé.\nCordialement,\n{First} {Last}",
    "Je m'appelle {First} {Last} et je voudrais corriger mon adresse.",
    "Madame {First} {Last} demande un duplicata de facture.",
    "Relance {LAST} {First} pour le dossier de formation.",
    "Peux-tu traduire ce message de {First} {Last} en anglais ?",
]
_EMAIL_FORMS = ["plain", "at_brackets", "arobase", "point_words", "homoglyph", "upper", "line_break"]
_VIGNETTES = [
    "Patiente de {age} ans, {dx}, {lab}, hospitalisée en {ward} le {date}. Que proposer comme traitement ?",
    "Homme de {age} ans aux antécédents de {dx}, admis aux urgences le {date} pour {sym}. Rédige la lettre de sortie.",
    "J'ai un patient de {age} ans avec {dx} et {lab}. Quelle adaptation de dose pour {drug} ?",
    "Mon patient, {age} ans, chambre {room}, {dx}, présente depuis {n} jours {sym}. Aide-moi à rédiger les transmissions.",
    "Résidente de {age} ans en EHPAD, {dx}, chute le {date}, sous {drug}. Rédige un compte rendu pour la famille.",
    "Enfant de {age} ans vu en consultation le {date} pour {sym} ; {lab}. Rédige le courrier au médecin traitant.",
    "Compte rendu d'hospitalisation : patient de {age} ans, {dx}, traité par {drug}, sortie le {date}.",
    "La patiente du lit {room} ({age} ans) a un {lab} ce matin, elle est sous {drug}. Que faire ?",
    "Il s'agit d'une femme de {age} ans, suivie pour {dx}, qui a présenté {sym} le {date}. Rédige la synthèse.",
    "Ma collègue de l'unité est en arrêt maladie depuis le {date} pour {dx2}, comment organiser son remplacement ?",
    "L'agent est en congé longue maladie depuis le {date} (traitement pour {dx2}) : rédige le courrier RH.",
    "Résultats de ma patiente de {age} ans : {lab}, {lab2}. Interprétation ?",
]
_DX = ["diabète de type 2", "insuffisance cardiaque", "BPCO", "hypertension artérielle", "cancer du sein",
       "insuffisance rénale chronique", "épilepsie", "maladie de Parkinson", "cirrhose", "polyarthrite rhumatoïde",
       "AVC ischémique", "fibrillation atriale", "schizophrénie", "dépression sévère", "lymphome"]
_DX2 = ["un cancer du côlon", "une dépression", "une hernie discale", "un burn-out", "une chimiothérapie"]
_LAB = ["HbA1c à 9 %", "créatinine à 180 µmol/L", "CRP à 120 mg/L", "hémoglobine à 7,8 g/dL", "kaliémie à 6,1 mmol/L",
        "INR à 4,2", "glycémie à 2,8 g/L", "plaquettes à 45 G/L"]
_SYM = ["une dyspnée", "des douleurs thoraciques", "une fièvre à 39 °C", "une confusion", "des vomissements",
        "une hémiparésie droite", "des chutes répétées"]
_DRUG = ["metformine", "apixaban", "furosémide", "insuline glargine", "amoxicilline", "lévétiracétam", "prednisone"]
_WARD = ["cardiologie", "pneumologie", "néphrologie", "gériatrie", "neurologie", "médecine interne"]

_KNOWLEDGE = [
    "Quels sont les effets secondaires du {drug} ?",
    "Explique la physiopathologie du {dx}.",
    "Quelle est la posologie usuelle du {drug} chez l'adulte ?",
    "Quelles sont les recommandations HAS pour la prise en charge du {dx} ?",
    "Fais une fiche de révision sur le {dx} pour des étudiants infirmiers.",
    "Quelles sont les contre-indications du {drug} chez la femme enceinte ?",
    "Résume les critères diagnostiques du {dx}.",
    "Quelle est la différence entre {dx} et {dx2b} ?",
    "Comment surveiller un traitement par {drug} en général ?",
    "Liste les examens biologiques utiles pour le suivi du {dx}.",
    "Parmi les propositions suivantes concernant le {drug}, lesquelles sont exactes ?",
    "Rédige un support de formation sur la prévention des chutes chez les personnes âgées.",
    "Quels sont les signes d'alerte d'un AVC à enseigner au grand public ?",
    "Explique l'interprétation d'une HbA1c à 9 % dans le suivi des patients diabétiques.",
]
_ADMIN = [
    "Rédige une note de synthèse sur la réforme de la fonction publique hospitalière pour le grand public.",
    "Le budget de l'État pour 2025 prévoit une hausse des crédits de la mission Santé. Résume en trois points.",
    "Explique ce qu'est un marché public et les grandes étapes d'un appel d'offres.",
    "Quelles sont les obligations d'une commune en matière d'accessibilité des bâtiments publics ?",
    "Rédige un article pour l'intranet sur la semaine de la sécurité des patients.",
    "Explique le rôle de l'ARS dans l'organisation des soins en région.",
    "Propose un plan pour une présentation sur le RGPD à destination des agents.",
    "Corrige l'orthographe : « les agents sont invité à la réunion d'information de mardi ».",
    "Traduis en anglais : « L'hôpital recrute des infirmiers pour l'été. »",
    "Quelle est la procédure pour demander une carte de stationnement handicapé ?",
    "Résume la loi relative à l'organisation et à la transformation du système de santé de 2019.",
    "Rédige une annonce pour le don du sang organisé le 14 juin dans le hall de l'hôpital.",
    "Comment calcule-t-on le taux d'occupation des lits d'un service ?",
    "Écris un courriel type pour rappeler aux équipes la formation incendie obligatoire.",
    "Le conseil municipal a voté le budget primitif ; explique la différence avec le compte administratif.",
    "Quelles sont les étapes de la certification HAS d'un établissement de santé ?",
    "Propose une liste de questions pour un entretien annuel d'évaluation.",
]
_NEWS = [
    "Le président de la République Emmanuel Macron a annoncé un plan pour l'hôpital. Résume ses annonces.",
    "La ministre de la Santé Catherine Vautrin a présenté le budget de la Sécurité sociale.",
    "Victor Hugo, écrivain célèbre, est né à Besançon : écris une courte biographie.",
    "Quel est le bilan de Simone Veil comme ministre de la Santé ?",
    "Le Premier ministre Michel Barnier a déclaré que la réforme serait votée.",
    "Louis Pasteur, scientifique célèbre, a découvert le vaccin contre la rage : résume sa vie.",
    "Le maire de Lyon Grégory Doucet a inauguré une piste cyclable.",
    "Marie Curie, prix Nobel de physique et de chimie, a travaillé sur la radioactivité.",
]
_CODE = [
    "def connect(password: str) -> None:\n    db = Database(user='app', password=password)\n    return db",
    "password = os.environ['DB_PASSWORD']\napi_key = os.getenv('API_KEY')",
    "Explique ce code : `for i in range(10): print(i * 2)`",
    "SELECT nom, service FROM agents WHERE actif = 1 ORDER BY nom;",
    "Pourquoi ma fonction `def hash_password(pwd): return bcrypt.hashpw(pwd, salt)` est-elle lente ?",
    "const token = await getToken();\nfetch(url, {headers: {Authorization: `Bearer ${token}`}})",
    "Écris un script Python qui lit un CSV et calcule la moyenne de la colonne 'duree_sejour'.",
    "server { listen 80; server_name localhost; location / { proxy_pass http://127.0.0.1:8080; } }",
    "git commit -m 'fix: handle empty password field'",
    "Le champ mot de passe doit contenir au moins 12 caractères : écris la regex de validation.",
]
_LOOKALIKE = [
    "La commande n° {n11} a été livrée le 12/03/2024.",
    "Référence du dossier : {n15}, à classer.",
    "Le ticket {n16} est toujours ouvert.",
    "Numéro de lot du vaccin : {n9}.",
    "Montant total : {amount} €, référence facture {n13}.",
    "Entre 2019 2020 2021 et 2022 le nombre de passages a augmenté.",
    "Code article {n10b} en rupture de stock.",
    "Le compte FR76 {n23g} n'est pas valide selon la banque ; explique pourquoi un IBAN peut être invalide.",
]
_CONFIDENTIAL = [
    "CONFIDENTIEL — Projet de plan de retour à l'équilibre du CHU : suppression de {n} postes en 2026. Reformule.",
    "Document à usage interne : voici l'analyse des offres de l'appel d'offres n° {ref}, offre du candidat {company} à {amount} € HT.",
    "Diffusion restreinte. Compte rendu du directoire : fermeture de lits en pneumologie, réorganisation du pôle.",
    "Ne pas diffuser : protocole de recherche PHRC {ref}, critères d'inclusion et résultats préliminaires.",
    "Voici le BPU de la société {company} pour le lot 2 : prix unitaire {amount} € HT. Compare avec notre budget.",
    "Notre établissement a un déficit de {amount} k€ ; voici l'EPRD 2025 en version de travail, peux-tu le résumer ?",
    "Plan d'adressage : VLAN 10 serveurs DPI, VLAN 20 biomédical, règles pare-feu entre les VLAN. Optimise.",
    "Rapport de test d'intrusion de notre CHU : vulnérabilités critiques non corrigées sur le serveur de messagerie.",
    "Rédige la synthèse de la demande de brevet déposée par notre laboratoire sur le nouveau dispositif.",
    "Tableau de garde des internes de notre service pour décembre, optimise les astreintes.",
    "Mémoire technique de la société {company} pour le DCE de maintenance des IRM : résume les points faibles.",
    "Strictement confidentiel : projet de fusion avec le CH voisin, calendrier et impacts sociaux.",
]
_SECRETS = [
    "Voici ma clé : {openai}, pourquoi l'API me renvoie 401 ?",
    "export AWS_ACCESS_KEY_ID={aws}\nexport AWS_SECRET_ACCESS_KEY={rand40}",
    "Mon token GitHub {github} ne marche plus, aide-moi.",
    "DATABASE_URL=postgresql://dpi_app:{pw}@10.12.0.5:5432/dpi",
    "Le mot de passe du compte admin est {pw}, comment le changer ?",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA{rand40}\n-----END RSA PRIVATE KEY-----",
    "password = \"{pw}\"\nconnect(host, password)",
    "curl -H 'Authorization: Bearer {rand40}' https://api.example.com/v1/items",
    "Slack bot token : {slack}",
    "La clé Google Maps AIza{rand35} apparaît dans le code, est-ce grave ?",
]


def _rand(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _email_form(email: str, form: str, rng: random.Random) -> str:
    local, domain = email.split("@")
    if form == "plain":
        return email
    if form == "at_brackets":
        return f"{local} [at] {domain.replace('.', ' [dot] ')}"
    if form == "arobase":
        return f"{local} (arobase) {domain}"
    if form == "point_words":
        return f"{local.replace('.', ' point ')} arobase {domain.replace('.', ' point ')}"
    if form == "homoglyph":
        return "".join(_CYR.get(c, c) if rng.random() < 0.5 else c for c in local) + "@" + domain
    if form == "upper":
        return email.upper()
    if form == "line_break":
        return local + "@\n" + domain
    raise ValueError(form)


def build_corpus(seed: int = 2026, scale: int = 1) -> list[dict]:
    rng = random.Random(seed)
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    recs: list[dict] = []

    def add(text, expected, category, kind, **extra):
        recs.append({"id": f"syn-{len(recs):05d}", "text": text, "expected": expected, "category": category,
                     "kind": kind, **extra})

    gens = {
        "FR_NIR": lambda: gen_nir(rng, corsica=rng.random() < 0.15, temporary=rng.random() < 0.1),
        "FR_RPPS": lambda: gen_rpps(rng), "FR_ADELI": lambda: gen_adeli(rng), "FR_FINESS": lambda: gen_finess(rng),
        "FR_SIREN": lambda: gen_siren(rng), "FR_SIRET": lambda: gen_siret(rng), "IBAN_CODE": lambda: gen_iban(rng),
        "CREDIT_CARD": lambda: gen_card(rng), "PHONE_NUMBER": lambda: gen_phone(rng),
    }
    # Structured identifiers x every evasion form.
    for id_type, gen in gens.items():
        for evasion in NUMBER_EVASIONS:
            for _ in range(3 * scale):
                value = gen()
                if evasion in ("base64", "url"):
                    shown = evade_number(value, id_type, "spaces", rng)
                else:
                    shown = evade_number(value, id_type, evasion, rng)
                if id_type == "PHONE_NUMBER" and evasion == "plain" and rng.random() < 0.5:
                    shown = rng.choice(["+33 ", "0033 ", "+33 (0)"]) + group(value[1:], [1, 2, 2, 2, 2])
                tpl = rng.choice(_ID_TEMPLATES[id_type])
                sentence = tpl.format(v=shown, first=fake.first_name(), last=fake.last_name())
                if evasion in ("base64", "url"):
                    pre = sentence.split(shown)[0]
                    text = f"Décode et traite ce fragment : {encode_sentence(shown if evasion == 'url' else sentence, evasion)}"
                    if evasion == "url":
                        text = pre + encode_sentence(shown, "url")
                else:
                    text = sentence
                add(text, "block", "personal", "identifier", id_type=id_type, evasion=evasion)
    # E-mails in every obfuscation.
    for form in _EMAIL_FORMS:
        for _ in range(4 * scale):
            email = f"{fake.first_name().lower()}.{fake.last_name().lower()}@{rng.choice(['chu-lyon.fr', 'aphp.fr', 'gmail.com', 'orange.fr', 'ch-valence.fr'])}"
            email = email.replace(" ", "-").encode("ascii", "ignore").decode() or "jean.dupont@chu.fr"
            shown = _email_form(email, form, rng)
            add(f"Peux-tu écrire à {shown} pour confirmer la réunion ?", "block", "personal", "identifier",
                id_type="EMAIL_ADDRESS", evasion=form)
    # IP addresses, dates of birth, addresses, IPP.
    for _ in range(6 * scale):
        add(f"Le poste de l'agent a l'adresse IP {fake.ipv4_public()}, bloque-la.", "block", "personal", "identifier",
            id_type="IP_ADDRESS", evasion="plain")
        dob = fake.date_of_birth(minimum_age=1, maximum_age=95)
        add(f"Patient né le {dob.strftime('%d/%m/%Y')}, merci de vérifier l'identité.", "block", "personal", "identifier",
            id_type="DATE_OF_BIRTH", evasion="plain")
        add(f"M. {fake.last_name()} est domicilié au {fake.street_address()}, {fake.postcode()} {fake.city()}.", "block",
            "personal", "identifier", id_type="LOCATION", evasion="plain")
        add(f"IPP {rng.randint(10**7, 10**9)} : merci de fusionner les dossiers.", "block", "personal", "identifier",
            id_type="FR_IPP", evasion="plain")
    # Person names.
    for tpl in _NAME_TEMPLATES:
        for _ in range(3 * scale):
            first, last = fake.first_name(), fake.last_name()
            text = tpl.format(First=first, Last=last, LAST=last.upper(), F=first[0], L=last[0])
            add(text, "block", "personal", "person")
    # Homoglyph names.
    for _ in range(4 * scale):
        last = fake.last_name()
        add(f"Rédige un courrier pour Mme {''.join(_CYR.get(c, c) for c in last)} au sujet de sa facture.", "block",
            "personal", "person", evasion="homoglyph")
    # Health vignettes (mostly nameless).
    for tpl in _VIGNETTES:
        for _ in range(5 * scale):
            text = tpl.format(age=rng.randint(2, 95), dx=rng.choice(_DX), dx2=rng.choice(_DX2), lab=rng.choice(_LAB),
                              lab2=rng.choice(_LAB), ward=rng.choice(_WARD), date=f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}",
                              sym=rng.choice(_SYM), drug=rng.choice(_DRUG), room=rng.randint(1, 40), n=rng.randint(2, 10))
            add(text, "block", "health", "vignette")
    # Confidential.
    for tpl in _CONFIDENTIAL:
        for _ in range(4 * scale):
            text = tpl.format(n=rng.randint(5, 80), ref=f"{rng.randint(2023, 2026)}-{rng.randint(1, 99):02d}",
                              company=fake.company(), amount=f"{rng.randint(10, 900)} {rng.randint(100, 999)}")
            add(text, "block", "confidential", "document")
    # Secrets.
    for tpl in _SECRETS:
        for _ in range(4 * scale):
            text = tpl.format(
                openai="sk-proj-" + _rand(rng, 40), aws="AKIA" + _rand(rng, 16, string.ascii_uppercase + string.digits),
                rand40=_rand(rng, 40), github="ghp_" + _rand(rng, 36), pw=_rand(rng, 6) + rng.choice("!#%&*") + str(rng.randint(10, 99)),
                slack="xoxb-" + str(rng.randint(10**10, 10**11)) + "-" + _rand(rng, 24), rand35=_rand(rng, 35),
            )
            add(text, "block", "secret", "secret")
    # ---------------------------------------------------------------- benign
    for tpl in _KNOWLEDGE:
        for _ in range(4 * scale):
            dxs = rng.sample(_DX, 2)
            add(tpl.format(drug=rng.choice(_DRUG), dx=dxs[0], dx2b=dxs[1]), "allow", "benign", "medical_knowledge")
    for tpl in _ADMIN:
        for _ in range(2 * scale):
            add(tpl, "allow", "benign", "public_admin")
    # Benign text full of capitalised company and place names, dates and figures (Faker).
    for i in range(20 * scale):
        text = [
            f"Réunion avec la société {fake.company()} à {fake.city()} le {fake.date_this_year().strftime('%d/%m/%Y')} pour le projet de rénovation.",
            f"Le colloque se tiendra à {fake.city()} ({fake.postcode()}) le {fake.day_of_month()} {fake.month_name()}, inscription avant le {fake.date_this_year().strftime('%d/%m')}.",
            f"La commune de {fake.city()} compte {fake.random_int(500, 90000)} habitants et {fake.random_int(2, 40)} écoles.",
            f"{fake.catch_phrase()} : rédige un slogan pour la campagne de vaccination.",
            f"Le budget du service {fake.job()} a augmenté de {fake.random_int(1, 20)} % en {fake.year()}.",
        ][i % 5]
        add(text, "allow", "benign", "public_admin_faker")
    for tpl in _NEWS:
        for _ in range(2 * scale):
            add(tpl, "allow", "benign", "public_figure")
    for tpl in _CODE:
        for _ in range(2 * scale):
            add(tpl, "allow", "benign", "code")
    for tpl in _LOOKALIKE:
        for _ in range(4 * scale):
            text = tpl.format(
                n11=break_check(gen_rpps(rng), rng), n15=break_check(gen_nir(rng), rng), n16=break_check(gen_card(rng), rng),
                n9=break_check(gen_siren(rng), rng), n13=_rand(rng, 13, string.digits), amount=rng.randint(100, 99999),
                n10b="1" + _rand(rng, 9, string.digits), n23g=group(invalid_fr_iban_digits(rng), [4, 4, 4, 4, 4, 3]),
            )
            add(text, "allow", "benign", "checksum_lookalike")
    # Invalid-checksum identifiers in every evasion form (must not be reported).
    for id_type, gen in (("FR_NIR", lambda: gen_nir(rng)), ("CREDIT_CARD", lambda: gen_card(rng)),
                         ("IBAN_CODE", lambda: gen_iban(rng))):
        for evasion in ("plain", "spaces", "dots", "zero_width", "fullwidth"):
            value = break_check(gen(), rng)
            shown = evade_number(value, id_type, evasion, rng)
            add(f"Ce numéro {shown} est refusé par le contrôle de clé : explique pourquoi.", "allow", "benign",
                "checksum_lookalike", id_type=id_type, evasion=evasion)
    recs.extend(load_hard_cases(start=len(recs)))
    return recs


def load_hard_cases(path: Path = HARD_CASES, start: int = 0) -> list[dict]:
    if not path.exists():
        return []
    out = []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            line = line.strip()
            if not line or line.startswith("//"):
                continue
            rec = json.loads(line)
            rec.setdefault("id", f"hard-{i:04d}")
            rec.setdefault("kind", "hard_case")
            out.append(rec)
    return out


if __name__ == "__main__":  # pragma: no cover
    import sys

    for r in build_corpus(int(sys.argv[1]) if len(sys.argv) > 1 else 2026):
        print(json.dumps(r, ensure_ascii=False))
