"""Paragraph records: a question's ranking over fetched paragraphs is the embedded one.

With every paragraph of a corpus fetched, the ranking over the records must answer each
seed question exactly as the embedded engine does (quotes, offsets in the real bodies,
sentence numbers within articles, sources, scores): every signal the ranking reads of
an article (its size, the article-local counts) comes from the records. With only some
fetched, the quotes must still be slices of the real bodies.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.core.answer.engine import Engine
from bot.core.ingest.sentences import SentenceSplitter
from bot.core.search import documents as docs
from bot.core.search import paragraphs, tables, totals
from bot.core.search.local import QuestionStats, in_articles, paragraph_engine

ROOT = Path(__file__).resolve().parents[2]


def _records(engine: Engine) -> list[tuple[str, dict]]:
    """Every sentence document's (article key, record), as the cluster returns them."""
    table = engine.table
    out = []
    for i in range(table.articles):
        made = docs.article_docs(table, i, None)
        for doc in made.sentences:
            out.append((made.key, json.loads(json.dumps(doc["data"]["p"]))))
    return out


def _all_terms(stats: QuestionStats) -> QuestionStats:
    class Zero(dict):
        def get(self, key, default=None):
            return super().get(key, 0)

        def __missing__(self, key):
            return 0

    return QuestionStats(stats.index, stats.stats, Zero(stats.sentences), Zero(stats.paragraphs))


def _answer(engine: Engine, found: list[tuple[str, dict]], question: str) -> dict:
    whole, sdf, pdf = totals.table_stats(engine.table)
    vocabulary = engine.table.vocabulary
    stats = _all_terms(
        QuestionStats(
            "idx",
            whole,
            {t: int(sdf[i]) for i, t in enumerate(vocabulary)},
            {t: int(pdf[i]) for i, t in enumerate(vocabulary)},
        )
    )
    joined = paragraphs.join(
        paragraphs.distinct_paragraphs(paragraphs.decode(k, r) for k, r in found),
        tables.TermNumbers(),
    )
    local = paragraph_engine(
        joined, stats, engine.options, engine.tokenizer, SentenceSplitter.untrained()
    )
    return in_articles(local.ask(question, 3), joined).to_json()


def _questions() -> list[str]:
    spec = yaml.safe_load((ROOT / "bench" / "seed_questions.yaml").read_text("utf-8"))
    return [q["question"] for q in spec["questions"]]


def _embedded(engine: Engine, question: str) -> dict:
    reply = engine.ask(question, 3)
    offsets = engine.table.columns["article_sentences"]
    out = reply.to_json()
    for answer, made in zip(out["answers"], reply.answers, strict=True):
        answer["sentence_ids"] = [s - int(offsets[made.article]) for s in made.sentences]
    return out


def test_every_paragraph_fetched_answers_as_the_embedded_engine(seed_engine: Engine) -> None:
    found = _records(seed_engine)
    for question in _questions():
        assert _answer(seed_engine, found, question) == _embedded(seed_engine, question), question


def test_some_paragraphs_fetched_still_quote_the_real_bodies(seed_engine: Engine) -> None:
    found = _records(seed_engine)[::3]
    bodies = {s.id: seed_engine.table.text(i) for i, s in enumerate(seed_engine.table.sources)}
    answered = 0
    for question in _questions():
        for answer in _answer(seed_engine, found, question)["answers"]:
            answered += 1
            body = bodies[answer["source"]["id"]]
            assert body[answer["start"] : answer["end"]] == answer["quote"]
    assert answered > 10


def test_a_record_round_trips_its_paragraph(seed_engine: Engine) -> None:
    table = seed_engine.table
    c = table.columns
    made = docs.article_docs(table, 0, None)
    s1 = int(c["article_sentences"][1])
    for n, doc in enumerate(made.sentences):
        item = paragraphs.decode(made.key, json.loads(json.dumps(doc["data"]["p"])))
        assert item.article_sentences == s1
        assert item.first <= n < item.first + item.sentences
        rows = range(item.first, item.first + item.sentences)
        assert np.array_equal(item.arrays["sent_position"], c["sent_position"][rows])
        assert np.array_equal(item.arrays["sent_quoted"], c["sent_quoted"][rows])
        assert item.text == table.text(0)[item.offset : item.offset + len(item.text)]
        for i, s in enumerate(rows):
            start = item.offset + int(item.arrays["sent_start"][i])
            assert start == int(c["sent_start"][s])
    with pytest.raises(ValueError):
        paragraphs.decode("k", {"v": 0})
    record = json.loads(json.dumps(made.sentences[0]["data"]["p"]))
    with pytest.raises(ValueError):  # numbers cut short: not whole 24-byte blocks
        paragraphs.decode(made.key, {**record, "b": record["b"][:-4]})
    with pytest.raises(ValueError):  # a vocabulary that does not fit the numbers
        item = paragraphs.decode(made.key, {**record, "w": record["w"][:-1]})
        paragraphs.join([item], tables.TermNumbers())


def test_a_term_outside_the_fetched_paragraphs_counts_as_absent(seed_engine: Engine) -> None:
    """The one signal a partial fetch reads less of: article counts of terms not fetched."""
    table = seed_engine.table
    made = docs.article_docs(table, 0, None)
    first = paragraphs.decode(made.key, json.loads(json.dumps(made.sentences[0]["data"]["p"])))
    joined = paragraphs.join([first], tables.TermNumbers())
    whole, _, _ = totals.table_stats(table)
    stats = QuestionStats("idx", whole, {}, {})
    local = paragraph_engine(
        joined, stats, seed_engine.options, seed_engine.tokenizer, SentenceSplitter.untrained()
    )
    s1 = int(table.columns["article_sentences"][1])
    inside = set(first.words)
    outside = sorted(
        {table.vocabulary[t] for t in table.columns["terms"][: table.columns["sentence_terms"][s1]]}
        - inside
    )
    assert outside
    docs_ = np.array([0])
    sizes, counts = local.corpus.article_frequencies([*sorted(inside)[:3], outside[0]], docs_)
    embedded_sizes, embedded = seed_engine.corpus.article_frequencies(
        [*sorted(inside)[:3], outside[0]], docs_
    )
    assert sizes.tolist() == embedded_sizes.tolist() == [s1]
    assert counts[:3].tolist() == embedded[:3].tolist()
    assert counts[3, 0] == 0 < embedded[3, 0]
