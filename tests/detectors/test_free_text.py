"""The free-text classifier: what it must catch in staff's own words, what it must let through, evasion,
the window arithmetic against the training features, and that the shipped weights are reproduced by
the training script from the corpus in the repository."""

from __future__ import annotations

import json

import numpy as np
import pytest

from detectors.free_text import FreeTextRecognizer
from detectors.textmodel import MODEL_PATH, Featurizer, TextModel, _cumsum, _gather, fold, shape, windows

rec = FreeTextRecognizer()


def categories(text: str) -> set[str]:
    return {f.category for f in rec.analyze(text)}


@pytest.mark.parametrize("text, category", [
    ("notre cadre de santé est en arrêt longue maladie pour un cancer, comment réorganiser le planning ?", "health"),
    ("une de mes ASH m'a dit qu'elle est enceinte de 3 mois, elle ne veut pas que ça se sache", "health"),
    ("la dame de la 5 a encore chuté cette nuit, sous anticoag, je préviens qui ?", "health"),
    ("pt 76a ch 8, J2 post-op PTH, douleur EVA 7 malgré palier 2, je rappelle l'anesth ?", "health"),
    ("58 y/o male, bed 7, s/p CABG, new onset AF overnight, draft the handover", "health"),
    ("le jeune de l'IME (14 ans, TSA) a mordu un éducateur, rédige le rapport d'incident", "health"),
])
def test_health_in_staff_words(scanner, text, category):
    """Through the whole scanner: the classifier and the rules together."""
    assert category in scanner.scan(text).categories


@pytest.mark.parametrize("text", [
    "Quels sont les effets indésirables fréquents de la metformine ?",
    "Reformule ce paragraphe pour le rendre plus clair : la réunion est reportée à jeudi.",
    "Explique la différence entre tutelle et curatelle.",
    "Fais-moi une formule Excel qui compte les cellules non vides d'une colonne.",
    "Rédige une fiche de poste d'infirmier de nuit en EHPAD.",
])
def test_harmless_requests(text):
    assert categories(text) == set()


def test_evasion_without_accents_typos_and_shouting():
    """Folding makes case and accents irrelevant: the same probability either way."""
    plain = "la dame de la 5 a encore chuté cette nuit, sous anticoagulants, je préviens qui ?"
    shouted = "LA DAME DE LA 5 A ENCORE CHUTE CETTE NUIT, SOUS ANTICOAGULANTS, JE PREVIENS QUI ?"
    p1 = {s.category: s.probability for s in rec.model.score(plain)}
    p2 = {s.category: s.probability for s in rec.model.score(shouted)}
    assert "health" in categories(shouted) and abs(p1["health"] - p2["health"]) < 1e-9


def test_a_sentence_buried_in_a_long_paste_is_found():
    filler = "Le planning des congés d'été est affiché en salle de pause, merci de le compléter avant vendredi. " * 12
    case = "Pour info, la dame de la 5 a encore chuté cette nuit, elle est sous anticoagulants et saigne du nez. "
    assert "health" not in categories(filler + filler)
    found = [f for f in rec.analyze(filler + case + filler) if f.category == "health"]
    assert found and found[0].end - found[0].start < len(filler)  # the window, not the whole paste


def test_findings_carry_cue_words_never_the_text():
    text = "Mme Quintavalle-Brossard, 81 ans, chambre 12, a fait une chute, sous anticoagulants"
    for f in rec.analyze(text):
        assert f.cues and all(c.islower() and "quintavalle" not in c and c in rec.model.cues[f.category] for c in f.cues)


def test_folding_keeps_offsets_and_shapes_numbers():
    text = "Élève İstanbul 76a"
    assert len(fold(text)) == len(text)
    assert shape(fold("12345678")) == "000" and shape(fold("76a")) == "0a"


def test_windows_cover_the_text():
    assert windows(10) == [(0, 10)]
    spans = windows(200)
    assert spans[0][0] == 0 and spans[-1][1] == 200 and all(b - a <= 48 for a, b in spans)


def test_window_sums_equal_the_training_features():
    """The cached per-token sums give exactly the logits of the sparse features the model was trained on."""
    model = TextModel()
    fz = Featurizer()
    texts = ["notre cadre est en arrêt maladie depuis le 12/03", "Le budget 2026 (3,2 M€) n'est pas arbitré",
             "pt 76a ch 8 J2", "Quels sont les effets de la metformine ?"]
    coef = np.concatenate([model._word, model._char])
    expected = fz.matrix(texts) @ coef + model.intercept
    for text, want in zip(texts, expected):
        toks = [m.group() for m in fz.tokens(text)]
        assert np.allclose(model.logits(toks, [(0, len(toks))])[0], want)


def test_each_window_scores_as_its_tokens_alone():
    """The prefix-sum windows of a long text give each window the logits of its own tokens scored as
    a whole text (word pairs across a window's edge left out)."""
    model = TextModel()
    text = " ".join(["Mme L., 81 ans, ch 12, chute ce matin sous anticoagulants, INR à 4,2."] * 3
                    + ["Le budget du GHT pour 2027 prévoit 3,2 M€ d'investissements non arbitrés."] * 4)
    toks = [m.group() for m in Featurizer().tokens(text)]
    spans = windows(len(toks))
    assert len(spans) > 3
    got = model.logits(toks, spans)
    for i, (a, b) in enumerate(spans):
        assert np.allclose(got[i], model.logits(toks[a:b], [(0, b - a)])[0])
    assert np.allclose(model.logits(toks, spans[2:4]), got[2:4])  # any list of windows, not only ``windows``'s


