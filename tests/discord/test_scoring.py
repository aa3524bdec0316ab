"""Scoring off the event loop: the same replies and errors as the engine, thread or process."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.core.answer.engine import Engine
from bot.core.corpus.service import Articles
from bot.core.errors import CorpusError, QuestionError
from bot.discord.scoring import ProcessScorer, ThreadScorer
from tests.discord.conftest import make_settings
from tests.discord.worker_process import write_corpus

QUESTION = "what did China say?"


async def test_thread_scorer_answers_exactly_like_the_engine(engine):
    scorer = ThreadScorer(Articles.fixed(engine))
    try:
        assert await scorer.ask(QUESTION, 2, 1) == engine.ask(QUESTION, 2, 1)
        answer = engine.ask(QUESTION).answers[0]
        assert await scorer.context(answer) == engine.context(answer)
        listing = await scorer.listing()
        assert [item.info for item in listing.articles] == engine.sources()  # china.md is dated
        assert not (await scorer.reload()).change
        with pytest.raises(QuestionError):
            await scorer.ask("   ", 3)
    finally:
        await scorer.close()


async def test_process_scorer_loads_the_corpus_once_in_a_child_and_answers_the_same(tmp_path):
    settings = make_settings(corpus_dir=write_corpus(tmp_path / "articles"))
    local = Engine.from_folder(settings.corpus_dir, settings.core_options().engine)
    scorer = await ProcessScorer.start(settings)
    try:
        listing = await scorer.listing()
        by_id = {item.info.source.id: item.info for item in listing.articles}
        assert len(by_id) == len(listing.articles) == len(local.sources())
        assert [by_id[info.source.id] for info in local.sources()] == local.sources()
        assert all(item.modified for item in listing.articles)
        reply = await scorer.ask(QUESTION, 3)
        assert reply == local.ask(QUESTION, 3)
        assert await scorer.context(reply.answers[0]) == local.context(reply.answers[0])
        with pytest.raises(QuestionError, match="characters long"):
            await scorer.ask("why " * 200, 3)
    finally:
        await scorer.close()


async def test_process_scorer_reports_a_missing_corpus_as_a_user_error(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        await ProcessScorer.start(make_settings(corpus_dir=tmp_path / "missing"))


async def test_thread_scorer_watches_the_folder_for_edits_and_deletions(tmp_path):
    folder = write_corpus(tmp_path / "articles")
    scorer = await ThreadScorer.load(make_settings(corpus_dir=folder, watch_interval_seconds=0.02))
    try:
        china = folder / "china.md"
        china.write_text(
            china.read_text(encoding="utf-8").replace("China supports", "China firmly backs"),
            encoding="utf-8",
        )
        (folder / "harbour.md").unlink()

        async with asyncio.timeout(10):
            while len((await scorer.listing()).articles) != 2:
                await asyncio.sleep(0.02)
            while "firmly" not in (await scorer.ask(QUESTION, 1)).answers[0].quote:
                await asyncio.sleep(0.02)
        assert not (await scorer.ask("what did the harbour master say?", 3)).answers
    finally:
        await scorer.close()
    assert not [t for t in threading.enumerate() if t.name == "corpus-watcher"]
