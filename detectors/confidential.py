"""Confidential institutional documents.

Two recognizers:

* ``ConfidentialRecognizer``: explicit markings ("CONFIDENTIEL", "diffusion restreinte", "ne pas
  diffuser", "usage interne"...) are enough on their own. Otherwise, topical terms (tenders and
  supplier prices, budgets, research protocols, patents, strategy, care organisation, IS security)
  are weighted and must be backed by signs that the text is an *internal* document of the
  institution (figures in euros, "notre établissement", meeting bodies, draft markers, named
  suppliers' offers...). Public-administration prose that merely talks about budgets or public
  procurement stays below the threshold.
* ``DictionaryRecognizer``: an institution-editable Aho-Corasick dictionary (pyahocorasick) of
  internal project names, internal domains, document-template names...
"""

from __future__ import annotations

import re

import ahocorasick

from detectors.context import GatedRegex, KeywordGate, ScanContext, WindowedPatterns
from detectors.recognizer import BaseRecognizer

_MARKINGS = re.compile(
    r"\b(?:strictement\s+)?confidentiel(?:le)?s?\s*(?:[-—–:|\]]|$)|"
    r"\[\s*confidentiel|\(\s*confidentiel|"
    r"\b(?:document|note|rapport|information|version|annexe|pi[èe]ce)s?\s+confidentiel(?:le)?s?\b|"
    r"\bstrictement\s+confidentiel|\bdiffusion\s+(?:restreinte|limit[ée]e|interdite)|\bne\s+pas\s+(?:diffuser|divulguer|transmettre|communiquer)(?!\s+(?:vos|votre|ton|tes|son|ses|le|les|leur|leurs)\s+(?:codes?|identifiants?|mots?\s+de\s+passe|mdp|badges?|acc[èe]s|pin))|"
    r"\busage\s+(?:strictement\s+)?interne\b|\bdocument\s+interne\b|\binterne\s+uniquement\b|\bnon\s+diffusable|"
    r"\bsous\s+embargo\b|\bcouvert\s+par\s+le\s+secret\s+(?:des\s+affaires|industriel)|\bdo\s+not\s+(?:distribute|share)\b(?!\s+(?:your|their|his|her|the|any)\s+(?:login|password|credentials|codes?|pin|badge|account))|"
    r"\binternal\s+use\s+only\b|\bc[23]\s*[-–:]\s*(?:interne|confidentiel|restreint)|\bdiffusion\s*:\s*(?:interne|restreinte)|"
    # an embargo with its term ("embargo strict jusqu'au conseil du 14", "under embargo until Monday")
    r"\bembargo\s+(?:strict\w*|total|absolu|jusqu'|jusqu’|until|till)|\bembargo\s*:|\b(?:under|strict)\s+embargo\b|\bembargoed\b|"
    # a heading that says the document is internal ("Rapport d'incident interne :", "Note interne —")
    r"^[ \t]*(?:rapport|note|compte[- ]rendu|fiche|m[ée]mo|bilan|retex|synth[èe]se)\b[^\n:]{0,20}?\binternes?\s*[:—–-]",
    re.MULTILINE,
)
_UPPER_MARK = re.compile(r"\bCONFIDENTIEL(?:LE)?S?\b")
_MARKING_TRIGGERS = ["confidenti", "diffusion", "ne pas", "usage", "interne", "diffusable", "embargo", "secret des",
                     "secret indus", "do not", "internal", "c2", "c3"]
_MARKING_GATE = KeywordGate([(t, "m") for t in _MARKING_TRIGGERS])

