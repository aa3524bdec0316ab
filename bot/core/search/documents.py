"""What a corpus becomes in the cluster: the documents, their ids and the index's mapping.

Four kinds of document share one index (field ``kind``), so one alias swap replaces
all of them at once:

- ``s``, one per sentence, id ``<article key>:<sentence number>``: the project's own
  index terms in ``tokens`` (whitespace-analysed, so Lucene's BM25 sees exactly the
  embedded index's terms), the attributions' speaker name terms in ``names`` (one
  value per attribution, far apart, so "all of these names in one attribution" is a
  span query), its number, paragraph and offsets, and its article's key. The article's
  id and metadata are in the record below, not fields of their own: each field every
  sentence document has is indexing work (terms, doc values, points) for every sentence,
  so a sentence document indexes only what a search or a count reads: ``kind``,
  ``article``, ``tokens``, ``ptokens``, ``names`` and ``length``.
  The first sentence of each paragraph also holds the paragraph's terms, in
  ``ptokens``: Lucene keeps BM25 statistics per field over the documents having it,
  so that field is the embedded paragraph BM25's corpus, at no document of its own.
  Each carries its paragraph's record (``paragraphs``: the paragraph's table rows and
  text, the article's size and counts), all a question's ranking reads of it.
- ``a``, one per article, id ``a:<article key>``: metadata, the body, its sentences'
  bounds and its vocabulary: read for an answer's context, for listing and by updates,
  never by a question.
- ``t``, one per index term, id ``t:<term>``: in how many sentences and paragraphs it
  occurs. Fetched by id for a question's terms, they give the whole corpus's IDF.
- ``m``: ``meta``, small and read with every question: corpus totals (sentences,
  paragraphs, terms, the mean IDFs BM25Okapi's epsilon rule needs), the rule
  fingerprint; ``meta:punkt`` (Punkt's parameters) and ``meta:errors`` (unreadable
  files), read only when the index is updated or listed. ``meta`` is written last: an
  index without it is unfinished.

``totals`` holds the corpus statistics the meta document carries; ``tables`` turns
fetched article documents back into a ``CorpusTable``.

The article key is the first 32 hex digits of the article's content digest, so ids are
the same every time the same article is indexed under the same sentence splitter: a
bulk sent twice (a retry, a re-run after a crash) overwrites, never duplicates.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from bot.core.index.arrays import distinct
from bot.core.index.table import CorpusTable

# Bump when the documents or the mapping change shape: an index of another layout is
# never written to; the next sync or ``index`` rebuilds into a new one and swaps the alias.
LAYOUT = 4  # 4: a sentence document indexes and doc-values only what is searched
META_ID = "meta"
PUNKT_ID = "meta:punkt"
ERRORS_ID = "meta:errors"
BLOB_VERSION = 2  # 2: an article document keeps only its sentences' bounds and vocabulary
KEY_CHARS = 32
SIMILARITY = "newsquote_bm25"
# Names of different attributions of one sentence are this many positions apart, and a
# speaker's terms are looked for within half of it: never across two attributions.
NAME_GAP = 100
NAME_SLOP = NAME_GAP // 2

# Of its table, what an article document keeps (beside its vocabulary): its sentences'
# bounds, for an answer's context.
KEPT_COLUMNS = ("sent_start", "sent_end")
_WHITESPACE = re.compile(r"\s")


def field_term(term: str) -> str:
    """An index term as one whitespace-free token (an alias file may map to "new york")."""
    return _WHITESPACE.sub("\u2423", term) if _WHITESPACE.search(term) else term


def term_id(term: str) -> str:
    """The id of a term's document (ids are at most 512 bytes; a longer term is hashed)."""
    name = f"t:{term}"
    if len(name.encode("utf-8")) <= 500:
        return name
    import hashlib

    return "t#" + hashlib.sha256(term.encode("utf-8")).hexdigest()


def term_doc(term: str, sentences: int, paragraphs: int) -> dict[str, Any]:
    """A term's document: in how many sentences and paragraphs of the corpus it occurs."""
    return {
        "_id": term_id(term),
        "kind": "t",
        "term": term,
        "sdf": sentences,
        "pdf": paragraphs,
    }


def article_key(digest: str) -> str:
    """An article's key in document ids: its content digest, shortened."""
    return digest[:KEY_CHARS]


def iso_date(published: str | None) -> str | None:
    """``published`` as an ISO date for the ``published`` date field, or None when it is not one."""
    if not published:
        return None
    text = published.strip()
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            return parse(text).isoformat()
        except ValueError:
            continue
    return None


