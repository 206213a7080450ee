"""Health and HR health of the staff, described by their role: "notre cadre est en arrêt longue
maladie pour un cancer", "une de mes ASH est enceinte", "l'IDE de nuit (celle qui a fait un
burn-out)", "un agent m'a confié qu'il est séropositif", "our night nurse is off sick with burnout".

A staff member is named by a role (cadre, IDE, ASH, éduc, agent, collègue, interne, secrétaire... and
their English equivalents) introduced as someone in particular ("notre", "mon", "une de mes", "l'",
"cette", "our", "my", "one of my"); a health or HR-health term (sick leave, long-term illness, burn-out,
pregnancy, HIV, cancer, work accident, AES, mi-temps thérapeutique, RQTH...) must follow in the same
sentence. General HR questions ("comment gérer un arrêt maladie ?", "les droits d'une salariée
enceinte") have no such person and are not reported. A role followed by a first name and a surname
("Staff member Claire Dubois", "l'infirmière Julie Martin") is someone in particular too; care of
one's own ("a rdv chez le psy tous les mardis", "undergoing IVF") is a health term like sick leave.
"""

from __future__ import annotations

import re

from detectors.context import KeywordGate, ScanContext
from detectors.recognizer import BaseRecognizer

_ROLE = (
    r"cadres?(?:\s+de\s+sant[ée])?|ide|ides|infirmi[èe]re?s?|aides?-soignante?s?|as|ash|aes|amp|auxiliaires?|"
    r"[ée]ducs?|[ée]ducat(?:eur|rice)s?|moniteur(?:-[ée]ducateur)?s?|monitrices?|m[ée]decins?|internes?|externes?|"
    r"kin[ée]s?|psychologues?|psys?|agents?|coll[èe]gues?|collaborat(?:eur|rice)s?|salari[ée]e?s?|stagiaires?|"
    r"secr[ée]taires?|directr?(?:ice|eur)s?|responsables?|chefs?|adjointe?s?|brancardiers?|sages?-femmes?|"
    r"veilleu(?:r|se)s?|assistante?s?\s+sociale?s?|ergoth[ée]rapeutes?|orthophonistes?|psychomotricien(?:ne)?s?|"
    r"pr[ée]parat(?:eur|rice)s?|pharmaciens?|manipulat(?:eur|rice)s?|techniciens?|ouvriers?|cuisiniers?|"
    r"lingères?|ma[îi]tresses?\s+de\s+maison|conducteurs?|chauffeurs?|[ée]quipi(?:er|[èe]re)s?|"
    r"brigadiers?(?:-chefs?)?|gardiens?(?:-brigadiers?)?|policiers?|polici[èe]res?|asvp|"
    r"nurses?|colleagues?|staff\s+member|employees?|co-?workers?|team\s+member|manager|resident\s+doctor|intern|"
    r"care\s+assistant|social\s+worker|secretary|head\s+nurse|midwife|physician|doctor|hcas?|healthcare\s+assistant|porter|"
    r"receptionist|team\s+leader|ward\s+manager|charge\s+nurse|paramedic|pharmacist|technician"
)
# Someone in particular: a possessive or demonstrative ("notre cadre", "cette ASH", "l'IDE de nuit")...
_WHO = (
    r"(?:l'|l’|(?:notre|nos|mon|ma|mes|ton|ta|votre|leur|cette|ce|cet|une?\s+de\s+(?:mes|nos)|j'ai\s+une?|i\s+have\s+an?|"
    r"une?\s+des|our|my|one\s+of\s+(?:my|our)|this)\s+(?:[\w-]+\s+){0,2}?)"
)
# ... or one named by first name and surname ("Staff member Claire Dubois", "infirmière Julie Martin");
# the words of a longer title ("Directeur Général Adjoint") are no name.
_NAMED = (
    r"\s+(?-i:(?!(?:G[ée]n[ée]ral|Adjoint|D[ée]l[ée]gu[ée]|Qualit[ée]|Technique|M[ée]dical|Principal|Hospitalier|"
    r"Territorial|R[ée]gional|National|D[ée]partemental|Administratif|Financier|Sant[ée]|Soins)e?s?\b)"
    r"[A-ZÀ-Ý][a-zß-ÿ]+(?:-[A-ZÀ-Ý][a-zß-ÿ]+)?\s+[A-ZÀ-Ý][A-ZÀ-Ýa-zß-ÿ'-]+)"
)
# ... or an indefinite one who did or told something ("un agent m'a confié qu'il...").
_SOMEONE = r"(?:un|une|a)\s+"
_DID = r"\s+(?:m'a|m’a|nous\s+a|vient\s+de|s'est|a\s+(?:été|eu|fait|dit)|told\s+me|has|was|is)\b"
_TERM = (
    r"infarctus|\bavc\b|inapte|dependen(?:ce|cy)|d[ée]pendance|"
    r"arr[êe]ts?\s+(?:de\s+travail|maladie)|en\s+arr[êe]t|cong[ée]\s+(?:de\s+)?maternit[ée]|maternity\s+leave|accouch\w+|arr[êe]t[ée]e?\b|longue\s+maladie|cong[ée]\s+(?:maladie|longue)|"
    r"mi-temps\s+th[ée]rapeutique|accident\s+du\s+travail|accident\s+(?:de\s+service|de\s+trajet|imputable)|maladie\s+professionnelle|"
    r"\bcitis\b|\bclm\b|\bcld\b|\bcmo\b|\bat\b|\baes\b|autis\w+|(?:pris|pos[ée])\s+(?:\d+|plusieurs|des|deux|trois)\s+arr[êe]ts|burn-?out|[ée]puisement\s+professionnel|"
    r"d[ée]pression|d[ée]prim[ée]e?|enceinte|grossesse|fausse\s+couche|ivg|s[ée]ropositi(?:f|ve)|\bvih\b|cancer|chimio\w*|"
    r"tumeur|leuc[ée]mie|scl[ée]rose|diab[éèe]t\w+|[ée]pilep\w+|hospitalis[ée]e?|op[ée]r[ée]e?\b|rqth|invalidit[ée]|"
    r"inaptitude|handicap|addiction|alcool\w*|toxicoman\w*|suicid\w*|tentative\s+de\s+suicide|bipolaire|schizo\w*|"
    r"maladie|malade|sick\s+leave|off\s+sick|burnout|pregnan\w+|miscarriage|hiv|chemo\w*|depress\w+|"
    r"hospitali[sz]ed|disability|medical\s+leave|rehab|diagnosed\s+with|(?:had|having|needs?|undergo\w*|after|recovering\s+from)\s+(?:an?\s+)?(?:\w+\s+)?surgery|mental\s+health\s+(?:issues?|problems?|crisis)|anxiety|panic\s+attacks?|"
    r"eating\s+disorder|drinking\s+problem|substance\s+(?:use|abuse)|occupational\s+health|fit\s+note|sick\s+note|"
    r"anxi[ée]t[ée]|crises?\s+d['’ ]angoisse|troubles?\s+(?:anxieux|alimentaires?|psychiques?|psychiatriques?)|diagnostiqu[ée]e?|"
    # fertility treatment, and care of one's own: "a rdv chez le psy", "voit un psychiatre", "in therapy"
    r"\bfiv\b|\bpma\b|\bivf\b|fertilit\w+|proc[ée]ation\s+m[ée]dicalement|"
    r"(?:rdv|rendez-vous|consultations?|s[ée]ances?|suivie?|appointments?|sessions?|voit|va\s+voir|va\s+chez|consulte|sees?)"
    r"\s+(?:[\w'-]+\s+){0,3}?(?:psy\b|psys\b|psychiatr\w*|psycholog\w*|psychoth[ée]rap\w*|th[ée]rapeute|addictolog\w*|"
    r"oncolog\w*|cmp\b|csapa\b|therapist|counsell?or)|\bin\s+therapy\b"
)
# ... or "la secrétaire de direction est en congé maternité": the one of the team, said to be so.
_THE = r"(?:le|la|les|the)\s+"
_IS = (r"(?:\s+(?:de|du|des|d'|of)(?:\s*[\w'-]+){1,3}?)?\s+(?:est|sont|a\s+été|a\s+fait|a\s+eu|ont\s+été|sera|vient\s+de|s'est|"
       r"is|has\s+been|has\s+had|was|had)\b")
