import pytest

from detectors.health_en import EnglishClinicalRecognizer

rec = EnglishClinicalRecognizer()


@pytest.mark.parametrize("text", [
    "58 y/o male, bed 7, s/p CABG, new onset AF overnight, draft the handover",
    "My patient in room 12 is septic, BP 85/50, lactate up: what antibiotics?",
    "Mrs K. was admitted yesterday with a NSTEMI, troponin rising; write the referral letter",
    "3yo girl, scald burns 18% TBSA from a kettle yesterday evening, write the referral email",
])
def test_english_clinical_notes(text):
    assert rec.analyze(text)


@pytest.mark.parametrize("text", [
    "Which of the following is first-line for AF rate control in a 70-year-old? a) digoxin b) bisoprolol",
    "What are the guidelines for managing sepsis in patients with COPD?",
    "Summarise the main side effects of warfarin and the INR targets.",
    "Write a generic discharge checklist for the cardiology ward team.",
])
def test_english_knowledge(text):
    assert rec.analyze(text) == []


def test_evasion_upper_case_and_full_width(scanner_nospacy):
    assert "health" in scanner_nospacy.scan("５８ Y/O MALE, BED ７, S/P CABG, NEW AF").categories
