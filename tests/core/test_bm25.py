"""SparseBM25 against the reference, rank-bm25's BM25Okapi, with the same tokens and floor."""

from __future__ import annotations

import json
import math
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from bot.core.index import postings
from bot.core.index.bm25 import IDF_FLOOR, Parameters, SparseBM25
from bot.core.index.tokenize import Tokenizer
from bot.core.ingest.sentences import SentenceSplitter

BBC = Path(__file__).resolve().parents[3] / "shared" / "data" / "news" / "bbc-news.jsonl"
PARAMS = [(1.5, 0.75, 0.25), (1.2, 0.5, 0.5), (2.0, 1.0, 0.1), (0.9, 0.0, 0.25)]


# ------------------------------------------------------------------ corpora


_SUBJECTS = [
    "The minister", "Police", "The company", "Angela Merkel", "The union", "Local residents",
    "The central bank", "Opposition leaders", "A spokesman for the club", "Analysts",
    "The prime minister", "Vladimir Putin", "China's foreign ministry", "The coach",
]  # fmt: skip
_VERBS = ["said", "told reporters", "announced", "warned", "denied", "confirmed", "said"]
_TOPICS = [
    "fuel prices", "the new stadium", "interest rates", "the strike", "the election",
    "flood defences", "the merger", "broadband prices", "the transfer window", "the budget",
    "the rebellion", "trade talks", "hospital waiting lists", "the Olympic bid",
]  # fmt: skip
_ACTIONS = [
    "would rise", "could be delayed", "were under review", "had collapsed", "would not change",
    "was a matter for the courts", "had been resolved", "must be cut",
]  # fmt: skip
_PLACES = ["in London", "in Beijing", "across Europe", "in Rostov", "at Westminster", ""]
_DAYS = ["on Monday", "on Friday", "last week", "this year", "in 2004", ""]


def generated_sentences(n: int, seed: int = 7) -> list[str]:
    """News-like sentences: reported speech, names, figures, a few very common words."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        subject, verb, topic = rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_TOPICS)
        action, place, day = rng.choice(_ACTIONS), rng.choice(_PLACES), rng.choice(_DAYS)
        figure = f"£{rng.randint(1, 900)}m" if rng.random() < 0.3 else f"{rng.randint(1, 99)}%"
        shape = rng.random()
        if shape < 0.4:
            text = f"{subject} {verb} {day} that {topic} {action} {place}."
        elif shape < 0.7:
            text = f"“{topic.capitalize()} {action},” {subject.lower()} {verb} {place}."
        elif shape < 0.9:
            text = f"Figures show {topic} up by {figure} {day}, {subject.lower()} {verb}."
        else:
            text = f"{topic.capitalize()} {action} {place} {day}."
        out.append(" ".join(text.split()))
    return out


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.fixture(scope="module")
def generated_docs(tokenizer) -> list[list[str]]:
    return [tokenizer(text) for text in generated_sentences(3000)]


@pytest.fixture(scope="module")
def seed_docs(seed_engine, tokenizer) -> list[list[str]]:
    texts = [seed_engine.sentence_text(i) for i in range(seed_engine.sentence_count)]
    return [tokenizer(text) for text in texts]


@pytest.fixture(scope="module")
def bbc_docs(tokenizer) -> list[list[str]]:
    if not BBC.exists():
        pytest.skip(f"{BBC} not present")
    splitter = SentenceSplitter.untrained()
    docs = []
    with BBC.open(encoding="utf-8") as handle:
        for line in handle:
            for paragraph in json.loads(line)["text"].split("\n\n"):
                docs.extend(tokenizer(paragraph[a:b]) for a, b in splitter.spans(paragraph))
            if len(docs) >= 4000:
                return docs
    return docs


def queries_from(docs: list[list[str]], n: int = 40, seed: int = 3) -> list[list[str]]:
    """Bags of terms drawn from the corpus, plus the awkward ones: repeats, unknowns, commons."""
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    for doc in docs:
        for term in set(doc):
            counts[term] = counts.get(term, 0) + 1
    common = sorted(counts, key=lambda t: (-counts[t], t))[:3]
    out = [common[:1], common, [common[0], common[0]], ["zzqx-unknown", common[1]]]
    pool = [doc for doc in docs if doc]
    for _ in range(n):
        doc = rng.choice(pool)
        out.append(rng.sample(doc, min(len(doc), rng.randint(1, 5))))
    return out


# ------------------------------------------------------------------ reference


def reference(docs, k1=1.5, b=0.75, epsilon=0.25, floor=True) -> BM25Okapi:
    """BM25Okapi with the floor of bot.core.index.saved applied to its IDFs the same way."""
    ref = BM25Okapi(docs, k1=k1, b=b, epsilon=epsilon)
    if floor:
        lowest = max(IDF_FLOOR, epsilon * max(ref.average_idf, 0.0))
        for term, value in ref.idf.items():
            if value <= lowest:
                ref.idf[term] = lowest
    return ref


def top10(scores: np.ndarray) -> list[int]:
    """Best ten positive scores, ties to the lower id (SparseBM25.top's order)."""
    ids = np.flatnonzero(scores > 0)
    return ids[np.lexsort((ids, -scores[ids]))][:10].tolist()


def assert_same_ranking(index: SparseBM25, ref: BM25Okapi, queries) -> None:
    for query in queries:
        expected = np.asarray(ref.get_scores(query))
        got = index.scores(query)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6, err_msg=str(query))
        ids, values = index.top(query, 10)
        assert ids.tolist() == top10(expected), query
        np.testing.assert_allclose(values, expected[ids], rtol=0, atol=1e-6)