# (weight, pattern) - topical terms. Weight 2: rarely seen outside an internal document.
_TOPICS = [
    # Staff management (personal data about agents, evaluations, discipline, pay).
    (3, r"grille\s+de\s+notation|notes?\s+(?:des|de\s+chaque|obtenues?\s+par\s+les)\s+candidats|classement\s+des\s+candidats|"
        r"entretien\s+(?:annuel|professionnel)\s+(?:de|d')\s*(?:m\.|mme|monsieur|madame|[A-Z])|proc[ée]dure\s+disciplinaire|sanction\s+disciplinaire|"
        r"dossier\s+disciplinaire|rupture\s+conventionnelle\s+(?:de|avec)|bulletins?\s+de\s+(?:paie|salaire)\s+(?:de|du|d')|fiche\s+de\s+paie\s+(?:de|du|d')|"
        r"machines?\s+non\s+patch|serveurs?\s+non\s+(?:patch|mis\s+[àa]\s+jour)|postes?\s+non\s+patch|"
        r"(?:mfa|2fa|double\s+authentification|authentification\s+(?:forte|multifacteur)|antivirus|edr|chiffrement)\s+(?:non|pas|jamais)\s+"
        r"(?:encore\s+)?(?:activ|d[ée]ploy|install|configur)\w*"),
    # Intrinsically internal artefacts: enough with any other sign.
    (3, r"offre\s+du\s+candidat|analyse\s+des\s+offres|rapport\s+d'analyse\s+des\s+offres|\bbpu\b|\bdpgf\b|m[ée]moire\s+technique|"
        r"plan\s+de\s+retour\s+[àa]\s+l'[ée]quilibre|\beprd\b|plan\s+d'adressage|sch[ée]ma\s+d'adressage|\bvlan\s*\d|r[èe]gles?\s+(?:de\s+)?(?:pare-feu|firewall)|"
        r"vuln[ée]rabilit[ée]s?\s+(?:critiques?\s+)?non\s+corrig|rapport\s+(?:de\s+)?(?:pentest|test\s+d'intrusion)|test\s+d'intrusion\s+de\s+notre|"
        r"demande\s+de\s+brevet|brevet\s+(?:en\s+cours|d[ée]pos[ée])|protocole\s+de\s+recherche|r[ée]sultats\s+(?:pr[ée]liminaires|interm[ée]diaires|non\s+publi[ée]s)|"
        r"tableau\s+de\s+garde|planning\s+des\s+(?:gardes|astreintes)|projet\s+de\s+fusion|suppressions?\s+de\s+postes|candidat\s+retenu"),
    # Tenders and supplier contracts
    (2, r"offre\s+du\s+candidat|offres?\s+des\s+candidats|analyse\s+des\s+offres|rapport\s+d'analyse|classement\s+des\s+(?:offres|candidats)|"
        r"\bdce\b|\bbpu\b|\bdpgf\b|\bdqe\b|m[ée]moire\s+technique|prix\s+unitaire|grille\s+tarifaire|remise\s+(?:commerciale|de\s+\d)|"
        r"n[ée]go(?:ciations?)?\s+(?:avec|du\s+prix|tarifaire|en\s+cours|commerciale)|proposition\s+(?:commerciale|tarifaire)|devis\s+(?:n°|du|de\s+la\s+soci)|"
        r"attributaire|candidat\s+retenu|offre\s+(?:la\s+)?(?:mieux|moins)[-\s]disante|soumissionnaire|"
        r"\bils\s+(?:nous\s+)?(?:proposent|offrent|font)\s+(?:[àa]\s+)?\d|\b(?:leur|notre|un|le)\s+concurrent\s+(?:nous\s+)?(?:fait|propose|offre)|"
        r"\boffres?\s+(?:de|d'|du)\s+[\w'-]+\s+(?:est|sont|arrive|ressort)\s+(?:[àa]\s+)?\d|"
        # in English: "our negotiated rates", "the competing agency offered 55 €/h", "their quote is at"
        r"\bnegotiated\s+(?:rates?|prices?|discounts?|terms|fees)|\bcompeting\s+(?:agency|supplier|vendor|bidder|offer|bid|firm)\b|"
        r"\b(?:their|the\s+supplier's|the\s+vendor's)\s+(?:offer|bid|quote|tender)\s+(?:is|was|came\s+in)\s+(?:at\s+)?\d"),
    (1, r"appel\s+d'offres?|march[ée]\s+public|march[ée]s\s+publics|consultation\s+n°|fournisseur|prestataire|contrat\s+de\s+(?:maintenance|prestation|fourniture)|\bccap\b|\bcctp\b|"
        r"march[ée]\s+(?:d'|de\s+)(?:assurances?|nettoyage|restauration|maintenance|fournitures?|travaux|prestations?|transport|blanchisserie|s[ée]curit[ée]|gardiennage)"),
    # Budget and finance
    (2, r"\beprd\b|\bpgfp\b|\bprea?\b|plan\s+de\s+retour\s+[àa]\s+l'[ée]quilibre|budget\s+(?:pr[ée]visionnel|rectificatif)\s+(?:de\s+l'|du\s+|20)|"
        r"d[ée]ficit\s+(?:de\s+l'[ée]tablissement|du\s+(?:chu|ch|p[ôo]le|service))|masse\s+salariale\s+(?:du|de\s+l')|suppressions?\s+de\s+postes|projet\s+de\s+budget|budget\s+(?:20\d\d\s+)?(?:du|de\s+l')\s*(?:p[ôo]le|service|[ée]tablissement|h[ôo]pital|chu|unit[ée])|(?:r[ée]duction|suppression|gel)s?\s+de\s+(?:\d+\s+)?postes|"
        r"plan\s+social|plan\s+d'[ée]conomies|gel\s+des\s+postes"),
    (2, r"offre\s+(?:financi[èe]re|technique|commerciale)|\d[\d\s]*(?:,\d+)?\s?(?:€|euros?|k€)\s?(?:ht|h\.t\.)\b|\bprix\s+(?:n[ée]goci[ée]|propos[ée]|remis)|contrat\s+(?:de\s+maintenance|cadre)\s+(?:avec|n°)"),
    (1, r"\bbudget|\bd[ée]ficit|\bexc[ée]dent|\bk€|\bm€|\d\s?€|\beuros?\b|\btitre\s+[1-4]\b|\bcompte\s+de\s+r[ée]sultat"),
    # Research and intellectual property
    (2, r"protocole\s+de\s+recherche|protocole\s+(?:de\s+l'[ée]tude|de\s+l'essai|d'essai|clinique\s+n°)|soumission\s+(?:au|[àa]\s+l')\s*(?:cpp|ansm)|avant\s+(?:sa\s+|la\s+)?soumission|cahier\s+d'observation|\bcrf\b|promoteur\s+de\s+l'[ée]tude|"
        r"r[ée]sultats\s+(?:pr[ée]liminaires|interm[ée]diaires|non\s+publi[ée]s)|donn[ée]es\s+non\s+publi[ée]es|avant\s+publication|"
        r"demande\s+de\s+brevet|brevet\s+(?:en\s+cours|d[ée]pos[ée])|d[ée]p[ôo]t\s+de\s+brevet|savoir-faire|secret\s+de\s+fabrication|invention\s+non|"
        r"revendications?\s+(?:principale|ind[ée]pendantes?|d[ée]pendantes?|de\s+brevet|du\s+brevet)|\bd[ée]p[ôo]t\s+inpi\b"),
    (1, r"\bbrevet|essai\s+clinique|\bphrc\b|inclusion|randomis|crit[èe]res\s+d'inclusion|bras\s+(?:contr[ôo]le|exp[ée]rimental)"),
    # Strategy and governance
    (2, r"projet\s+d'[ée]tablissement\s+20|plan\s+strat[ée]gique|\bcpom\b|fusion\s+(?:avec|des\s+[ée]tablissements)|restructuration|"
        r"fermeture\s+(?:de\s+lits|du\s+service|de\s+l'unit[ée])|r[ée]organisation\s+(?:du|des|de\s+la)|ordre\s+du\s+jour|compte[-\s]rendu\s+(?:du|de\s+la)\s+(?:codir|directoire|cme|r[ée]union)"),
    (1, r"\bcodir\b|\bdirectoire\b|\bcme\b|conseil\s+de\s+surveillance|comit[ée]\s+de\s+direction|\bght\b|strat[ée]gi"),
    # Care organisation
    (2, r"tableau\s+de\s+(?:garde|service)|planning\s+(?:des\s+)?(?:gardes|astreintes|effectifs|infirmiers?)|maquette\s+organisationnelle|"
        r"organigramme\s+(?:du|de\s+l')|cartographie\s+des\s+(?:lits|risques)|fiche\s+de\s+poste\s+(?:du|de)|effectifs\s+(?:cibles|du\s+service)"),
    # IS security
    (2, r"plan\s+(?:du\s+)?r[ée]seau|plan\s+d'adressage|sch[ée]ma\s+(?:r[ée]seau|d'architecture|d'adressage)|\bvlan\s*\d|r[èe]gles?\s+(?:de\s+)?(?:pare-feu|firewall)|"
        r"vuln[ée]rabilit[ée]s?\s+(?:non\s+corrig|critique|identifi|d[ée]couvert)|\bcve-\d{4}-\d+|rapport\s+(?:de\s+)?(?:pentest|test\s+d'intrusion|audit\s+de\s+s[ée]curit[ée])|"
        r"test\s+d'intrusion|politique\s+de\s+(?:mots\s+de\s+passe|mot\s+de\s+passe)|compte\s+(?:administrateur|admin|de\s+service)|"
        r"active\s+directory|\bvpn\b.{0,40}\b(?:acc[èe]s|configuration|identifiants)|serveur\s+\w+\s+\(\d|incident\s+de\s+s[ée]curit[ée]|ran[çc]ongiciel"),
    (2, r"log4shell|log4j|heartbleed|eternalblue|proxylogon|\bcve-\d{4}"),
    (1, r"\bssi\b|\brssi\b|pare-feu|firewall|\bserveurs?\b|\bswitch|\brouteur|\bdmz\b|s[ée]curit[ée]\s+(?:informatique|du\s+si)|\bsiem\b|\bedr\b"),
]
# Literal triggers (lower case) per topic group: a group's regex only runs when one is present.
_TOPIC_TRIGGERS = [
    ["grille", "notes", "note ", "classement", "entretien", "disciplinaire", "rupture", "bulletin", "fiche de paie", "patch",
     "mis à jour", "mis a jour", "mfa", "2fa", "authentification", "antivirus", "edr", "chiffrement"],
    ["offre", "analyse", "bpu", "dpgf", "mémoire", "memoire", "retour", "eprd", "adressage", "vlan", "pare-feu", "firewall",
     "vuln", "pentest", "intrusion", "brevet", "protocole", "résultats", "resultats", "garde", "planning", "fusion",
     "suppression", "candidat"],
    ["offre", "analyse", "classement", "dce", "bpu", "dpgf", "dqe", "mémoire", "memoire", "prix", "grille", "remise",
     "négo", "nego", "proposition", "devis", "attributaire", "candidat", "soumissionnaire", "ils nous", "ils proposent",
     "ils offrent", "ils font", "concurrent", "negotiated", "competing", "offer", "bid", "quote", "tender"],
    ["appel", "marché", "marche", "consultation", "fournisseur", "prestataire", "contrat", "ccap", "cctp"],
    ["eprd", "pgfp", "pre", "prea", "retour", "budget", "déficit", "deficit", "masse salariale", "suppression", "plan social",
     "économies", "economies", "gel des postes", "postes"],
    ["offre", "€", "euro", "k€", "prix", "contrat"],
    ["budget", "déficit", "deficit", "excédent", "excedent", "k€", "m€", "€", "euro", "titre", "compte de résultat"],
    ["protocole", "cahier", "crf", "promoteur", "résultats", "resultats", "données non", "donnees non", "publication",
     "brevet", "savoir-faire", "secret de fabrication", "invention", "soumission", "revendication", "inpi"],
    ["brevet", "essai", "phrc", "inclusion", "randomis", "bras"],
    ["projet d'", "plan strat", "cpom", "fusion", "restructuration", "fermeture", "réorganisation", "reorganisation",
     "ordre du jour", "compte rendu", "compte-rendu"],
    ["codir", "directoire", "cme", "conseil de surveillance", "comité de direction", "comite de direction", "ght", "strat"],
    ["tableau de", "planning", "maquette", "organigramme", "cartographie", "fiche de poste", "effectifs"],
    ["plan", "schéma", "schema", "vlan", "règle", "regle", "vuln", "cve-", "rapport", "test d'intrusion", "politique",
     "compte", "active directory", "vpn", "serveur", "incident", "rançon", "rancon"],
    ["log4", "heartbleed", "eternalblue", "proxylogon", "cve-"],
    ["ssi", "rssi", "pare-feu", "firewall", "serveur", "switch", "routeur", "dmz", "sécurité", "securite", "siem", "edr"],
]
assert len(_TOPIC_TRIGGERS) == len(_TOPICS)
_TOPIC_RES = [(w, re.compile(p)) for w, p in _TOPICS]
# Topic phrases are local: search each group only around its triggers.
_TOPIC_WINDOWS = WindowedPatterns([(i, rx, _TOPIC_TRIGGERS[i], 80, 100) for i, (_, rx) in enumerate(_TOPIC_RES)])

