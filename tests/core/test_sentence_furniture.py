"""Sentences shaped like page furniture are not quotable; article sentences are."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.answer.engine import Engine
from bot.core.ingest import sentence_furniture as sf
from bot.core.ingest.raw import RawArticle
from bot.core.ingest.sentence_furniture import card_start, is_bare_link, is_furniture_sentence
from bot.core.models import Source
from tests.conftest import make_settings


@pytest.mark.parametrize(
    "line",
    [
        "© 2019 Example Media Group. All rights reserved.",
        "Related: Possible Water Plumes on Europa: The Discovery in Images",
    ],
)
def test_furniture_shaped_lines_closing_an_article_are_furniture(line):
    assert is_furniture_sentence(line, True, "Europa mission approved", after=0)


@pytest.mark.parametrize(
    "line", ["https://www.example.com/articles/stock-earnings-51574168486", "jo.doe@example.com"]
)
def test_a_bare_address_is_furniture_and_one_in_a_sentence_is_not(line):
    assert is_bare_link(line)
    assert not is_bare_link(f"Readers can write to {line} with their questions.")


def test_a_hover_card_run_into_a_sentence_is_cut_off():
    text = "He threatened to kill Rep. Ilhan OmarIlhan OmarHillicon Valley: Progressives oppose"
    assert text[: card_start(text)] == "He threatened to kill Rep. Ilhan Omar"
    assert card_start("Follow him at @RobertMaguire_ or on the iPhone app.") is None


@pytest.mark.parametrize(
    "sentence",
    [
        "The strike by bus drivers ended on Friday after negotiations brokered by the mayor.",
        "“We cannot risk another collision in this weather,” harbour master Jane Doyle said.",
        "Rovers beat United 3-1 in the cup final on Saturday, with two goals from Ana Silva.",
        "In 2019, revenue rose to $4.2 billion, up 12% from a year earlier.",
    ],
)
def test_article_sentences_are_kept(sentence):
    for after in (0, 5):
        assert not is_furniture_sentence(sentence, True, "Harbour to reopen", after)


def test_a_closing_related_link_and_a_hover_card_are_never_quoted():
    text = (
        "Harbour to reopen\n\n"
        "The harbour will reopen on Friday, harbour master Jane DoyleJane DoyleStorm news: "
        "Ferries cancelled | Roads closed.\n\n"
        "Fishing crews said they had lost a week of catches to the storm.\n\n"
        "Related: Harbour storm damage in pictures\n"
    )
    options = make_settings().core_options().engine
    engine = Engine.from_articles([RawArticle(Source("a.txt", "Harbour"), text)], options)
    quotes = " ".join(a.quote for a in engine.ask("harbour storm Jane Doyle", top_k=5).answers)
    assert "harbour master Jane Doyle" in quotes
    assert "Ferries cancelled" not in quotes and "in pictures" not in quotes


_TRICKY = st.sampled_from(
    [
        "May", "mayor", "5pm", "pm", "O'Mara", "pro-market", "Dec.", "Thursday", "GMT",
        "est", "EDT", "am", "12:30", "2019", "x1", "_a", "a_", "’s", "-", "İ", "ı", "ſ", "K",
        "©", "(C)", "(c)", "copyright", "COPYRIGHT", "All Rights Reserved", "reſerved", "rİghts",
        "the", "Jan", "January's", "a", "Ünal", "١٢", "², "
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_TRICKY, st.sampled_from([" ", "", "-", ", ", "\n", "'"])), max_size=12))
def test_the_shortcuts_of_the_features_give_what_the_full_scans_give(parts):
    sentence = "".join(word + gap for word, gap in parts)
    found = sf._WORD.findall(sentence)
    assert sf._date_only(sentence, found) == (
        len(sf._WORD.findall(sf._MONTH_DAY.sub(" ", sentence))) < 2
    )
    if sf._COPYRIGHT.search(sentence):
        assert sf._may_hold(sentence, sentence.lower(), sf._COPYRIGHT_MARKS)
