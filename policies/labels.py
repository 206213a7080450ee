"""French labels for what the DPO and the DSN read: detected types, rules, finding categories and the
admin access log's words. Defined once, next to the vocabulary (:mod:`policies.vocabulary`); the
dashboard, the CSV exports and the stats API all take their labels from here.

Codes stay the machine's words (stored, filtered on, exported in their own columns); labels are only
for people. Every finding type the detectors emit has a label (``tests/test_admin_api.py`` reads
``detectors/`` and fails on a type without one); a type configured by the institution (a dictionary
term's ``type``, a patient id pattern's ``type``) is shown as written. Every rule the gateway and the
policy record has a label too; a rule added later without one reads as its family and its name.
"""

from __future__ import annotations

from policies.vocabulary import CATEGORY_LABELS_FR, UNINSPECTABLE

# -- detected types ---------------------------------------------------------------------------

#: What each recognizer finds, as the DPO says it. Classifier windows (``*_TEXT``) are a passage of
#: text, not a value; their ``*_UNSURE`` variants (confirmation band) are labelled by
#: :func:`finding_type_fr`.
FINDING_TYPE_LABELS_FR: dict[str, str] = {
    # people and patients
    "FR_NIR": "NIR",
    "FR_IPP": "IPP (identifiant patient)",
    "FR_NDA": "NDA (numéro de séjour)",
    "PERSON": "nom de personne",
    "DATE_OF_BIRTH": "date de naissance",
    "PHONE_NUMBER": "téléphone",
    "EMAIL_ADDRESS": "adresse e-mail",
    "LOCATION": "adresse postale",
    "IP_ADDRESS": "adresse IP",
    "IBAN_CODE": "IBAN",
    "CREDIT_CARD": "carte bancaire",
    # health professionals, institutions, companies
    "FR_RPPS": "RPPS (professionnel de santé)",
    "FR_ADELI": "ADELI (professionnel de santé)",
    "FR_FINESS": "FINESS (établissement)",
    "FR_SIREN": "SIREN (entreprise)",
    "FR_SIRET": "SIRET (établissement)",
    # content
    "HEALTH_DATA": "santé (terme médical)",
    "CONFIDENTIAL": "confidentiel (mention ou terme interne)",
    "IS_INFRASTRUCTURE": "infrastructure du SI (serveur, annuaire, partage)",
    "SECRET": "secret (clé, jeton, mot de passe)",
    # the free-text classifier's windows
    "HEALTH_TEXT": "santé (texte libre)",
    "PERSONAL_TEXT": "personnel (texte libre)",
    "CONFIDENTIAL_TEXT": "confidentiel (texte libre)",
    "SECRET_TEXT": "secret (texte libre)",
}

UNSURE_SUFFIX = "_UNSURE"


def finding_type_fr(code: str | None) -> str:
    """The French label of a detected type; an institution's own type (dictionary, patient ids) as written."""
    if not code:
        return ""
    if code in FINDING_TYPE_LABELS_FR:
        return FINDING_TYPE_LABELS_FR[code]
    base = code.removesuffix(UNSURE_SUFFIX)
    if base == code or base not in FINDING_TYPE_LABELS_FR:
        return code
    label = FINDING_TYPE_LABELS_FR[base]  # « santé (texte libre) » → « santé (texte libre, incertain) »
    return label[:-1] + ", incertain)" if label.endswith(")") else label + " (incertain)"


#: A finding's category: the audit categories plus ``unsure`` (the classifier's confirmation band).
FINDING_CATEGORY_LABELS_FR: dict[str, str] = {
    **CATEGORY_LABELS_FR,
    "unsure": "incertain (confirmation demandée)",
}

# -- rules ------------------------------------------------------------------------------------

_CATEGORY_SHORT_FR = {
    "personal": "données personnelles",
    "health": "données de santé",
    "confidential": "informations confidentielles",
    "secret": "secrets d'authentification",
    UNINSPECTABLE: "contenu non inspectable",
}