def index_body(shards: int, replicas: int, k1: float, b: float) -> dict[str, Any]:
    """Settings and mapping of a new index (refreshes off while it is bulk-loaded)."""
    # BM25 needs term frequencies and norms, never positions: no phrase or span query reads
    # ``tokens`` or ``ptokens`` (``names`` keeps its positions for the speaker's span query).
    terms = {
        "type": "text",
        "analyzer": "whitespace",
        "similarity": SIMILARITY,
        "index_options": "freqs",
    }
    # Numbers only summed or counted (``length``, ``sdf``, ``pdf``), never searched: doc
    # values, no points. Numbers only read from ``_source`` (a sentence's number,
    # paragraph and offsets; an article's sentence count): neither.
    summed = {"type": "integer", "index": False}
    source_only = {"type": "integer", "index": False, "doc_values": False}
    return {
        "settings": {
            "number_of_shards": shards,
            "number_of_replicas": replicas,
            "refresh_interval": "-1",
            # Not live until the alias moves to it, so the load may skip an fsync per request:
            # each acknowledged document is on both nodes' translogs, and a lost node's
            # copies are recovered from the other. Set back to "request" before the swap.
            "translog.durability": "async",
            "similarity": {SIMILARITY: {"type": "BM25", "k1": k1, "b": b}},
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": {"newsquote_layout": LAYOUT},
            # The whole ``_source`` is kept, terms included, though they are never read back:
            # a filtered ``_source`` makes each shard store the full one beside it as
            # ``_recovery_source`` (kept for replica recovery until the retention lease ends),
            # so the excludes cost more than they saved. Without them, 100k BBC sentences
            # load in half the indexing time into two thirds of the primaries' bytes.
            "properties": {
                "kind": {"type": "keyword"},
                "article": {"type": "keyword"},
                "article_id": {"type": "keyword"},
                "sentence": source_only,
                "paragraph": source_only,
                "start": source_only,
                "end": source_only,
                "length": summed,
                "tokens": terms,
                "ptokens": terms,
                "names": {
                    "type": "text",
                    "analyzer": "whitespace",
                    "position_increment_gap": NAME_GAP,
                },
                "title": {"type": "text"},
                "publisher": {"type": "keyword"},
                "url": {"type": "keyword", "index": False},
                "author": {"type": "keyword"},
                "published": {"type": "date", "format": "strict_date_optional_time"},
                "digest": {"type": "keyword"},
                "file_sha256": {"type": "keyword"},
                "sentences": source_only,  # an article's
                "term": {"type": "keyword"},
                "sdf": summed,
                "pdf": summed,
                "data": {"type": "object", "enabled": False},
            },
        },
    }


# --------------------------------------------------------------------- one article's documents


@dataclass(frozen=True, slots=True)
class ArticleDocs:
    """An article's documents, and the terms it brings to the corpus."""

    key: str
    article: dict[str, Any]
    sentences: list[dict[str, Any]]
    vocabulary: list[str]  # the article's distinct index terms (sentence terms only)

    def all(self) -> Iterator[dict[str, Any]]:
        """Every document, the article's last (its presence says the others were sent)."""
        yield from self.sentences
        yield self.article


def article_docs(
    table: CorpusTable,
    number: int,
    file_sha256: str | None,
    records: list[dict[str, Any]] | None = None,
    field_words: Sequence[str] | None = None,
) -> ArticleDocs:
    """The documents of article ``number`` of ``table``.

    ``records``: its sentences' paragraph records, when built already with other
    articles' (``paragraphs.records_of``, cheaper per article for many); ``field_words``:
    ``field_terms(table.vocabulary)``, when made once for many articles.

    A paragraph's terms go on its first sentence's document, in ``ptokens``: Lucene
    keeps statistics per field over the documents that have it, so BM25 on ``ptokens``
    is BM25 over paragraphs, without a document per paragraph to write.
    """
    c = table.columns
    source = table.sources[number]
    digest = table.digests[number]
    key = article_key(digest)
    s0, s1 = (int(x) for x in c["article_sentences"][number : number + 2])
    blob, words, local_terms, term_offsets, names_of = _encode(table, s0, s1, field_words)
    body = table.text(number)
    published = iso_date(source.published)
    tokens = [
        [words[t] for t in local_terms[term_offsets[n] : term_offsets[n + 1]]]
        for n in range(s1 - s0)
    ]
    if records is None:
        from bot.core.search import paragraphs  # it reads ``tables``, which reads this

        records = paragraphs.records(table, number)
    sentences = _sentence_docs(table, key, (s0, s1), tokens, names_of)
    for doc, record in zip(sentences, records, strict=True):
        doc["data"] = {"p": record}
    article = {
        "_id": f"a:{key}",
        "kind": "a",
        "article": key,
        "article_id": source.id,
        "publisher": source.publisher,
        "sentences": s1 - s0,  # listing reads it
        "title": source.title,
        "url": source.url,
        "author": source.author,
        "digest": digest,
        "file_sha256": file_sha256,
        **({} if published is None else {"published": published}),
        # Of its table, what an answer's context reads (the sentences' bounds) and what an
        # update reads (the terms whose frequencies fall when the article goes): a question
        # reads the paragraph records instead.
        "data": {"source": source.to_json(), "body": body, "table": blob},
    }
    used = sorted({blob["vocabulary"][t] for t in set(local_terms)})
    return ArticleDocs(key, article, sentences, used)


