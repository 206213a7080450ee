"""Messages an institution sets (issue 14, "Change"): its contact (DPO, DSN), its charter's link and its
internal AI tool, in every block and warning message, on the API path (error ``message``,
``X-Gardefou-Warning``) and on the browser path (block and warning pages, the apps' own replies)."""

from __future__ import annotations

import httpx
import pytest

from policies.decision import Decision
from policies.messages import Contact, Institution, Messages
from tests.browser_support import NIR, NIR_DIGITS, browser_config, start_browser_gateway, start_rig
from tests.test_config import config_error

INSTITUTION = {
    "contacts": [{"role": "DPO", "name": "Claire Martin", "email": "dpo@chu-exemple.fr", "phone": "01 23 45 67 89"},
                 {"role": "DSN", "email": "dsn@chu-exemple.fr", "phone": "poste 4567"}],
    "charter_url": "https://intranet.chu-exemple.fr/charte-ia",
    "internal_tool": {"name": "Assistant IA du CHU", "url": "https://ia.chu-exemple.fr/"},
}
CONTACTS = "DPO (Claire Martin, dpo@chu-exemple.fr, 01 23 45 67 89) ; DSN (dsn@chu-exemple.fr, poste 4567)"
BLOCK = Decision("block", ("charter.personal",), ("La requête contient des données personnelles.",), ("personal",),
                 blocked_categories=("personal",))
WARN = Decision("warn", ("charter.non_compliant",), ("Le service « X » n'est pas conforme à la charte.",))


def test_without_an_institution_section_the_texts_stay_generic():
    messages = Messages()
    text = messages.block(BLOCK)
    assert text == ("Requête bloquée par Garde-fou. La requête contient des données personnelles. Retirez ces éléments "
                    "ou utilisez un outil interne autorisé. Cette décision est tracée (charte d'usage des services "
                    "d'IA externes). En cas de doute, contactez le délégué à la protection des données (DPO) de "
                    "l'établissement ou la DSN.")
    assert messages.warning(WARN) == ("Le service « X » n'est pas conforme à la charte. En cas de doute, contactez le "
                                      "délégué à la protection des données (DPO) de l'établissement ou la DSN.")
    denied = Decision("block", ("service.denied",), ("Le service « X » est interdit.",))
    assert "Utilisez plutôt un outil interne autorisé." in messages.block(denied)  # nothing to remove


def test_the_institution_is_named_in_the_block_and_warning_texts():
    messages = Messages(Institution.model_validate(INSTITUTION))
    block = messages.block(BLOCK)
    assert "utilisez l'outil interne de l'établissement : Assistant IA du CHU (https://ia.chu-exemple.fr/)." in block
    assert "(charte d'usage des services d'IA externes : https://intranet.chu-exemple.fr/charte-ia)" in block
    assert block.endswith(f"En cas de doute, contactez : {CONTACTS}.")
    warning = messages.warning(WARN)
    assert "Préférez l'outil interne de l'établissement : Assistant IA du CHU" in warning
    assert "Charte d'usage : https://intranet.chu-exemple.fr/charte-ia." in warning and CONTACTS in warning
    assert warning.encode("latin-1")  # fits an HTTP header as it is
    free = Messages(Institution(contact_text="Une question ? Le DPO répond au 4242."))
    assert free.block(BLOCK).endswith("Le DPO répond au 4242.") and free.contact("Si le problème persiste") == \
        "Une question ? Le DPO répond au 4242."
    assert Contact(name="Claire Martin", email="dpo@chu-exemple.fr").text() == "Claire Martin (dpo@chu-exemple.fr)"
    assert Contact(email="dsn@chu-exemple.fr").text() == "dsn@chu-exemple.fr"
    conversation = messages.conversation("gardefou_blocked", "ChatGPT", BLOCK, None, "aid-1")
    assert "Assistant IA du CHU (https://ia.chu-exemple.fr/)" in conversation and CONTACTS in conversation
    assert "https://intranet.chu-exemple.fr/charte-ia" in conversation and "`aid-1`" in conversation


@pytest.mark.parametrize("text,expected", [
    ("institution:\n  contact_text: Appelez le 4242.\n  contacts:\n    - {email: dpo@chu.fr}\n",
     "line 2: institution.contact_text: give contacts or contact_text, not both"),
    ("institution:\n  contacts:\n    - {role: DPO}\n", "line 3: institution.contacts.0: a contact needs at least"),
    ("institution:\n  contacts:\n    - {email: pas-une-adresse}\n", "line 3: institution.contacts.0.email"),
    ("institution:\n  charter_url: intranet/charte\n", "line 2: institution.charter_url"),
    ("institution:\n  internal_tool: {url: 'https://ia.chu.fr/'}\n", "line 2: institution.internal_tool.name"),
    ("institution:\n  charte_url: https://x.fr/\n", "line 2: institution.charte_url: unknown key, did you mean "
                                                    "'charter_url'?"),
])
def test_the_institution_section_is_checked_with_key_and_line(text, expected):
    assert expected in config_error(text)


