"""Articles in: reading files and pages, cleaning, sentences, speakers, prepared tables."""
