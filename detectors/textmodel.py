"""A small linear text classifier for the free-text categories (health, personal, confidential,
secret): the part of detection that rules on trigger phrases cannot do.

Features are hashed word unigrams and bigrams plus character n-grams (3 to 5, inside word
boundaries) of a folded text (lower case, no accents, every digit ``0``), so that typos, SMS style,
missing accents and changing numbers ("76a", "ch 8") fall on the same features. Each space is
``log1p`` of the counts, L2-normalised; one logistic regression per category over both spaces.

Everything that does not depend on the request is computed once per *token* and cached (the hashed
n-grams of a word), so a prompt costs one regex pass, a few numpy operations and one sparse dot
product per window. The model is a plain ``.npz`` of sparse weights (no pickle), produced by
``detectors/training/train.py`` from the corpus in ``detectors/training/corpus/``.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CATEGORIES = ("health", "personal", "confidential", "secret")
WORD_BITS = 18
CHAR_BITS = 18
CHAR_NGRAMS = (3, 4, 5)
MODEL_PATH = Path(__file__).with_name("models") / "free_text.npz"

_TOKEN = re.compile(r"\w+", re.UNICODE)
# Words of the request itself ("reformule", "peux-tu", "please summarise"), which say nothing about
# the content: without them the model cannot learn that a task verb frequent in its sensitive
# examples is itself a sign.
STOP_WORDS = frozenset("""
reformule reformuler reformules redige rediger redigez resume resumer resumez traduis traduire traduisez corrige
corriger corrigez fais faire faites ecris ecrire ecrivez propose proposer proposez explique expliquer expliquez
aide aider aidez peux pourrais pouvez pourriez stp svp merci bonjour salut please thanks thank hi hello
write rewrite summarise summarize translate draft fix explain help polish
""".split())
_WORD_MASK = (1 << WORD_BITS) - 1
_CHAR_MASK = (1 << CHAR_BITS) - 1
_CACHE_MAX = 200_000
#: window sizes in tokens (see ``windows``)
WINDOW_SIZES = (20, 48)


def _fold_table() -> dict[int, str]:
    table = {ord(d): "0" for d in "123456789"}
    for cp in range(0xC0, 0x250):
        base = "".join(c for c in unicodedata.normalize("NFKD", chr(cp)) if not unicodedata.combining(c))
        if len(base) == 1 and base != chr(cp):
            table[cp] = base.lower()
    return table


_FOLD = _fold_table()
# The characters the table changes (digits, Latin letters with diacritics), replaced one match at a
# time: six times faster than ``str.translate`` on French text, where few characters change.
_FOLD_CHARS = {chr(k): v for k, v in _FOLD.items()}
_FOLDED = re.compile("[1-9\u00c0-\u024f]")


def _fold_char(m: re.Match) -> str:
    c = m.group()
    return _FOLD_CHARS.get(c, c)


def fold(text: str) -> str:
    """Lower case, accents removed, every digit written ``0``; the same length as ``text``, so that
    offsets in the folded text are offsets in the text."""
    low = text.lower()
    if len(low) != len(text):  # e.g. "İ" lower-cases to two characters
        low = "".join(c.lower()[:1] or c for c in text)
    return _FOLDED.sub(_fold_char, low)


_DIGITS = re.compile(r"0+")


#: A longer "word" (a pasted blob, base64 without padding) is featurised on its first characters:
#: its n-grams would otherwise cost time in proportion to its length for no information.
MAX_TOKEN_CHARS = 256


def shape(tok: str) -> str:
    """A folded token with its digit runs reduced to their size class (1-2, 3-4, 5+ digits), so that
    every order number, phone group or year does not make features of its own."""
    tok = tok[:MAX_TOKEN_CHARS]
    if "0" not in tok:
        return tok
    return _DIGITS.sub(lambda m: "0" * min(3, (len(m.group()) + 1) // 2), tok)


def _h(s: str) -> int:
    return zlib.crc32(s.encode("utf-8", "surrogatepass"))


class Featurizer:
    """Text -> hashed sparse features. Thread-safe: the cache only ever gains complete entries."""

    def __init__(self, stop: frozenset[str] = STOP_WORDS) -> None:
        self.stop = stop
        self._cache: dict[str, tuple[int, np.ndarray]] = {}

    def token(self, tok: str) -> tuple[int, np.ndarray]:
        """(word hash, char n-gram hashes) of one folded token, cached."""
        tok = shape(tok)
        hit = self._cache.get(tok)
        if hit is None:
            hit = hashed(tok)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[tok] = hit
        return hit

    def tokens(self, text: str) -> list[re.Match]:
        # Bare numbers are left to the rules (checksums, formats): as features they only teach the
        # model that figures look confidential.
        return [m for m in _TOKEN.finditer(fold(text)) if m.group() not in self.stop and m.group().strip("0")]

    def matrix(self, texts: list[str]):
        """A scipy CSR matrix of whole texts (training and evaluation): in each space, the n-gram
        counts divided by the square root of the number of n-grams (a length normalisation that
        ``TextModel`` can apply to any window from per-token sums)."""
        from scipy.sparse import csr_matrix

        ptrs, base = [0], 0
        inds: list[np.ndarray] = [np.zeros(0, np.int64)]
        vals: list[np.ndarray] = [np.zeros(0)]
        for text in texts:
            toks = [m.group() for m in self.tokens(text)]
            entries = [self.token(t) for t in toks]
            words = np.fromiter((e[0] for e in entries), dtype=np.int64, count=len(entries))
            w = np.concatenate([words, bigram_hashes(words)]) & _WORD_MASK
            c = np.concatenate([e[1] for e in entries]) if entries else np.zeros(0, np.int64)
            for space, offset in ((w, 0), (c, 1 << WORD_BITS)):
                if not len(space):
                    continue
                idx, counts = np.unique(space, return_counts=True)
                inds.append(idx + offset)
                vals.append(counts / np.sqrt(len(space)))
                base += len(idx)
            ptrs.append(base)
        return csr_matrix((np.concatenate(vals), np.concatenate(inds), np.asarray(ptrs)),
                          shape=(len(texts), n_features()))


def hashed(tok: str) -> tuple[int, np.ndarray]:
    """(word hash, character n-gram hashes) of a shaped token."""
    padded = f" {tok} "
    grams = [padded[i : i + n] for n in CHAR_NGRAMS for i in range(len(padded) - n + 1)]
    return _h(tok), np.fromiter((_h(g) & _CHAR_MASK for g in grams), dtype=np.int64, count=len(grams))


def bigram_hashes(words: np.ndarray) -> np.ndarray:
    """Hashes of adjacent word pairs, from the two words' hashes."""
    if len(words) < 2:
        return np.zeros(0, np.int64)
    return (words[:-1] * 1_000_003) ^ words[1:]


