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
