"""Health data about a person in English clinical shorthand: "58 y/o male, bed 7, s/p CABG, new
onset AF overnight", "my patient in room 12 is septic", "Mrs K. was admitted yesterday with a NSTEMI".

Like the French ``health`` recognizer, it needs a *specific person* (an age written the clinical
way, a bed or room, "my/our patient", a title with an initial, a narrative of this person's care) and
*clinical content* (at least two distinct clinical terms). Textbook and exam questions ("which of the
following", "patients with COPD", "in general") are knowledge unless the person anchor is one that
only a real case has (a bed, "my patient").
"""

from __future__ import annotations

import re

from detectors.context import ScanContext
from detectors.recognizer import BaseRecognizer

_AGE = re.compile(r"\b\d{1,3}\s*(?:y/?o|yo|yrs?\s+old|-?\s?years?[- ]old)\b|\b\d{1,3}\s*(?:m|f|male|female)\b(?=[\s,.;])")
_STRONG = re.compile(
    r"\b(?:bed|room|bay|cubicle|cot|incubator)\s+\d+|\bthe\s+(?:lady|man|gentleman|woman|guy|girl|boy|patient|resident|chap)\s+in\s+"
    r"(?:bed\s+|room\s+|bay\s+)?\d{1,3}[a-d]?\b|\bborn\s+at\s+\d{2}\s*(?:\+\d\s*)?weeks|\bat\s+\d{2}\+\d\b|\bs/p\b|\bpod\s*\d|\bday\s+\d+\s+post-?op|\b(?:my|our)\s+(?:patient|pt|resident|client)s?\b|"
    r"\b(?:mr|mrs|ms|miss)\.?\s+[a-z]\b|\b(?:he|she)\s+(?:was|is|has\s+been)\s+(?:admitted|discharged|intubated|transferred|found|brought)|"
    r"\badmitted\s+(?:on|yesterday|today|last|this)\b|\bovernight\b|\bthis\s+morning\b|\bon\s+(?:the\s+)?ward\b"
)
_CLINICAL = re.compile(
    r"\b(?:cabg|af|afib|a-fib|mi|stemi|nstemi|copd|chf|ckd|aki|dka|sepsis|septic|pneumonia|stroke|tia|dvt|pe|uti|"
    r"fracture|surgery|post-?op|chemo\w*|troponin|creatinine|creat|inr|bp|hr|spo2|sats?|mg|iv|insulin|warfarin|apixaban|"
    r"diabet\w+|cancer|tumou?r|metasta\w+|seizures?|fever|febrile|pain|hypotensi\w+|hypertensi\w+|tachycardi\w+|"
    r"bradycardi\w+|delirium|dementia|fall|fell|wound|ulcer|infection|antibiotics?|dialysis|intubated|ventilated|icu|"
    r"hiv|hepatitis|pregnan\w+|depress\w+|overdose|suicid\w+|psychos\w+|schizophreni\w+|bipolar|alzheimer\w*|"
    r"biopsy|ct|mri|x-ray|ecg|ekg|echo|bloods|hb|wbc|crp|potassium|sodium|glucose|bleed\w*|haemorrhag\w+|hemorrhag\w+|"
    r"asthma|epilep\w+|anaemi\w+|anemi\w+|transfus\w+|catheter|stent|pacemaker|amputat\w+|burns?|scald|tbsa|"
    r"diagnos\w+|prognosis|palliative|dnr|dnacpr|discharge|handover|referral|admission|symptoms?|medication|dose|"
    # obstetrics, anaesthesia, neonates, labs as written in a note
    r"g\d\s?p\d|proteinuria|pre-?eclampsia|eclampsia|headache|platelets?|plt|alt|ast|bilirubin|lactate|bmi|airway|osa|cpap|"
    r"bipap|cormack|intubation|extubat\w+|lap\s+chole|cholecystectomy|appendicectomy|appendectomy|apno?eas?|apneas?|"
    r"bradys?|desats?|caffeine|cot|incubator|nicu|scbu|preterm|prem|jaundice|phototherapy|vomiting|nausea|seizure|"
    r"contractions|cervix|dilated|membranes|csection|c-section|caesarean|cesarean|epidural|labou?r|"
    r"psychiatric|psych\s+unit|sectioned|third-party\s+request|involuntary|detained|capacity\s+assessment|refus\w+(?=\s+(?:her|his)\s+\w+))\b"
)
_KNOWLEDGE = re.compile(
    r"\bwhich\s+of\s+the\s+following\b|\bwhat\s+(?:is|are)\s+the\b|\bin\s+general\b|\bguidelines?\b|\btextbook\b|"
    r"\bpatients\s+with\b|\btypically\b|\bexam(?:ination)?\s+question\b|\bhow\s+(?:do|should)\s+(?:you|we|i)\s+(?:treat|manage)\b|"
    r"\bwhat(?:'s|\s+is)\s+the\s+(?:usual|recommended|normal|max(?:imum)?|starting|standard)\b|\b(?:usual|recommended)\s+dos(?:e|ing)\b"
)
_GATE = re.compile(r"\d\s*(?:y/?o|yo|yr|year|m\b|f\b|male|female)|\bbed\b|\broom\b|\bcot\b|\bin\s+\d{1,3}[a-d]?\b|"
                   r"\bborn\s+at\b|\d\+\d|"
                   r"\bs/p\b|\bpod\b|\bpatient|\bpt\b|\bmr|\bms\b|"
                   r"\badmitted\b|\bovernight\b|\bward\b|\bthis\s+morning\b|\bhe\s+|\bshe\s+")


# Some English at all (or the clinical abbreviations of a terse note): French prose skips the rest.
_ENGLISH = re.compile(r"\b(?:the|and|with|was|is|has|of|for|his|her|y/o|yo|s/p|pod|bed|what|more|next|sats|pls)\b|"
                      r"\b\d{1,3}\s*[mf]\b")


class EnglishClinicalRecognizer(BaseRecognizer):
    name = "health_en"

    def analyze_ctx(self, ctx: ScanContext):
        low = ctx.lower
        if not _ENGLISH.search(low) or not _GATE.search(low):
            return []
        age = _AGE.search(low)
        strong = _STRONG.search(low)
        if not (age or strong):
            return []
        terms = {m.group() for m in _CLINICAL.finditer(low)}
        if len(terms) < 2:
            return []
        if _KNOWLEDGE.search(low) and not strong:
            return []
        anchor = min((m for m in (age, strong) if m), key=lambda m: m.start())
        return [ctx.finding("HEALTH_DATA", "health", anchor.start(), anchor.end(), 0.85, self.name)]
