"""newsquote: extractive, source-attributed answers to questions about news articles."""

__version__ = "0.1.0"
