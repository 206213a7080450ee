"""Health data about a person, with or without a name.

Medical vocabulary alone is not health data: "Quels sont les effets secondaires du paracétamol ?"
is knowledge. What turns medical text into health data is a *specific person in context*. The
recognizer therefore scores two things with cheap regexes:

* **person anchors**: an age ("patiente de 54 ans", "âgé de 38 ans", "un nourrisson de 3 mois"),
  a singular patient in a narrative ("le patient a présenté", "elle a été hospitalisée"), a
  clinician's own patient ("mon patient", "j'ai une patiente"), dates of care ("le 12/03", "à J3",
  "depuis 2 jours"), a room or bed ("chambre 12, lit B"), obstetric formula (G2P1), a title or
  initials ("Mme D.", "M. Martin"), staff sick leave ("mon collègue est en arrêt maladie");
* **clinical content**: distinct terms for diagnoses, symptoms, treatments, examinations, lab
  values with units, stays.

It also counts *knowledge cues* (exam questions, drug-leaflet wording addressed to "vous",
"chez l'enfant", plural "les patients", requests to explain). A text is health data when the person
anchors are strong enough for the clinical content and outweigh the knowledge cues.
"""

from __future__ import annotations

import re

from detectors.alternation import dispatched
from detectors.context import ScanContext, WindowedPatterns
from detectors.recognizer import BaseRecognizer