# Signs that the text is an internal document of the institution (not public prose).
_INTERNAL = re.compile(
    r"notre\s+(?:[ée]tablissement|h[ôo]pital|chu|ch|ght|p[ôo]le|service|direction|groupement|institution|structure|agence|collectivit[ée]|mairie)|"
    r"nos\s+(?:services|[ée]quipes|agents|serveurs|fournisseurs|sites)|nous\s+(?:pr[ée]voyons|envisageons)|\bphrc[-\s]?\d|\bpour\s+le\s+(?:directoire|codir|cme)\b|avant\s+(?:sa\s+|la\s+)?(?:soumission|d[ée]p[ôo]t|publication)|\bci-joint|\ben\s+pi[èe]ce\s+jointe|pour\s+relecture|version\s+de\s+travail|"
    r"notre\s+(?:laboratoire|[ée]quipe|unit[ée]|cellule|r[ée]seau|si\b|syst[èe]me)|\bbrouillon\b|\bdraft\b|\bv\d\.\d\b|projet\s+de\s+(?:note|rapport|d[ée]lib[ée]ration)|r[ée]union\s+du\s+\d|"
    r"\b\d[\d\s]{2,}(?:,\d+)?\s?(?:€|euros|k€|m€)|\blot\s+n?°?\s*\d|\bn°\s*\d{2,}"
)
# Each sign starts with one of these words (an amount: ends with its currency), so the regex is only
# searched around them.
_INTERNAL_GATED = GatedRegex(_INTERNAL, [
    "notre", "nos ", "nous ", "phrc", "pour le", "avant", "ci-joint", "en pi", "pour relecture", "version de travail",
    "brouillon", "draft", "projet de", "réunion du", "reunion du", "€", "euros", "lot", "n°",
    *(f"v{d}." for d in range(10))], before=40, after=60)