# ------------------------------------------------------------------ equality with rank-bm25


def test_seed_sentences_score_as_bm25okapi(seed_docs):
    assert len(seed_docs) > 20
    assert_same_ranking(SparseBM25(seed_docs), reference(seed_docs), queries_from(seed_docs))


@pytest.mark.parametrize(("k1", "b", "epsilon"), PARAMS)
def test_generated_news_scores_as_bm25okapi(generated_docs, k1, b, epsilon):
    index = SparseBM25(generated_docs, k1=k1, b=b, epsilon=epsilon)
    ref = reference(generated_docs, k1, b, epsilon)
    assert_same_ranking(index, ref, queries_from(generated_docs))


def test_generated_news_has_the_terms_that_make_bm25okapi_awkward(generated_docs):
    # A term in over half the sentences has a negative raw IDF: the epsilon rule and the floor act.
    assert sum("say" in doc for doc in generated_docs) > len(generated_docs) / 2


def test_without_the_floor_scores_are_bm25okapi_to_the_last_bit(generated_docs):
    index = SparseBM25(generated_docs, idf_floor=None)
    ref = reference(generated_docs, floor=False)
    for query in queries_from(generated_docs):
        np.testing.assert_array_equal(index.scores(query), ref.get_scores(query))
    assert_same_ranking(index, ref, queries_from(generated_docs, seed=11))


def test_bbc_sentences_score_as_bm25okapi(bbc_docs):
    assert_same_ranking(SparseBM25(bbc_docs), reference(bbc_docs), queries_from(bbc_docs, 60))


def test_empty_sentences_count_with_length_zero():
    docs = [["harbour", "close"], [], ["storm", "flood", "harbour"], [], ["mayor", "say"]]
    assert_same_ranking(SparseBM25(docs), reference(docs), [["harbour"], ["say", "storm"]])


# ------------------------------------------------------------------ queries and lookups


def test_empty_query_scores_nothing(generated_docs):
    index = SparseBM25(generated_docs)
    scores = index.scores([])
    assert scores.shape == (len(generated_docs),) and not scores.any()
    ids, values = index.top([], 10)
    assert ids.size == values.size == 0


