"""Configuration validation: what `serve` would refuse (or silently get wrong) is refused when the file
is loaded, with the key and the line, so that `gardefou check-config` and `gardefou serve` agree."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, parse_config
from policies import vocabulary


def test_one_categories_vocabulary():
    import detectors
    from gateway.audit import query
    from policies import decision

    assert detectors.CATEGORIES == decision.SENSITIVE == vocabulary.CATEGORIES
    assert query.CATEGORIES == vocabulary.AUDIT_CATEGORIES
    assert set(decision.CATEGORY_LABELS_FR) == set(vocabulary.AUDIT_CATEGORIES)
