"""The cluster's read path for questions: the searches, and an article for its context.

Every read asks for ``preference=_local``: a node holding a copy of a shard answers
from it instead of forwarding to the copy on the other node by round robin, one hop
less per shard on a cluster where every node holds every shard (two nodes, one
replica). The copies hold the same documents, so what comes back is the same.

A question reads no article: its hits carry their paragraphs (``paragraphs``). Only
an answer's context (the sentences around it) fetches its article.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from opensearchpy import OpenSearch

from bot.core.search import tables
from bot.core.search.client import ClusterOptions, guarded

log = logging.getLogger(__name__)

RESEARCH_PAUSES = (0.1, 0.5, 0.0)  # after the first and second tries; the third is the last
LOCAL = "_local"  # search the copies on the node the request reached, when it has them


class ClusterReads:
    """The requests a question sends, counted; thread safe."""

    def __init__(self, client: OpenSearch, options: ClusterOptions) -> None:
        """Reads through ``client`` of the index named in ``options``."""
        self.client = client
        self.options = options
        self.numbers = tables.TermNumbers()
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
        return tables.stored_article(hits[0]["_source"]) if hits else None


def _failed(response: Mapping[str, Any]) -> bool:
    """A search of an ``msearch`` that failed, whole or on a shard (a missing index aside)."""
    error = response.get("error")
    if error is not None:
        return not (isinstance(error, dict) and error.get("type") == "index_not_found_exception")
    return bool(response.get("_shards", {}).get("failed"))
