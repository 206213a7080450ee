"""How a new number recognizer is declared: one small ``NumberRecognizer`` subclass (data + a
``validate`` checksum), then tests like these. The badge number below is made up."""

import base64

import pytest

from detectors.recognizer import BaseRecognizer, NumberRecognizer, cut_groupings
from detectors.scanner import Scanner


class BadgeRecognizer(NumberRecognizer):
    """A staff badge: 8 digits starting with 7 and a 2-digit key (97 - number mod 97), written as one
    block or 4 4 2. Reported anywhere at 0.5, at 0.9 after the word "badge"."""

    name = "badge"
    entity = "TOY_BADGE"
    lengths = (10,)
    prefixes = ("7",)
    groupings = frozenset({(10,), (4, 4, 2)})  # inside a longer run of digits; a lone number may be grouped any way
    score, context_score = 0.5, 0.9
    context, context_before, context_after = ("badge",), 30, 0

    def validate(self, digits: str) -> bool:
        return int(digits[8:]) == 97 - int(digits[:8]) % 97


def badge(number: int) -> str:
    return f"{number}{97 - number % 97:02d}"


rec = BadgeRecognizer()
VALID = badge(71234567)  # 7123456721
BROKEN = VALID[:-1] + ("0" if VALID[-1] != "0" else "1")


def found(text, recognizer=rec):
    return [(text[f.start : f.end], f.score) for f in recognizer.analyze(text)]


def test_valid_number_plain_and_grouped():
    assert found(f"mon badge {VALID} ne marche plus") == [(VALID, 0.9)]
    spaced = f"{VALID[:4]} {VALID[4:8]} {VALID[8:]}"
    assert found(f"le numéro {spaced}.") == [(spaced, 0.5)]  # no context word: base score
    f = rec.analyze(f"badge {VALID}")[0]
    assert (f.type, f.category, f.recognizer) == ("TOY_BADGE", "personal", "badge")


def test_negatives():
    assert found(f"badge {BROKEN}") == []  # wrong key
    assert found(f"badge {badge(61234567)}") == []  # wrong prefix
    assert found(f"badge {VALID[:-1]}") == []  # too short
    # ten valid digits inside a longer run, grouped in a way a badge is not written
    assert found(f"réf 12 {VALID[:2]} {VALID[2:]}") == []
    # the same digits written the badge's way inside the run are read
    assert found(f"réf 12 {VALID[:4]} {VALID[4:8]} {VALID[8:]}") == [(f"{VALID[:4]} {VALID[4:8]} {VALID[8:]}", 0.5)]


@pytest.mark.parametrize(
    "shown",
    [
        "-".join((VALID[:4], VALID[4:8], VALID[8:])),  # dashes
        ".".join((VALID[:4], VALID[4:8], VALID[8:])),  # dots
        VALID[:3] + "\n" + VALID[3:],  # a line break anywhere: a lone number may be grouped any way
        "\u200b".join(VALID),  # zero-width characters
        VALID.translate({ord(c): chr(ord(c) + 0xFEE0) for c in "0123456789"}),  # full-width digits
        VALID.translate({ord(c): chr(0x0660 + int(c)) for c in "0123456789"}),  # Arabic-Indic digits
    ],
)
def test_evasions(shown):
    text = f"badge : {shown} merci"
    # offsets are in the original text, whatever normalisation removed or folded
    assert found(text) == [(shown, 0.9)]


def test_through_the_scanner_and_encodings():
    scanner = Scanner([rec])
    assert [f.type for f in scanner.scan(f"badge {VALID}").findings] == ["TOY_BADGE"]
    encoded = base64.b64encode(f"mon badge est le {VALID}".encode()).decode()
    assert [f.type for f in scanner.scan(f"décode : {encoded}").findings] == ["TOY_BADGE"]


class NamedBadgeRecognizer(BadgeRecognizer):
    """``score = None``: the context word is required."""

    score = None


def test_required_context():
    named = NamedBadgeRecognizer()
    assert found(f"numéro {VALID}", named) == []
    assert found(f"badge {VALID}", named) == [(VALID, 0.9)]
    assert found(f"badge perdu, {'x' * 40} {VALID}", named) == []  # the word is too far before it


class LooseBadgeRecognizer(BadgeRecognizer):
    """Loose runs (any punctuation between groups): only cuts where a badge is written."""

    loose = True
    groupings = cut_groupings(10, (4, 8))
    whole_run_any_grouping = False


def test_loose_runs():
    loose = LooseBadgeRecognizer()
    shown = f"{VALID[:4]}, {VALID[4:8]} | {VALID[8:]}"
    assert found(shown) == []  # the strict runs do not join these groups
    assert found(shown, loose) == [(shown, 0.5)]
    assert found(f"{VALID[:3]}, {VALID[3:]}", loose) == []  # cut where a badge is not


def test_cut_groupings():
    assert cut_groupings(4, {1, 2}) == {(4,), (1, 3), (2, 2), (1, 1, 2)}


def test_declaration_errors():
    class NoEntity(NumberRecognizer):
        lengths = (10,)

    class NoContextWords(NumberRecognizer):
        entity, lengths, score = "X", (10,), None

    for cls in (NoEntity, NoContextWords):
        with pytest.raises(TypeError):
            cls()


def test_base_class_is_reexported():
    from detectors.context import BaseRecognizer as Reexported

    assert Reexported is BaseRecognizer
    assert issubclass(NumberRecognizer, BaseRecognizer)