_PERSON_NOUN = (
    r"patiente?|malade|homme|femme|enfant|nourrisson|gar[çc]on|fille|fillette|adolescente?|nouveau-n[ée]e?|"
    r"r[ée]sidente?|parturiente|gestante|primipare|multipare|primigeste|multigeste|sujet|jeune|b[ée]b[ée]|"
    r"nouveau-n[ée]|petite?|monsieur|madame|agent|usag[eè]re?|octog[ée]naire|nonag[ée]naire|septuag[ée]naire|quadrag[ée]naire|"
    r"quinquag[ée]naire|sexag[ée]naire|trentenaire|adulte|senior|retrait[ée]e?|militaire|[ée]tudiante?|ouvri[èe]re?|agricult\w+|commer[çc]ante?|m[èe]re|p[èe]re"
)
_NUM = r"(?:\d{1,3}|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|dix-\w+|vingt(?:-\w+)?|trente(?:-\w+)?|quarante(?:-\w+)?|cinquante(?:-\w+)?|soixante(?:-\w+)?|septante|octante|nonante|quatre-vingts?(?:-\w+)?)"
_UNIT = r"(?:ans|mois|jours|semaines|an)\b"
# (weight, regex) - person anchors.
_ANCHORS = [
    (3, rf"\b(?:âg[ée]e?|ag[ée]e?)\s+de\s+{_NUM}\s*{_UNIT}"),
    (3, rf"\b(?:un|une|d'un|d'une|notre|mon|ma|cette|ce)\s+(?:{_PERSON_NOUN})\s+(?:[\w'-]+\s+){{0,2}}de\s+{_NUM}\s*{_UNIT}|"
        rf"(?:^|[.;:!?\n«\"(]\s*)(?:{_PERSON_NOUN})\s+(?:âg[ée]e?\s+)?de\s+{_NUM}\s*{_UNIT}|\bde\s+sexe\s+(?:f[ée]minin|masculin)|\b(?:{_PERSON_NOUN}),?\s+{_NUM}\s+ans\b"),
    (3, r"\b(?:mon|ma|notre|nos)\s+(?:patiente?|r[ée]sidente?|malade|patients|patientes|pte?)\b|\bj'ai\s+(?:un|une)\s+(?:patiente?|r[ée]sidente?|malade)|\bj'ai\s+vu\s+(?:un|une|ce|cette)"),
    (3, r"\b(?:mon|ma|notre)\s+(?:coll[èe]gue|agent|secr[ée]taire|infirmi[èe]re|aide-soignante?|salari[ée]e?)\b.{0,80}\b(?:arr[êe]t\s+(?:de\s+travail|maladie)|cong[ée]\s+(?:maladie|longue)|malade|hospitalis|enceinte|d[ée]pression|burn-?out|canc)"),
    (5, r"\b(?:arr[êe]t\s+(?:de\s+travail|maladie)|cong[ée]\s+(?:de\s+)?(?:maladie|longue\s+(?:dur[ée]e|maladie))|mi-temps\s+th[ée]rapeutique|accident\s+du\s+travail)\b.{0,120}\b(?:m\.|mme|monsieur|madame|l'agent(?!\s+(?:doit|peut|est\s+tenu|transmet|pr[ée]vient|b[ée]n[ée]ficie))|coll[èe]gue|du\s+\d|jusqu'au\s+\d)"
        r"|\b(?:en|son|mon|ma|sa)\s+(?:arr[êe]t\s+(?:de\s+travail|maladie)|cong[ée]\s+(?:de\s+)?(?:longue\s+)?(?:maladie|dur[ée]e))\s+(?:depuis|jusqu'au|du)\s+(?:le\s+)?\d"),
    (3, r"\b(?:mon|ma|notre)\s+(?:fils|fille|m[èe]re|p[èe]re|mari|femme|[ée]pouse?|[ée]poux|enfant|b[ée]b[ée]|grand-m[èe]re|grand-p[èe]re|"
        r"fr[èe]re|s[œo]e?ur|conjointe?|compagne?|voisine?|oncle|tante|neveu|ni[èe]ce|belle-m[èe]re|beau-p[èe]re|petite?-fils|petite?-fille)\b"
        r"|\(\s*\d{1,3}\s*(?:ans|mois)\s*[,;)]|\bje\s+suis\s+(?:enceinte|diab[ée]tique|malade|atteinte?|sous\s+\w+|en\s+arr[êe]t|hospitalis[ée]e?|"
        r"s[ée]ropositi|d[ée]press|suivie?\s+pour|sous\s+traitement|op[ée]r[ée]e?|enrhum[ée]e?|fatigu[ée]e?\s+depuis)"
        r"|\bj'ai\s+(?:eu\s+)?(?:un|une|des|le|la|du|de\s+la|mal)\s+(?:cancer|diab[èe]te|tumeur|infection|maladie|fi[èe]vre|douleurs?|"
        r"ulc[èe]re|h[ée]patite|vih|d[ée]pression|fracture|hernie|kyste|nodule|saignements?|tension|l[ée]sion|angine|grippe|covid|\w+ite\b)"),
    (2, r"\b\d{1,3}\s*(?:ans|mois)\b|\b(?:patiente?|pt|homme|femme|mr|mme)\s+(?:de\s+)?\d{1,3}\s?a\b|\batcd\b|"
        r"\bpte?\s+(?:ch|lit|box|du|de\s+la|en)\b"),
    (2, r"\bg\d\s*p\d\b|\b\d+\s*(?:sa|semaines\s+d'am[ée]norrh[ée]e)\b|\bgeste\s+\d|\bparit[ée]\s*\d"),
    (2, r"\b(?:il|elle)\s+(?:a\s+[ée]t[ée]|avait|a\s+pr[ée]sent[ée]|pr[ée]sentait|a\s+b[ée]n[ée]fici[ée]|fut|était|est\s+(?:d[ée]c[ée]d[ée]|sortie?|hospitalis)|a\s+re[çc]u|s'est\s+pr[ée]sent|rapport|d[ée]crit|signal|a\s+consult|se\s+plaint|se\s+plaignait|a\s+d[ée]velopp|a\s+subi|a\s+accouch|est\s+admis|est\s+sous\s+\w|a\s+fait\s+(?:une?|des)\s+(?:chute|malaise|crise|infarctus|avc|fausse|r[ée]action|rechute|tentative)|souffr|a\s+[ée]t[ée]\s+(?:admis|op[ée]r|hospitalis|trait|mis|transf[ée]r))"),
    (2, r"\b(?:le|la|du|de\s+la|au|à\s+la|ce|cette|notre)\s+(?:patiente?|malade|nourrisson|parturiente|r[ée]sidente?|b[ée]b[ée])\b(?!\s+(?:doit|doivent|peut|peuvent|devra|diab[ée]tique\s+doit))"),
    (2, r"\b(?:admise?|hospitalis[ée]e?|transf[ée]r[ée]e?|op[ée]r[ée]e?|adress[ée]e?|re[çc]ue?|suivie?|vue?|sortie?|d[ée]c[ée]d[ée]e?)\s+(?:le|en|au|aux|dans|à\s+l|pour|par|depuis|il\s+y\s+a|hier|ce\s+matin|cette\s+nuit)\b"),
    (2, r"\b(?:à\s+l'admission|à\s+son\s+admission|lors\s+de\s+son|son\s+(?:traitement|[ée]tat|examen|bilan|[ée]volution|hospitalisation|s[ée]jour|p[èe]re|fr[èe]re|mari|[ée]poux)|sa\s+(?:m[èe]re|s[œo]e?ur|famille|grossesse|sortie|fille|femme|prise\s+en\s+charge)|ses\s+ant[ée]c[ée]dents)"),
    (2, r"\bant[ée]c[ée]dents?\s+(?:de|d'|personnels|familiaux|m[ée]dicaux|chirurgicaux)|\bsans\s+ant[ée]c[ée]dent|\bl'examen\s+(?:clinique|physique|neurologique|g[ée]n[ée]ral)\s+(?:a\s+|retrouv|montr|objectiv|[ée]tait|note|r[ée]v[ée]l|trouv)|\bl'[ée]volution\s+(?:a\s+[ée]t[ée]|[ée]tait|fut|est)|\bsuites?\s+op[ée]ratoires?"),
    (2, r"\b(?:le|du|en\s+date\s+du|depuis\s+le)\s+\d{1,2}[/.]\d{1,2}(?:[/.]\d{2,4})?\b|\bà\s+j\d+\b|\bj\d+\s+(?:post|de)|\bdepuis\s+(?:\d+|deux|trois|quatre|cinq|six|sept|huit|dix|quelques|plusieurs)\s+(?:jours|semaines|mois|ans|heures|h\b|min\b|minutes)"),
    # a person designated by their room, the way wards talk: "le patient de la 9", "la dame du 12"
    (4, rf"\b(?:le|la|l'|du|de\s+la|au|à\s+la)\s*(?:{_PERSON_NOUN}|dame|monsieur|papi|papy|mamie|mamy|pépé|mémé|gars|mec|"
        r"patient|pte?|bonhomme|grand-m[èe]re|grand-p[èe]re|vieille?|ptite?)\s+(?:de\s+la|du|de\s+l')\s+\d{1,3}[a-d]?\b(?![.,]\d|\s*(?:%|ans|mois|kg|mg|h\b))"),
    # a particular event of someone's care, and the legal status of a stay in psychiatry ("en SDT")
    (2, r"\ba\s+(?:re)?fait\s+(?:une?|des|sa|son)\s+(?:chute|malaise|crise|d[ée]compensation|tentative|ts\b|convulsion|hypo\w*|"
        r"fausse|rechute|avc|infarctus|bouff[ée]e|overdose|r[ée]action|fugue|embolie|arr[êe]t)"),
    (2, r"\b(?:en|sous|pass[ée]e?\s+en|admise?\s+en|hospitalis[ée]e?\s+en|hospit\s+en)\s+(?:sdtu?|sdre|spdre|spi|sdde|hdt|soins\s+sans\s+consentement)\b"),
    # a room or a bed ("chambre 12", "ch 8", "lit 3", "box 4")
    (3, r"\bsalle\s+(?:de\s+naissance\s+|d'accouchement\s+)?\d{1,2}\b(?!\s*(?:h\b|%))|\b(?:chambre|chbre?|ch\.)\s*\d+|\bch\s?\d{1,3}\b(?![.,:/]\d|\s*(?:%|h\b|ans))|\blit\s+\d+|\bbox\s+\d+"),
    # last: replaced by its case-sensitive version (_CASED_ANCHOR) below
    (3, r"\bchambre\s+\d+|\blit\s+\d+|\bbox\s+\d+|\b(?:m\.|mme|monsieur|madame|mlle)\s+[A-Z]|\b(?:patiente?|r[ée]sidente?)\s+[A-Z]\.\s?[A-Z]?"),
]
# Anchors run on the lower-cased text (no IGNORECASE: several times faster with Python's re).
_ANCHOR_RES = [(w, re.compile(p, re.DOTALL if "arr" in p else 0)) for w, p in _ANCHORS]
# Title+name anchors must keep the capital letter: compile the last one case-sensitively for names.
_CASED_ANCHOR = (3, re.compile(
    r"\b[A-Z][a-zà-ÿ]+(?:\s[A-Z]\.)?,?\s+\d{1,3}\s*(?:ans|mois)\b(?!\s+(?:et\s+plus|ou\s+plus))|\b(?:M\.|Mme|Monsieur|Madame|Mlle|Mr)\s+[A-Z]"
    # SMS style: a title in lower case before a name ("mme leroy du 3e", "mr B ch 8")
    r"|\b(?i:mme|mr|mlle)\s+(?!(?i:la|le|les|est|et|ou|sont|de|du|des|qui|que|a|au|the|and|or|is)\b)[a-zà-ÿA-ZÀ-Ý][a-zà-ÿ]{2,}"
    r"|\b(?i:mr)\s+[A-Z]\b"
    r"|(?i:\b(?:patiente?|r[ée]sidente?))\s+[A-Z]\.\s?[A-Z]?"))

