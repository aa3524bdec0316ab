"""Plain-text rendering of replies and article lists for the terminal."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from bot.core.answer.engine import NO_ARTICLES, ArticleInfo
from bot.core.models import Reply, Source

WIDTH = 88


def source_line(source: Source) -> str:
    """``title, publisher, date``: only the fields that exist; the file name when untitled."""
    parts = [source.title or source.id, source.publisher, source.published]
    return ", ".join(part for part in parts if part)


def reply_text(reply: Reply) -> str:
    """A reply as a person reads it: each quote in quotation marks, then where it stands."""
    if not reply.answers:
        return f"No answer: {reply.no_answer_reason}"
    blocks = []
    for number, answer in enumerate(reply.answers, start=reply.offset + 1):
        quote = textwrap.fill(
            f"“{answer.quote}”",
            WIDTH,
            initial_indent=f"{number}. ",
            subsequent_indent="   ",
            break_on_hyphens=False,
            break_long_words=False,
        )
        lines = [quote, f"   — {source_line(answer.source)}"]
        lines.extend(f"     also in: {source_line(other)}" for other in answer.sources[1:])
        blocks.append("\n".join(lines))
    if reply.more:
        blocks.append("(more answers: :more in the REPL, or --top-k)")
    return "\n\n".join(blocks)


def sources_text(articles: Sequence[ArticleInfo]) -> str:
    """One line per article: id, sentence count and its metadata."""
    if not articles:
        return NO_ARTICLES
    lines = [f"{len(articles)} article(s):"]
    for info in articles:
        meta = source_line(info.source)
        lines.append(f"- {info.source.id} ({info.sentences} sentences): {meta}")
        if info.source.url:
            lines.append(f"  {info.source.url}")
    return "\n".join(lines)
