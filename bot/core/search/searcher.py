"""Answering from the cluster: OpenSearch finds the candidates, the project's ranking decides.

Per question, one request, however many candidates there are (two when nothing matched):

1. One ``msearch``: the meta document and the documents of the question's terms not
   read by an earlier question, by id (the corpus's totals and each term's sentence and
   paragraph frequencies; those read are kept while meta's index and version stay the
   same, and every update rewrites meta before and after it changes a term); the best
   sentences by Lucene's BM25 over the project's own terms (for "what did X say?",
   sentences quoting X first, as ``bool`` clauses); for fact questions the best
   paragraphs too, which the embedded ranking weighs heavily. The searches run
   ``dfs_query_then_fetch``, so both shards score with the same statistics. Sent again
   (twice at most) if a search or a shard failed (a node stopping mid-search): the copies on
   the other node answer. Each hit brings its paragraph's record (``paragraphs``): the
   paragraph's table rows and text, its article's size and term counts.
2. Only when nothing matched at all: one paragraph, so the ranking has a corpus to
   decline from with the embedded backend's reason.

The requests themselves (``preference=_local``, the retries) are ``reads.ClusterReads``.
The hits' paragraphs become a small ``CorpusTable`` (each article holding only its
fetched paragraphs), scored by ``ClusterBM25`` with the whole corpus's statistics, and
answered by the very ``Engine`` code the embedded backend runs: coverage, paragraph
context, article-local weights, passages, duplicates and the reply are the same
functions, and none of them reads past a candidate's paragraph but for the article's
size and term counts, which the records carry. Answers differ from the embedded
backend's where Lucene's candidates (its BM25 is not BM25Okapi: no epsilon rule, lossy
length norms) leave out a paragraph the embedded ranking would have used, and where a
question's term occurs in a candidate's article only outside the paragraphs fetched
(counted as absent there); the agreement is measured in ``bench/opensearch_compare.py``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from opensearchpy import OpenSearch

from bot.core.answer.chatter import without_chatter
from bot.core.answer.engine import ArticleInfo, Engine, EngineOptions
from bot.core.answer.question import ParsedQuestion, parse_question
from bot.core.answer.related import related_table
from bot.core.index.table import CorpusTable
from bot.core.index.tokenize import Tokenizer, load_aliases
from bot.core.ingest.files import LoadError
from bot.core.ingest.sentences import SentenceSplitter
from bot.core.lexicon import HONORIFICS, NAMING_VERBS
from bot.core.models import Answer, Reply, Source
from bot.core.search import candidates, paragraphs, totals
from bot.core.search import documents as docs
from bot.core.search.client import (
    ClusterError,
    ClusterOptions,
    ClusterUnavailable,
    NoIndexError,
    make_client,
)
from bot.core.search.ingest import Meta, read_meta
from bot.core.search.local import QuestionStats, in_articles, paragraph_engine
from bot.core.search.reads import ClusterReads
from bot.core.search.update import scan_kind

log = logging.getLogger(__name__)

FREQUENCY_CACHE = 200_000  # terms whose corpus frequencies are kept, at most
UNAVAILABLE = "The article index cannot be reached just now ({reason}); please try again shortly."


class ClusterEngine:
    """Answers questions from the cluster with the methods the doors call on ``Engine``.

    Safe to share between threads: every question reads the cluster afresh (the only
    state kept is the last meta document, for counts, and terms' corpus frequencies).
    """

    def __init__(
        self,
        client: OpenSearch,
        options: ClusterOptions,
        engine: EngineOptions,
        tokenizer: Tokenizer,
        meta: Meta | None,
    ) -> None:
        """An engine over the index whose meta document is ``meta``.

        ``meta`` None: the cluster could not be read yet. Every question reads the
        corpus totals afresh, so the engine answers as soon as the cluster does.
        """
        self.client = client
        self.options = options
        self.engine_options = engine
        self.tokenizer = tokenizer
        self.params = engine.bm25
        self.meta = meta
        # Questions never split text; the index's own Punkt is read only by an update.
        self.splitter = SentenceSplitter.untrained()
        self._empty = Engine(CorpusTable.join([]), engine, tokenizer, SentenceSplitter.untrained())
        self.reads = ClusterReads(client, options)
        # Terms' corpus frequencies, as read under one version of the meta document: an
        # update rewrites meta (before and after it changes any term), so they stay right
        # until meta's (index, version) changes, and then are read afresh.
        self._frequencies: dict[str, tuple[int, int]] = {}
        self._generation: tuple[str, int] | None = None
        self._frequency_lock = threading.Lock()

    @property
    def requests(self) -> int:
        """Requests sent for questions so far (for tests and benchmarks)."""
        return self.reads.requests

    @classmethod
    def open(
        cls, options: ClusterOptions, engine: EngineOptions, client: OpenSearch | None = None
    ) -> ClusterEngine:
        """Connect and read the live index's meta document.

        ``ClusterUnavailable`` when no node answers, ``NoIndexError`` when there is no
        finished index of this layout under the alias, ``ClusterError`` for the rest.
        """
        client = client or make_client(options)
        meta = read_meta(client, options)
        if meta is None:
            raise NoIndexError(
                f"the OpenSearch index {options.index!r} is unfinished or was made by another "
                "version of the bot: rebuild it with `python -m bot index`"
            )
        tokenizer = Tokenizer(aliases=load_aliases(engine.ingest.aliases_file))
        return cls(client, options, engine, tokenizer, meta)

    # ------------------------------------------------------------------ listing

    @property
    def article_count(self) -> int:
        """Articles in the index (as of the last question or listing)."""
        return 0 if self.meta is None else self.meta.stats.articles

    @property
    def sentence_count(self) -> int:
        """Sentences in the index (as of the last question or listing)."""
        return 0 if self.meta is None else self.meta.stats.sentences

    @property
    def errors(self) -> tuple[LoadError, ...]:
        """Files that could not be read when the index was last written, and why."""
        if self.meta is None:
            return ()
        return tuple(LoadError(e["path"], e["reason"]) for e in self.meta.errors)

    def refresh(self) -> None:
        """Read the meta document again (counts, unreadable files)."""
        meta = read_meta(self.client, self.options)
        if meta is not None:
            self.meta = meta

    def sources(self) -> list[ArticleInfo]:
        """Every article in the index with its sentence count, in id order."""
        self.refresh()
        return [
            ArticleInfo(_source_of(hit["_source"]), int(hit["_source"]["sentences"]))
            for hit in scan_kind(
                self.client,
                self.options,
                self.options.index,
                "a",
                ["sentences", "data.source"],
            )
        ]

    def digests(self) -> dict[str, str]:
        """Article id -> content digest, for every article in the index."""
        return {
            hit["_source"]["article_id"]: hit["_source"]["digest"]
            for hit in scan_kind(
                self.client, self.options, self.options.index, "a", ["article_id", "digest"]
            )
        }

    def context(self, answer: Answer, before: int = 2, after: int = 2) -> tuple[str, ...]:
        """The quotable sentences around an answer in its article, each verbatim, in order."""
        article = self.reads.article_by_id(answer.source.id)
        if article is None:
            return ()
        starts, ends = article.arrays["sent_start"], article.arrays["sent_end"]
        first = int(np.searchsorted(ends, answer.start, side="right"))
        last = int(np.searchsorted(starts, answer.end, side="left")) - 1
        first, last = max(first - before, 0), min(max(last, first) + after, starts.size - 1)
        return tuple(article.body[int(starts[i]) : int(ends[i])] for i in range(first, last + 1))

    # ------------------------------------------------------------------ answering

    def ask(self, question: str, top_k: int | None = None, offset: int = 0) -> Reply:
        """Answer ``question`` as ``Engine.ask`` does; a cluster failure is the reply's reason."""
        text = " ".join(question.split())
        wanted = without_chatter(text)  # what the embedded Engine.ask searches for
        if not wanted or len(text) > self.engine_options.ask.max_question_chars:
            return self._empty.ask(question, top_k, offset)  # raises its QuestionError
        try:
            return self._ask(question, wanted, top_k, offset)
        except ClusterError as exc:
            log.warning("question not answered: %s", exc)
            terms = tuple(self.tokenizer(wanted))
            reason = UNAVAILABLE.format(reason=_short(exc))
            if not isinstance(exc, ClusterUnavailable):
                reason = f"The article index cannot be used: {exc}"
            return Reply(text, no_answer_reason=reason, offset=offset, terms=terms)

    def _ask(self, question: str, text: str, top_k: int | None, offset: int) -> Reply:
        parsed = parse_question(text)
        tok = self.tokenizer
        terms = tuple(tok(text))
        speaker: tuple[str, ...] = ()
        wanted = set(terms)
        if parsed.asks_for_speech:
            speaker = tuple(
                sorted(
                    t
                    for t in tok(parsed.speaker or "")
                    if not tok.is_speech(t) and t not in HONORIFICS
                )
            )
            wanted.update(tok(parsed.speaker or ""), tok(parsed.topic or ""))
        wanted.update(t for word in text.split() for t in tok(word))  # names, one by one
        # A fact question also looks for its terms' WordNet relatives the corpus has
        # (``related.relatives`` asks the BM25's ``contains``): their frequencies come too.
        table = related_table()
        wanted.update(other for term in list(wanted) for other in table.get(term, ()))
        stats, hits = self._search(parsed, terms, speaker, sorted(wanted))
        if not stats.stats.articles:
            return self._empty.ask(question, top_k, offset)
        # Each paragraph once (its sentences and its paragraph search may all have hit it).
        records = {(hit.key, hit.paragraph): (hit.key, hit.record) for hit in hits}
        found = list(records.values()) or self.reads.any_paragraph(stats.index)
        joined = paragraphs.join(
            paragraphs.table_order([paragraphs.decode(key, record) for key, record in found]),
            self.reads.numbers,
        )
        engine = paragraph_engine(joined, stats, self.engine_options, self.tokenizer, self.splitter)
        reply = engine.ask(question, top_k, offset)
        unknown = engine.index.unknown_terms | engine.paragraphs.unknown_terms
        if unknown:
            log.warning("terms asked about without corpus frequencies: %s", sorted(unknown))
        return in_articles(reply, joined)

    def _search(
        self,
        parsed: ParsedQuestion,
        terms: Sequence[str],
        speaker: Sequence[str],
        wanted: Sequence[str],
    ) -> tuple[QuestionStats, list[candidates.Hit]]:
        """The corpus statistics, and every hit of the candidate searches.

        One ``msearch``: the meta document and the term documents not kept from earlier
        questions, by id, then the candidate searches.
        """
        size = self.options.candidates
        with self._frequency_lock:
            kept, generation = self._frequencies, self._generation
            known = {term: kept[term] for term in wanted if term in kept}
        unknown = [term for term in wanted if term not in known]
        searches: list[tuple[str, dict[str, Any]]] = [("statistics", _statistics_search(unknown))]
        fact = not speaker
        if speaker:
            searches.append(("speaker", candidates.speaker_search(terms, speaker, size)))
            naming = (parsed.verb or "").lower() in NAMING_VERBS
            fact = bool(naming and parsed.topic and self.engine_options.ask.speech_fallback)
        if fact and terms:
            searches.append(("sentences", candidates.sentence_search(terms, size)))
            if not parsed.asks_for_speech or speaker:  # the fallback is a plain fact question
                searches.append(("paragraphs", candidates.paragraph_search(terms, size // 2)))
        # Both shards score with the whole index's statistics.
        dfs = {"search_type": "dfs_query_then_fetch"}
        found = self.reads.msearch(
            [({} if name == "statistics" else dfs, search) for name, search in searches]
        )
        responses = dict(zip((name for name, _ in searches), found["responses"], strict=True))
        stats = self._statistics(responses.pop("statistics"), wanted, generation, known)
        results: dict[str, list[candidates.Hit]] = {}
        for name, response in responses.items():
            if "error" in response:
                raise ClusterError(
                    f"OpenSearch could not run the {name} search: {_short_error(response['error'])}"
                )
            if response.get("_shards", {}).get("failed"):
                log.warning("the %s search missed %s shard(s)", name, response["_shards"]["failed"])
            results[name] = candidates.hits_of(response)
        return stats, [hit for hits in results.values() for hit in hits]

    def _statistics(
        self,
        response: Mapping[str, Any],
        terms: Sequence[str],
        generation: tuple[str, int] | None,
        known: Mapping[str, tuple[int, int]],
    ) -> QuestionStats:
        """The corpus totals and ``terms``' frequencies from the statistics search.

        ``known``: frequencies kept from earlier questions under meta's ``generation``
        (index, version), not asked for again; if meta has changed since, they are read
        afresh (one more request, once per update).
        """
        if "error" in response:
            error = response["error"]
            kind = error.get("type") if isinstance(error, dict) else None
            if kind == "index_not_found_exception":
                raise NoIndexError(
                    f"OpenSearch has no index {self.options.index!r}: build it with "
                    "`python -m bot index`"
                )
            raise ClusterError(f"OpenSearch could not read the statistics: {_short_error(error)}")
        if response.get("_shards", {}).get("failed"):
            raise ClusterUnavailable("a shard holding the corpus statistics did not answer")
        by_id = {hit["_id"]: hit for hit in response["hits"]["hits"]}
        meta_doc = by_id.get(docs.META_ID)
        if meta_doc is None:
            raise NoIndexError(
                f"the OpenSearch index {self.options.index!r} is unfinished: rebuild it with "
                "`python -m bot index`"
            )
        data = meta_doc["_source"]["data"]
        if data.get("layout") != docs.LAYOUT:
            raise NoIndexError(
                f"the OpenSearch index {self.options.index!r} was made by another version of "
                "the bot: rebuild it with `python -m bot index`"
            )
        stats = totals.CorpusStats.from_json(data["stats"])
        if self.meta is None or self.meta.index != meta_doc["_index"]:
            self.refresh()  # first contact, or a rebuild swapped the alias: read it all
        if self.meta is not None:
            self.meta = dataclasses.replace(self.meta, index=meta_doc["_index"], stats=stats)
        now = (str(meta_doc["_index"]), int(meta_doc.get("_version", -1)))
        if now != generation and known and any(term in known for term in terms):
            # Meta changed since the kept frequencies were read: read them all again.
            again = self.reads.msearch([({}, _statistics_search(terms))])["responses"][0]
            return self._statistics(again, terms, now, {})
        fetched: dict[str, tuple[int, int]] = {}
        for term in terms:
            if term in known:
                continue
            hit = by_id.get(docs.term_id(term))
            source = hit["_source"] if hit else {}
            fetched[term] = (int(source.get("sdf", 0)), int(source.get("pdf", 0)))
        with self._frequency_lock:
            if self._generation != now:
                self._frequencies.clear()
                self._generation = now
            if len(self._frequencies) + len(fetched) > FREQUENCY_CACHE:
                self._frequencies.clear()  # a bound on memory; refilled as questions come
            self._frequencies.update(fetched)
        both = {**known, **fetched}
        sentences = {term: both[term][0] for term in terms}
        paragraphs = {term: both[term][1] for term in terms}
        return QuestionStats(meta_doc["_index"], stats, sentences, paragraphs)


def _statistics_search(terms: Sequence[str]) -> dict[str, Any]:
    """The meta document (with its version) and the term documents of ``terms``, by id."""
    ids = [docs.META_ID, *(docs.term_id(term) for term in terms)]
    return {"size": len(ids), "version": True, "query": {"ids": {"values": ids}}}


def _source_of(source: Mapping[str, Any]) -> Source:
    return Source(**source["data"]["source"])


def _short(exc: BaseException) -> str:
    return str(exc).split(" while ")[0][:160]


def _short_error(error: object) -> str:
    if isinstance(error, dict):
        root = error.get("root_cause") or [error]
        first = root[0] if isinstance(root, list) and root else error
        return str(first.get("reason") or first.get("type"))[:200]
    return str(error)[:200]
