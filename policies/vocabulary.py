"""The project's vocabulary, defined once: categories, decisions, service attributes and admin roles.

The detectors, the policy, the configuration, the audit queries, the CLI and the dashboard all take
their words from here. A category outside this vocabulary would be picked up by no rule, so every
place that names one (a dictionary term's ``category``, a service's ``accepts``) is typed with these
literals and checked when the configuration is loaded.
"""

from __future__ import annotations

from typing import Literal, get_args

#: A sensitive category a detector can report.
Category = Literal["personal", "health", "confidential", "secret"]

#: Sensitive categories, in the order used in messages.
CATEGORIES: tuple[str, ...] = get_args(Category)

#: Content the gateway cannot inspect (image, audio, file).
UNINSPECTABLE = "uninspectable"

#: What a service may be allowed to receive (``accepts``) and what an audit record may list.
AuditCategory = Literal[Category, "uninspectable"]
AUDIT_CATEGORIES: tuple[str, ...] = (*CATEGORIES, UNINSPECTABLE)

CATEGORY_LABELS_FR = {
    "personal": "données personnelles",
    "health": "données de santé",
    "confidential": "informations confidentielles ou stratégiques",
    "secret": "secrets d'authentification (clé, jeton, mot de passe)",
    UNINSPECTABLE: "contenu non inspectable (image, audio ou fichier)",
}

#: What happened to a request. ``block`` is the charter stopping content; ``refuse`` is a technical
#: refusal (malformed request, bad key, too large, unknown route, the gateway unable to inspect or
#: to record): nothing was forwarded in either case, but only ``block`` counts as a stopped leak.
Action = Literal["allow", "warn", "block", "refuse"]
DECISIONS: tuple[str, ...] = get_args(Action)
DECISION_LABELS_FR = {"allow": "autorisée", "warn": "avertissement", "block": "bloquée", "refuse": "refusée (technique)"}
DECISION_PLURALS_FR = {"allow": "autorisées", "warn": "avertissements", "block": "bloquées",
                       "refuse": "refusées (technique)"}

#: Where a service runs, which wire format it speaks, whether the institution allows it.
Hosting = Literal["eu", "non-eu", "internal"]
Api = Literal["openai", "anthropic"]
#: The wire format of a request as the audit records it: a service API, or ``web`` (the browser path).
Wire = Literal["openai", "anthropic", "web"]
ServiceStatus = Literal["allowed", "denied"]
#: An AI web app whose own streaming reply the browser proxy can write (``gateway/proxy/apps/``), so
#: that a refusal shows in the app's conversation: ChatGPT, Le Chat, Claude.
WebApp = Literal["chatgpt", "lechat", "claude"]

#: The register of AI systems (ESMS guide, AI Act): a service's risk level under the AI Act and the
#: state of its data-protection impact assessment (AIPD).
AiActRisk = Literal["unacceptable", "high", "limited", "minimal"]
AI_ACT_RISK_LABELS_FR = {"unacceptable": "inacceptable", "high": "élevé", "limited": "limité", "minimal": "minimal"}
DpiaStatus = Literal["not_required", "to_do", "in_progress", "done"]
DPIA_LABELS_FR = {"not_required": "non requise", "to_do": "à réaliser", "in_progress": "en cours", "done": "réalisée"}
HOSTING_LABELS_FR = {"eu": "Union européenne", "non-eu": "hors Union européenne", "internal": "interne (établissement)"}
STATUS_LABELS_FR = {"allowed": "autorisé", "denied": "interdit"}

#: Roles on the admin listener (their permissions: ``gateway/admin/auth.py``).
Role = Literal["dpo", "rssi", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
