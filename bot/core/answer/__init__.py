"""Questions in, answers out: parsing, ranking, passages, and the reply with its reasons."""
