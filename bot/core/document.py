"""Turning loaded articles into quotable sentences with their context and speakers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.core.attribution import ArticleSpeakers
from bot.core.clean import classify, is_furniture
from bot.core.corpus import RawArticle
from bot.core.models import Article, Attribution, BlockKind, Sentence
from bot.core.sentences import SentenceSplitter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Passages:
    """Articles and their sentences in reading order, with what each sentence reports."""

    articles: tuple[Article, ...]
    sentences: tuple[Sentence, ...]
    attributions: tuple[tuple[Attribution, ...], ...]

    def text(self, sentence: Sentence) -> str:
        """The sentence, sliced from its article (verbatim by construction)."""
        return self.articles[sentence.article].text[sentence.start : sentence.end]


def build_passages(
    raw: Sequence[RawArticle],
    splitter: SentenceSplitter,
    progress: Callable[[int, int], None] | None = None,
) -> Passages:
    """Clean, split and attribute every article; ``progress(done, total)`` is told as it goes."""
    articles: list[Article] = []
    sentences: list[Sentence] = []
    attributions: list[tuple[Attribution, ...]] = []
    for number, item in enumerate(raw):
        blocks = classify(item.text, item.headings)
        article = Article(item.source, item.text, blocks)
        found = list(_sentences_of(article, len(articles), splitter))
        speakers = ArticleSpeakers([item.text[s.start : s.end] for s in found])
        for sentence in found:
            attributions.append(tuple(speakers.attribute(item.text[sentence.start : sentence.end])))
        articles.append(article)
        sentences.extend(found)
        if progress is not None:
            progress(number + 1, len(raw))
    return Passages(tuple(articles), tuple(sentences), tuple(attributions))


def _sentences_of(article: Article, index: int, splitter: SentenceSplitter) -> list[Sentence]:
    out: list[Sentence] = []
    heading: str | None = None
    for paragraph, block in enumerate(article.blocks):
        body = article.text[block.start : block.end]
        if block.kind is BlockKind.HEADING:
            heading = body
            continue
        if block.kind is not BlockKind.CONTENT:
            continue
        for start, end in splitter.spans(body):
            piece = body[start:end]
            if is_furniture(piece) and len(piece.split()) < 40:
                continue
            out.append(
                Sentence(
                    article=index,
                    start=block.start + start,
                    end=block.start + end,
                    paragraph=paragraph,
                    position=len(out),
                    heading=heading,
                )
            )
    return out
