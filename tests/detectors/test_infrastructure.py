import pytest

from detectors.infrastructure import InfrastructureRecognizer

rec = InfrastructureRecognizer()


def found(text):
    return [text[f.start : f.end] for f in rec.analyze(text)]


@pytest.mark.parametrize("text, value", [
    ("Il les place dans OU=Medecins,OU=Utilisateurs,DC=chvaldaure,DC=local, tu peux améliorer ?",
     "OU=Medecins,OU=Utilisateurs,DC=chvaldaure,DC=local"),
    ("cn=svc_backup, ou=Services, dc=chu, dc=fr", "cn=svc_backup, ou=Services, dc=chu, dc=fr"),
    (r"le fichier est sur \\srv-fichiers01\RH$\paie", r"\\srv-fichiers01\RH$\paie"),
    ("le DPI répond sur dpi-prod.chu-exemple.local depuis hier", "dpi-prod.chu-exemple.local"),
    ("connecte-toi à SRV-AD01.INTRA pour voir", "SRV-AD01.INTRA"),
])
def test_internal_infrastructure(text, value):
    assert found(text) == [value]


@pytest.mark.parametrize("text", [
    "Le site www.has-sante.fr publie les recommandations.",
    "Écris une formule Excel =SI(A1>0;1;0)",
    "le chemin C:\\Users\\Public\\Documents",
    "DC=Washington, la capitale",  # one component is not a distinguished name
    "Go to localhost:8080 or example.com",
])
def test_not_infrastructure(text):
    assert found(text) == []


def test_evasion_with_full_width_and_zero_width(scanner_nospacy):
    text = "groupe ＯＵ=Admins,\u200bDC=chu,DC=local"
    assert "IS_INFRASTRUCTURE" in [f.type for f in scanner_nospacy.scan(text).findings]


@pytest.mark.parametrize("text", [
    "Optimise cette requête sur notre base de prod : SELECT d.num, d.gir FROM aides.dossiers d WHERE d.gir <= 2",
    "SELECT p.nom, p.ddn FROM dpi_prod.patients p JOIN dpi_prod.sejours s ON s.pid = p.id",
    "this runs in production and is slow: UPDATE billing.invoices SET status = 'SENT' WHERE id = 4",
])
def test_sql_on_a_production_database(text):
    assert [f.recognizer for f in rec.analyze(text)] == ["infrastructure:sql"]


@pytest.mark.parametrize("text", [
    "Optimise : SELECT nom, prenom FROM clients WHERE ville = 'Lyon'",  # a course example, no production
    "Quelle différence entre la prod et la recette ?",
    "la production de rapports mensuels : SELECT count(*) FROM t",
])
def test_sql_without_production_is_not_infrastructure(text):
    assert found(text) == []


def test_sql_on_production_evasion(scanner_nospacy):
    text = "sur la base de PROD : ＳＥＬＥＣＴ nom FROM rh_prod.agents"  # full-width letters
    assert "confidential" in scanner_nospacy.scan(text).categories
