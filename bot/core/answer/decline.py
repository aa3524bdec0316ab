"""Whether to answer a fact question at all: a small fitted model instead of one threshold.

One hand-set coverage floor cannot tell "the corpus answers this" from "the corpus
shares a few of its words": on SQuAD it declined only about half of the questions
whose article is not in the corpus. Several weak signals of the best candidates
say more together than coverage alone: whether the question names something no
article has, how much the best sentences cover and score against what they could, whether the best
holds the kind of thing asked for (a number, a date, a name), and how much of the
question the best sentence's paragraph and article hold: its rarest words, its names,
its word pairs side by side (an out-of-corpus question tends to match one rare word in
an article about something else), and the same for the articles of the best three: the
most of the question's weight one holds, the rarest word each lacks, the question's names
found in them, the rarest question word the best three sentences hold, and whether any of
the three holds the kind of thing asked for, and how well the best three's paragraphs
score by the paragraph BM25 (a paragraph about the question repeats its words). Every
signal is computed from the project's own terms and the whole corpus's IDFs, so both
backends decline the same questions. How far the best beats the next one and whether
the best three share an article were measured too and left out: news repeats a story
across articles (wire copies), Wikipedia does not, so those two learn SQuAD's corpus, not
answerability (they declined answerable seed questions); how far the best's ranking value
beats the second's and the tenth's added nothing on the tune half's cross-validation
either.

The decision is a hundred gradient-boosted trees of depth two over those signals (the
signals interact: a low coverage means little when the question names nothing, much
when its rare names are missing from the best articles), fitted once by
``tools/fit_decline.py`` on one half of SQuAD v1.1 dev (split by article), its answer
threshold chosen on article-fold cross-validated chances there, and shipped as the
trees' nodes in ``bot/core/data/decline_model.json``: no learning library at run time,
a few hundred comparisons. A logistic regression (``kind: logistic``) reads from the
same file. The other half is kept for reporting. It applies to fact questions;
whose-words questions keep their own declines (no such speaker, never quoted), which
the speaker rules measure.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from bot.core.answer.answer_type import expected, offers
from bot.core.answer.indexed import IndexedCorpus
from bot.core.answer.need import Need, question_names
from bot.core.answer.question import ParsedQuestion
from bot.core.answer.rank import Ranked
from bot.core.index.tokenize import Tokenizer

MODEL_FILE = "decline_model.json"
# The order of the model's inputs; the data file names them, and loading checks they agree.
FEATURES = (
    "best_coverage",
    "best_bm25_share",
    "unknown_name",
    "key_terms",
    "type_asked",
    "top_own_share",
    "paragraph_share",
    "missing_rarest",
    "names_in_paragraph",
    "names_asked",
    "phrase_share",
    "best_article_share",
    "article_missing_rarest",
    "offered_in_three",
    "names_in_article",
    "matched_rarest",
    "paragraph_bm25_share",
)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass(frozen=True, slots=True)
class LogisticModel:
    """A fitted logistic model: standardised features, weights, and the cut it answers above."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float
    threshold: float  # answer when the modelled chance of an answerable question is this or more
    floor: float  # the coverage floor the features were measured with (the ranking's own)

    def probability(self, features: Sequence[float]) -> float:
        """The modelled chance that the corpus answers the question."""
        z = self.intercept + sum(
            w * (x - m) / s
            for w, x, m, s in zip(self.weights, features, self.mean, self.scale, strict=True)
        )
        return _sigmoid(z)


# One regression tree as its nodes, the root first: (input, cut, left, right) where the
# walk goes to node ``left`` when the input is at most the cut, else to ``right``; a leaf
# is (-1, its value times the learning rate, 0, 0).
Node = tuple[int, float, int, int]
Tree = tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class TreesModel:
    """Gradient-boosted shallow trees: a sum of leaf values on the log-odds scale.

    The signals interact (a low coverage means little when the question names nothing,
    much when its rare names are missing from the article), which a weighted sum cannot
    say; a hundred trees of depth two are a few hundred comparisons.
    """

    base: float  # the log-odds before any tree
    trees: tuple[Tree, ...]
    threshold: float
    floor: float

    def probability(self, features: Sequence[float]) -> float:
        """The modelled chance that the corpus answers the question."""
        z = self.base
        for nodes in self.trees:
            feature, cut, left, right = nodes[0]
            while feature >= 0:
                feature, cut, left, right = nodes[left if features[feature] <= cut else right]
            z += cut
        return _sigmoid(z)


DeclineModel = LogisticModel | TreesModel


@cache
def bundled_model() -> DeclineModel:
    """The model shipped in ``bot/core/data``; a file that does not fit the code is an error."""
    raw = resources.files("bot.core").joinpath(f"data/{MODEL_FILE}").read_text("utf-8")
    return model_from_json(json.loads(raw))


