"""The one tokenizer shared by articles and questions, so their words can meet.

Normalises Unicode (curly quotes, dashes), folds case, drops possessives and
stopwords (keeping negations), maps aliases (Beijing -> china, declared -> say)
and stems with Snowball, which needs no download.

The stemmer is PyStemmer, the Snowball project's own C build of the English
(Porter2) algorithm: NLTK's pure-Python Snowball gave the same stems for all but
69 of 38,000 words of news and Wikipedia text (PyStemmer follows the newer
rules: "added" -> "add", not "ad") at 7 µs a word against 1.2 µs, and a
question's new words are stemmed while it waits.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from itertools import chain
from pathlib import Path

import Stemmer

from bot.core import lexicon
from bot.core.ingest import yamltext
from bot.core.memo import Memo

SPEECH = "say"
# Bump when a rule here (or in splitting, cleaning or attribution) changes what an article
# turns into: a saved index records it, and one made under another version is rebuilt.
TOKENIZER_VERSION = 5  # 5: sentence furniture model, learned source tagger, quotation runs (#18)
# Words whose terms (and stems) a tokenizer remembers; both caches full take about 85 MB.
WORD_CACHE_SIZE = 1 << 18
_TRANSLATE = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
        "\u00b4": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
        "\u2212": "-", "\u00ad": None, "\u200b": None,
    }
)  # fmt: skip
_TOKEN = re.compile(
    r"(?:[^\W\d_]\.){2,}"  # dotted acronyms: u.s., e.u.
    r"|\d+(?:[.,]\d+)*"  # numbers with separators
    r"|[^\W_]+(?:['-][^\W_]+)*'?",  # words with inner apostrophes or hyphens
)
# ``_TOKEN`` for what ``normalise`` makes of ASCII text (lower case, so its letters are a-z,
# its digits 0-9): plain character ranges, which the regex engine tests faster than classes.
_ASCII_TOKEN = re.compile(
    r"(?:[a-z]\.){2,}"
    r"|[0-9]+(?:[.,][0-9]+)*"
    r"|[a-z0-9]+(?:['-][a-z0-9]+)*'?",
)
_CONTRACTIONS = ("n't", "'s", "'re", "'ve", "'ll", "'d", "'m", "'")
_NEGATION = "not"


_BRITISH = (
    (re.compile(r"(?<=\w{3})is(e|ed|es|ing|ation|ations)$"), r"iz\1"),
    (re.compile(r"(?<=\w{3})our(s|ed|ing|ite|ites|able)?$"), r"or\1"),
)


def american_spelling(word: str) -> str:
    """Fold British -ise/-our spellings so "stabilise" meets "stabilize", "neighbour" "neighbor"."""
    if "is" not in word and "our" not in word:  # what each pattern needs: most words lack both
        return word
    for pattern, replacement in _BRITISH:
        word = pattern.sub(replacement, word)
    return word


def normalise(text: str) -> str:
    """NFKC, ASCII quotes and hyphens, case folded, no Latin accents: the form every comparison uses.

    "Beyonce" in a question meets "Beyoncé" in an article.
    """
    if text.isascii():  # most text: NFKC keeps ASCII, and casefold() is lower() on it
        return text.replace("`", "'").lower()
    folded = unicodedata.normalize("NFKC", text).translate(_TRANSLATE).casefold()
    return folded if folded.isascii() else _without_accents(folded)


def _without_accents(text: str) -> str:
    """Drop the combining marks that sit on ASCII letters (é -> e); other scripts keep theirs."""
    kept: list[str] = []
    for char in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(char) and kept and kept[-1].isascii():
            continue
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def bundled_stopwords() -> frozenset[str]:
    """The bundled stopword list (function words and question words, no negations)."""
    return lexicon.words("stopwords.txt")


def load_aliases(path: Path | None = None) -> dict[str, str]:
    """Variant -> canonical word, from ``path`` or the bundled ``aliases.yaml``."""
    if path is None:
        raw = resources.files("bot.core").joinpath("data/aliases.yaml").read_text("utf-8")
        origin = "bundled aliases.yaml"
    else:
        raw = path.read_text("utf-8")
        origin = str(path)
    data = yamltext.load(raw) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{origin}: expected 'canonical: [variant, ...]' entries")
    table: dict[str, str] = {}
    for canonical, variants in data.items():
        if not isinstance(variants, list):
            raise ValueError(f"{origin}: the aliases of {canonical!r} must be a list")
        for variant in variants:
            table[normalise(str(variant)).rstrip(".")] = normalise(str(canonical))
    return table


@dataclass(frozen=True)
class Tokenizer:
    """Turns text into index terms; the same instance serves the corpus and the questions."""

    aliases: Mapping[str, str] = field(default_factory=load_aliases)
    stopwords: frozenset[str] = field(default_factory=bundled_stopwords)
    language: str = "english"

    def __post_init__(self) -> None:
        stemmer = Stemmer.Stemmer(self.language)
        # PyStemmer's algorithm keeps state and "must not be called concurrently", and the
        # engine is shared between threads. Holding the GIL serialises it today; a
        # free-threaded Python would not. The lock is taken only for words not seen yet.
        lock = threading.Lock()

        def stem(word: str) -> str:
            with lock:
                return stemmer.stemWord(word)

        # Both caches are bounded: questions bring words nobody wrote before (typos, names,
        # gibberish), and an unbounded cache grew by ~120 bytes for each one, for as long
        # as the worker ran (the word cache evicted them; this one kept them all).
        object.__setattr__(self, "_stem", lru_cache(maxsize=WORD_CACHE_SIZE)(stem))
        # A word's terms depend on the word alone: news repeats its words, so remember them
        # (a known word costs a lookup and no Python call: a sentence is a few dozen).
        object.__setattr__(self, "_words", Memo(self._terms_of, WORD_CACHE_SIZE))

    def __call__(self, text: str) -> list[str]:
        """Index terms of ``text`` in order (repeats kept: BM25 counts them)."""
        plain = normalise(text)
        found = (_ASCII_TOKEN if plain.isascii() else _TOKEN).findall(plain)
        return list(chain.from_iterable(map(self._words.__getitem__, found)))

    def term(self, word: str) -> str | None:
        """The index term of a single word, or None for a stopword."""
        found = self(word)
        return found[0] if found else None

    def _terms_of(self, raw: str) -> tuple[str, ...]:
        if raw[0].isdigit():
            return (raw.replace(",", ""),)
        if "." in raw:  # dotted acronym
            return (self._one(raw.rstrip(".")),)
        if "'" not in raw and "-" not in raw:  # most words: no contraction, no parts
            term = self._one(raw)
            return (term,) if term else ()
        negated = raw.endswith("n't")
        word = raw
        for ending in _CONTRACTIONS:
            if word.endswith(ending) and len(word) > len(ending):
                word = word[: -len(ending)]
                break
        parts = word.split("-") if "-" in word else []
        out = [self._one(word.replace("'", "").replace("-", ""))]
        out.extend(self._one(part.replace("'", "")) for part in parts)
        if negated:
            out.append(_NEGATION)
        return tuple(term for term in out if term)

    def _one(self, word: str) -> str:
        canonical = self.aliases.get(word)
        if canonical is not None:
            return self._stem(american_spelling(canonical))
        if word in self.stopwords or not word:
            return ""
        return self._stem(american_spelling(word))

    def stem(self, word: str) -> str:
        """The stem of one word with no alias applied ("reiterated" -> "reiter")."""
        return self._stem(american_spelling(normalise(word)))

    @property
    def speech_term(self) -> str:
        """The index term every reporting word becomes ("said", "told" -> "say")."""
        return self._stem(SPEECH)

    def is_speech(self, term: str) -> bool:
        """Whether an index term is the speech canonical ("say")."""
        return term == self.speech_term