# Named counterpart (a company, a candidate, an institution): needs the capital letter.
_INTERNAL_NAMED = re.compile(
    r"(?i:\bsoci[ée]t[ée]|\b(?:sas|sarl|sa)|\bcandidat|\b(?:chu|ch|ghu|aphp|ap-hp|hcl|ehpad)(?:\s+de)?|\bl'offre\s+(?:de|d')|"
    r"\bcelle\s+(?:de|d'))\s*[A-ZÀ-Ý]"
)
_INTERNAL_NAMED_GATED = GatedRegex(_INTERNAL_NAMED, [
    "société", "societe", "sas", "sarl", "sa", "candidat", "chu", "ch", "ghu", "aphp", "ap-hp", "hcl", "ehpad",
    "l'offre", "celle"], before=2, after=40)


# Something of our own that is not public yet: "nos résultats (non publiés)", "pas encore présenté au
# CSE", "not yet announced"... The phrase must come with a first-person sign in the same stretch of
# text ("nos", "notre", "on", "chez nous", "en interne", "our", "we"): a general question about
# unpublished results stays a question.
_UNPUBLISHED = re.compile(
    r"\b(?:non\s+(?:encore\s+)?(?:publi[ée]e?s?|annonc[ée]e?s?|arbitr[ée]e?s?|d[ée]pos[ée]e?s?|valid[ée]e?s?|diffus[ée]e?s?|officiel(?:le)?s?)|"
    r"pas\s+encore\s+(?:[ée]t[ée]\s+)?(?:publi|annonc|arbitr|d[ée]pos|valid|vot|pr[ée]sent|officiel|communiqu|sign|attribu|diffus|inform)\w*|"
    r"avant\s+(?:sa\s+|leur\s+|la\s+)?(?:publication|annonce|soumission)|en\s+cours\s+de\s+(?:relecture|n[ée]gociation|soumission)|"
    r"sous\s+embargo|(?:not\s+yet\s+|before\s+(?:being\s+)?)(?:published|announced|filed|approved|signed|disclosed|public)|unpublished|"
    r"(?:ne\s+)?doit\s+pas\s+(?:encore\s+)?(?:fuiter|sortir|[êe]tre\s+(?:su|diffus[ée]|connu))|"
    r"(?:has|have)\s+not\s+(?:yet\s+)?been\s+(?:announced|published|made\s+public|disclosed)|"
    r"nothing\s+(?:has\s+been|is)\s+(?:announced|public|official)|not\s+(?:been\s+)?(?:announced|made\s+public)\s+yet|"
    r"rien\s+n'(?:est|a\s+[ée]t[ée])\s+(?:encore\s+)?(?:officiel|annonc[ée]|public|sorti)|"
    # an invention before its patent is filed
    r"(?:brevet|patent)\b.{0,40}?\b(?:n'est\s+pas|pas\s+encore|not\s+yet|isn't|is\s+not|hasn't\s+been)\s+(?:encore\s+)?(?:d[ée]pos|fil)\w*|"
    r"avant\s+(?:de\s+|le\s+)?d[ée]p[ôo](?:ser|t)\s+(?:du\s+|le\s+|un\s+|notre\s+)?brevet|"
    r"before\s+(?:we\s+|filing\s+)?(?:file\s+)?(?:a\s+|the\s+|our\s+)?patent|"
    r"(?:d[ée]p[ôo]t|filing)\s+(?:\w+\s+){0,2}?(?:inpi|oeb|epo|brevet|patent)\b.{0,20}?\b(?:pr[ée]vu|programm[ée]|envisag[ée]|planned|scheduled|[àa]\s+venir)|"
    # drafting the claims of a patent application: the invention is not filed yet
    r"(?:r[ée]dige[rz]?|[ée]cri(?:re|s|vez)|draft|write)\s+(?:moi\s+)?(?:la|les|the|our)\s+(?:patent\s+claims?|"
    r"(?:revendications?|claims?)\s+(?:principale|ind[ée]pendantes?|d[ée]pendantes?|du\s+brevet|de\s+brevet|"
    r"(?:[àa]\s+partir\s+de|de|pour)\s+(?:cette|ce|notre|mon|ma)\s+(?:description|invention|dispositif|syst[èe]me))|"
    r"(?:independent|dependent|main)\s+claims?)\b|"
    # an announcement planned for later, a circle of readers kept small
    r"annonce\s+(?:est\s+|sera\s+)?(?:pr[ée]vue|programm[ée]e)\s+(?:apr[èe]s|pour|le|en|d[ée]but|fin)|"
    r"board[- ]level\s+only|\bentre\s+nous\s*[,:]|keep\s+(?:this|it)\s+(?:quiet|under\s+wraps|between\s+us))"
)
_UNPUBLISHED_GATE = ("non ", "pas encore", "avant ", "en cours de", "embargo", "not yet", "before ", "unpublished",
                     "doit pas", "not been", "nothing ", "yet", "rien n", "brevet", "patent", "inpi", "revendication", "claim", "annonce", "board",
                     "entre nous", "keep ")