def model_from_json(data: dict) -> DeclineModel:
    """Read a model from its JSON form, checking that it names the features this code makes."""
    if tuple(data.get("features", ())) != FEATURES:
        raise ValueError(
            f"{MODEL_FILE}: features {data.get('features')!r} differ from the code's {FEATURES!r};"
            " run tools/fit_decline.py again"
        )
    threshold, floor = float(data["threshold"]), float(data["floor"])
    if data.get("kind", "logistic") == "trees":
        rate = float(data["rate"])
        trees = tuple(_tree(raw, rate) for raw in data["trees"])
        return TreesModel(float(data["base"]), trees, threshold, floor)
    vectors = [tuple(float(v) for v in data[k]) for k in ("mean", "scale", "weights")]
    if any(len(v) != len(FEATURES) for v in vectors) or min(vectors[1]) <= 0:
        raise ValueError(f"{MODEL_FILE}: mean, scale and weights need one value per feature")
    return LogisticModel(*vectors, float(data["intercept"]), threshold, floor)


def _tree(raw: dict, rate: float) -> Tree:
    """One tree from its JSON node arrays, checked so that walking it always ends at a leaf."""
    feature = [int(v) for v in raw["feature"]]
    cut = [float(v) for v in raw["cut"]]
    left, right = ([int(v) for v in raw[k]] for k in ("left", "right"))
    value = [float(v) for v in raw["value"]]
    nodes = len(feature)
    if not nodes or any(len(v) != nodes for v in (cut, left, right, value)):
        raise ValueError(f"{MODEL_FILE}: a tree needs one feature, cut, child and value per node")
    tree: list[Node] = []
    for node, used in enumerate(feature):
        if used < 0:
            tree.append((-1, rate * value[node], 0, 0))
            continue
        if used >= len(FEATURES) or not (node < left[node] < nodes and node < right[node] < nodes):
            raise ValueError(f"{MODEL_FILE}: tree node {node} points outside the tree or inputs")
        tree.append((used, cut[node], left[node], right[node]))
    return tuple(tree)


def features(
    parsed: ParsedQuestion,
    need: Need,
    ranked: Sequence[Ranked],
    corpus: IndexedCorpus,
    unknown_name: bool,
    tok: Tokenizer,
) -> tuple[float, ...]:
    """The model's inputs for a fact question and its ranked candidates (best first, non-empty).

    Every input comes from the project's own terms, sentences and corpus-wide IDFs, so
    the embedded and the OpenSearch backends (which rank the fetched articles with the
    whole corpus's statistics) compute the same values: nothing reads a count of the
    documents at hand or a score from Lucene.

    Words of the question no article has are not an input: SQuAD's questions were
    written from their paragraph and share its words, so there an unknown word says
    "out of corpus", but a user paraphrases ("mutiny" for an article's "rebellion").
    Measured on the tune half, boosted trees lost nothing without it.
    No input reads the first of the three alone: "Who is X?" puts a sentence
    describing X first whatever its score, and the reply quotes all three.
    ``best_bm25_share`` is the best of the three's BM25 score over what a sentence holding
    every known key term once would score at most (the sum of their IDFs, times k1+1).
    ``paragraph_bm25_share`` is the best of the three's paragraphs, each scored as one text
    by the paragraph BM25, over the same ceiling made of the paragraph IDFs (a corpus of a
    few paragraphs floors those, so over the sentence IDFs it would say nothing there): how
    often and how densely a paragraph repeats the question's words (term frequency,
    length), which the presence shares below do not weigh. An answering paragraph is about what the question asks and repeats its
    words; a paragraph that shares one rare word with an out-of-corpus question mentions it
    in passing. On the tune half's article cross-validation it raised the out-of-corpus
    declines at 88% hit@3 from about 67% to 72%.
    The other ``*_share`` inputs are IDF-weighted shares of the known key terms found in a
    sentence alone, its paragraph, and the best sentence's article: an out-of-corpus
    question often matches one rare word in a sentence of an article about something
    else, whose article lacks the rest. ``missing_rarest`` is the largest IDF of a known
    key term a sentence's paragraph lacks, over the largest possible; ``names_in_paragraph``
    the share of the question's capitalised names with a word in that paragraph. The
    sentence and paragraph inputs take the best of the three best sentences, which the
    reply quotes.
    """
    index = corpus.index
    rarest = index.rarest_idf()
    # By the whole corpus (``contains``, ``idf``), not the terms of the articles at hand.
    idfs = [(corpus.term.get(t, -1), index.idf(t)) for t in sorted(need.key) if index.contains(t)]
    known = sum(idf for _, idf in idfs)
    # The best of three, not the first: "Who is X?" puts a sentence describing X first
    # whatever its score, and the reply quotes all three.
    three = np.array([item.doc for item in ranked[:3]], dtype=np.int64)
    raw = float(index.scores_of(need.terms, three).max())
    ceiling = known * (index.params.k1 + 1.0)
    # The same for the best three's paragraphs, scored as one text each by the paragraph BM25,
    # over its own ceiling: paragraph IDFs, which a corpus of few paragraphs floors.
    paragraphs = corpus.paragraphs
    paragraph_raw = float(
        paragraphs.scores_of(need.terms, np.unique(corpus.paragraph[three])).max()
    )
    paragraph_ceiling = sum(paragraphs.idf(t) for t in need.key if index.contains(t)) * (
        paragraphs.params.k1 + 1.0
    )
    kind = expected(parsed.text)
    offers_kind = offers(kind, parsed.text) if kind is not None else None
    names = [
        terms
        for terms in (
            {t for t in tok(name) if not tok.is_speech(t)} for name in question_names(parsed.text)
        )
        if terms
    ]
    name_numbers = [{corpus.term.get(t, -1) for t in terms} for terms in names]
    wanted = sorted({number for number, _ in idfs} | set().union(*name_numbers))
    # The articles of the best three: how much of the question each holds, at best.
    articles: dict[int, frozenset[int]] = {}
    for item in ranked[:3]:
        number = int(corpus.article[item.doc])
        if number not in articles:
            articles[number] = _article_terms(corpus, item.doc, wanted)
    best_article = max(_share(idfs, held) for held in articles.values())
    article_lacking = min(
        max((i for n, i in idfs if n not in held), default=0.0) for held in articles.values()
    )
    names_in_article = max(_names_share(name_numbers, held) for held in articles.values())
    offered_three = offers_kind is not None and any(
        offers_kind(corpus.sentence_text(item.doc)) for item in ranked[:3]
    )
    # The reply quotes the best three: judged by the best of them, sentence by sentence.
    own_share = paragraph_share = phrase = named_share = 0.0
    lacking = rarest
    matched = 0.0
    for item in ranked[:3]:
        paragraph = _paragraph_terms(corpus, item.doc)
        own = corpus.content_terms(item.doc)
        own_share = max(own_share, _share(idfs, own))
        matched = max(matched, max((i for n, i in idfs if n in own), default=0.0))
        paragraph_share = max(paragraph_share, _share(idfs, paragraph))
        lacking = min(lacking, max((i for n, i in idfs if n not in paragraph), default=0.0))
        named_share = max(named_share, _names_share(name_numbers, paragraph))
        phrase = max(phrase, _phrase_share(need, tok, corpus, item.doc))
    return (
        max(item.coverage for item in ranked[:3]),
        raw / ceiling if ceiling > 0 else 0.0,
        float(unknown_name),
        math.log(1 + len(need.key)),
        float(kind is not None),
        own_share,
        paragraph_share,
        lacking / rarest if rarest > 0 else 0.0,
        named_share,
        float(bool(names)),
        phrase,
        best_article,
        article_lacking / rarest if rarest > 0 else 0.0,
        float(offered_three),
        names_in_article,
        matched / rarest if rarest > 0 else 0.0,
        paragraph_raw / paragraph_ceiling if paragraph_ceiling > 0 else 0.0,
    )


