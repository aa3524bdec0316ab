"""What a corpus becomes in the cluster, and how fetched articles become a table again.

Four kinds of document share one index (field ``kind``), so one alias swap replaces
all of them at once:

- ``s``, one per sentence, id ``<article key>:<sentence number>``: the project's own
  index terms in ``tokens`` (whitespace-analysed, so Lucene's BM25 sees exactly the
  embedded index's terms), the attributions' speaker name terms in ``names`` (one
  value per attribution, far apart, so "all of these names in one attribution" is a
  span query), offsets, paragraph, and the article's id, publisher and date.
  The first sentence of each paragraph also holds the paragraph's terms, in
  ``ptokens``: Lucene keeps BM25 statistics per field over the documents having it,
  so that field is the embedded paragraph BM25's corpus, at no document of its own.
- ``a``, one per article, id ``a:<article key>``: metadata, the body (so a quote is
  ``body[start:end]``), and the article's slice of the ``CorpusTable`` (offsets,
  terms, attributions) with its own small vocabulary. A question fetches a few dozen
  of these and ranks their sentences exactly as the embedded backend would.
- ``t``, one per index term, id ``t:<term>``: in how many sentences and paragraphs it
  occurs. Fetched by id for a question's terms, they give the whole corpus's IDF.
- ``m``: ``meta``, small and read with every question: corpus totals (sentences,
  paragraphs, terms, the mean IDFs BM25Okapi's epsilon rule needs), the rule
  fingerprint; ``meta:punkt`` (Punkt's parameters) and ``meta:errors`` (unreadable
  files), read only when the index is updated or listed. ``meta`` is written last: an
  index without it is unfinished.

The article key is the first 32 hex digits of the article's content digest, so ids are
the same every time the same article is indexed under the same sentence splitter: a
bulk sent twice (a retry, a re-run after a crash) overwrites, never duplicates.
"""

from __future__ import annotations

import base64
import math
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from bot.core.index.arrays import distinct
from bot.core.index.packed import Packed
from bot.core.index.table import CorpusTable
from bot.core.models import Source

# Bump when the documents or the mapping change shape: an index of another layout is
# never written to; the next sync or ``index`` rebuilds into a new one and swaps the alias.
LAYOUT = 1
META_ID = "meta"
PUNKT_ID = "meta:punkt"
ERRORS_ID = "meta:errors"
BLOB_VERSION = 1
KEY_CHARS = 32
SIMILARITY = "newsquote_bm25"
# Names of different attributions of one sentence are this many positions apart, and a
# speaker's terms are looked for within half of it: never across two attributions.
NAME_GAP = 100
NAME_SLOP = NAME_GAP // 2

# The table's columns by what their rows are (see ``bot.core.index.table``).
SENTENCE_COLUMNS = (
    "sent_start", "sent_end", "sent_paragraph", "sent_position", "sent_heading",
    "sent_quoted", "sent_reports", "sent_content", "sent_own_len",
)  # fmt: skip
ATTRIBUTION_COLUMNS = ("attr_speaker", "attr_cue", "attr_resolved")
STRING_COLUMNS = ("sent_heading", "attr_speaker", "attr_cue", "attr_resolved")
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
    terms = {"type": "text", "analyzer": "whitespace", "similarity": SIMILARITY}
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
            # Terms are searched, never read back: the article document holds them.
            "_source": {"excludes": ["tokens", "ptokens", "names"]},
            "properties": {
                "kind": {"type": "keyword"},
                "article": {"type": "keyword"},
                "article_id": {"type": "keyword"},
                "sentence": {"type": "integer"},
                "paragraph": {"type": "integer"},
                "start": {"type": "integer"},
                "end": {"type": "integer"},
                "length": {"type": "integer"},
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
                "sentences": {"type": "integer"},  # an article's, on each of its documents
                "term": {"type": "keyword"},
                "sdf": {"type": "integer"},
                "pdf": {"type": "integer"},
                "data": {"type": "object", "enabled": False},
            },
        },
    }


# --------------------------------------------------------------------- corpus statistics


@dataclass(frozen=True, slots=True)
class CorpusStats:
    """The whole corpus's BM25 statistics, for sentences and for paragraphs."""

    articles: int
    sentences: int
    paragraphs: int
    terms: int  # index terms in all sentences (= in all paragraphs): N * avgdl
    vocabulary: int  # distinct index terms
    mean_idf_sentences: float  # BM25Okapi's raw IDF averaged over the vocabulary
    mean_idf_paragraphs: float

    def to_json(self) -> dict[str, Any]:
        """For the meta document."""
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CorpusStats:
        """From the meta document; KeyError or ValueError if it does not hold them."""
        return cls(
            int(data["articles"]), int(data["sentences"]), int(data["paragraphs"]),
            int(data["terms"]), int(data["vocabulary"]), float(data["mean_idf_sentences"]),
            float(data["mean_idf_paragraphs"]),
        )  # fmt: skip


