"""The Discord- and terminal-free core: ingest, clean, split, index, answer."""
