"""SparseBM25 against the reference, rank-bm25's BM25Okapi, with the same tokens and floor."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from bot.core import bm25 as bm25_module
from bot.core.bm25 import IDF_FLOOR, SparseBM25
from bot.core.sentences import SentenceSplitter
from bot.core.tokenize import Tokenizer

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
    passages = seed_engine.passages
    return [tokenizer(passages.text(s)) for s in passages.sentences]


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
    """BM25Okapi with the floor of bot.core.index applied to its IDFs the same way."""
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
    assert index.size == index.documents == 2
    assert not index.scores(["a"]).any() and index.top(["a"])[0].size == 0
    index.add([["a", "b"]])
    assert index.top(["a"])[0].tolist() == [2]


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


def test_doc_terms_are_the_distinct_terms_of_the_sentence(generated_docs):
    index = SparseBM25(generated_docs)
    for doc in (0, 17, len(generated_docs) - 1):
        assert index.doc_terms(doc) == frozenset(generated_docs[doc])
    with pytest.raises(IndexError):
        index.doc_terms(len(generated_docs))


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
    monkeypatch.setattr(bm25_module, "_DENSE_KEYS", 0)
    np.testing.assert_array_equal(SparseBM25(generated_docs).scores(["say", "rostov"]), expected)


# ------------------------------------------------------------------ updates


def test_adding_in_batches_equals_building_at_once(generated_docs):
    index = SparseBM25(generated_docs[:1000])
    assert index.add(generated_docs[1000:1001]) == range(1000, 1001)
    assert index.add(generated_docs[1001:2200]) == range(1001, 2200)
    index.add(generated_docs[2200:])
    assert index.add([]) == range(3000, 3000)
    whole = SparseBM25(generated_docs)
    for query in queries_from(generated_docs):
        np.testing.assert_array_equal(index.scores(query), whole.scores(query))
    assert_same_ranking(index, reference(generated_docs), queries_from(generated_docs, seed=5))


def test_removing_equals_rebuilding_from_the_survivors(generated_docs):
    rng = random.Random(2)
    gone = sorted(rng.sample(range(len(generated_docs)), 600))
    kept = [i for i in range(len(generated_docs)) if i not in set(gone)]
    survivors = [generated_docs[i] for i in kept]
    index = SparseBM25(generated_docs)
    assert index.remove(gone) == 600
    assert index.remove(gone[:10]) == 0  # already gone
    assert index.size == len(generated_docs) and index.documents == len(kept)
    ref = reference(survivors)
    for query in queries_from(survivors):
        scores = index.scores(query)
        assert not scores[gone].any()
        np.testing.assert_allclose(scores[kept], ref.get_scores(query), rtol=0, atol=1e-9)
    assert index.doc_terms(gone[0]) == frozenset()

    mapping = index.compact()
    assert mapping[gone].tolist() == [-1] * 600 and mapping[kept].tolist() == list(range(len(kept)))
    assert index.size == len(kept)
    assert_same_ranking(index, ref, queries_from(survivors, seed=9))


def test_a_term_only_in_removed_sentences_is_gone():
    docs = [["rostov", "mutiny"], ["putin", "say"], ["china", "say"], ["wagner", "say"]]
    index = SparseBM25(docs)
    index.remove([0])
    assert not index.contains("rostov") and not index.scores(["rostov"]).any()
    assert index.idf("rostov") == math.log((3 + 0.5) / 0.5)
    np.testing.assert_allclose(
        index.scores(["say", "china"])[1:], reference(docs[1:]).get_scores(["say", "china"])
    )
    index.compact()
    assert index.terms == 4  # putin, say, china, wagner


def test_add_after_remove_equals_rebuild(generated_docs):
    index = SparseBM25(generated_docs[:2000])
    index.remove(range(0, 2000, 3))
    index.add(generated_docs[2000:])
    survivors = [d for i, d in enumerate(generated_docs) if i >= 2000 or i % 3]
    live = np.flatnonzero([i >= 2000 or i % 3 for i in range(len(generated_docs))])
    ref = reference(survivors)
    for query in queries_from(survivors):
        np.testing.assert_allclose(index.scores(query)[live], ref.get_scores(query), atol=1e-9)


def test_removing_an_unknown_id_is_an_error():
    index = SparseBM25([["a"], ["b"]])
    with pytest.raises(IndexError, match="out of range"):
        index.remove([2])


# ------------------------------------------------------------------ persistence


def test_arrays_round_trip_keeps_scores_and_tombstones(generated_docs):
    index = SparseBM25(generated_docs, k1=1.2, b=0.6, epsilon=0.3)
    index.remove([5, 6, 7])
    arrays, meta = index.to_arrays()
    json.dumps(meta)  # JSON-able
    restored = SparseBM25.from_arrays({k: v.copy() for k, v in arrays.items()}, meta)
    assert (restored.k1, restored.b, restored.epsilon) == (1.2, 0.6, 0.3)
    assert restored.size == index.size and restored.documents == index.documents
    for query in queries_from(generated_docs):
        np.testing.assert_array_equal(restored.scores(query), index.scores(query))
    restored.add(generated_docs[:10])
    assert restored.size == index.size + 10


@pytest.mark.parametrize(
    "damage",
    [
        lambda a, m: a.pop("classes"),
        lambda a, m: a.update(indices=a["indices"] + 10**6),
        lambda a, m: a.update(live=a["live"][:-1]),
        lambda a, m: a.update(indptr=a["indptr"][::-1].copy()),
        lambda a, m: m.update(format=99),
        lambda a, m: m.update(vocabulary="not a list"),
    ],
)
def test_inconsistent_arrays_are_refused(generated_docs, damage):
    arrays, meta = SparseBM25(generated_docs[:100]).to_arrays()
    arrays, meta = dict(arrays), dict(meta)
    damage(arrays, meta)
    with pytest.raises(ValueError):
        SparseBM25.from_arrays(arrays, meta)


# ------------------------------------------------------------------ what the floor promises


def test_term_in_every_sentence_still_ranks_matches_above_non_matches():
    # "china" is in 3 of 4 sentences: BM25Okapi alone gives it a negative IDF.
    docs = [["china", "say"], ["china", "trade"], ["china", "russia"], ["weather", "rain"]]
    scores = SparseBM25(docs).scores(["china"])
    assert scores[:3].min() > scores[3]
    assert scores[3] == 0


def test_term_in_exactly_half_the_sentences_scores_above_zero():
    docs = [["china"], ["china"], ["rain"], ["snow"]]
    scores = SparseBM25(docs).scores(["china"])
    assert scores[0] > 0 and scores[2] == 0


def test_unknown_and_empty_queries_score_nothing():
    index = SparseBM25([["a1"], ["b1"]])
    assert not index.scores([]).any()
    assert not index.scores(["zzz"]).any()
    assert not SparseBM25([]).scores(["a1"]).any()


def test_unseen_terms_get_the_largest_idf():
    index = SparseBM25([["a1", "b1"], ["a1"], ["c1"]])
    assert index.idf("never") > index.idf("c1") > index.idf("a1") > 0


def test_scores_follow_bm25_order_on_a_realistic_set():
    docs = [
        ["harbour", "close", "friday"],
        ["harbour", "master", "say", "collis", "weather"],
        ["crew", "protest", "town", "hall"],
        ["mayor", "say", "council", "meet", "crew"],
        ["storm", "flood", "home", "river"],
        ["rover", "beat", "unit", "cup", "final"],
        ["silva", "say", "best", "day", "career"],
    ]
    scores = SparseBM25(docs).scores(["crew", "council"])
    assert int(np.argmax(scores)) == 3