def raw_idf(documents: int, frequency: int) -> float:
    """BM25Okapi's IDF before its epsilon rule, with the embedded index's operations."""
    return math.log(documents - frequency + 0.5) - math.log(frequency + 0.5)


def mean_raw_idf(documents: int, histogram: Mapping[int, int]) -> float:
    """The mean raw IDF over a vocabulary given as {document frequency: how many terms}."""
    size = sum(histogram.values())
    if not size:
        return 0.0
    total = math.fsum(count * raw_idf(documents, df) for df, count in histogram.items())
    return total / size


def paragraph_numbers(table: CorpusTable) -> np.ndarray:
    """Per sentence, its paragraph numbered across the corpus (as the embedded index numbers them)."""
    c = table.columns
    if not table.sentences:
        return np.zeros(0, dtype=np.int64)
    article = np.repeat(np.arange(table.articles), np.diff(c["article_sentences"]))
    paragraph = c["sent_paragraph"]
    starts = np.ones(table.sentences, dtype=bool)
    starts[1:] = (article[1:] != article[:-1]) | (paragraph[1:] != paragraph[:-1])
    return np.cumsum(starts) - 1


def frequencies(table: CorpusTable) -> tuple[np.ndarray, np.ndarray]:
    """Per vocabulary term of ``table``: in how many sentences, and paragraphs, it occurs."""
    c = table.columns
    size = len(table.vocabulary)
    lengths = np.diff(c["sentence_terms"])
    terms = c["terms"].astype(np.int64)
    out = []
    for owner in (np.arange(table.sentences), paragraph_numbers(table)):
        rows = np.repeat(owner.astype(np.int64), lengths)
        pairs = distinct(rows * size + terms) if terms.size else terms
        out.append(np.bincount(pairs % size if size else pairs, minlength=size))
    return out[0], out[1]


def table_stats(table: CorpusTable) -> tuple[CorpusStats, np.ndarray, np.ndarray]:
    """The statistics of a whole corpus held in ``table``, and its per-term frequencies."""
    sdf, pdf = frequencies(table)
    used = sdf > 0
    paragraphs = int(paragraph_numbers(table)[-1]) + 1 if table.sentences else 0
    stats = CorpusStats(
        articles=table.articles,
        sentences=table.sentences,
        paragraphs=paragraphs,
        terms=int(table.columns["terms"].size),
        vocabulary=int(used.sum()),
        mean_idf_sentences=mean_raw_idf(table.sentences, _histogram(sdf[used])),
        mean_idf_paragraphs=mean_raw_idf(paragraphs, _histogram(pdf[used])),
    )
    return stats, sdf, pdf


def _histogram(values: np.ndarray) -> dict[int, int]:
    found, counts = np.unique(values, return_counts=True)
    return dict(zip(found.tolist(), counts.tolist(), strict=True))


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


