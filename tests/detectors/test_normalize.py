from detectors.normalize import normalize


def test_identity_for_plain_text():
    n = normalize("Bonjour, le patient est sorti.")
    assert n.identity and n.text == n.original
    assert n.span(3, 7) == (3, 7)


def test_zero_width_removed_and_offsets_mapped():
    text = "NIR 1\u200b8\u200b5 fin"
    n = normalize(text)
    assert n.text == "NIR 185 fin"
    s, e = n.span(4, 7)
    assert text[s:e] == "1\u200b8\u200b5"
    s, e = n.span(8, 11)
    assert text[s:e] == "fin"


def test_fullwidth_and_unicode_digits():
    n = normalize("０６ ١٢ ३४")
    assert n.text == "06 12 34"
    assert n.span(0, 2) == (0, 2)


def test_homoglyphs_and_spaces():
    text = "Ivаn\u00a0Pеtrov"  # Cyrillic a and e, NBSP
    n = normalize(text)
    assert n.text == "Ivan Petrov"
    assert n.span(0, len(n.text)) == (0, len(text))


def test_typographic_apostrophe_and_dashes():
    assert normalize("l’examen 06‒12").text == "l'examen 06-12"


def test_accents_untouched():
    assert normalize("hospitalisée à l'hôpital").identity


def test_span_after_removed_character_at_end():
    text = "abc\u200b"
    n = normalize(text)
    assert n.text == "abc"
    assert n.span(0, 3) == (0, 3)
