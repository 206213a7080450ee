"""What a person reads when Garde-fou blocks or warns, composed in one place with the institution's settings.

The configuration's ``institution`` section names whom to contact (the DPO, the DSN: a name, an
e-mail, a phone number, or one free French sentence), the institution's charter (a link) and its
internal AI tool (a name and, optionally, a link). ``Messages`` writes them into every block and
warning message, whatever the surface:

* the API path: the error ``message`` of a block or of a warning to acknowledge, and the
  ``X-Gardefou-Warning`` header of a forwarded warning (``block``, ``warning``);
* the browser path: the block, warning and refusal pages (``gateway/proxy/templates`` read the
  sentences from here) and the replies written in a web app's own format (``conversation``).

The decision's ``reasons`` (the charter's rule, as recorded in the audit) are not changed: the
institution's words are added around them. Without an ``institution`` section the texts are the
generic ones (the DPO or the DSN of the institution, the charter without a link, the catalogue's
internal services as the tool). Texts avoid characters outside Latin-1 (an HTTP header carries them).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from policies.catalogue import Catalogue, Service, parse_host_entry
from policies.decision import Decision, labels_fr

_URL = r"^https?://[^\s<>\"']+$"
_EMAIL = r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$"

#: how to acknowledge a warning, as each ingress says it
ACK_HINT_API = (" Pour confirmer l'envoi malgré cet avertissement, renvoyez la requête avec l'en-tête "
                "« X-Gardefou-Ack: 1 ».")
ACK_HINT_BROWSER = (" Ouvrez ce service dans un onglet du navigateur et confirmez l'avertissement (« Continuer ») "
                    "avant de l'utiliser.")

DEFAULT_CONTACT = "le délégué à la protection des données (DPO) de l'établissement ou la DSN"
CHARTER = "charte d'usage des services d'IA externes"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(_Strict):
    """Someone to ask: a role (``DPO``, ``DSN``, ``RSSI``...) and at least one of a name, an e-mail, a phone."""

    role: str | None = Field(None, min_length=1, max_length=60)
    name: str | None = Field(None, min_length=1, max_length=120)
    email: str | None = Field(None, pattern=_EMAIL, max_length=254)
    phone: str | None = Field(None, min_length=1, max_length=40)

    @model_validator(mode="after")
    def _reachable(self) -> Contact:
        if not (self.name or self.email or self.phone):
            raise ValueError("a contact needs at least a name, an email or a phone")
        return self

    def text(self) -> str:
        """``DPO (Marie Martin, dpo@chu.fr, 01 23 45 67 89)``; ``Marie Martin (dpo@chu.fr)``; ``dsn@chu.fr``."""
        details = [d for d in (self.name, self.email, self.phone) if d]
        if self.role:
            return f"{self.role} ({', '.join(details)})"
        if self.name and len(details) > 1:
            return f"{self.name} ({', '.join(details[1:])})"
        return ", ".join(details)


class InternalTool(_Strict):
    """The institution's own AI tool, offered instead of an external service."""

    name: str = Field(min_length=1, max_length=120)
    url: str | None = Field(None, pattern=_URL, max_length=500)


