"""Texts for the tests that pin a fast path to the plain code it replaced (#19).

Random text is built from pieces that sit on the edges of those shortcuts: the
letters on which ``re.IGNORECASE`` and ``str.lower()`` part ways ("İ", "ı", "ſ", the
Kelvin sign), white space that is not a space, closing quotes and brackets, stops of
several scripts, digits that are not ASCII, words that pattern lists look for, and
text with no letters at all. Corpus text is the seed articles and their sentences.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from hypothesis import strategies as st

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
# The BBC articles beside the repository, when they are there (bench/same_output.py's corpus).
BBC = Path(__file__).resolve().parents[3] / "shared" / "data" / "news" / "bbc-news.jsonl"
BBC_ARTICLES = 300

PIECES = [
    "you", "You", "YOUR", "yours", "you're", "You’ve", "we're", "We've", "our", "Our", "us",
    "US", "use", "bus", "your-", "y", "ou", "İ", "ı", "ſ", "K", "Σ", "ß", "ﬁ", "é", "Ünal",
    "said", "Said", "the", "The", "of", "a", "newsletter", "Sign", "up", "click", "here",
    "Read", "more", "Subscribe", "follow", "Follow", "@jane", "#tag", "share", "this",
    "email", "jane@example.org", "www.example.com", "http://x.org", "(c)", "©", "Copyright",
    "all", "rights", "reserved", "reporting", "by", "Editing", "contributed", "£5", "$3.5",
    "€", "12", "3.", "1,000", "2024-03-05", "Jan", "March", "5pm", "GMT", "Mon", "١٢", "²",
    "½", "Ⅻ", ".", "!", "?", "…", "...", "?!", ",", ";", ":", "。", "！", "？", "」", "』", "）",
    '"', "'", "“", "”", "‘", "’", "«", "»", "(", ")", "[", "]", "[NEWS]", "|", "•", "·", "►",
    "-", "–", "—", "/", " - ", " – ", " — ", " / ", "OmarIlhan", "iPhone", "McDonald", "aB", "ABC",
    "_", "-ing", "n't", "don't", "it's", "U.S.", "e.g.", "co-op", "Beijing",
]  # fmt: skip
GAPS = [" ", " ", " ", "", "  ", "\n", "\t", "\u00a0", "\u2028", "\u3000", "\x1c", "\x0b", " \n"]


def tricky_text() -> st.SearchStrategy[str]:
    """Text made of ``PIECES`` and ``GAPS``, or now and then of any characters at all."""
    built = st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(GAPS)), max_size=40).map(
        lambda parts: "".join(piece + gap for piece, gap in parts)
    )
    return st.one_of(built, built, built, st.text(max_size=80))


def corpus_texts() -> list[str]:
    """The seed articles, and the first ``BBC_ARTICLES`` BBC articles when they are there."""
    texts = [path.read_text("utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    if BBC.is_file():
        with BBC.open(encoding="utf-8") as lines:
            for _, line in zip(range(BBC_ARTICLES), lines, strict=False):
                texts.append(json.loads(line)["text"])
    return texts


@cache
def corpus_lines() -> tuple[str, ...]:
    """The lines of ``corpus_texts`` and, roughly, their sentences."""
    out = []
    for text in corpus_texts():
        for line in text.splitlines():
            out.append(line)
            out.extend(part + "." for part in line.split(". "))
    assert len(out) > 50
    return tuple(out)