_ANCHOR_RES = _ANCHOR_RES[:-1]
#: clinical terms, as written (``_CLINICAL`` is the same alternation grouped by first character,
#: ``detectors.alternation``: ten times faster, the same matches)
_CLINICAL_TERMS = (
    r"diab[éèe]t|\bhta\b|hypertens|insuffisan|cancer|carcinom|tumeur|tumoral|ad[ée]nocarcinom|m[ée]tasta|lymphom|leuc[ée]mi|my[ée]lom|"
    r"infection|infect|sepsis|septi|fi[èe]vre|f[ée]bril|frissons?|h[ée]mocs?\b|h[ée]mocultures?|\btsa\b|autis|\btdah\b|"
    r"trisomi|polyhandica|d[ée]ficience|\bimc\b|\bepilep|[ée]pilep|douleur|douloureu|toux|dyspn[ée]e|syndrome|pathologi|maladie|atteinte|l[ée]sion|fracture|"
    r"\bavc\b|infarctus|pneumopathie|pneumonie|tuberculo|\bvih\b|h[ée]patite|cirrhose|an[ée]mie|[ée]pilep|convuls|d[ée]mence|alzheimer|parkinson|"
    r"d[ée]pression|psychiatr|schizophr|bipolaire|suicid|addict|alcool|tabag|ob[ée]sit|asthme|bpco|allergi|lupus|scl[ée]rose|kyste|abc[èe]s|"
    r"n[ée]crose|h[ée]morragi|thrombo|embolie|isch[ée]mi|st[ée]nose|an[ée]vrisme|malformation|syndrom|insulin|chimioth|radioth|chirurgi|"
    r"op[ée]r|intervention|ex[ée]r[èe]se|r[ée]section|biopsie|ponction|scanner|\btdm\b|\birm\b|[ée]chograph|radiograph|\becg\b|\beeg\b|endoscop|"
    r"coloscop|fibroscop|mammograph|angiograph|scintigraph|bilan|h[ée]moglobine|hba1c|cr[ée]atinin|\bcrp\b|glyc[ée]mie|plaquettes|leucocyt|"
    r"lymphocyt|polynucl|natr[ée]mie|kali[ée]mie|transaminases|\bmg\b|mmol|g/l|g/dl|mg/l|\bui\b|/mm3|ant[ée]c[ée]dent|diagnost|hospitalis|"
    r"admis|urgence|consultation|examen|anatomopatholog|histolog|immunohisto|prise\s+en\s+charge|[ée]volution|d[ée]c[èe]s|d[ée]c[ée]d|"
    r"r[ée]mission|r[ée]cidive|grossesse|accouch|c[ée]sarienne|am[ée]norrh|traitement|trait[ée]|antibio|cortico|anticoagul|antalgi|"
    r"morphin|parac[ée]tamol|perfusion|transfusion|dialyse|greffe|prot[èe]se|st[ée]nt|pontage|amputation|r[ée]animation|intubation|"
    r"ventilation|oxyg[èe]ne|saturation|tension\s+art[ée]rielle|fr[ée]quence\s+cardiaque|temp[ée]rature|sympt[ôo]m|signe|clinique|"
    r"\bsa\b|nodule|masse|adénopath|ad[ée]nopath|œd[èe]me|oed[èe]me|ict[èe]re|vomissement|diarrh[ée]e|naus[ée]e|c[ée]phal[ée]e|vertige|"
    # a lab value as written on a ward ("K+ 6,8", "lithémie à 1,9", "Hb 7"), symptoms in shorthand
    r"ralentissements?|dilatation|\b\d{1,2}\s?cm\s+(?:de\s+dilatation|dilat)|\bc[ée]sar\w*|\brcf\b|p[ée]ridurale|"
    r"\bcocci|\bbacilles?\b|\bgram\s*[+-]|staphylo\w*|strepto\w*|antibiogramme|\b(?:k|na|ca)\+\s*(?:[àa=:]\s*)?\d|lith[ée]mie|\b(?:hb|inr|pct|bnp|tropo\w*|d-?dim\w*)\s*(?:[àa=:]\s*)?\d|vomi[ts]?\b|trembl\w*|"
    r"paralysie|parésie|d[ée]ficit|coma|confus|cardiaque|r[ée]nal|h[ée]patique|pulmonaire|c[ée]r[ée]bral|digestif|cutan[ée]|osseu|"
    r"arr[êe]t\s+(?:de\s+travail|maladie)|handicap|invalidit|grossesse|enceinte|ivg|s[ée]ropositi|contamin|vaccin|chute|plaie|br[ûu]lure|"
    r"lettre\s+de\s+(?:liaison|sortie)|m[ée]decin\s+traitant|transmissions|compte[- ]rendu\s+(?:d'hospitalisation|op[ée]ratoire)|"
    r"cher\s+confr[èe]re|ch[èe]re\s+cons[œo]e?ur|avis\s+\w+(?:logique|chirurgical)|cardiolog|pneumolog|neurolog|aggrav|pronostic|"
    r"rechute|convalescen|agit[ée]|haldol|tercian|loxapine|contention|isolement|"
    # psychiatric stays and their legal forms (soins sans consentement: SDT, SDRE, SPDRE, SPI)
    r"\bsdtu?\b|\bsdre\b|\bspdre\b|\bspi\b|\bsdde\b|\bhdt\b|sans\s+consentement|irresponsabilit[ée]\s+p[ée]nale|d[ée]compens|"
    r"\bchs\b|\bhospit\b|unit[ée]\s+ferm[ée]e|"
    r"accident\s+du\s+travail|bless|coupure|coup[ée]|entorse|lombalgi|saignement|tomb[ée]e?|scanner|boutons|éruption|eruption|cystite|"
    r"escarre|h[ée]matome|chut[ée]e?s?\b|ecchymose|eliquis|xarelto|pradaxa|coumadine|d[ée]nutrition|albumin|tropo|\batcd\b|\bidm\b|otite|angine|bronchi|grippe|covid|gastro|appendic|chol[ée]cyst|hernie|"
    r"canc[ée]r|m[ée]lanome|sarcome|glioblastome|d[ée]c[ée]s|palliati|fin\s+de\s+vie|soins|pansement|sonde|cath[ée]ter|drain|"
    r"tension|\bta\s+\d|\bfc\s+\d|\bspo2|\bsat\b|\bgcs\b|glasgow|\bimc\b|poids|kg\b|allergi|intol[ée]ran|"
    r"\bhb\b|\bplaq|\bgb\b|\bna\+|\bk\+|\biono|\bnfs\b|\bbhc\b|\btsh\b|\binr\b|\bpsa\b|\bvs\b|\bpct\b|\bbnp\b|d-dim|"
    r"ordonnance|prescri|injection|comprim[ée]|g[ée]lule|\bmg/|\bµg|\bml\b|s[ée]ance|rééducation|kin[ée]|psycholog|"
    r"\bcr[ée]at\b|\bdose|posologie|metformine|apixaban|rivaroxaban|warfarine|pr[ée]visc|kardegic|aspirine|furos[ée]mide|lasilix|"
    r"amoxicilline|augmentin|ceftriaxone|vancomycine|lévothyrox|levothyrox|méthotrexate|prednis|solupred|doliprane|tramadol|"
    r"oxycodone|insuline|héparine|lovenox|enoxaparine|amiodarone|digoxine|bisoprolol|ramipril|amlodipine|atorvastatine|"
    r"l[ée]v[ée]tirac[ée]tam|depakine|valproate|lithium|halop[ée]ridol|risp[ée]ridone|olanzapine|sertraline|escitalopram|"
    r"\bservice\s+de\s+\w+|\bcardiologie|\bneurologie|\bp[ée]diatrie|\bg[ée]riatrie|\boncologie|\bgyn[ée]co|\bobst[ée]tri|\bpsychiatrie|\bn[ée]phrologie"
)
_CLINICAL = re.compile(dispatched(_CLINICAL_TERMS))
_KNOWLEDGE_CUES = (
    r"parmi\s+(?:les|ces)\s+(?:propositions|molécules|médicaments|affirmations|examens|signes|suivant)|propositions?\s+(?:exacte|correcte|suivante)|"
    r"laquelle|lesquelles|est\s*\(sont\)|exacte\(s\)|qu['’]est-ce\s+que|dans\s+quels\s+cas|\bvous\b|\bvotre\b|\bvos\b|consultez|notice|"
    r"ce\s+m[ée]dicament|indications?\s+th[ée]rapeutiques|classe\s+pharmaco|code\s+atc|\bexpliqu|\bquels?\s+sont|\bquelles?\s+sont|"
    r"\bd[ée]finition|\ben\s+g[ée]n[ée]ral|\bhabituellement|\bg[ée]n[ée]ralement|\bles\s+patients\b|\bdes\s+patients\b|\bchez\s+l['’](?:adulte|enfant|homme|animal)|"
    r"\bchez\s+la\s+femme\s+enceinte|\bchez\s+le\s+sujet|\bindiquer|\bs[ée]lectionner|\bcochez|\bdonner\s+la|\bconcernant\s+(?:le|la|les|l')|"
    r"\bpeut\s+[êe]tre|\bpeuvent|\bsont\s+(?:indiqu|contre-indiqu)|\bla\s+posologie|\bmode\s+d'action|\bm[ée]canisme|\bphysiopatholog|"
    r"selon\s+(?:la\s+has|les\s+recommandations|l'oms)|\bquelle\s+est\s+la\s+(?:prise\s+en\s+charge|conduite)|conduite\s+[àa]\s+tenir|"
    r"que\s+faire\s+devant|\brecommandations\b|\bcas\s+clinique\s+fictif|\bfictif|\bfictive|\bexemple\s+de\s+cas|"
    r"\bquel(?:le)?\s+est\s+le\s+(?:risque|taux|m[ée]canisme|traitement\s+de\s+r[ée]f[ée]rence)|\bfaut-il\b|\bpeut-on\b|\bdoit-on\b|"
    r"\best-il\s+recommand|\bpour\s+(?:une\s+formation|un\s+cours|des\s+[ée]tudiants|un\s+examen)|\bquiz\b|\bexercice\b|"
    r"\br[ée]vision\b|\becos\b|\bedn\b|\becn\b|comme\s+[àa]\s+un\s+[ée]tudiant|\bcalcule[rz]?\s+la\s+clairance|\bcockcroft|"
    r"\bposologie\s+(?:de|du|des|d')|\badapter\s+la\s+dose|\bcomment\s+titrer|\bfiche\s+(?:d'information\s+)?pour\s+(?:nos|les)\s+patient|"
    r"\bcours\b|\bexamen\s+national|\bqcm\b|\bfiche\s+(?:de\s+)?r[ée]vision|\bpopulation|\b[ée]tude\s+(?:de\s+cohorte|randomis|r[ée]trospective|prospective)|\bpr[ée]valence|\bincidence|"
    # populations, not a person: "la personne âgée de 70 ans et plus", "critères diagnostiques"
    r"\b(?:la|les)\s+personnes?\s+[âa]g[ée]es?\b|\bans\s+et\s+plus\b|\bcrit[èe]res\s+(?:diagnostiques|de\s+diagnostic)|"
    # a rule asked about anybody in that situation: "un agent de 58 ans en CLD peut-il ...", "règles générales"
    r"\bpeut-(?:il|elle)\b|\ba-t-(?:il|elle)\s+droit|\br[èe]gles?\s+g[ée]n[ée]rales?|\ben\s+r[èe]gle\s+g[ée]n[ée]rale|"
    # a reference dose, asked by weight or age class ("mg/kg amox otite enfant 2 ans ?", "dose max chez...")
    r"\bmg/kg\b|\bdoses?\s+(?:max\w*|usuelles?|habituelles?|recommand\w+|p[ée]diatriques?|de\s+charge)\b|"
    r"\bposologies?\s+(?:usuelles?|habituelles?|maximales?|recommand\w+|p[ée]diatriques?|chez)\b|"
    # statements about a population and training material ("un tiers des plus de 65 ans chutent chaque année")
    r"\b(?:un\s+tiers|la\s+moiti[ée]|un\s+quart|les\s+deux\s+tiers)\s+des\b|\bchaque\s+ann[ée]e\b|\bfacteurs\s+de\s+risques?\b|"
    r"\b(?:personnes|patients|sujets|femmes|hommes|enfants|adultes)\s+(?:[âa]g[ée]e?s\s+)?de\s+(?:plus|moins)\s+de\s+\d+\s+ans\b|"
    r"\bsupports?\s+de\s+(?:formation|cours)\b|\bpour\s+les\s+nouve(?:aux|lles)\b"
)
_KNOWLEDGE = re.compile(dispatched(_KNOWLEDGE_CUES))
# Multiple-choice layout ("a) ... b) ... c) ..."): an exam question, worth three knowledge cues.
_MCQ_OPTION = re.compile(r"(?:^|\n|\s)[a-eA-E]\s?[)\]]\s+\S")
# The gate: a first-person, patient or care-setting cue somewhere in the text, else no health
# finding. One regex alternation of every cue was tried at every position of the text (the costliest
# line of a short benign prompt's scan); the same test, eight times cheaper, in three parts: plain
# substrings, patterns opening on a literal character (the regex engine skips to those characters),
# and word-start patterns behind one ``\b`` (tried at word starts only).
# ``tests/detectors/test_health.py`` checks it against the single alternation.
_GATE_WORDS = ("je suis", "j'ai", "patient", "malade", "hospitalis", "admis", "chambre", "antécédent")
_GATE_INNER = re.compile(r"ans\b|mois\b|arr[êe]t|cong[ée]|r[ée]sident|ant[ée]c[ée]dent|/\d")
_GATE_WORD_START = re.compile(r"\b(?:sdt|s?dre\b|spdre\b|a\s+(?:re)?fait\b|(?:de\s+la|du)\s+\d|sa\b|son\b|mon\b|ma\b|"
                              r"il\b|elle\b|m\.|mme\b|salle\s+\d|lit\b|ch\s?\d|box\s+\d|pte?\b|j\d|g\d)")


