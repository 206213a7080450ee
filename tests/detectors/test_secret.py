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
        ("AWS AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
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