def test_the_lock_keeping_array_forms_give_the_plain_numpy_results():
    """``_gather`` and ``_cumsum`` (written so that NumPy keeps the interpreter lock) are row
    indexing and a cumulative sum with a leading zero row, value for value."""
    rng = np.random.default_rng(7)
    table = rng.random((50, 9))
    rows = np.array([3, 3, 49, 0, 17])
    assert np.array_equal(_gather(table.reshape(-1), 9, rows), table[rows])
    assert _gather(table.reshape(-1), 9, rows[:0]).shape == (0, 9)
    wide = rng.random((600, 4))  # more rows than NumPy's 500-element threshold, gathered alike
    many = rng.integers(0, 600, 700)
    assert np.array_equal(_gather(wide.reshape(-1), 4, many), wide[many])
    assert np.array_equal(_cumsum(table), np.vstack([np.zeros((1, 9)), np.cumsum(table, axis=0)]))
    assert _cumsum(table[:0]).tolist() == [[0.0] * 9]


def test_scoring_calls_no_arange(monkeypatch):
    """``np.arange`` releases the interpreter lock at every call, whatever its size: once the column
    offsets are made, scoring (a known length or a new one) never calls it."""
    model = rec.model
    model.score("la réunion de service est reportée à jeudi prochain, même heure")
    calls = []
    real = np.arange
    monkeypatch.setattr(np, "arange", lambda *a, **k: calls.append(a) or real(*a, **k))
    model.score("la réunion de service est reportée à jeudi prochain, même heure")
    model.score("peux-tu reformuler ce courriel pour l'équipe de nuit du troisième étage, sur un ton cordial "
                "mais concis, en rappelant la date de la formation incendie et la salle")
    assert calls == []


def test_the_best_window_is_the_first_of_the_highest_and_cues_are_ordered():
    """A category's window is the first of its highest-scoring ones (what ``argmax`` gives), and its
    cue words come in a fixed order (weight, then the word), whatever the process's string hashing."""
    model = TextModel()
    sentence = " ".join(["Le budget du GHT pour 2027 prévoit 3,2 M€ d'investissements non arbitrés."] * 8)
    for text in (sentence, " ".join(["budget"] * 100)):  # one word repeated: windows of a size tie exactly
        found = Featurizer().tokens(text)
        toks = [m.group() for m in found]
        spans = windows(len(toks))
        probs = 1 / (1 + np.exp(-model.logits(toks, spans)))
        got = {s.category: s for s in model.score(text)}
        for ci, cat in enumerate(model.categories):
            a, b = spans[int(probs[:, ci].argmax())]
            assert got[cat].probability == float(probs[:, ci].max())
            assert (got[cat].start, got[cat].end) == (found[a].start(), found[b - 1].end())
            words = {toks[j] for j in range(a, b)} & model.cues[cat].keys()
            assert got[cat].cues == tuple(sorted(words, key=lambda w: (-model.cues[cat][w], w))[:3])
        assert got["confidential"].cues  # cue words: their ordering is exercised


def test_shipped_weights_are_reproduced_from_the_corpus():
    pytest.importorskip("sklearn")
    from detectors.training.train import CORPUS, load, reproduces, same_meta, train

    arrays = train(load(CORPUS))
    with np.load(MODEL_PATH, allow_pickle=False) as z:
        assert same_meta(json.loads(str(z["meta"])), json.loads(str(arrays["meta"])))
        assert reproduces(z, arrays)
    tampered = json.loads(str(arrays["meta"]))
    tampered["thresholds"]["health"] += 0.01
    assert not same_meta(tampered, json.loads(str(arrays["meta"])))
    with np.load(MODEL_PATH, allow_pickle=False) as z:  # one weight moved by 0.01: not the corpus's model
        edited = dict(arrays)
        edited["val_0"] = arrays["val_0"].copy()
        edited["val_0"][len(edited["val_0"]) // 2] += 0.01
        assert not reproduces(z, edited)


def test_confirmation_band_reports_unsure_windows_below_the_threshold():
    from detectors.free_text import FreeTextRecognizer

    text = "pt 45F chest pain 2h, what next"
    strict = FreeTextRecognizer(thresholds={"health": 0.99})
    banded = FreeTextRecognizer(thresholds={"health": 0.99}, confirm_band=0.05)
    assert not [f for f in strict.analyze(text) if f.category == "health"]
    unsure = [f for f in banded.analyze(text) if f.type == "HEALTH_TEXT_UNSURE"]
    assert unsure and all(f.category == "unsure" and 0.05 <= f.score < 0.99 for f in unsure)
    from detectors.base import ScanResult

    assert ScanResult(unsure).unsure == ["health"] and ScanResult(unsure).categories == []
