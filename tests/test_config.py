"""Configuration validation: what `serve` would refuse (or silently get wrong) is refused when the file
is loaded, with the key and the line, so that `gardefou check-config` and `gardefou serve` agree."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, parse_config


def test_one_categories_vocabulary():
    import detectors
    from gateway.audit import query
    from policies import decision, vocabulary

    assert detectors.CATEGORIES == decision.SENSITIVE == vocabulary.CATEGORIES
    assert query.CATEGORIES == vocabulary.AUDIT_CATEGORIES
    assert set(decision.CATEGORY_LABELS_FR) == set(vocabulary.AUDIT_CATEGORIES)


def config_error(text: str) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "c.yaml")
    return str(exc.value)


# -- detectors: -----------------------------------------------------------------------------------

def test_detectors_typo_is_refused_with_its_line_and_a_suggestion():
    msg = config_error("detectors:\n  spacy: false\n  health_treshold: 3\n  sirne: off\n")
    assert "c.yaml: line 3: detectors.health_treshold: unknown key, did you mean 'health_threshold'?" in msg
    assert "c.yaml: line 4: detectors.sirne: unknown key, did you mean 'siren'?" in msg


@pytest.mark.parametrize("value", ['"false"', "'no'", "0", '"true"'])
def test_detectors_booleans_are_strict(value):
    msg = config_error(f"listen: {{port: 8080}}\ndetectors:\n  spacy: {value}\n")
    assert "c.yaml: line 3: detectors.spacy: Input should be a valid boolean" in msg


def test_detectors_plain_booleans_and_yaml_off():
    cfg = parse_config("detectors:\n  spacy: false\n  decode: no\n  siren: off\n")
    assert cfg.detectors.spacy is False and cfg.detectors.decode is False
    assert cfg.detectors.siren == "off"  # YAML reads an unquoted `off` as false: that is what it means


@pytest.mark.parametrize("regex", ["(\\\\d{9}", "a)(b", "[0-9", "(?i)\\\\d+"])
def test_detectors_invalid_patient_id_regex_is_refused(regex):
    msg = config_error(f'detectors:\n  patient_ids:\n    - {{type: FR_IPP, regex: "{regex}", context: [ipp]}}\n')
    assert "c.yaml: line 3: detectors.patient_ids.0.regex: invalid regular expression" in msg


def test_detectors_patient_id_needs_a_context_word():
    # With no context word the pattern would silently never match.
    msg = config_error('detectors:\n  patient_ids:\n    - {type: FR_IPP, regex: "\\\\d{9}"}\n')
    assert "line 3: detectors.patient_ids.0.context: Field required" in msg
    msg = config_error('detectors:\n  patient_ids:\n    - {type: FR_IPP, regex: "\\\\d{9}", context: []}\n')
    assert "line 3: detectors.patient_ids.0.context" in msg


def test_detectors_dictionary_category_must_be_a_known_category():
    msg = config_error("detectors:\n  dictionary:\n    - Projet Hermès\n    - {term: Atlas, category: confidentiel}\n")
    assert "c.yaml: line 4: detectors.dictionary.1.category: Input should be 'personal', 'health', 'confidential' or 'secret'" in msg
    cfg = parse_config("detectors:\n  dictionary:\n    - Projet Hermès\n    - {term: Atlas, category: secret, type: CODE}\n")
    assert [(t.term, t.type, t.category) for t in cfg.detectors.dictionary] == [
        ("Projet Hermès", "CONFIDENTIAL", "confidential"), ("Atlas", "CODE", "secret")]


def test_detectors_other_values_are_checked():
    msg = config_error("detectors:\n  siren: sometimes\n  health_threshold: high\n  disabled: [adress]\n"
                       "  max_spacy_chars: 0\n  dictionary: ['  ']\n")
    for key in ("line 2: detectors.siren", "line 3: detectors.health_threshold", "line 4: detectors.disabled.0",
                "line 5: detectors.max_spacy_chars", "line 6: detectors.dictionary.0.term"):
        assert key in msg


def test_a_configuration_disabling_every_detector_is_refused():
    from detectors.scanner import RECOGNIZER_NAMES

    everything = ", ".join(RECOGNIZER_NAMES)
    msg = config_error(f"detectors:\n  spacy: false\n  disabled: [{everything}]\n")
    assert "c.yaml: line 3: detectors.disabled: every detector is disabled" in msg
    # siren off and no dictionary: those two need not be listed
    rest = ", ".join(n for n in RECOGNIZER_NAMES if n not in ("siren", "dictionary"))
    assert "every detector is disabled" in config_error(f"detectors:\n  siren: 'off'\n  disabled: [{rest}]\n")
    # one detector left is a (poor) choice the operator may make
    parse_config(f"detectors:\n  disabled: [{', '.join(n for n in RECOGNIZER_NAMES if n != 'nir')}]\n")


# -- checks across sections ------------------------------------------------------------------------

def test_alias_to_an_unknown_service_is_refused():
    msg = config_error("aliases:\n  rapide: mistral/mistral-small-latest\n  perdu: mistrall/small\n")
    assert "c.yaml: line 3: aliases.perdu: alias 'perdu' points to unknown service 'mistrall'" in msg
    # a service added by the configuration is known
    parse_config("services:\n  - {id: llm-interne, name: LLM, api: openai}\naliases:\n  interne: llm-interne/qwen\n")


def test_service_missing_its_name_says_which_service_and_line():
    msg = config_error("services:\n  - id: mistral\n    hosting: eu\n  - id: llm-interne\n    api: openai\n")
    assert msg == ("c.yaml: line 4: services.1.name: service 'llm-interne' is not in the built-in catalogue: "
                   "'name' is required")
    # a built-in service keeps its built-in name
    assert parse_config("services:\n  - id: mistral\n").catalogue().get("mistral").name.startswith("Le Chat")


def test_invalid_service_id_says_which_line():
    msg = config_error("services:\n  - id: mistral\n  - {id: Mon_LLM, name: x}\n")
    assert "c.yaml: line 3: services.1.id: String should match pattern" in msg


@pytest.mark.parametrize("url, hint", [
    ("postgres://app:S3cret@db/gardefou", "postgresql+psycopg://"),
    ("mysql://app@db/gardefou", "unsupported audit store 'mysql'"),
    ("postgresql+psycopg2://app:S3cret@db/gardefou", "driver 'postgresql+psycopg2' is not available"),
    ("not a url", "not a database URL"),
])
def test_audit_url_must_be_a_store_the_gateway_can_open(url, hint):
    msg = config_error(f"listen: {{port: 8080}}\naudit:\n  url: {url}\n")
    assert "c.yaml: line 3: audit.url:" in msg and hint in msg
    assert "S3cret" not in msg


def test_audit_url_accepted_forms():
    for url in ("sqlite:///./gardefou-audit.db", "postgresql+psycopg://app@db:5432/gardefou", "postgresql://app@db/g"):
        assert parse_config(f"audit:\n  url: '{url}'\n").audit.url == url


def test_admin_port_must_differ_from_the_gateway_port_on_the_same_host():
    msg = config_error("listen: {host: 127.0.0.1, port: 8080}\nadmin:\n  host: 127.0.0.1\n  port: 8080\n")
    assert "c.yaml: line 4: admin.port: the admin listener needs its own port" in msg
    assert "admin.port" in config_error("listen: {host: 0.0.0.0, port: 9000}\nadmin: {host: 127.0.0.1, port: 9000}\n")
    parse_config("listen: {host: 127.0.0.1, port: 8080}\nadmin: {host: 10.0.0.1, port: 8080}\n")
    parse_config("listen: {port: 0}\nadmin: {port: 0}\n")  # any free port


# -- what serve needs from the machine (checked with environ: serve and check-config) -------------

def test_fingerprint_key_variable_must_be_set():
    text = "listen: {port: 8080}\naudit:\n  url: sqlite:///x.db\n  fingerprint_key_env: GF_FP_KEY\n"
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "c.yaml", environ={})
    assert str(exc.value) == ("c.yaml: line 4: audit.fingerprint_key_env: names the environment variable GF_FP_KEY, "
                              "which is not set")
    with pytest.raises(ConfigError):
        parse_config(text, "c.yaml", environ={"GF_FP_KEY": ""})
    parse_config(text, environ={"GF_FP_KEY": "k" * 32})
    parse_config(text)  # without environ (audit and admin commands): not checked


def test_dictionary_file_must_be_readable_utf8(tmp_path):
    terms = tmp_path / "termes.txt"
    text = f"detectors:\n  spacy: false\n  dictionary_file: {terms}\n"
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "c.yaml", environ={})
    assert f"c.yaml: line 3: detectors.dictionary_file: cannot read {terms}" in str(exc.value)
    terms.write_bytes("Projet Herm\xe8s\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        parse_config(text, "c.yaml", environ={})
    terms.write_text("# termes internes\nProjet Hermès\n", encoding="utf-8")
    assert parse_config(text, environ={}).detectors.dictionary_file == str(terms)


def test_spacy_model_must_be_installed():
    text = "detectors:\n  spacy_model: fr_core_news_xx\n"
    with pytest.raises(ConfigError, match="line 2: detectors.spacy_model: spaCy model 'fr_core_news_xx' is not installed"):
        parse_config(text, "c.yaml", environ={})
    parse_config("detectors:\n  spacy: false\n  spacy_model: fr_core_news_xx\n", environ={})
    parse_config("detectors: {}\n", environ={})  # the default model is a dependency


def test_embedded_defaults_pass_the_environment_checks():
    from gateway.config import load_config

    assert load_config(None, environ={}).audit.fingerprint_key_env is None


def test_docs_list_every_detectors_key_and_their_example_validates():
    import re
    from pathlib import Path

    from detectors.scanner import RECOGNIZER_NAMES, DetectorOptions

    doc = (Path(__file__).resolve().parents[1] / "docs" / "detectors.md").read_text(encoding="utf-8")
    section = doc.split("## Configuration (`detectors:`)", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)`(?: / `(\w+)`)?", section, re.M))
    keys = {k for pair in documented for k in pair if k}
    assert keys == set(DetectorOptions.model_fields)
    assert all(f"`{name}`" in section for name in RECOGNIZER_NAMES)
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    cfg = parse_config(example, "docs/detectors.md")  # no environ: its dictionary_file is an example path
    assert cfg.detectors.dictionary[-1].category == "confidential"