# An attack on our systems in progress: which systems, since when, what they do, is IS security.
_INCIDENT = re.compile(
    r"\b(?:ransomware|ran[çc]ongiciel|cyber-?attaque|cyber-?attack|ransom\s+note|lockbit|ryuk|conti\b|black\s*cat|"
    r"chiffr[ée]s?\s+par\s+un|attaque\s+en\s+cours|under\s+attack|compromis(?:e|sion)\s+(?:de\s+)?(?:notre|nos|du\s+serveur)|"
    r"intrusion\s+(?:en\s+cours|sur\s+(?:notre|nos))|fait\s+pirater|\bpirat[ée]e?s?\b|\bhack[ée]e?s?\b|\bhacked\b|"
    r"fuite\s+de\s+donn[ée]es|data\s+breach|(?:bo[îi]te\s+mail|messagerie|compte|mailbox|account)\b.{0,40}\bcompromis(?:e|ed)?\b|"
    r"a\s+cliqu[ée]\s+sur\s+(?:un|le|une|la)\s+(?:lien|mail|courriel|pi[èe]ce\s+jointe)\s+(?:de\s+|d')?(?:phishing|hame[çc]onnage|frauduleu\w*|pi[ée]g[ée]\w*)|"
    r"clicked\s+(?:on\s+)?a\s+phishing|identifiants?\b.{0,40}?\b(?:ont\s+[ée]t[ée]|a\s+[ée]t[ée])\s+(?:utilis[ée]s?|vol[ée]s?|r[ée]cup[ée]r[ée]s?)|"
    r"credentials\s+(?:were|have\s+been)\s+(?:used|stolen|harvested))",
    re.IGNORECASE,
)
_INCIDENT_GATE = ("ranso", "rançon", "rancon", "cyber", "lockbit", "ryuk", "conti", "black", "attaque", "attack",
                  "intrusion", "chiffr", "compromis", "pirat", "hack", "fuite", "breach", "cliqu", "clicked", "identifiant",
                  "credentials")