_PATTERN = re.compile(
    rf"(?:\b{_WHO}(?:{_ROLE})\b|\b(?:{_ROLE}){_NAMED}|\b{_SOMEONE}(?:{_ROLE})(?={_DID})|\b{_THE}(?:{_ROLE})(?={_IS}))"
    rf"[^.!?\n]{{0,120}}?(?:{_TERM})",
    re.IGNORECASE
)
#: characters searched before a trigger word (a possessive, a role, a name, 120 characters) and after it
_BEFORE, _AFTER = 300, 80
_GATE = KeywordGate([(w, "t") for w in (
    "arrêt", "arret", "maladie", "malade", "mi-temps", "accident", "aes", "burn", "épuisement", "epuisement",
    "dépress", "depress", "déprim", "enceinte", "grossesse", "fausse couche", "ivg", "séropo", "seropo", "vih", "hiv",
    "cancer", "chimio", "chemo", "tumeur", "leucémie", "sclérose", "diabét", "diabet", "épilep", "hospitalis",
    "opéré", "rqth", "invalidit", "inaptitude", "handicap", "addiction", "alcool", "toxicoman", "suicid", "bipolaire",
    "schizo", "sick", "pregnan", "miscarriage", "disability", "medical leave", "rehab", " at ", "opérée",
    "fiv", "pma", "ivf", "fertil", "procréation", "psy", "thérap", "therap", "addicto", "oncolog", "cmp", "csapa",
    "counsel", "citis", "clm", "cld", "cmo", "professionnelle", "autis", "diagnos", "surgery", "mental", "anxi", "panic",
    "eating", "drinking", "substance", "occupational", "fit note", "angoisse", "troubles",
    "maternit", "accouch", "infarctus", "avc", "inapte", "dependen", "dépendance",
    "dependance", "leucemie", "sclerose", "epilep", "opere", "hospitaliz", "procreation", "congé", "conge", "diabè",
    "at,", "at.", "(at", "at)", "\nat ",
)])


class StaffHealthRecognizer(BaseRecognizer):
    name = "staff_health"

    def analyze_ctx(self, ctx: ScanContext):
        # A match ends on its health term, whose trigger word the gate finds: the pattern is searched
        # only in the stretch before each trigger (who, role, up to 120 characters, the term).
        windows: list[list[int]] = []
        n = len(ctx.text)
        for start, end, _ in _GATE.hits(ctx):
            a, b = max(0, start - _BEFORE), min(n, end + _AFTER)
            if windows and a <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], b)
            else:
                windows.append([a, b])
        out = []
        last = -1
        for a, b in windows:
            ctx.check(self.name)
            for m in _PATTERN.finditer(ctx.text, max(a, last), b):
                out.append(ctx.finding("HEALTH_DATA", "health", m.start(), m.end(), 0.85, self.name))
                last = m.end()
        return out
