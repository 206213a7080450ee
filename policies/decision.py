"""The charter's decision matrix as a pure function over data.

Charter (AP-HP SIAE annex, Isère charter): sensitive content never goes to an external service;
non-sensitive content is fine on a compliant service and only with a warning on a non-compliant one;
an internal tool may receive what its catalogue entry ``accepts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from policies.catalogue import Service, client_name, is_compliant
from policies.discovery import ListedService
from policies.vocabulary import CATEGORIES, CATEGORY_LABELS_FR, UNINSPECTABLE, Action

__all__ = ["CATEGORY_LABELS_FR", "Action", "Decision", "Policy", "decide", "labels_fr"]

SENSITIVE = CATEGORIES



@dataclass(frozen=True)
class Policy:
    warn_mode: Literal["forward", "require_ack"] = "forward"
    uninspectable: Literal["block", "allow"] = "block"
    #: a recognised AI service outside the catalogue (``listed``): blocked, or a warning
    unknown_service: Literal["block", "warn"] = "block"


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
    unsure: tuple[str, ...] | list[str] = (),
    listed: ListedService | None = None,
) -> Decision:
    """``listed``: the AI service of the discovery list an unknown destination belongs to (the browser
    path), decided by ``policy.unknown_service`` instead of being refused as nobody's."""
    cats = tuple(c for c in (*SENSITIVE, UNINSPECTABLE) if c in set(categories))
    if service is None and listed is not None:
        return _unknown_ai(cats, listed, policy, acknowledged)
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

    doubted = [c for c in SENSITIVE if c in set(unsure) and c not in cats and c not in service.accepts]
    if doubted:  # the classifier's confirmation band: the person says whether it is real data
        reason = (f"Le texte ressemble à des {labels_fr(doubted)}, sans certitude : vérifiez qu'il ne contient "
                  f"aucune donnée réelle (patient, agent, document interne) avant de l'envoyer au service "
                  f"« {service.name} ».")
        if not acknowledged:
            return Decision("warn", ("detect.unsure", "warn.ack_required"), (reason,), cats, ack_required=True)
        return Decision("warn", ("detect.unsure", "warn.acknowledged"), (reason,), cats)

    if is_compliant(service):
        return Decision("allow", *_allowed_because(cats, service), cats)

    reason = (
        f"Le service « {service.name} » n'est pas conforme à la charte (hébergement hors UE ou "
        "réutilisation des données pour l'entraînement) : à n'utiliser qu'en l'absence d'alternative, "
        "sans aucune donnée sensible."
    )
    if policy.warn_mode == "require_ack" and not acknowledged:
        return Decision("warn", ("charter.non_compliant", "warn.ack_required"), (reason,), cats, ack_required=True)
    return Decision("warn", ("charter.non_compliant",), (reason,), cats)


def _allowed_because(cats: tuple[str, ...], service: Service) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Rules and reason of an ``allow`` that say what was let through, and why."""
    accepted = [c for c in cats if c in service.accepts]
    unread = UNINSPECTABLE in cats and UNINSPECTABLE not in service.accepts
    if not accepted and not unread:
        return ("charter.compliant",), ("Service conforme, aucune donnée sensible détectée.",)
    rules, reasons = [], []
    if accepted:
        where = "ce service interne" if service.hosting == "internal" else f"le service « {service.name} »"
        rules.append("service.accepts")
        reasons.append(f"Service conforme : {labels_fr(accepted)} acceptées par {where}.")
    if unread:
        rules.append("policy.uninspectable_allowed")
        reasons.append("Contenu non inspectable transmis sans contrôle (politique de l'établissement).")
    return tuple(rules), tuple(reasons)


def _unknown_ai(cats: tuple[str, ...], listed: ListedService, policy: Policy, acknowledged: bool) -> Decision:
    """A generative-AI service the institution has not catalogued (shadow AI): nothing sensitive may go
    to it, and it is blocked or warned about as the policy says."""
    rules = ("service.unknown", "discovery.listed")
    what = f"« {listed.name} » ({listed.kind_fr})"
    refused = [c for c in cats if c in SENSITIVE]
    if UNINSPECTABLE in cats and policy.uninspectable == "block":
        refused.append(UNINSPECTABLE)
    if refused:
        reason = (f"La requête contient des {labels_fr(refused)}, que la charte interdit d'envoyer au service "
                  f"d'IA {what}, qui n'est pas dans le catalogue de l'établissement.")
        return Decision("block", (*rules, *(f"charter.{c}" for c in refused)), (reason,), cats,
                        blocked_categories=tuple(refused))
    if policy.unknown_service == "block":
        reason = (f"Le service d'IA {what} n'est pas dans le catalogue des services autorisés de l'établissement : "
                  "demandez au DPO ou à la DSN de l'évaluer.")
        return Decision("block", rules, (reason,), cats)
    reason = (f"Le service d'IA {what} n'a pas été évalué par l'établissement (hors catalogue) : à n'utiliser "
              "qu'en l'absence d'alternative, sans aucune donnée sensible. Cet usage est signalé au DPO.")
    if policy.warn_mode == "require_ack" and not acknowledged:
        return Decision("warn", (*rules, "warn.ack_required"), (reason,), cats, ack_required=True)
    return Decision("warn", rules, (reason,), cats)