def test_unknown_terms_score_nothing_and_get_the_largest_idf(generated_docs):
    index = SparseBM25(generated_docs)
    assert not index.scores(["zzqx", "qqzy"]).any()
    assert not index.contains("zzqx")
    assert index.idf("zzqx") == math.log((len(generated_docs) + 0.5) / 0.5)
    assert index.idf("zzqx") > index.idf("rostov") > 0


def test_a_term_in_every_sentence_still_ranks_matches_first():
    docs = [["china", "say"], ["china", "trade"], ["china", "russia"], ["weather", "rain"]]
    scores = SparseBM25(docs).scores(["china"])
    assert scores[:3].min() > scores[3] == 0


def test_empty_index_scores_nothing():
    index = SparseBM25()
    assert index.scores(["a"]).shape == (0,)
    assert index.idf("a") == 0.0 and not index.contains("a")
    assert index.top(["a"])[0].size == 0


def test_only_empty_sentences_score_nothing():
    # BM25Okapi divides by zero here (avgdl 0, no terms); the sparse index needs no padding.
    index = SparseBM25([[], []])
    assert index.size == 2
    assert not index.scores(["a"]).any() and index.top(["a"])[0].size == 0


def test_strings_are_refused_where_token_lists_belong():
    with pytest.raises(TypeError, match="tokenize"):
        SparseBM25(["a sentence, not tokens"])
    with pytest.raises(TypeError, match="tokenize"):
        SparseBM25([["a"]]).scores("a")


@pytest.mark.parametrize(
    ("option", "value"), [("k1", -1.0), ("b", 1.5), ("epsilon", -0.1), ("idf_floor", 0.0)]
)
def test_bad_parameters_are_named(option, value):
    with pytest.raises(ValueError, match=option):
        SparseBM25([["a"]], **{option: value})


def test_matches_finds_a_term_in_many_sentences_at_once(generated_docs):
    index = SparseBM25(generated_docs)
    docs = np.arange(0, len(generated_docs), 7)
    expected = [("rostov" in generated_docs[d]) for d in docs]
    assert index.matches("rostov", docs).tolist() == expected
    assert not index.matches("zzqx", docs).any()


def test_top_breaks_ties_by_lower_id():
    docs = [["b"], ["a"], ["a"], ["c"], ["a"]]
    ids, values = SparseBM25(docs).top(["a"], 2)
    assert ids.tolist() == [1, 2] and values[0] == values[1]


def test_large_weight_class_keys_take_the_sorting_path(generated_docs, monkeypatch):
    expected = SparseBM25(generated_docs).scores(["say", "rostov"])
    monkeypatch.setattr(postings, "_DENSE_KEYS", 0)
    np.testing.assert_array_equal(SparseBM25(generated_docs).scores(["say", "rostov"]), expected)


# ------------------------------------------------------------------ rebuilding from ids


def test_an_index_from_term_ids_equals_one_from_token_lists(generated_docs):
    # Numbers into a vocabulary in another order, with terms no document uses: what a
    # corpus keeps after articles come and go.
    spare = ["zz-unused", *sorted({t for doc in generated_docs for t in doc}), "yy-unused"]
    number = {term: i for i, term in enumerate(spare)}
    ids = np.array([number[t] for doc in generated_docs for t in doc])
    lengths = np.array([len(doc) for doc in generated_docs])
    params = Parameters(1.2, 0.5, 0.5)
    rebuilt = SparseBM25.from_ids(ids, lengths, spare, params)
    whole = SparseBM25(generated_docs, k1=1.2, b=0.5, epsilon=0.5)
    assert rebuilt.terms == whole.terms and not rebuilt.contains("zz-unused")
    for query in queries_from(generated_docs):
        np.testing.assert_array_equal(rebuilt.scores(query), whole.scores(query))
    assert rebuilt.to_arrays()[1] == whole.to_arrays()[1]


