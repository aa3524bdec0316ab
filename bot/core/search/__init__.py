"""The OpenSearch backend: the corpus in a cluster, answered with the project's own ranking.

``options`` is what the backend reads (``CoreOptions.cluster``); ``client`` connects
and turns every failure into one line; ``documents`` is what a corpus becomes in the
cluster (one document per sentence, per article and per index term, plus the meta
documents; each sentence's carries its paragraph's record, ``paragraphs``, and the
way back to a table), ``totals`` its BM25 statistics and ``tables`` the term numbering
and an article read for context; ``bulk`` writes (retried, idempotent ids); ``ingest``
rebuilds into a new index behind an alias and ``update`` applies changes by article id;
``candidates`` are a question's searches, ``scoring`` and ``local`` rank the fetched
paragraphs with the embedded BM25 over the whole corpus's statistics, and ``searcher``
answers; ``live`` keeps the cluster
in step with a folder and ``watched`` does so as the folder changes.
"""