# The classifier runs on the scan threads beside the event loop, so it keeps the interpreter lock:
# NumPy releases it around some operations even on a few rows (``argmax``, ``np.zeros``,
# ``np.cumsum``, ``np.arange`` of any size, ``take``, and element-wise operations and gathers of more
# than 500 elements), and each release hands the lock to a waiting thread and waits to take it back
# (a thread switch; under load, most of the classifier's time). Rows are therefore gathered as one
# item each (``_gather``: a row of ``width`` floats viewed as one opaque item, so that a gather of n
# rows counts n items, not n × width), prefix sums written by ``np.add.accumulate`` into
# ``np.empty``, and the best window found on a Python list: a text of up to 500 tokens is scored
# without releasing the lock in ``_gather`` (``tests/detectors/test_free_text.py``, which also checks
# that the results are the same numbers).

@functools.lru_cache(maxsize=8)
def _columns(width: int) -> np.ndarray:
    """``np.arange(width)``, made once: ``np.arange`` releases the interpreter lock at every call."""
    cols = np.arange(width)
    cols.flags.writeable = False  # shared by every caller
    return cols


@functools.lru_cache(maxsize=8)
def _row_item(width: int) -> np.dtype:
    """A row of ``width`` float64 as one opaque item (its bytes, copied as they are)."""
    return np.dtype((np.void, width * np.dtype(np.float64).itemsize))


def _gather(flat: np.ndarray, width: int, rows: np.ndarray) -> np.ndarray:
    """``flat.reshape(-1, width)[rows]`` (``flat`` contiguous), the same bytes: the rows gathered as
    ``len(rows)`` items of ``width`` floats each."""
    return flat.view(_row_item(width))[rows].view(np.float64).reshape(len(rows), width)


def _cumsum(a: np.ndarray) -> np.ndarray:
    """Prefix sums with a leading zero row: sum of rows [i, j) is ``c[j] - c[i]``."""
    out = np.empty((len(a) + 1,) + a.shape[1:])
    out[0] = 0
    np.add.accumulate(a, axis=0, out=out[1:])
    return out