# "si on se fait pirater", "en cas de ransomware", "if we get hacked": preparing, not reporting
_HYPOTHETICAL = re.compile(r"\bsi\s+(?:on|nous|notre|nos|un|une|jamais)\b|\ben\s+cas\s+d['e]|\bif\s+(?:we|our|a|an|you)\b|"
                           r"\bque\s+faire\s+(?:si|en)|\bwhat\s+(?:to\s+do|should\s+we\s+do)\s+if\b|"
                           # guidance, templates and public cases, not a report of ours
                           r"\bg[ée]n[ée]rique|\bgeneric\b|\bpublicly\b|\bpubliquement\b|\bmod[èe]le\s+d[e']|\btemplate\b|"
                           r"\bpublic\s+guidance|\bsensibilisation|\bawareness\b|\bposter\b|\baffiche\b", re.IGNORECASE)
# who was attacked, in the first person ("on s'est fait pirater", "notre messagerie", "our mailbox")
_OURS = re.compile(r"\b(?:nos|notre|nous|chez\s+nous|our|we|we're|on\s+(?:a|s'est|est|vient|se\s+fait)|mon|ma|mes|"
                   r"(?:un|une|l'|l’)\s*(?:agent|agente|coll[èe]gue|salari[ée]e?|secr[ée]taire|interne)|"
                   r"an?\s+(?:member\s+of\s+staff|staff\s+member|colleague|secretary|nurse|employee))\b")