def gate(low: str) -> bool:
    """Whether the lower-cased text holds one of the cues without which no health finding is made."""
    return (any(w in low for w in _GATE_WORDS) or _GATE_INNER.search(low) is not None
            or _GATE_WORD_START.search(low) is not None)


# Literal triggers (and window before / after them) for each anchor, in ``_ANCHOR_RES`` order.
_AGE_WORDS = ["ans", "mois", "jours", "semaines", " an ", " an,", " an.", "sexe"]
_ANCHOR_TRIGGERS = [
    (["âgé", "âge", "agé", "age"], 2, 70),
    (_AGE_WORDS, 110, 6),
    (["patient", "résident", "resident", "malade", "j'ai", "pt ", "pte "], 25, 50),
    (["collègue", "collegue", "agent", "secrétaire", "secretaire", "infirmi", "salarié", "salarie"], 25, 220),
    (["arrêt", "arret", "congé", "conge", "mi-temps", "accident du travail"], 10, 160),
    (["mon ", "ma ", "notre ", "(", "je suis", "j'ai"], 2, 90),
    (["ans", "mois", "atcd", "patient", "pt ", "pte ", "homme", "femme", "mr ", "mme"], 12, 30),
    (["sa", "semaines", "geste", "parit"] + [f"g{d}" for d in range(1, 10)], 12, 40),
    (["il ", "elle ", "qui "], 2, 70),
    (["patient", "malade", "nourrisson", "parturiente", "résident", "resident", "bébé", "bebe"], 20, 70),
    (["admis", "hospitalis", "transf", "opér", "oper", "adress", "reçu", "recu", "suivi", "vu", "sorti", "décéd", "deced"], 2, 40),
    (["admission", "lors de son", "son ", "sa ", "ses ant"], 4, 40),
    (["antéc", "antec", "examen", "évolution", "evolution", "suite"], 12, 70),
    (["/", ".", "à j", " j", "depuis"], 30, 40),
    ([f"{w} {d}" for w in ("de la", "du", "de l'") for d in "0123456789"], 25, 10),
    (["fait "], 6, 40),
    (["sdt", "sdre", "spdre", "spi", "sdde", "hdt", "sans consentement"], 30, 40),
    (["salle ", "chambre", "chb", "ch.", "ch ", "ch0", "ch1", "ch2", "ch3", "ch4", "ch5", "ch6", "ch7", "ch8", "ch9", "lit ", "box "], 2, 12),
]
_CASED_TRIGGERS = (["m.", "mme", "mr ", "monsieur", "madame", "mlle", "patient", "résident", "resident", "ans", "mois"], 30, 30)
assert len(_ANCHOR_TRIGGERS) == len(_ANCHOR_RES)
_WINDOWED = WindowedPatterns(
    [(i, rx, trig, before, after) for i, ((w, rx), (trig, before, after)) in enumerate(zip(_ANCHOR_RES, _ANCHOR_TRIGGERS))]
    + [("cased", _CASED_ANCHOR[1], *_CASED_TRIGGERS)]
)
_WEIGHTS = {i: w for i, (w, _) in enumerate(_ANCHOR_RES)} | {"cased": _CASED_ANCHOR[0]}


