import random

import pytest

from detectors.scanner import build_default_scanner

# ``scanner`` (the default scanner, spaCy enabled) comes from tests/conftest.py: one for the whole run.


@pytest.fixture(scope="session")
def scanner_nospacy():
    return build_default_scanner({"spacy": False})


@pytest.fixture
def rng():
    return random.Random(1234)


def types(result, text=None):
    return [f.type for f in result.findings]


def spans(result, text, type_=None):
    return [text[f.start : f.end] for f in result.findings if type_ is None or f.type == type_]