_NOW = re.compile(r"\ben\s+cours\b|\bright\s+now\b|\bce\s+matin\b|\bdepuis\s+(?:ce|cette|hier|\d)|\bsince\s+\d|\btoday\b|"
                  r"\baujourd'hui\b|\bcette\s+nuit\b|\bwe'?re\s+(?:under|being|hit)|\bon\s+est\s+(?:attaqu|touch)|"
                  r"\bnous\s+sommes\s+(?:attaqu|touch|victimes)", re.IGNORECASE)
# Asking what the trade's words mean ("c'est quoi un EPRD", "différence entre BPU et DQE", "check-list
# des pièces d'un DCE"): without any sign of an internal document, a glossary question.
_GLOSSARY = re.compile(
    r"\bexpliqu|\bc'?\s?est\s+quoi\b|\bqu'est-ce\s+qu|\bdiff[ée]rences?\s+entre\b|\bd[ée]finition|\bcheck-?list\b|"
    r"\bliste\s+des\s+pi[èe]ces|\b[àa]\s+quoi\s+sert|\bexplain\b|\bwhat\s+(?:is|are)\b|\bdifference\s+between\b|"
    r"\b[ée]quivalents?\b|\bcompar(?:e[rsd]?|aison)\b"
)
_FIRST_PERSON = re.compile(r"\b(?:nos|notre|nous|(?<!-)on|chez\s+nous|en\s+interne|our|we|us|mon|ma|mes)\b")