def test_api_block_warning_and_acknowledgement_name_the_institution(sqlite_gateway_factory):
    gw = sqlite_gateway_factory(institution=INSTITUTION)
    blocked = httpx.post(gw.v1 + "/chat/completions", json={"model": "mistral/mistral-small-latest",
                                                            "messages": [{"role": "user", "content": f"NIR {NIR}"}]})
    assert blocked.status_code == 403
    message = blocked.json()["error"]["message"]
    assert message.startswith("Requête bloquée par Garde-fou.") and CONTACTS in message
    assert "https://intranet.chu-exemple.fr/charte-ia" in message and "Assistant IA du CHU" in message
    assert NIR not in message and NIR_DIGITS not in message
    warned = httpx.post(gw.v1 + "/chat/completions", json={"model": "openai/gpt-4o-mini",
                                                           "messages": [{"role": "user", "content": "Bonjour"}]})
    assert warned.status_code == 200 and warned.headers["x-gardefou-decision"] == "warn"
    header = warned.headers["x-gardefou-warning"]  # Latin-1, as httpx decodes it
    assert header.startswith("Le service « ChatGPT / API OpenAI » n'est pas conforme")
    assert "Assistant IA du CHU (https://ia.chu-exemple.fr/)" in header and CONTACTS in header
    assert "Charte d'usage : https://intranet.chu-exemple.fr/charte-ia." in header

    strict = sqlite_gateway_factory(institution=INSTITUTION, policy={"warn_mode": "require_ack"})
    ack = httpx.post(strict.v1 + "/chat/completions", json={"model": "openai/gpt-4o-mini",
                                                            "messages": [{"role": "user", "content": "Bonjour"}]})
    assert ack.status_code == 403 and ack.json()["error"]["code"] == "gardefou_ack_required"
    message = ack.json()["error"]["message"]
    assert CONTACTS in message and message.endswith("renvoyez la requête avec l'en-tête « X-Gardefou-Ack: 1 ».")


# -- the browser path ------------------------------------------------------------------------------------

HTML = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    pki, apps, ca_dir = start_rig(tmp_path_factory.mktemp("rig"))
    yield pki, apps, ca_dir
    for app in apps.all():
        app.stop()


@pytest.fixture
def browser(rig, tmp_path, scanner):
    pki, apps, ca_dir = rig
    cfg = browser_config(apps, pki, f"sqlite:///{tmp_path / 'audit.db'}", ca_dir, institution=INSTITUTION)
    cfg["services"].append({"id": "openai", "hosts": [f"localhost:{apps.warn.port}"], "inspect": True})
    cfg["services"] = [s for s in cfg["services"] if s["id"] != "warnapp"]
    gw = start_browser_gateway(cfg, scanner=scanner)
    yield gw, apps
    gw.stop()


def test_browser_block_and_warning_pages_and_app_replies_name_the_institution(browser):
    gw, apps = browser
    with gw.client() as client:
        page = client.get(f"https://localhost:{apps.chat.port}/recherche", params={"q": f"dossier {NIR}"}, headers=HTML)
        assert page.status_code == 403 and "a été bloqué" in page.text
        assert '<a href="https://ia.chu-exemple.fr/">Assistant IA du CHU</a>' in page.text
        assert '<a href="https://intranet.chu-exemple.fr/charte-ia">' in page.text
        assert "dpo@chu-exemple.fr" in page.text and "poste 4567" in page.text
        assert "LLM interne (DSN)" not in page.text  # the configured tool replaces the catalogue's
        assert NIR not in page.text and NIR_DIGITS not in page.text
        warning = client.get(f"https://localhost:{apps.warn.port}/", headers=HTML)  # openai: not compliant
        assert warning.status_code == 403 and "Continuer</button>" in warning.text
        assert "Assistant IA du CHU" in warning.text and "dpo@chu-exemple.fr" in warning.text
        assert 'href="https://intranet.chu-exemple.fr/charte-ia"' in warning.text
        reply = client.post(f"https://localhost:{apps.warn.port}/backend-api/conversation",  # ChatGPT's own format
                            json={"action": "next", "messages": [{"id": "x", "content": {"parts": ["Bonjour"]}}]})
        assert reply.status_code == 200 and reply.headers["x-gardefou-decision"] == "warn"
        assert "dsn@chu-exemple.fr" in reply.text and "Assistant IA du CHU" in reply.text
    assert apps.chat.received == [] and apps.warn.received == []
