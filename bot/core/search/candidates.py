"""The searches that find a question's candidates, and their hits.

The embedded ranking looks closely at the 100 sentences with the best *base* value: a
sentence's BM25 over the best sentence's, plus (for fact questions) ``paragraph_weight``
times its paragraph's BM25 over the best paragraph's. Lucene's sentence and paragraph
searches stand in for those two BM25s: each hit brings its paragraph's record
(``paragraphs``), and the ranking runs on the paragraphs of every hit, in article id
order, as the embedded table keeps them (so ties break the same way).

An exact BM25Okapi estimate was tried for choosing what to fetch (each query term a
named clause; lengths from doc values; the corpus's statistics): its values matched the
embedded ones, yet fewer answers agreed (100,000 BBC sentences, 40 articles: 97.0%
against 98.0% with Lucene's scores), and the named clauses made each search slower.
Measure before changing this (``bench/opensearch_compare.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.search import documents as docs

SAID_BOOST = 1000.0  # a sentence quoting the speaker outranks any that only names them


@dataclass(frozen=True, slots=True)
class Hit:
    """A sentence found by a search: its article and paragraph, and the paragraph's record.

    Lucene's score is not kept: the ranking scores the paragraphs itself.
    """

    key: str  # its article's key
    paragraph: int
    record: Mapping[str, Any]  # its paragraph's (``paragraphs``)


def hits_of(response: Mapping[str, Any]) -> list[Hit]:
    """The hits of one search response."""
    hits = []
    for hit in response["hits"]["hits"]:
        source = hit["_source"]
        hits.append(Hit(source["article"], int(source["paragraph"]), source["data"]["p"]))
    return hits


def _search(query: dict[str, Any], size: int) -> dict[str, Any]:
    # The whole ``_source``, unfiltered (a filter makes the node parse each document's JSON
    # and write it again; the paragraph record is most of it anyway), and no doc values.
    # Sorted by score alone: a tie-break field keeps Lucene from skipping the blocks that
    # cannot reach the top (a third of the nodes' CPU at 200 hits and 1M sentences). Ties
    # need no order here: the ranking orders the paragraphs by article id itself.
    return {"size": size, "track_total_hits": False, "query": query}


def _terms(field: str, terms: Sequence[str]) -> dict[str, Any]:
    """BM25 of ``terms`` (repeats count) on ``field``, which holds the project's own terms."""
    return {"match": {field: " ".join(docs.field_term(t) for t in terms)}}


def sentence_search(terms: Sequence[str], size: int) -> dict[str, Any]:
    """The best sentences by BM25 of the question's terms.

    As the embedded ranking finds a fact question's candidates: by the question's own
    terms; WordNet relatives only re-weigh those (``Ranker._with_relatives``), so they are
    not searched for here.
    """
    return _search(_terms("tokens", terms), size)


def paragraph_search(terms: Sequence[str], size: int) -> dict[str, Any]:
    """The best paragraphs (their first sentences' documents) by BM25 of the question's terms."""
    return _search(_terms("ptokens", terms), size)


def said(speaker: Sequence[str]) -> dict[str, Any]:
    """Sentences with an attribution whose names include every term of ``speaker``."""
    if len(speaker) == 1:
        return {"term": {"names": docs.field_term(speaker[0])}}
    return {
        "span_near": {
            "clauses": [{"span_term": {"names": docs.field_term(t)}} for t in speaker],
            "slop": docs.NAME_SLOP,
            "in_order": False,
        }
    }


def speaker_search(terms: Sequence[str], speaker: Sequence[str], size: int) -> dict[str, Any]:
    """Sentences quoting the speaker (first) or naming them, by BM25 of the question's terms.

    The embedded ranking scores exactly these sentences (those quoting or naming the
    speaker) and puts the quoting ones first.
    """
    quoting = said(speaker)
    naming = {"bool": {"must": [{"term": {"tokens": docs.field_term(t)}} for t in speaker]}}
    query = {
        "bool": {
            "filter": [{"bool": {"should": [quoting, naming], "minimum_should_match": 1}}],
            "should": [
                {"constant_score": {"filter": quoting, "boost": SAID_BOOST}},
                _terms("tokens", terms),
            ],
        }
    }
    return _search(query, size)