class ConfidentialRecognizer(BaseRecognizer):
    name = "confidential"

    def __init__(self, threshold: int = 4):
        self.threshold = threshold

    def analyze_ctx(self, ctx: ScanContext):
        text = ctx.text
        low = ctx.lower
        out = []
        seen = set()
        for hs, he, _ in _MARKING_GATE.hits(ctx):
            a = max(0, hs - 30)
            for m in _MARKINGS.finditer(low, a, min(len(low), he + 40)):
                if (m.start(), m.end()) in seen or not (m.start() <= hs < m.end() or hs <= m.start() < he):
                    continue
                seen.add((m.start(), m.end()))
                out.append(ctx.finding("CONFIDENTIAL", "confidential", m.start(), m.end(), 0.95, f"{self.name}:marking"))
        if "CONFIDENTIEL" in text:
            for m in _UPPER_MARK.finditer(text):
                out.append(ctx.finding("CONFIDENTIAL", "confidential", m.start(), m.end(), 0.95, f"{self.name}:marking"))
        if out:
            return out
        incident = _INCIDENT.search(text) if any(w in low for w in _INCIDENT_GATE) else None
        if incident and (_NOW.search(text) or (
                _OURS.search(low, max(0, incident.start() - 150), min(len(low), incident.end() + 150))
                and not _HYPOTHETICAL.search(text))):
            return [ctx.finding("CONFIDENTIAL", "confidential", incident.start(), incident.end(), 0.85, f"{self.name}:incident")]
        for m in (_UNPUBLISHED.finditer(low) if any(w in low for w in _UNPUBLISHED_GATE) else ()):
            if _FIRST_PERSON.search(low, max(0, m.start() - 200), min(len(low), m.end() + 120)):
                return [ctx.finding("CONFIDENTIAL", "confidential", m.start(), m.end(), 0.85, f"{self.name}:unpublished")]
        matches = _TOPIC_WINDOWS.first_matches(low)
        if not matches:
            return out
        score = 0
        strong = 0
        first = None
        counted: list[tuple[int, int]] = []
        # Heaviest groups first; one phrase counts once even when several groups list it ("EPRD",
        # "BPU"): a glossary question naming two acronyms is not an internal budget.
        for i in sorted(matches, key=lambda i: (-_TOPIC_RES[i][0], i)):
            weight = _TOPIC_RES[i][0]
            hit: re.Match | None = matches[i]
            if hit and _overlaps(hit, counted):  # this group's first phrase is counted: another one?
                hit = next((o for o in _TOPIC_RES[i][1].finditer(low, hit.end()) if not _overlaps(o, counted)), None)
            if hit:
                counted.append((hit.start(), hit.end()))
                score += weight
                strong += weight >= 2
                if first is None or weight > first[2]:
                    first = (hit.start(), hit.end(), weight)
        if not first or not strong:
            return out
        signs = set()
        for m in _INTERNAL_GATED.finditer(low):
            signs.add(m.group())
            if len(signs) >= 2:
                break
        internal = len(signs) or (1 if _INTERNAL_NAMED_GATED.search(low, text) else 0)
        if not internal and _GLOSSARY.search(low):
            return out  # "c'est quoi un EPRD et un PGFP ?": the vocabulary of the trade, not a document
        total = score + 2 * min(internal, 2)
        if total >= self.threshold and (internal or score >= self.threshold + 2):
            out.append(ctx.finding("CONFIDENTIAL", "confidential", first[0], first[1], 0.7, f"{self.name}:topic"))
        return out


def _overlaps(m: re.Match, spans: list[tuple[int, int]]) -> bool:
    return any(m.start() < e and s < m.end() for s, e in spans)


class DictionaryRecognizer(BaseRecognizer):
    """Institution-editable dictionary of internal terms (whole-word, case-insensitive).

    ``terms`` items are strings or ``{"term": ..., "type": ..., "category": ...}`` dicts.
    """

    name = "dictionary"

    def __init__(self, terms: list | None = None):
        self._auto = ahocorasick.Automaton()
        n = 0
        for item in terms or []:
            if isinstance(item, str):
                item = {"term": item}
            term = str(item.get("term", "")).strip().lower()
            if not term:
                continue
            self._auto.add_word(term, (len(term), item.get("type", "CONFIDENTIAL"), item.get("category", "confidential")))
            n += 1
        self.size = n
        if n:
            self._auto.make_automaton()

    def analyze_ctx(self, ctx: ScanContext):
        if not self.size:
            return []
        low = ctx.lower
        out = []
        for end_idx, (length, type_, category) in self._auto.iter(low):
            start = end_idx - length + 1
            end = end_idx + 1
            if (start > 0 and (low[start - 1].isalnum() or low[start - 1] == "_")) or (end < len(low) and (low[end].isalnum() or low[end] == "_")):
                continue
            out.append(ctx.finding(type_, category, start, end, 0.9, self.name))
        return out
