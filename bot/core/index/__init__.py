"""The index: tokens, BM25 postings, the column table, and the file it is saved in."""
