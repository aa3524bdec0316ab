import numpy as np

from bot.core.index import SentenceIndex


def test_term_in_every_sentence_still_ranks_matches_above_non_matches():
    # "china" is in 3 of 4 sentences: BM25Okapi alone gives it a negative IDF.
    docs = [["china", "say"], ["china", "trade"], ["china", "russia"], ["weather", "rain"]]
    scores = SentenceIndex(docs).scores(["china"])
    assert scores[:3].min() > scores[3]
    assert scores[3] == 0


def test_term_in_exactly_half_the_sentences_scores_above_zero():
    docs = [["china"], ["china"], ["rain"], ["snow"]]
    scores = SentenceIndex(docs).scores(["china"])
    assert scores[0] > 0 and scores[2] == 0


def test_unknown_and_empty_queries_score_nothing():
    index = SentenceIndex([["a1"], ["b1"]])
    assert not index.scores([]).any()
    assert not index.scores(["zzz"]).any()
    assert not SentenceIndex([]).scores(["a1"]).any()


def test_unseen_terms_get_the_largest_idf():
    index = SentenceIndex([["a1", "b1"], ["a1"], ["c1"]])
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
    scores = SentenceIndex(docs).scores(["crew", "council"])
    assert int(np.argmax(scores)) == 3
