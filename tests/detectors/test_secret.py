import pytest

from detectors.secret import SecretRecognizer

rec = SecretRecognizer()


def found(text):
    return [text[f.start : f.end] for f in rec.analyze(text)]


@pytest.mark.parametrize(
    "text, value",
    [
        ("clé sk-proj-abcdefghijklmnopqrstuvwxyz123456", "sk-proj-abcdefghijklmnopqrstuvwxyz123456"),
        ("key sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz"),
        ("AWS AKIAZ7QW3ER5TY8UI9OP", "AKIAZ7QW3ER5TY8UI9OP"),
        ("token ghp_0123456789abcdefghijABCDEFGHIJ012345", "ghp_0123456789abcdefghijABCDEFGHIJ012345"),
        ("glpat-abcdefghij0123456789", "glpat-abcdefghij0123456789"),
        ("xoxb-12345678901-abcdefghijklmnopqrstuvwx", "xoxb-12345678901-abcdefghijklmnopqrstuvwx"),
        ("AIzaSyA1234567890abcdefghijklmnopqrstuv", "AIzaSyA1234567890abcdefghijklmnopqrstuv"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=", "-----BEGIN OPENSSH PRIVATE KEY-----"),
        ("DATABASE_URL=postgresql://app:S3cret@10.0.0.5:5432/dpi", "postgresql://app:S3cret@10.0.0.5:5432"),
        ('password = "Hunter2!x"', "Hunter2!x"),
        ("Le mot de passe du compte admin est GlDJAB#75, ok", "GlDJAB#75"),
        ("mdp wifi invités : Bienvenue@CHU2024", "Bienvenue@CHU2024"),
        ("user=admin pwd=Gr4ndH0pital!2024 sur le serveur", "Gr4ndH0pital!2024"),
        ("DB_PASSWORD=S3cr3t!!", "S3cr3t!!"),
    ],
)
def test_secrets(text, value):
    assert value in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "password = os.environ['DB_PASSWORD']",
        "def connect(password: str) -> None:",
        "api_key = os.getenv('API_KEY')",
        "Mot de passe oublié : comment réinitialiser mon accès ?",
        "Le mot de passe est robuste.",
        "Comment configurer un mot de passe robuste ?",
        "proxy_pass http://127.0.0.1:8080;",
        "const token = await getToken();",
        "Authorization: Bearer ${token}",
        "password: <votre mot de passe>",
        "Le passage du patient est prévu.",
    ],
)
def test_not_secrets(text):
    assert found(text) == []


def test_access_codes():
    assert found("Le code d'accès de la porte du bloc est 4589A#, ne le partage pas.") == ["4589A#"]
    assert found("client_secret: 8f3kD9sL2mQ7xZ1vB6nH4tY0") == ["8f3kD9sL2mQ7xZ1vB6nH4tY0"]


@pytest.mark.parametrize("text", [
    "La doc AWS donne AKIAIOSFODNN7EXAMPLE et wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY comme exemple.",
    "jwt.io : eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "Stripe's docs show sk_test_4eC39HqLyjWDarjtT1zdp7dc in every example.",
    "Dans l'exemple : api_key: 'sk-...' et password = 'xxxx'",
    "OPENAI_API_KEY=sk-proj-... à remplacer par votre clé",
])
def test_documented_examples_and_ellipses_are_not_secrets(text):
    assert found(text) == []


def test_a_real_key_beside_a_documented_one_is_found():
    assert found("exemple AKIAIOSFODNN7EXAMPLE, la nôtre AKIAZ7QW3ER5TY8UI9OP") == ["AKIAZ7QW3ER5TY8UI9OP"]


@pytest.mark.parametrize("text, value", [
    ("On change le mot de passe partagé de la boîte du secrétariat, c'est maintenant Urg3nces_Sec_2025. Rédige une note",
     "Urg3nces_Sec_2025"),
    ("wifi résidents : Residents-Hortensias / Hortensias1956 → fais-moi un chevalet", "Hortensias1956"),
])
def test_password_shaped_token_after_its_keyword(text, value):
    assert value in found(text)


@pytest.mark.parametrize("text", [
    "le wifi Orange5G ne marche pas",
    "mot de passe oublié, le ticket INC-20231 est ouvert depuis le 12/03/2024",
    "Comment choisir un mot de passe robuste ? ex. <MotDePasse123>",
    "login admin, version 2.4.1 du logiciel",
])
def test_no_password_shaped_token(text):
    assert found(text) == []


@pytest.mark.parametrize("text, value", [
    ("je dois laisser le code de la porte de la pharmacie à l'interne, c'est 4719B. tu peux", "4719B"),
    ("Notre code alarme de l'EHPAD a changé : 2580 puis # pour armer.", "2580"),
    ("door code is 7391*", "7391*"),
])
def test_access_codes_after_their_keyword(text, value):
    assert found(text) == [value]


@pytest.mark.parametrize("text", [
    "Comment changer le code de la porte d'entrée en 2024 ?",
    "Le digicode sera changé le 12/03 à 14h",
    "le code d'accès au parking est demandé à l'accueil",
])
def test_no_access_code(text):
    assert found(text) == []


@pytest.mark.parametrize("text, value", [
    ("le code porteur de ma e-CPS est 8213, je peux le donner à la secrétaire ?", "8213"),
    ("mon PIN de carte CPS : 5930", "5930"),
    ("my PIN code is 4821.", "4821"),
    # a comma after the code ends it; it is no decimal
    ("le code qu'on m'a donné c'est 2207, ça marche pour toi ?", "2207"),
])
def test_pin_codes_of_cards(text, value):
    assert found(text) == [value]


@pytest.mark.parametrize("text", [
    "Comment réinitialiser le code PIN de la carte CPS quand il est bloqué ?",
    "le code est 12,5 % plus cher que l'an dernier",
    "le code CCAM est 1234, c'est bien l'acte ?",
])
def test_no_pin_code(text):
    assert found(text) == []


def test_pin_code_evasion(scanner_nospacy):
    text = "code porteur ８２１３, ne le dis à personne"  # full-width digits
    assert "secret" in scanner_nospacy.scan(text).categories