@functools.lru_cache(maxsize=512)
def _window_bounds(spans: tuple[tuple[int, int], ...], width: int,
                   pair_width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For the windows' first and end tokens and the end of their word pairs (pairs (j, j+1) with
    a <= j < b-1): the flat indices of those rows in prefix sums ``width`` columns wide (a, b) and
    ``pair_width`` wide (a, pb); and the square root of the windows' numbers of word features (at
    least 1). The same for every text of the same number of tokens, so computed once per length."""
    a = np.array([s[0] for s in spans])
    b = np.array([s[1] for s in spans])
    pb = np.maximum(b - 1, a)
    root = np.sqrt(np.maximum((b - a) + (pb - a), 1))[:, None]
    cols, pair_cols = _columns(width), _columns(pair_width)
    out = (a[:, None] * width + cols, b[:, None] * width + cols, a[:, None] * pair_width + pair_cols,
           pb[:, None] * pair_width + pair_cols, root)
    for arr in out:
        arr.flags.writeable = False  # shared by every caller
    return out


def n_features() -> int:
    return (1 << WORD_BITS) + (1 << CHAR_BITS)


def windows(n_tokens: int, sizes: tuple[int, ...] = WINDOW_SIZES) -> list[tuple[int, int]]:
    """Token windows covering a text: the whole text when short; otherwise windows of each size,
    overlapping by half, so that a sensitive sentence buried in a long paste is not diluted by the
    rest. A window is two prefix-sum differences, so many of them cost little."""
    if n_tokens <= sizes[0]:
        return [(0, n_tokens)]
    out = []
    for size in sizes:
        if size >= n_tokens:
            out.append((0, n_tokens))
            break
        stride = size // 2
        out += [(a, min(a + size, n_tokens)) for a in range(0, n_tokens - size + stride, stride)]
    return out


@dataclass(frozen=True)
class Score:
    category: str
    probability: float
    start: int  # offsets in the scanned text of the best window
    end: int
    cues: tuple[str, ...]


class TextModel:
    """The trained weights: ``score(text)`` -> the best window's probability per category.

    A window's logit is (sum of its word and bigram weights) / sqrt(its number of word features)
    + (sum of its character n-gram weights) / sqrt(its number of n-grams) + intercept: every term is
    a sum over tokens, so each token's sums are cached and windows are prefix-sum differences."""

    def __init__(self, path: Path | str = MODEL_PATH):
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            self.categories: tuple[str, ...] = tuple(meta["categories"])
            self.thresholds: dict[str, float] = meta["thresholds"]
            self.version: str = meta["version"]
            self.cues: dict[str, dict[str, float]] = meta["cues"]
            dense = np.zeros((n_features(), len(self.categories)), dtype=np.float64)
            for i, _ in enumerate(self.categories):
                dense[z[f"idx_{i}"], i] = z[f"val_{i}"]
            self.intercept = z["intercept"].astype(np.float64)
        if meta["word_bits"] != WORD_BITS or meta["char_bits"] != CHAR_BITS:
            raise ValueError("model file does not match the featurizer")
        self._word = dense[: 1 << WORD_BITS]
        self._char = dense[1 << WORD_BITS :]
        self._word_flat, self._char_flat = self._word.reshape(-1), self._char.reshape(-1)  # views
        self.featurizer = Featurizer()
        k = len(self.categories)
        # Per-token sums, one row each: [word weights (k), char n-gram weights (k), n-grams], and the
        # token's word hash. Rows are only appended (under the lock), so readers need no lock.
        self._index: dict[str, int] = {}  # raw folded token -> row
        self._shaped: dict[str, int] = {}  # shaped token -> row
        self._table = np.zeros((4096, 2 * k + 1))
        self._hashes = np.zeros(4096, dtype=np.int64)
        self._lock = threading.Lock()
        self._n = 0

    def _rows(self, toks: list[str], check: Callable[[], None] | None = None) -> np.ndarray:
        index = self._index
        rows = [index.get(t) for t in toks]
        if None in rows:
            added = 0
            with self._lock:
                for i, t in enumerate(toks):
                    if rows[i] is None:
                        rows[i] = self._add(t)
                        added += 1
                        if check is not None and not added & 255:  # new shapes cost their n-grams
                            check()
        return np.fromiter(rows, dtype=np.int64, count=len(rows))

    def _add(self, tok: str) -> int:
        """The row of a raw folded token, computed once per shape. Called under the lock."""
        hit = self._index.get(tok)
        if hit is not None:
            return hit
        shaped = shape(tok)
        row = self._shaped.get(shaped)
        if row is None:
            row = self._next_row()
            h, grams = hashed(shaped)  # computed once into the row: the featurizer's cache is not needed
            k = len(self.categories)
            self._table[row, :k] = self._word[h & _WORD_MASK]
            self._table[row, k : 2 * k] = _gather(self._char_flat, k, grams).sum(axis=0)
            self._table[row, 2 * k] = len(grams)
            self._hashes[row] = h
            self._shaped[shaped] = row
        self._index[tok] = row
        return row

    def _next_row(self) -> int:
        """A free row; the table doubles when full, and starts afresh (new arrays, so that readers
        keep consistent rows) past ``_CACHE_MAX`` tokens."""
        n = self._n
        if n >= len(self._table):
            if n >= _CACHE_MAX:
                self._index, self._shaped = {}, {}
                self._table = np.zeros_like(self._table[:4096])
                self._hashes = np.zeros_like(self._hashes[:4096])
                n = 0
            else:
                self._table = np.concatenate([self._table, np.zeros_like(self._table)])
                self._hashes = np.concatenate([self._hashes, np.zeros_like(self._hashes)])
        self._n = n + 1
        return n

    def logits(self, toks: list[str], spans: list[tuple[int, int]],
               check: Callable[[], None] | None = None) -> np.ndarray:
        """(windows, categories) logits of token windows [a, b)."""
        rows = self._rows(toks, check)
        table, hashes = self._table, self._hashes  # a reader keeps the arrays it started with
        k = len(self.categories)
        width = 2 * k + 1
        t = _gather(table.reshape(-1), width, rows)
        pair_w = _gather(self._word_flat, k, bigram_hashes(hashes[rows]) & _WORD_MASK)
        if len(spans) == 1 and spans[0] == (0, len(toks)):  # one window, the whole text: plain sums
            n = len(toks)
            word_w, char_w, n_grams = t[:, :k], t[:, k : 2 * k], t[:, 2 * k]
            return ((word_w.sum(axis=0) + pair_w.sum(axis=0)) / np.sqrt(max(2 * n - 1, 1))
                    + char_w.sum(axis=0) / np.sqrt(max(n_grams.sum(), 1)) + self.intercept)[None, :]
        c = _cumsum(t).reshape(-1)  # one prefix sum for the word, character n-gram and n-gram count columns
        cp = (_cumsum(pair_w) if len(pair_w) else np.zeros((1, k))).reshape(-1)
        a, b, pa, pb, root = _window_bounds(tuple(spans), width, k)
        d = c[b] - c[a]
        word_sum = d[:, :k] + cp[pb] - cp[pa]
        return (word_sum / root
                + d[:, k : 2 * k] / np.sqrt(np.maximum(d[:, 2 * k], 1))[:, None] + self.intercept)

    def score(self, text: str, explain_above: float = 0.0, check: Callable[[], None] | None = None) -> list[Score]:
        """The best window per category; cue words only for scores of at least ``explain_above``.
        ``check`` is called between the steps (the scan's deadline)."""
        folded = fold(text)
        stop = self.featurizer.stop
        # the tokens' strings only (no match objects: half the cost); offsets are found afterwards for
        # the few windows that are explained (``_offsets``)
        toks = [t for t in _TOKEN.findall(folded) if t not in stop and t.strip("0")]
        if not toks:
            return []
        if check is not None:
            check()
        spans = windows(len(toks))
        probs = (1.0 / (1.0 + np.exp(-self.logits(toks, spans, check)))).tolist()
        chosen = []
        for ci, cat in enumerate(self.categories):  # the first best window, as ``argmax`` would
            k = max(range(len(probs)), key=lambda w: probs[w][ci])
            chosen.append((cat, probs[k][ci], *spans[k]))
        wanted = {i for _, p, a, b in chosen if p >= explain_above for i in (a, b - 1)}
        offsets = self._offsets(folded, wanted) if wanted else {}
        out = []
        for cat, p, a, b in chosen:
            cues: tuple[str, ...] = ()
            start = end = -1  # offsets of windows below ``explain_above`` are not looked up
            if p >= explain_above:
                weights = self.cues[cat]
                found = {toks[j] for j in range(a, b)} & weights.keys()
                cues = tuple(sorted(found, key=lambda t: (-weights[t], t))[:3])  # ties in a fixed order
                start, end = offsets[a][0], offsets[b - 1][1]
            out.append(Score(cat, p, start, end, cues))
        return out

    def _offsets(self, folded: str, wanted: set[int]) -> dict[int, tuple[int, int]]:
        """(start, end) in the text of the kept tokens numbered ``wanted`` (the same filter as ``score``)."""
        stop, out, i, last = self.featurizer.stop, {}, 0, max(wanted)
        for m in _TOKEN.finditer(folded):
            t = m.group()
            if t in stop or not t.strip("0"):
                continue
            if i in wanted:
                out[i] = m.span()
                if i == last:
                    break
            i += 1
        return out
