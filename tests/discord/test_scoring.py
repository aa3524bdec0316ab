"""Scoring off the event loop: the same replies and errors as the engine, thread or process."""

from __future__ import annotations

import pytest

from bot.core.engine import Engine
from bot.core.errors import CorpusError, QuestionError
from bot.discord.scoring import ProcessScorer, ThreadScorer
from tests.discord.conftest import make_settings
from tests.discord.worker_process import write_corpus

QUESTION = "what did China say?"


async def test_thread_scorer_answers_exactly_like_the_engine(engine):
    scorer = ThreadScorer(engine)
    try:
        assert await scorer.ask(QUESTION, 2, 1) == engine.ask(QUESTION, 2, 1)
        answer = engine.ask(QUESTION).answers[0]
        assert await scorer.context(answer) == engine.context(answer)
        assert scorer.sources == engine.sources()
        with pytest.raises(QuestionError):
            await scorer.ask("   ", 3)
    finally:
        await scorer.close()


async def test_process_scorer_loads_the_corpus_once_in_a_child_and_answers_the_same(tmp_path):
    settings = make_settings(corpus_dir=write_corpus(tmp_path / "articles"))
    local = Engine.from_folder(settings.corpus_dir, settings)
    scorer = await ProcessScorer.start(settings)
    try:
        assert scorer.sources == local.sources()
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