def article_docs(table: CorpusTable, number: int, file_sha256: str | None) -> ArticleDocs:
    """The documents of article ``number`` of ``table``.

    A paragraph's terms go on its first sentence's document, in ``ptokens``: Lucene
    keeps statistics per field over the documents that have it, so BM25 on ``ptokens``
    is BM25 over paragraphs, without a document per paragraph to write.
    """
    c = table.columns
    source = table.sources[number]
    digest = table.digests[number]
    key = article_key(digest)
    s0, s1 = (int(x) for x in c["article_sentences"][number : number + 2])
    blob, words, local_terms, term_offsets, names_of = _encode(table, s0, s1)
    body = table.text(number)
    published = iso_date(source.published)
    meta = {
        "article": key,
        "article_id": source.id,
        "publisher": source.publisher,
        "sentences": s1 - s0,  # so a search knows what fetching the article costs
    }
    if published is not None:
        meta["published"] = published
    starts, ends = c["sent_start"][s0:s1].tolist(), c["sent_end"][s0:s1].tolist()
    blocks = c["sent_paragraph"][s0:s1].tolist()
    tokens = [
        [words[t] for t in local_terms[term_offsets[n] : term_offsets[n + 1]]]
        for n in range(s1 - s0)
    ]
    paragraph_terms: dict[int, list[str]] = {}
    for block, terms in zip(blocks, tokens, strict=True):
        paragraph_terms.setdefault(block, []).extend(terms)
    sentences = []
    for n in range(s1 - s0):
        doc: dict[str, Any] = {
            "_id": f"{key}:{n}",
            "kind": "s",
            **meta,
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
    article = {
        "_id": f"a:{key}",
        "kind": "a",
        **meta,
        "title": source.title,
        "url": source.url,
        "author": source.author,
        "digest": digest,
        "file_sha256": file_sha256,
        "data": {"source": source.to_json(), "body": body, "table": blob},
    }
    used = sorted({blob["vocabulary"][t] for t in set(local_terms)})
    return ArticleDocs(key, article, sentences, used)


def _encode(
    table: CorpusTable, s0: int, s1: int
) -> tuple[dict[str, Any], list[str], list[int], list[int], list[list[str]]]:
    """Sentences ``s0:s1`` (one article) as a self-contained blob with its own vocabulary.

    Also returns, for the sentence documents: the local vocabulary as field terms, the
    flat local term numbers and their per-sentence offsets, and per sentence the
    attributions' name terms joined into one value each.
    """
    c = table.columns
    t0, t1 = int(c["sentence_terms"][s0]), int(c["sentence_terms"][s1])
    a0, a1 = int(c["sentence_attrs"][s0]), int(c["sentence_attrs"][s1])
    n0, n1 = int(c["attr_names"][a0]), int(c["attr_names"][a1])
    terms, names = c["terms"][t0:t1], c["names"][n0:n1]
    used = distinct(np.concatenate([terms, names]))
    vocabulary = [table.vocabulary[i] for i in used.tolist()]
    arrays: dict[str, np.ndarray] = {name: c[name][s0:s1] for name in SENTENCE_COLUMNS}
    arrays.update({name: c[name][a0:a1] for name in ATTRIBUTION_COLUMNS})
    arrays["terms"] = np.searchsorted(used, terms).astype(np.int32)
    arrays["names"] = np.searchsorted(used, names).astype(np.int32)
    arrays["term_counts"] = np.diff(c["sentence_terms"][s0 : s1 + 1]).astype(np.int32)
    arrays["attr_counts"] = np.diff(c["sentence_attrs"][s0 : s1 + 1]).astype(np.int32)
    arrays["name_counts"] = np.diff(c["attr_names"][a0 : a1 + 1]).astype(np.int32)
    numbers = np.concatenate([arrays[name] for name in STRING_COLUMNS])
    strings_used = distinct(numbers[numbers >= 0])
    for name in STRING_COLUMNS:
        values = arrays[name]
        arrays[name] = np.where(values >= 0, np.searchsorted(strings_used, values), values).astype(
            np.int32
        )
    strings = [table.strings[i] for i in strings_used.tolist()]
    blob = {
        "v": BLOB_VERSION,
        "vocabulary": vocabulary,
        "strings": strings,
        "arrays": {name: _pack(value) for name, value in arrays.items()},
    }
    words = [field_term(word) for word in vocabulary]
    term_offsets = [0, *np.cumsum(arrays["term_counts"]).tolist()]
    names_of: list[list[str]] = []
    local_names = arrays["names"].tolist()
    name_ends = np.cumsum(arrays["name_counts"]).tolist()
    attr_ends = np.cumsum(arrays["attr_counts"]).tolist()
    first_attr = 0
    for last_attr in attr_ends:
        values = []
        for attribution in range(first_attr, last_attr):
            start = name_ends[attribution - 1] if attribution else 0
            values.append(" ".join(words[t] for t in local_names[start : name_ends[attribution]]))
        names_of.append([value for value in values if value])
        first_attr = last_attr
    return blob, words, arrays["terms"].tolist(), term_offsets, names_of


def _pack(values: np.ndarray) -> list[str]:
    data = np.ascontiguousarray(values)
    return [data.dtype.str, base64.b64encode(data.tobytes()).decode("ascii")]


def _unpack(packed: Sequence[str]) -> np.ndarray:
    dtype, text = packed
    return np.frombuffer(base64.b64decode(text), dtype=np.dtype(dtype))


# --------------------------------------------------------------------- back to a table


class TermNumbers:
    """Index terms numbered once per process: joining fetched articles is then array work.

    Each fetched article's small vocabulary is numbered here when it is decoded (and
    cached with it), so a question's join concatenates numbers instead of building a
    dictionary of twenty thousand terms. Grows with the distinct terms of the articles
    seen, at most the corpus's vocabulary. Safe to share between threads.
    """

    def __init__(self) -> None:
        """An empty numbering."""
        self._number: dict[str, int] = {}
        self._words: list[str] = []
        self._lock = threading.Lock()

    def of(self, words: Sequence[str]) -> np.ndarray:
        """The numbers of ``words``, new ones added."""
        with self._lock:
            number, known = self._number, self._words
            found = []
            for word in words:
                n = number.get(word)
                if n is None:
                    n = number[word] = len(known)
                    known.append(word)
                found.append(n)
        return np.array(found, dtype=np.int64)

    def words(self, numbers: np.ndarray) -> tuple[str, ...]:
        """The terms numbered ``numbers``."""
        known = self._words
        return tuple(known[n] for n in numbers.tolist())


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as fetched: metadata, digest, body and its table slice, decoded."""

    source: Source
    digest: str
    body: str
    vocabulary: list[str]
    strings: list[str]
    arrays: dict[str, np.ndarray]
    term_numbers: np.ndarray  # its vocabulary in a ``TermNumbers``

    @property
    def sentences(self) -> int:
        return int(self.arrays["sent_start"].size)


def stored_article(source_doc: Mapping[str, Any], numbers: TermNumbers) -> StoredArticle:
    """Decode an article document's ``_source``; ValueError if it is not one this layout wrote."""
    try:
        data = source_doc["data"]
        blob = data["table"]
        if blob.get("v") != BLOB_VERSION:
            raise ValueError(f"article table version {blob.get('v')!r}")
        arrays = {name: _unpack(value) for name, value in blob["arrays"].items()}
        vocabulary = list(blob["vocabulary"])
        return StoredArticle(
            Source(**data["source"]),
            str(source_doc["digest"]),
            str(data["body"]),
            vocabulary,
            list(blob["strings"]),
            arrays,
            numbers.of(vocabulary),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not an article document of layout {LAYOUT}: {exc}") from exc


def join_articles(articles: Sequence[StoredArticle], numbers: TermNumbers) -> CorpusTable:
    """One ``CorpusTable`` of ``articles``, in the order given, checked before it is used.

    ``numbers``: the numbering the articles' ``term_numbers`` are in.
    """
    strings: dict[str, int] = {}
    parts: dict[str, list[np.ndarray]] = {
        name: [] for name in (*SENTENCE_COLUMNS, *ATTRIBUTION_COLUMNS, "terms", "names")
    }
    counts: dict[str, list[np.ndarray]] = {
        "article_sentences": [],
        "sentence_terms": [],
        "sentence_attrs": [],
        "attr_names": [],
    }
    for item in articles:
        a = item.arrays
        string_map = np.array(
            [strings.setdefault(text, len(strings)) for text in item.strings] + [-1],
            dtype=np.int32,
        )  # the extra last entry keeps -1 ("none") as it is
        for name in SENTENCE_COLUMNS + ATTRIBUTION_COLUMNS:
            values = a[name]
            parts[name].append(string_map[values] if name in STRING_COLUMNS else values)
        parts["terms"].append(item.term_numbers[a["terms"]])
        parts["names"].append(item.term_numbers[a["names"]])
        counts["article_sentences"].append(np.array([item.sentences]))
        counts["sentence_terms"].append(a["term_counts"])
        counts["sentence_attrs"].append(a["attr_counts"])
        counts["attr_names"].append(a["name_counts"])
    flat = {
        name: np.concatenate(values) if values else np.zeros(0, dtype=np.int64)
        for name, values in parts.items()
    }
    # The process-wide numbers of the terms these articles use, renumbered from 0 (a
    # lookup table over the numbers: the numbering is at most the corpus vocabulary).
    both = np.concatenate([flat["terms"], flat["names"]]).astype(np.int64)
    present = np.zeros(int(both.max(initial=-1)) + 1, dtype=bool)
    present[both] = True
    used = np.flatnonzero(present)
    renumber = np.cumsum(present) - 1
    for name in ("terms", "names"):
        flat[name] = renumber[flat[name]]
    columns = {name: values.astype(_dtype_of(name), copy=False) for name, values in flat.items()}
    for name, values in counts.items():
        lengths = np.concatenate(values) if values else np.zeros(0, dtype=np.int64)
        offsets = np.zeros(lengths.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        columns[name] = offsets
    table = CorpusTable(
        tuple(item.source for item in articles),
        tuple(item.digest for item in articles),
        Packed.of(item.body for item in articles),
        Packed.of(strings),
        numbers.words(used),
        columns,
    )
    table.check()
    return table


_DTYPES = {
    "sent_quoted": np.float64,
    "sent_reports": np.bool_,
    "sent_content": np.bool_,
}


def _dtype_of(name: str) -> type[np.generic]:
    return _DTYPES.get(name, np.int32)
