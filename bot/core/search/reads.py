"""The cluster's read path for questions: the searches, and the articles they point to.

Every read asks for ``preference=_local``: a node holding a copy of a shard answers
from it instead of forwarding to the copy on the other node by round robin, one hop
less per shard on a cluster where every node holds every shard (two nodes, one
replica). The copies hold the same documents, so what comes back is the same.

Fetched articles are cached decoded by content hash (an article's key), so a cached
copy never goes stale; the cache is shared by the threads of one ``ClusterEngine`` and
bounded in memory (``opensearch_cache_mb``), the least recently used going first. At a
million sentences a question fetches some 85 articles, about 0.7 MB of JSON that the
nodes read from compressed stored fields and the process decodes; each cached one
costs neither.

Articles are fetched with their whole ``_source``, never filtered: with ``_source_includes``
the node parses each stored article (body and table, kilobytes of JSON) and writes it out
again, which took an ``mget`` of 25 articles from 21 to 40 ms (2 nodes, 100k sentences);
what filtering left out (title, url, author: a few hundred bytes) costs far less to carry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from opensearchpy import OpenSearch

from bot.core.search import tables
from bot.core.search.client import ClusterOptions, guarded

log = logging.getLogger(__name__)

RESEARCH_PAUSES = (0.1, 0.5, 0.0)  # after the first and second tries; the third is the last
LOCAL = "_local"  # search the copies on the node the request reached, when it has them


class ClusterReads:
    """The requests a question sends, counted, with the article cache; thread safe."""

    def __init__(self, client: OpenSearch, options: ClusterOptions) -> None:
        """Reads through ``client`` of the index named in ``options``."""
        self.client = client
        self.options = options
        self.numbers = tables.TermNumbers()
        # (index, article key) -> the decoded article and about how many bytes it holds
        self._cache: OrderedDict[tuple[str, str], tuple[tables.StoredArticle, int]] = OrderedDict()
        self._cached_bytes = 0
        self._cache_limit = int(options.cache_mb * 2**20)
        self._lock = threading.Lock()
        self.requests = 0  # requests sent (for tests and benchmarks)

    def msearch(self, searches: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
        """The (header, search) pairs in one ``msearch``, each header asking for local copies.

        Sent again (twice at most) if a shard or a search failed in them: a node that
        stops between a search's query and fetch phases takes its search context with
        it, and OpenSearch does not retry the fetch itself. Sent again, the searches reach
        the copies on the other nodes. What still fails is reported by the caller.
        """
        body: list[dict[str, Any]] = []
        for header, search in searches:
            body += [{"index": self.options.index, "preference": LOCAL, **header}, search]
        for pause in RESEARCH_PAUSES:
            self.requests += 1
            found = guarded(self.options, "searching", lambda: self.client.msearch(body=body))
            if not any(_failed(response) for response in found["responses"]):
                break
            log.info("a search failed during a question (a node going away?); sending it again")
            time.sleep(pause)
        return found

    def articles(self, index: str, keys: Sequence[str]) -> list[tables.StoredArticle]:
        """The articles of ``keys`` in id order: from the cache, the rest in one ``mget``.

        An article removed since the search is left out: the question goes on without it.
        """
        found: dict[str, tables.StoredArticle] = {}
        with self._lock:
            for key in keys:
                entry = self._cache.get((index, key))
                if entry is not None:
                    self._cache.move_to_end((index, key))
                    found[key] = entry[0]
        missing = [key for key in keys if key not in found]
        if missing:
            self.requests += 1
            fetched = guarded(
                self.options,
                "fetching articles",
                lambda: self.client.mget(
                    index=index,
                    body={"ids": [f"a:{key}" for key in missing]},
                    preference=LOCAL,
                ),
            )
            for key, doc in zip(missing, fetched["docs"], strict=True):
                if not doc.get("found"):
                    continue
                item = tables.stored_article(doc["_source"], self.numbers)
                found[key] = item
                self._keep((index, key), item)
        # Id order, as the embedded table keeps articles: ties then break the same way.
        return sorted(found.values(), key=lambda item: item.source.id)

    def _keep(self, key: tuple[str, str], item: tables.StoredArticle) -> None:
        """Cache ``item``, dropping the least recently used beyond the memory allowed."""
        size = item.nbytes
        if size > self._cache_limit:
            return
        with self._lock:
            old = self._cache.pop(key, None)
            if old is not None:
                self._cached_bytes -= old[1]
            self._cache[key] = (item, size)
            self._cached_bytes += size
            while self._cached_bytes > self._cache_limit:
                _, (_, dropped) = self._cache.popitem(last=False)
                self._cached_bytes -= dropped

    @property
    def cached(self) -> tuple[int, int]:
        """Articles in the cache, and about how many bytes they hold."""
        with self._lock:
            return len(self._cache), self._cached_bytes

    def any_article(self, index: str) -> list[tables.StoredArticle]:
        """One article, for a question nothing matched: the ranking then says why."""
        self.requests += 1
        found = guarded(
            self.options,
            "fetching an article",
            lambda: self.client.search(
                index=index,
                body={"size": 1, "query": {"term": {"kind": "a"}}},
                preference=LOCAL,
            ),
        )
        return [
            tables.stored_article(hit["_source"], self.numbers) for hit in found["hits"]["hits"]
        ]

    def any_paragraph(self, index: str) -> list[tuple[str, dict[str, Any]]]:
        """One paragraph record (its article's key, the record), for a question nothing matched."""
        self.requests += 1
        found = guarded(
            self.options,
            "fetching a paragraph",
            lambda: self.client.search(
                index=index,
                body={"size": 1, "query": {"term": {"kind": "s"}}},
                preference=LOCAL,
            ),
        )
        return [
            (hit["_source"]["article"], hit["_source"]["data"]["p"])
            for hit in found["hits"]["hits"]
        ]

    def article_by_id(self, article_id: str) -> tables.StoredArticle | None:
        """The live index's article whose id is ``article_id``, or None."""
        found = guarded(
            self.options,
            "fetching an article",
            lambda: self.client.search(
                index=self.options.index,
                body={
                    "size": 1,
                    "query": {
                        "bool": {
                            "filter": [
                                {"term": {"kind": "a"}},
                                {"term": {"article_id": article_id}},
                            ]
                        }
                    },
                },
                preference=LOCAL,
            ),
        )
        hits = found["hits"]["hits"]
        return tables.stored_article(hits[0]["_source"], self.numbers) if hits else None


def _failed(response: Mapping[str, Any]) -> bool:
    """A search of an ``msearch`` that failed, whole or on a shard (a missing index aside)."""
    error = response.get("error")
    if error is not None:
        return not (isinstance(error, dict) and error.get("type") == "index_not_found_exception")
    return bool(response.get("_shards", {}).get("failed"))