class Institution(_Strict):
    """The configuration's ``institution`` section (every key optional)."""

    #: whom to ask (in this order); or ``contact_text``, one French sentence used as it is written
    contacts: tuple[Contact, ...] = ()
    contact_text: str | None = Field(None, min_length=1, max_length=500)
    #: the institution's charter of use of AI services (unset: the ``charter.url`` of a charter to accept)
    charter_url: str | None = Field(None, pattern=_URL, max_length=500)
    #: offered instead of the external service; unset: the catalogue's internal services (``hosting: internal``)
    internal_tool: InternalTool | None = None

    @field_validator("contact_text")
    @classmethod
    def _one_contact_form(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v and info.data.get("contacts"):
            raise ValueError("give contacts or contact_text, not both")
        return v


@dataclass(frozen=True)
class Tool:
    name: str
    url: str | None = None

    def text(self) -> str:
        return f"{self.name} ({self.url})" if self.url else self.name


def catalogue_tools(catalogue: Catalogue) -> tuple[Tool, ...]:
    """The catalogue's allowed internal services, with a link to their first exact host."""
    return tuple(_service_tool(s) for s in catalogue.services.values()
                 if s.hosting == "internal" and s.status == "allowed")


def _service_tool(service: Service) -> Tool:
    for entry in service.hosts:
        p = parse_host_entry(entry)
        if not p.wildcard:
            return Tool(service.name, f"https://{p.name}" + (f":{p.port}" if p.port else "") + "/")
    return Tool(service.name)


class Messages:
    """Every block and warning text, for one configuration (built with the pipeline, replaced on reload)."""

    def __init__(self, institution: Institution | None = None, catalogue: Catalogue | None = None, *,
                 charter_url: str | None = None):
        """``charter_url``: the link used when the institution gives none (the charter to accept's)."""
        self.institution = institution or Institution()
        inst = self.institution
        if inst.internal_tool is not None:
            self.tools: tuple[Tool, ...] = (Tool(inst.internal_tool.name, inst.internal_tool.url),)
        else:
            self.tools = catalogue_tools(catalogue) if catalogue is not None else ()
        self.charter_url = inst.charter_url or charter_url

    # -- the institution's sentences --------------------------------------------------------------
    def contact(self, lead: str = "En cas de doute") -> str:
        """Whom to ask, as a sentence (``contact_text`` as it is written)."""
        inst = self.institution
        if inst.contact_text:
            return inst.contact_text
        if inst.contacts:
            return f"{lead}, contactez : " + " ; ".join(c.text() for c in inst.contacts) + "."
        return f"{lead}, contactez {DEFAULT_CONTACT}."

    def charter(self) -> str:
        """The charter, with its link when configured."""
        return f"{CHARTER} : {self.charter_url}" if self.charter_url else CHARTER

    def tools_text(self) -> str:
        """The internal tools, ``Name (url), Other`` ("" when there is none)."""
        return ", ".join(t.text() for t in self.tools)

    def _use_tool(self, verb: str) -> str:
        tools = self.tools_text()
        if not tools:
            return f"{verb} un outil interne autorisé."
        return f"{verb} l'outil interne de l'établissement : {tools}."

    # -- the API path -----------------------------------------------------------------------------
    def block(self, decision: Decision) -> str:
        """A blocked request's error ``message``."""
        todo = ("Retirez ces éléments ou " + self._use_tool("utilisez")) if decision.blocked_categories else \
            self._use_tool("Utilisez plutôt")
        return " ".join(["Requête bloquée par Garde-fou.", *decision.reasons, todo,
                         f"Cette décision est tracée ({self.charter()}).", self.contact()])

    def warning(self, decision: Decision) -> str:
        """A warning: the ``X-Gardefou-Warning`` header of a forwarded request, or the ``message`` of a
        request refused until acknowledged (the ingress adds how to acknowledge)."""
        parts = list(decision.reasons)
        if self.tools:
            parts.append(self._use_tool("Préférez"))
        if self.charter_url:
            parts.append(f"Charte d'usage : {self.charter_url}.")
        parts.append(self.contact())
        return " ".join(parts)

    # -- the browser path: a web app's conversation -------------------------------------------------
    def conversation(self, code: str | None, service_name: str, decision: Decision, message: str | None,
                     audit_id: str | None) -> str:
        """What the person reads in a web app's conversation, in French (Markdown: the apps render it).
        It names categories (from the decision), never a value: nothing of the request is quoted."""
        ref = (f"\n\nRéférence de la décision : `{audit_id}` (à communiquer au DPO ou à la DSN)."
               if audit_id else "")
        tools = self.tools_text()
        charter = f"Charte d'usage : {self.charter_url}" if self.charter_url else ""
        if code == "gardefou_blocked":
            found = decision.blocked_categories or decision.categories
            lines = [f"**Garde-fou a bloqué ce message** : il n'a pas été envoyé à « {service_name} »."]
            if found:
                lines.append(f"Ce qui a été trouvé : {labels_fr(found)}. Seule la nature des éléments est indiquée ; "
                             "leur contenu n'est ni affiché ni conservé.")
            lines.extend(decision.reasons)
            todo = "Que faire : retirez de votre texte ou de vos fichiers les éléments signalés, puis réessayez"
            todo += f" ; ou utilisez l'outil interne de l'établissement : {tools}." if tools else "."
            lines.append(todo + " " + self.contact())
            lines.extend([charter] if charter else [])
            return "\n\n".join(lines) + ref
        if code == "gardefou_ack_required":
            lines = [f"**Garde-fou : avertissement avant d'utiliser « {service_name} »** — votre message n'a pas "
                     "encore été envoyé.", *decision.reasons,
                     "Pour continuer, rechargez la page de ce service (ou ouvrez-le dans un nouvel onglet) et "
                     "confirmez l'avertissement de Garde-fou avec le bouton « Continuer », puis renvoyez votre "
                     "message. N'y envoyez aucune donnée personnelle ou de santé, aucune information interne."]
            if tools:
                lines.append(f"Préférez l'outil interne de l'établissement : {tools}.")
            lines.extend([charter] if charter else [])
            lines.append(self.contact())
            return "\n\n".join(lines) + ref
        return f"**Garde-fou n'a pas transmis ce message.** {message or ''}".rstrip() + ref