#: The rules recorded in ``rule_ids`` (policies/decision.py, gateway/pipeline.py, the adapters and the
#: API ingress), by family: ``charter.*`` the charter's matrix, ``service.*`` the catalogue,
#: ``request.*`` / ``auth.*`` / ``gateway.*`` / ``upstream.*`` technical refusals.
RULE_LABELS_FR: dict[str, str] = {
    **{f"charter.{c}": f"charte : {label}" for c, label in _CATEGORY_SHORT_FR.items()},
    "charter.compliant": "charte : service conforme",
    "charter.non_compliant": "charte : service non conforme",
    "service.accepts": "service : catégorie acceptée par le service",
    "service.denied": "service interdit par l'établissement",
    "service.unknown": "service hors catalogue",
    "discovery.listed": "découverte : service d'IA connu, hors catalogue",
    "policy.uninspectable_allowed": "politique : contenu non inspectable autorisé",
    "detect.unsure": "détection incertaine",
    "warn.ack_required": "avertissement : confirmation demandée",
    "warn.acknowledged": "avertissement : confirmé par l'utilisateur",
    "warn.ack_invalid": "avertissement : confirmation invalide ou expirée",  # the browser path
    "auth.failed": "authentification : clé absente ou invalide",
    "request.aborted": "requête : envoi interrompu",
    "request.body_timeout": "requête : envoi trop lent",
    "request.invalid": "requête : invalide",
    "request.invalid_json": "requête : JSON invalide",
    "request.invalid_model": "requête : modèle invalide",
    "request.invalid_multipart": "requête : formulaire (multipart) invalide",  # the browser path
    "request.invalid_unicode": "requête : texte mal encodé",
    "request.method": "requête : méthode HTTP non prise en charge",
    "request.missing_model": "requête : modèle absent",
    "request.rate_limited": "requête : trop de requêtes",
    "request.too_deep": "requête : structure trop imbriquée",
    "request.too_large": "requête : trop volumineuse",
    "request.too_large_to_scan": "requête : trop volumineuse pour être inspectée",
    "request.unknown_endpoint": "requête : adresse inconnue",
    "request.unsupported_encoding": "requête : compression non prise en charge",
    "gateway.audit_failure": "passerelle : journal d'audit indisponible",
    "gateway.busy": "passerelle : saturée",
    "gateway.detector_failure": "passerelle : échec des détecteurs",
    "gateway.models_list": "passerelle : liste des modèles",
    "gateway.scan_timeout": "passerelle : inspection trop longue",
    "upstream.not_configured": "fournisseur : non configuré",
    # the institution's charter, accepted before first use (not the charter's decision matrix above)
    "charter_ack.required": "charte : acceptation requise",
    "charter_ack.accepted": "charte : acceptée par l'utilisateur",
    "charter_ack.invalid": "charte : acceptation invalide ou expirée",
}

#: A rule's family, for the labels of rules added after this table.
RULE_FAMILIES_FR = {
    "charter": "charte", "service": "service", "policy": "politique", "detect": "détection",
    "warn": "avertissement", "auth": "authentification", "request": "requête", "gateway": "passerelle",
    "upstream": "fournisseur", "discovery": "découverte", "charter_ack": "charte (acceptation)",
}


def rule_fr(code: str | None) -> str:
    """The French label of a rule id; an unknown one reads as « famille : nom » (``request.new_thing``
    → « requête : new thing »), never as nothing."""
    if not code:
        return ""
    if code in RULE_LABELS_FR:
        return RULE_LABELS_FR[code]
    family, _, name = code.partition(".")
    if not name:
        return code.replace("_", " ")
    return f"{RULE_FAMILIES_FR.get(family, family)} : {name.replace('_', ' ').replace('.', ' ')}"


# -- the admin access log ---------------------------------------------------------------------

#: ``admin_access_log.outcome``.
ACCESS_OUTCOME_LABELS_FR = {
    "ok": "accordé",
    "denied": "refusé (rôle)",
    "unauthenticated": "non authentifié",
    "invalid": "invalide (paramètres)",
}

#: ``admin_access_log.action``: what was read (API, dashboard, command line).
ACCESS_ACTION_LABELS_FR = {
    "login": "connexion",
    "dashboard": "tableau de bord",
    "decisions.list": "liste des décisions",
    "decisions.get": "détail d'une décision",
    "stats": "statistiques",
    "export.csv": "export CSV",
    "export.jsonl": "export JSONL",
    "access_log.list": "journal des accès",
    "access_log.export": "export du journal des accès",
    "config.get": "configuration en service",
    "config.reload": "rechargement de la configuration",
    "discovery": "IA hors catalogue",
    "discovery.draft": "brouillon de fiche catalogue",
    "register": "registre des systèmes d'IA",
    "register.export": "export du registre",
    "weekly": "synthèse hebdomadaire",
    "weekly.export": "export de la synthèse hebdomadaire",
    "sobriety": "sobriété",
    "acceptances.list": "acceptations de la charte",
    "acceptances.export": "export des acceptations de la charte",
}

#: ``admin_access_log.channel``.
ACCESS_CHANNEL_LABELS_FR = {"api": "API", "dashboard": "tableau de bord", "cli": "ligne de commande"}

#: ``impact_status``: how a request's energy and CO2e were estimated, or why they were not.
IMPACT_STATUS_LABELS_FR = {
    "estimated": "estimé (EcoLogits)",
    "unknown_model": "non estimé : modèle inconnu d'EcoLogits",
    "no_usage": "non estimé : jetons non communiqués par le fournisseur",
}

#: ``notice``: what the answer suggested to the person.
NOTICE_LABELS_FR = {"long_conversation": "conversation longue : nouvelle conversation suggérée"}

#: Admin roles.
ROLE_LABELS_FR = {"dpo": "DPO", "rssi": "RSSI", "admin": "administrateur"}

#: Query parameters as the access log shows them.
PARAM_LABELS_FR = {
    "since": "depuis", "until": "jusqu'au", "decision": "décision", "service": "service", "client": "client",
    "department": "département", "category": "catégorie", "finding_type": "type détecté", "limit": "nombre",
    "cursor": "page", "group_by": "regroupement", "id": "identifiant", "output": "fichier", "user": "utilisateur",
    "action": "action", "outcome": "résultat", "host": "hôte", "week": "semaine", "format": "format", "version": "version",
}
