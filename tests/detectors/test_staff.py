import pytest

from detectors.staff import StaffHealthRecognizer

rec = StaffHealthRecognizer()


@pytest.mark.parametrize("text", [
    "notre cadre de santé est en arrêt longue maladie pour un cancer, comment réorganiser le planning ?",
    "une de mes ASH est enceinte et ne veut pas que l'équipe le sache",
    "l'IDE de nuit (celle qui a fait un burn-out) reprend lundi en mi-temps thérapeutique",
    "un agent m'a confié qu'il est séropositif, dois-je prévenir la médecine du travail ?",
    "our night nurse is off sick with burnout, draft a rota for next week",
    "Mon éduc du groupe 2 a eu un accident du travail hier",
])
def test_staff_health_by_role(text):
    assert rec.analyze(text)


@pytest.mark.parametrize("text", [
    "Comment gérer un arrêt maladie dans la fonction publique hospitalière ?",
    "Quels sont les droits d'une salariée enceinte ?",
    "Rédige une procédure de déclaration d'accident du travail pour les agents.",
    "Notre cadre organise la réunion de service jeudi.",
])
def test_general_hr_questions(text):
    assert rec.analyze(text) == []


def test_evasion_no_accents_upper_case():
    assert rec.analyze("NOTRE CADRE EST EN ARRET LONGUE MALADIE POUR UN CANCER")


def test_generic_article_is_not_a_person():
    assert rec.analyze("Le salarié en arrêt maladie peut-il partir en vacances ?") == []


@pytest.mark.parametrize("text", [
    "notre brancardier a rendez-vous chez le psychiatre chaque jeudi, je le mets dans l'agenda du service ?",
    "une de mes ASH voit un psy depuis l'agression, elle veut ses mardis après-midi",
    "Staff member Paul Girard (porter, days) told HR he is starting IVF with his partner in May.",
    "l'infirmière Sandrine Roux est en PMA, elle demande des horaires aménagés",
    "un de mes agents techniques a eu un accident de service mardi, coupure à la main",
    "notre secrétaire est en CLM depuis septembre, qui prévient la paie ?",
    "j'ai une collègue ASH qui boit pendant ses gardes, je sens l'alcool le matin",
    "one of my HCAs has panic attacks on night shifts, can I move her to days?",
    "my charge nurse is recovering from knee surgery, plan the rota without her",
    "le fils de ma collègue est autiste, elle a posé trois arrêts ce trimestre",
])
def test_staff_care_of_their_own_and_public_sector_leave(text):
    assert rec.analyze(text)


@pytest.mark.parametrize("text", [
    "Comment organiser le planning quand un agent a des rendez-vous médicaux réguliers ?",
    "Qu'est-ce qu'un accident de service dans la fonction publique territoriale ?",
    "Le Directeur Général Adjoint présente le plan de prévention des risques.",
    "la psy du service anime un groupe de parole pour les familles le jeudi",
    "Our pharmacist ordered surgery supplies for the ward.",
    "The team leader organised a mental health awareness week.",
    "How should a manager support a staff member with anxiety? General advice please.",
])
def test_care_and_leave_in_general_are_not_a_person(text):
    assert rec.analyze(text) == []


def test_care_of_their_own_evasion(scanner_nospacy):
    assert rec.analyze("NOTRE BRANCARDIER A RDV CHEZ LE PSYCHIATRE TOUS LES JEUDIS")
    # homoglyphs (Cyrillic о, а) and a zero-width space are normalised before the rule runs
    text = "n\u043etre brancardier a rdv chez le psychi\u0430tre tous les\u200b jeudis"
    assert "health" in scanner_nospacy.scan(text).categories
