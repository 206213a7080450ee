"""The charter's decision matrix as a pure function over data.

Charter (AP-HP SIAE annex, Isère charter): sensitive content never goes to an external service;
non-sensitive content is fine on a compliant service and only with a warning on a non-compliant one;
an internal tool may receive what its catalogue entry ``accepts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from policies.catalogue import Service, client_name, is_compliant
from policies.vocabulary import CATEGORIES, UNINSPECTABLE

Action = Literal["allow", "warn", "block"]

SENSITIVE = CATEGORIES

CATEGORY_LABELS_FR = {
    "personal": "données personnelles",
    "health": "données de santé",
    "confidential": "informations confidentielles ou stratégiques",
    "secret": "secrets d'authentification (clé, jeton, mot de passe)",
    UNINSPECTABLE: "contenu non inspectable (image, audio ou fichier)",
}


@dataclass(frozen=True)
class Policy:
    warn_mode: Literal["forward", "require_ack"] = "forward"
    uninspectable: Literal["block", "allow"] = "block"


@dataclass(frozen=True)
class Decision:
    action: Action
    rule_ids: tuple[str, ...]
    reasons: tuple[str, ...]
    categories: tuple[str, ...] = ()
    #: For ``warn`` under ``require_ack``: refused until the client acknowledges.
    ack_required: bool = False
    blocked_categories: tuple[str, ...] = field(default=())

    @property
    def forwarded(self) -> bool:
        return self.action == "allow" or (self.action == "warn" and not self.ack_required)


def labels_fr(categories) -> str:
    return ", ".join(CATEGORY_LABELS_FR.get(c, c) for c in categories)


def decide(
    categories: tuple[str, ...] | list[str],
    service: Service | None,
    policy: Policy,
    *,
    service_ref: str | None = None,
    acknowledged: bool = False,
) -> Decision:
    cats = tuple(c for c in (*SENSITIVE, UNINSPECTABLE) if c in set(categories))
    if service is None:
        ref = client_name(service_ref) or "(aucun)"
        return Decision(
            "block",
            ("service.unknown",),
            (f"Le service « {ref} » n'est pas dans le catalogue des services autorisés.",),
            cats,
        )
    if service.status == "denied":
        return Decision(
            "block",
            ("service.denied",),
            (f"Le service « {service.name} » est interdit par la politique de l'établissement.",),
            cats,
        )

    refused = [c for c in cats if c in SENSITIVE and c not in service.accepts]
    if UNINSPECTABLE in cats and UNINSPECTABLE not in service.accepts:
        if policy.uninspectable == "block" and service.hosting != "internal":
            refused.append(UNINSPECTABLE)
    if refused:
        rules = tuple(f"charter.{c}" for c in refused)
        reason = (
            f"La requête contient des {labels_fr(refused)}, que la charte interdit d'envoyer "
            f"au service « {service.name} »."
        )
        return Decision("block", rules, (reason,), cats, blocked_categories=tuple(refused))

    if is_compliant(service):
        return Decision("allow", ("charter.compliant",), ("Service conforme, aucune donnée sensible détectée.",), cats)

    reason = (
        f"Le service « {service.name} » n'est pas conforme à la charte (hébergement hors UE ou "
        "réutilisation des données pour l'entraînement) : à n'utiliser qu'en l'absence d'alternative, "
        "sans aucune donnée sensible."
    )
    if policy.warn_mode == "require_ack" and not acknowledged:
        return Decision("warn", ("charter.non_compliant", "warn.ack_required"), (reason,), cats, ack_required=True)
    return Decision("warn", ("charter.non_compliant",), (reason,), cats)