class HealthRecognizer(BaseRecognizer):
    name = "health"

    def __init__(self, threshold: float = 5.0):
        self.threshold = threshold

    def score(self, ctx: ScanContext, low: str | None = None, text: str | None = None):
        """``(score, anchor, clinical, knowledge, span)`` for a text (or a chunk of it)."""
        low = ctx.lower if low is None else low
        text = ctx.text if text is None else text
        found = _WINDOWED.first_matches(low, text, frozenset({"cased"}))
        anchor = 0
        best = None
        for key, m in found.items():
            w = _WEIGHTS[key]
            anchor += w
            if best is None or w > best[2] or (w == best[2] and m.start() < best[0]):
                best = (m.start(), m.end(), w)
        if anchor < 3:
            return 0.0, anchor, 0, 0, None
        terms = set()
        for m in _CLINICAL.finditer(low):
            terms.add(m.group()[:6])
            if len(terms) >= 6:
                break
        clinical = len(terms)
        base = anchor + clinical * 0.75
        # Knowledge cues: only count as many as needed to fall below the threshold.
        knowledge = 0
        cues = set()
        if base >= self.threshold:
            if len(_MCQ_OPTION.findall(text)) >= 3:
                cues.update({"mcq1", "mcq2", "mcq3"})
                knowledge = 3
            for m in _KNOWLEDGE.finditer(low):
                cues.add(m.group())
                knowledge = len(cues)
                if base - 1.5 * knowledge < self.threshold:
                    break
        score = base - knowledge * 1.5
        return score, anchor, clinical, knowledge, (best[0], best[1]) if best else None

    #: Long texts are scored in overlapping chunks (a vignette pasted inside a long document must not
    #: be diluted by the rest, and the cost stays linear).
    CHUNK = 3000
    OVERLAP = 300

    def analyze_ctx(self, ctx: ScanContext):
        if not gate(ctx.lower):
            return []
        n = len(ctx.text)
        bounds = [(0, n)] if n <= self.CHUNK + self.OVERLAP else [
            (a, min(n, a + self.CHUNK + self.OVERLAP)) for a in range(0, n, self.CHUNK)
        ]
        out = []
        for a, b in bounds:
            ctx.check(self.name)
            low, text = (ctx.lower, ctx.text) if (a, b) == (0, n) else (ctx.lower[a:b], ctx.text[a:b])
            score, anchor, clinical, knowledge, span = self.score(ctx, low, text)
            if span is None or clinical < 1 or anchor < 3 or score < self.threshold:
                continue
            conf = min(0.99, 0.5 + score / 20)
            out.append(ctx.finding("HEALTH_DATA", "health", a + span[0], a + span[1], conf, self.name))
        return out
