"""One article made ready to index: cleaned, split, attributed and tokenized, once.

A ``PreparedArticle`` is the unit a corpus change replaces: when one file is
added, edited or deleted, only that file is processed again and the rest are
reused as they are.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.index.tokenize import Tokenizer
from bot.core.ingest.attribution import quoted_share, reported_speech, speaker_core
from bot.core.ingest.clean import classify, is_furniture
from bot.core.ingest.quote_runs import carry_through_quotes
from bot.core.ingest.raw import RawArticle
from bot.core.ingest.sentence_furniture import card_start, is_bare_link, is_furniture_sentence
from bot.core.ingest.sentences import SentenceSplitter
from bot.core.ingest.speakers import (
    ArticleSpeakers,
    Mentions,
    RuleMentions,
    learned_mentions,
    rule_mentions,
)
from bot.core.models import Article, Attribution, BlockKind, Sentence

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PreparedArticle:
    """An article's sentences and everything the ranking needs about each of them.

    ``sentences`` carry ``article=0``; the engine numbers articles when it
    assembles a corpus.
    """

    digest: str
    article: Article
    sentences: tuple[Sentence, ...]
    attributions: tuple[tuple[Attribution, ...], ...]
    docs: tuple[tuple[str, ...], ...]
    own_terms: tuple[frozenset[str], ...]
    speaker_terms: tuple[tuple[frozenset[str], ...], ...]
    quoted: tuple[float, ...]
    reports: tuple[bool, ...]
    content: tuple[bool, ...]


def digest_of(raw: RawArticle) -> str:
    """A content hash of what the article is made from (metadata and text)."""
    payload = repr((raw.source, raw.text, raw.headings)).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()


def prepare_articles(
    raws: Sequence[RawArticle], splitter: SentenceSplitter, tok: Tokenizer
) -> list[PreparedArticle | Exception]:
    """Each article cleaned, split, attributed and tokenized, or what that raised (it alone).

    Each article is cleaned, split and read by the attribution rules on its own (while
    its sentences' words are in the rules' caches); the learned tagger then tags the
    sentences of the whole batch that it is to read in one pass (``learned_mentions``),
    and each article is attributed and tokenized on its own.
    """
    drafts: list[_Draft | Exception] = []
    for raw in raws:
        try:
            drafts.append(_draft(raw, splitter))
        except Exception as exc:
            drafts.append(exc)
    mentions = _mentions(drafts)
    out: list[PreparedArticle | Exception] = []
    for draft, found in zip(drafts, mentions, strict=True):
        if isinstance(draft, Exception) or isinstance(found, Exception):
            out.append(draft if isinstance(draft, Exception) else found)
            continue
        try:
            out.append(_finish(draft, found, tok))
        except Exception as exc:
            out.append(exc)
    return out


def _mentions(drafts: Sequence[_Draft | Exception]) -> list[Mentions | Exception]:
    """Each draft's sentence mentions, the tagger's found for all at once (or what that raised)."""
    ready = [draft for draft in drafts if not isinstance(draft, Exception)]
    try:
        found = iter(learned_mentions([draft.rules for draft in ready]))
    except Exception:  # then article by article: only the one whose sentences raise fails
        return [
            draft if isinstance(draft, Exception) else _mentions_or_error(draft) for draft in drafts
        ]
    return [draft if isinstance(draft, Exception) else next(found) for draft in drafts]


def _mentions_or_error(draft: _Draft) -> Mentions | Exception:
    try:
        return learned_mentions([draft.rules])[0]
    except Exception as exc:
        return exc


@dataclass(frozen=True, slots=True)
class _Draft:
    """An article cleaned, split and read by the rules: what the batch's tagging waits for."""

    raw: RawArticle
    article: Article
    sentences: tuple[Sentence, ...]
    texts: list[str]
    rules: RuleMentions
    quoted: tuple[float, ...]
    speech: list[tuple[bool, bool]]  # reported_speech of each sentence


