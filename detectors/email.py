"""E-mail addresses, including obfuscated spellings.

Handles "jean.dupont@chu.fr", "jean.dupont [at] chu [dot] fr", "jean.dupont (arobase) chu point fr",
"jean dot dupont at chu dot fr", homoglyphs (via normalisation) and a line break next to the "@".
"""

from __future__ import annotations

import re

from detectors.context import ScanContext
from detectors.offline import is_public_suffix
from detectors.recognizer import BaseRecognizer

_AT = r"(?:\s{0,2}@\s{0,2}|\s*[\[({<]\s*(?:at|arobase|@)\s*[\])}>]\s*|\s+(?:at|arobase)\s+)"
_DOT = r"(?:\.|\s*[\[({<]\s*(?:dot|point|\.)\s*[\])}>]\s*|\s+(?:dot|point)\s+)"
_LOCAL = r"[\w+\-]+(?:" + _DOT + r"[\w+\-]+)*"
_TLD = r"[a-z]{2,12}"
_EMAIL = re.compile(
    r"(?<![\w.+\-])" + _LOCAL + _AT + r"[\w\-]+(?:" + _DOT + r"[\w\-]+)*" + _DOT + _TLD + r"(?![\w\-])",
    re.IGNORECASE,
)
_CUES = re.compile(r"@|\bat\b|arobase", re.IGNORECASE)
# Spelled-out separators ("at", "dot", "point") are only trusted with a real top-level domain.
_COMMON_TLDS = frozenset(
    "fr com org net eu gouv be ch lu ca de es it uk io info biz re gp mq gf yt pf nc pm bzh paris".split()
)


# A functional mailbox (accueil@, secretariat.geriatrie@, ccas@, dpo@...) is an institution's, no
# person's: every part of its local part is a function, a service or a kind of institution.
_FUNCTIONAL = frozenset("""
accueil accueils contact contacts info infos information informations secretariat secretariats secr sec
communication com presse press media medias commercial commerciale commerciaux ventes vente sales rh drh grh
recrutement recrutements jobs emploi emplois carrieres paie dpo rgpd cil direction dg dga daf dsi si informatique
support helpdesk hotline assistance admin administration standard service services admission admissions
entrees bureau facturation factures compta comptabilite tresorerie achats achat marches marchespublics juridique
qualite pharmacie urgences urgence geriatrie cardiologie pediatrie maternite radiologie imagerie laboratoire labo
consultation consultations rdv rendezvous courrier courriers mail noreply no reply ne pas repondre webmaster
postmaster abuse security securite ssi rssi cybersecurite famille familles benevoles benevolat stages stage
formation formations ifsi ifas ecole scolarite social sociale usagers relations cdu plaintes reclamations
mediation evenements ccas cias mairie ehpad ime esat mecs itep sessad foyer pmi ase crèche creche cmp cmpp
hdj pole unite chirurgie medecine psychiatrie oncologie neurologie pneumologie gastro nephrologie dialyse
rehabilitation ssr usld smr reanimation bloc anesthesie kine reeducation dietetique diet logistique technique
travaux biomedical hygiene eoh cme codir directoire ght ars cpam caf mdph dossiers archives dim pmsi
patients patient residents resident public publique hello bonjour equipe team office general generale
animation animations astreinte astreintes anciens alumni etat civil etatcivil elections urbanisme population
pharmacy orders order commandes commande photos album enquiries enquiry appointments appointment billing bookings
booking reception frontdesk careers hr it news newsletter events volunteers marketing procurement purchasing
finance accounts payroll staff personnel agents medecins cadres ide infirmiers soignants liste listes diffusion
mailing list lists tous all members membres adherents dons donations culture sport jeunesse enfance scolaire
cantine periscolaire transport voirie dechets environnement tourisme police municipale mds fsl solidarites
solidarite logement rsa insertion autonomie apa vaccination centre maison espace tierslieux projets appel appels
""".split())


def _functional(value: str) -> bool:
    local = re.split(r"\s*(?:@|[\[({<]\s*(?:at|arobase)\s*[\])}>]|\s(?:at|arobase)\s)", value, maxsplit=1)[0]
    parts = [p for p in re.split(r"[._+\-\s]+|\b(?:dot|point)\b", local.lower()) if p]
    return bool(parts) and all(p in _FUNCTIONAL or p.isdigit() for p in parts)


class EmailRecognizer(BaseRecognizer):
    name = "email"

    def analyze_ctx(self, ctx: ScanContext):
        if not _CUES.search(ctx.text):
            return []
        out = []
        for m in _EMAIL.finditer(ctx.text):
            value = m.group()
            tld = re.split(r"\W+", value.rstrip().lower())[-1]
            if "@" not in value and tld not in _COMMON_TLDS:
                continue
            if not is_public_suffix("x." + tld):
                continue
            if _functional(value):
                continue
            out.append(ctx.finding("EMAIL_ADDRESS", "personal", m.start(), m.end(), 0.95, self.name))
        return out
