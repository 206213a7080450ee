"""Property-based tests (Hypothesis): every scalar anywhere in any body reaches the scanner, and
normalisation offsets always map back into the original text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detectors.normalize import normalize
from gateway.extract import BINARY_KEYS, ENUM_KEYS, Extracted, walk

_RESERVED = ENUM_KEYS | set(BINARY_KEYS) | {"type", "source", "file_data"}
keys = st.text(min_size=1, max_size=12).filter(lambda k: k.lower() not in _RESERVED)
leaf_text = st.text(min_size=1, max_size=40).filter(lambda s: not s.isspace() and not s[:5].lower() == "data:")
scalars = st.one_of(leaf_text, st.integers(), st.floats(allow_nan=False, allow_infinity=False))
bodies = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                        st.dictionaries(keys, inner, max_size=5)), max_leaves=30)


def leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v)
    else:
        yield value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies)
def test_every_scalar_reaches_the_scanner(body):
    out = Extracted()
    walk(body, out)
    parts = out.parts
    for leaf in leaves(body):
        if isinstance(leaf, bool):
            continue
        text = leaf if isinstance(leaf, str) else repr(leaf)
        if text.strip():
            assert text in parts, text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_normalised_spans_map_back_inside_the_original(text):
    norm = normalize(text)
    n = len(norm.text)
    previous = 0
    for i in range(n):
        s, e = norm.span(i, i + 1)
        assert 0 <= s <= e <= len(text)
        assert s >= previous  # monotonic: offsets never go backwards
        previous = s
    if n:
        assert norm.span(0, n)[1] <= len(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["\u200b", "\u00ad", "\ufeff", "\u2060", "\x00", "\x1f", "\u2028", "·", "|", ","]),
                min_size=6, max_size=6))
def test_a_nir_survives_any_mix_of_separators(seps):
    from detectors.nir import NirRecognizer

    groups = ["1", "85", "05", "78", "006", "084", "91"]
    text = "NIR " + "".join(g + (seps[i] if i < 6 else "") for i, g in enumerate(groups))
    spans = [text[f.start : f.end] for f in NirRecognizer().analyze(text)]
    assert any(s.startswith("1") and s.endswith("91") for s in spans), repr(text)