@pytest.mark.parametrize("chunk", [1 << 20, 7], ids=["one-chunk", "many-chunks"])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("n_terms", [95, 70_000])  # past 2**16: both radix passes
def test_columns_are_scipys_coo_to_csc_with_repeats_summed(monkeypatch, chunk, dtype, n_terms):
    # The reference the counting sort replaced: the same arrays, of the same types, for
    # documents with repeated terms, empty documents and terms no document has.
    import scipy.sparse as sp

    monkeypatch.setattr(postings, "_CHUNK", chunk)
    rng = np.random.default_rng(7)
    lengths = rng.integers(0, 12, 300)
    lengths[rng.integers(0, 300, 60)] = 0
    common = np.minimum(rng.zipf(1.4, int(lengths.sum())), 90) - 1
    spread = rng.integers(0, n_terms, common.size)  # numbers whose high digits differ
    ids = np.where(rng.random(common.size) < 0.5, common, spread).astype(dtype)
    rows = np.repeat(np.arange(lengths.size, dtype=np.int32), lengths)
    expected = sp.csc_array(
        (np.ones(ids.size, dtype=np.int32), (rows, ids)), shape=(lengths.size, n_terms)
    )
    expected.sum_duplicates()
    found = postings.columns_of(ids, lengths, n_terms)
    for name in ("indptr", "indices", "data"):
        mine, theirs = getattr(found, name), getattr(expected, name)
        assert mine.dtype == theirs.dtype and mine.tolist() == theirs.tolist(), name


def test_term_ids_outside_the_vocabulary_are_refused():
    with pytest.raises(ValueError, match="term ids"):
        postings.columns_of(np.array([0, 3]), np.array([2]), 3)


def test_term_ids_that_do_not_add_up_are_refused():
    with pytest.raises(ValueError, match="lengths"):
        SparseBM25.from_ids(
            np.array([0, 1]), np.array([1]), ["a", "b"], Parameters(1.5, 0.75, 0.25)
        )


def test_postings_are_the_sentences_with_the_term_in_order(generated_docs):
    index = SparseBM25(generated_docs)
    expected = [i for i, doc in enumerate(generated_docs) if "rostov" in doc]
    assert index.postings("rostov").tolist() == expected
    assert index.postings("zzqx").size == 0


def test_matching_is_scores_without_the_zeros_from_any_number_of_threads(generated_docs):
    index = SparseBM25(generated_docs)
    counts: dict[str, int] = {}
    for doc in generated_docs:
        for term in set(doc):
            counts[term] = counts.get(term, 0) + 1
    rare = sorted(counts, key=lambda t: (counts[t], t))[:4]
    queries = [rare[:2], rare[2:], *queries_from(generated_docs, n=60, seed=21)]
    expected = [index.scores(query) for query in queries]

    def check(query, dense):
        rows, values = index.matching(query)
        assert rows.tolist() == np.flatnonzero(dense).tolist()
        np.testing.assert_array_equal(values, dense[rows])
        return rows.size

    with ThreadPoolExecutor(4) as pool:
        sizes = list(pool.map(check, queries * 3, expected * 3))
    assert min(sizes) * 32 < len(generated_docs) < max(sizes) * 32  # both ways of collecting
    assert not index._buffer().any()  # the scratch buffer is left clean


def test_scores_at_some_sentences_are_those_of_the_whole_array(generated_docs):
    index = SparseBM25(generated_docs)
    docs = np.arange(0, len(generated_docs), 5)
    for query in queries_from(generated_docs, n=20, seed=4):
        dense = index.scores(query)
        np.testing.assert_array_equal(index.scores_at(query, docs), dense[docs])
    assert not index._buffer().any()


def test_scores_of_a_few_sentences_are_those_of_the_whole_array(generated_docs):
    index = SparseBM25(generated_docs)
    docs = np.array([0, 3, 17, 400, len(generated_docs) - 1])
    for query in queries_from(generated_docs, n=20, seed=6):
        np.testing.assert_array_equal(index.scores_of(query, docs), index.scores(query)[docs])