def _sentence_docs(
    table: CorpusTable,
    key: str,
    span: tuple[int, int],
    tokens: list[list[str]],
    names_of: list[list[str]],
) -> list[dict[str, Any]]:
    """One document per sentence of ``span``; each paragraph's terms on its first sentence's."""
    c = table.columns
    s0, s1 = span
    starts, ends = c["sent_start"][s0:s1].tolist(), c["sent_end"][s0:s1].tolist()
    blocks = c["sent_paragraph"][s0:s1].tolist()
    paragraph_terms: dict[int, list[str]] = {}
    for block, terms in zip(blocks, tokens, strict=True):
        paragraph_terms.setdefault(block, []).extend(terms)
    sentences = []
    for n in range(s1 - s0):
        doc: dict[str, Any] = {
            "_id": f"{key}:{n}",
            "kind": "s",
            "article": key,
            "sentence": n,
            "paragraph": blocks[n],
            "start": starts[n],
            "end": ends[n],
            "length": len(tokens[n]),
            "tokens": " ".join(tokens[n]),
        }
        if n == 0 or blocks[n] != blocks[n - 1]:
            doc["ptokens"] = " ".join(paragraph_terms[blocks[n]])
        if names_of[n]:
            doc["names"] = names_of[n]
        sentences.append(doc)
    return sentences


def _encode(
    table: CorpusTable, s0: int, s1: int, field_words: Sequence[str] | None = None
) -> tuple[dict[str, Any], list[str], list[int], list[int], list[list[str]]]:
    """What the documents of sentences ``s0:s1`` (one article) are made of.

    The article document's part of the table: its local vocabulary (the distinct terms
    and names, increasing) and its sentences' bounds. For the sentence documents: that
    vocabulary as field terms, the flat local term numbers and their per-sentence
    offsets, and per sentence the attributions' name terms joined into one value each.
    ``field_words``: ``field_terms`` of the table's whole vocabulary, when made once for
    many articles.
    """
    c = table.columns
    t0, t1 = int(c["sentence_terms"][s0]), int(c["sentence_terms"][s1])
    a0, a1 = int(c["sentence_attrs"][s0]), int(c["sentence_attrs"][s1])
    n0, n1 = int(c["attr_names"][a0]), int(c["attr_names"][a1])
    terms, names = c["terms"][t0:t1], c["names"][n0:n1]
    used = distinct(np.concatenate([terms, names]))
    numbers = used.tolist()
    vocabulary = [table.vocabulary[i] for i in numbers]
    blob = {
        "v": BLOB_VERSION,
        "vocabulary": vocabulary,
        "strings": [],
        "arrays": {name: _pack(c[name][s0:s1]) for name in KEPT_COLUMNS},
    }
    if field_words is None:
        words = [field_term(word) for word in vocabulary]
    else:
        words = [field_words[i] for i in numbers]
    local_terms = np.searchsorted(used, terms).tolist()
    term_offsets = (c["sentence_terms"][s0 : s1 + 1] - t0).tolist()
    local_names = np.searchsorted(used, names).tolist()
    name_ends = (c["attr_names"][a0 + 1 : a1 + 1] - n0).tolist()
    attr_ends = (c["sentence_attrs"][s0 + 1 : s1 + 1] - a0).tolist()
    names_of: list[list[str]] = []
    first_attr = 0
    for last_attr in attr_ends:
        values = []
        for attribution in range(first_attr, last_attr):
            start = name_ends[attribution - 1] if attribution else 0
            values.append(" ".join(words[t] for t in local_names[start : name_ends[attribution]]))
        names_of.append([value for value in values if value])
        first_attr = last_attr
    return blob, words, local_terms, term_offsets, names_of


def field_terms(vocabulary: Sequence[str]) -> list[str]:
    """``field_term`` of every term of ``vocabulary``, in its order."""
    return [field_term(word) for word in vocabulary]


def _pack(values: np.ndarray) -> list[str]:
    data = np.ascontiguousarray(values)
    return [data.dtype.str, base64.b64encode(data.tobytes()).decode("ascii")]