def _phrase_share(need: Need, tok: Tokenizer, corpus: IndexedCorpus, doc: int) -> float:
    """The IDF-weighted share of the question's neighbouring key terms found side by side.

    Side by side and in order in ``doc``'s paragraph ("Russian ministry"). Pairs of terms
    the whole corpus has weigh their IDF sum; a paragraph's pairs come from its sentences'
    own terms, so any backend finds the same.
    """
    key = [t for t in need.terms if not tok.is_speech(t)]
    index = corpus.index
    pairs = {
        (a, b): index.idf(a) + index.idf(b)
        for a, b in itertools.pairwise(key)
        if a != b and index.contains(a) and index.contains(b)
    }
    total = sum(pairs.values())
    if total <= 0:
        return 0.0
    vocabulary = corpus.table.vocabulary
    found: set[tuple[str, str]] = set()
    for other in _paragraph_of(corpus, doc):
        words = [vocabulary[n] for n in corpus.own_terms(other) if n != corpus.say]
        found.update(itertools.pairwise(words))
    return sum(weight for pair, weight in pairs.items() if pair in found) / total


def _names_share(names: Sequence[AbstractSet[int]], found: AbstractSet[int]) -> float:
    """The share of the question's names (each its term numbers) with a term in ``found``."""
    return sum(bool(numbers & found) for numbers in names) / len(names) if names else 1.0


def _share(weighted: Sequence[tuple[int, float]], found: AbstractSet[int]) -> float:
    """The IDF-weighted share of ``weighted`` terms (number, IDF) that ``found`` holds."""
    total = sum(idf for _, idf in weighted)
    if total <= 0:
        return 0.0
    return sum(idf for number, idf in weighted if number in found) / total


def _paragraph_of(corpus: IndexedCorpus, doc: int) -> range:
    """The sentences of ``doc``'s paragraph."""
    first = last = doc
    while corpus.same_paragraph(doc, first - 1):
        first -= 1
    while corpus.same_paragraph(doc, last + 1):
        last += 1
    return range(first, last + 1)


def _paragraph_terms(corpus: IndexedCorpus, doc: int) -> frozenset[int]:
    """The own terms (speech term apart) of every sentence in ``doc``'s paragraph."""
    terms: set[int] = set()
    for other in _paragraph_of(corpus, doc):
        terms |= corpus.content_terms(other)
    return frozenset(terms)


def _article_terms(corpus: IndexedCorpus, doc: int, wanted: Sequence[int]) -> frozenset[int]:
    """Which of the ``wanted`` terms any sentence of ``doc``'s article has (heading included)."""
    return corpus.article_has(doc, wanted)
