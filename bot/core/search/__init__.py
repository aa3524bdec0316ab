"""The OpenSearch backend: the corpus in a cluster, answered with the project's own ranking.

``client`` connects and turns every failure into one line; ``documents`` is what a
corpus becomes in the cluster (one document per sentence, per paragraph, per article
and per index term, plus one for the corpus as a whole); ``ingest`` writes it (bulk,
retried, rebuilt into a new index behind an alias); ``scoring`` scores fetched
sentences with the embedded backend's BM25 over the whole corpus's statistics;
``searcher`` answers questions; ``live`` keeps the cluster in step with a folder.
"""