def _draft(raw: RawArticle, splitter: SentenceSplitter) -> _Draft:
    article = Article(raw.source, raw.text, classify(raw.text, raw.headings))
    sentences = _sentences_of(article, splitter)
    texts = [raw.text[s.start : s.end] for s in sentences]
    rules = rule_mentions(texts)
    quoted = tuple(quoted_share(text) for text in texts)
    speech = [reported_speech(t, q) for t, q in zip(texts, quoted, strict=True)]
    return _Draft(raw, article, sentences, texts, rules, quoted, speech)


def _finish(
    draft: _Draft, mentions: Sequence[Sequence[tuple[str, str]]], tok: Tokenizer
) -> PreparedArticle:
    """Attribute and tokenize a drafted article, given its sentences' ``sentence_mentions``."""
    raw, article, sentences, texts = draft.raw, draft.article, draft.sentences, draft.texts
    speakers = ArticleSpeakers(texts)
    attributions = carry_through_quotes(
        texts,
        [s.paragraph for s in sentences],
        [
            tuple(speakers.attribute(text, found))
            for text, found in zip(texts, mentions, strict=True)
        ],
    )
    docs, own_terms = [], []
    headings: dict[str, list[str]] = {}  # a heading's distinct terms, for its sentences
    for sentence, text in zip(sentences, texts, strict=True):
        own = _speech_once(tok, tok(text))
        own_set = frozenset(own)
        heading = sentence.heading or ""
        context = headings.get(heading)
        if context is None:
            context = headings[heading] = list(dict.fromkeys(tok(heading))) if heading else []
        docs.append(tuple(own + [t for t in context if t not in own_set]))
        own_terms.append(own_set)
    names: dict[str, frozenset[str]] = {}  # an article names its speakers again and again

    def name_terms(phrase: str) -> frozenset[str]:
        terms = names.get(phrase)
        if terms is None:
            terms = names[phrase] = frozenset(tok(speaker_core(phrase)))
        return terms

    speaker_terms = tuple(
        tuple(name_terms(a.speaker) | name_terms(a.resolved_from or "") for a in found)
        for found in attributions
    )
    reports = tuple(r for r, _ in draft.speech)
    content = tuple(c for _, c in draft.speech)
    return PreparedArticle(
        digest_of(raw), article, sentences, attributions, tuple(docs), tuple(own_terms),
        speaker_terms, draft.quoted, reports, content,
    )  # fmt: skip


def _speech_once(tok: Tokenizer, terms: list[str]) -> list[str]:
    """Keep one speech term per sentence: "said ... in a statement" is not twice the speech."""
    if terms.count(tok.speech_term) < 2:  # most sentences: nothing to drop
        return terms
    seen = False
    out = []
    speech = tok.speech_term
    for term in terms:
        if term == speech:
            if seen:
                continue
            seen = True
        out.append(term)
    return out


def candidate_spans(paragraph: str, splitter: SentenceSplitter) -> list[tuple[int, int]]:
    """The sentence spans of a content paragraph that no furniture pattern rules out.

    What the fitted sentence model (``sentence_furniture``) then weighs; the benchmark
    that labels its training set reads the same spans.
    """
    return [
        (start, end)
        for start, end in splitter.spans(paragraph)
        if not (len((piece := paragraph[start:end]).split()) < 40 and is_furniture(piece))
    ]


def _sentences_of(article: Article, splitter: SentenceSplitter) -> tuple[Sentence, ...]:
    out: list[Sentence] = []
    heading: str | None = None
    after = sum(block.kind is BlockKind.CONTENT for block in article.blocks)
    for paragraph, block in enumerate(article.blocks):
        body = article.text[block.start : block.end]
        if block.kind is BlockKind.HEADING:
            heading = body
            continue
        if block.kind is not BlockKind.CONTENT:
            continue
        after -= 1
        spans = candidate_spans(body, splitter)
        for start, end in spans:
            piece = body[start:end]
            if is_bare_link(piece) or is_furniture_sentence(
                piece, len(spans) == 1, article.source.title, after
            ):
                continue
            card = card_start(piece)  # a hover card run into the sentence is cut off
            end = end if card is None else start + card
            out.append(
                Sentence(
                    article=0,
                    start=block.start + start,
                    end=block.start + end,
                    paragraph=paragraph,
                    position=len(out),
                    heading=heading,
                )
            )
    return tuple(out)
