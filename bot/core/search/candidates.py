"""The searches that find a question's candidates, and their hits.

The embedded ranking looks closely at the 100 sentences with the best *base* value: a
sentence's BM25 over the best sentence's, plus (for fact questions) ``paragraph_weight``
times its paragraph's BM25 over the best paragraph's. Lucene's sentence and paragraph
searches stand in for those two BM25s: each hit brings its paragraph's record
(``paragraphs``), and the ranking runs on the paragraphs of every hit. Equal scores
come in article id order, as the embedded ranking breaks ties.

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
# Equal scores in article id order, as the embedded ranking breaks ties (by sentence number,
# and its sentences are in article id order): wire copies of a sentence score the same, and
# the copy quoted first must be the same one on both backends.
BY_SCORE = [{"_score": "desc"}, {"article_id": "asc"}]
_FIELDS = ["article", "article_id", "paragraph"]


@dataclass(frozen=True, slots=True)
class Hit:
    """A sentence found by a search: its article, paragraph, and Lucene's score."""

    key: str  # its article's key
    article_id: str
    paragraph: int
    score: float
    record: Mapping[str, Any] | None = None  # its paragraph's (``paragraphs``), if fetched


def hits_of(response: Mapping[str, Any]) -> list[Hit]:
    """The hits of one search response."""
    return [
        Hit(
            hit["fields"]["article"][0],
            hit["fields"]["article_id"][0],
            int(hit["fields"]["paragraph"][0]),
            float(hit.get("_score") or 0.0),
            hit["_source"]["data"]["p"] if "_source" in hit else None,
        )
        for hit in response["hits"]["hits"]
    ]


def _search(query: dict[str, Any], size: int) -> dict[str, Any]:
    # The whole ``_source``, unfiltered: a filter makes the node parse each document's
    # JSON and write it again; the paragraph record is most of it anyway.
    return {
        "size": size,
        "docvalue_fields": _FIELDS,
        "sort": BY_SCORE,
        "track_total_hits": False,
        "query": query,
    }


def _terms(field: str, terms: Sequence[str]) -> dict[str, Any]:
    """BM25 of ``terms`` (repeats count) on ``field``, which holds the project's own terms."""
    return {"match": {field: " ".join(docs.field_term(t) for t in terms)}}


def sentence_search(terms: Sequence[str], size: int) -> dict[str, Any]:
    """The best sentences by BM25 of the question's terms."""
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
