"""The topic of "what did X say about Y?" orders X's quotes: the one naming Y comes first."""

from bot.core.answer.engine import Engine
from bot.core.ingest.raw import RawArticle
from bot.core.models import Source
from tests.conftest import make_settings

# Ann Smith is quoted twice. The first quote is direct, early and repeats two of the
# topic's words (BM25 and the quote and position weights favour it); only the second,
# a long reported one, is about harbour parking charges.
AGENDA = "\n\n".join(
    f"Item {item} on the agenda was the {item} report, which the members read."
    for item in "roads schools libraries housing buses waste parks lighting pools markets".split()
)
COUNCIL = f"""Council sets out its plans

"The harbour charges are false, and Ann Smith will see the harbour charges dropped," Mayor Ann Smith said on Monday.

{AGENDA}

Smith said that from April the harbour parking charges, which have not changed for a decade and which traders opposed at each of the last three meetings, would rise.
"""
QUESTION = "What did Ann Smith say about harbour parking charges?"


def first_quote(**settings: float) -> str:
    options = make_settings(**settings).core_options().engine
    engine = Engine.from_articles([RawArticle(Source("council.txt", "Council"), COUNCIL)], options)
    return engine.ask(QUESTION).answers[0].quote


def test_the_quote_naming_the_topic_comes_first():
    assert "parking charges" in first_quote()  # the default topic_weight


def test_without_the_topic_weight_the_other_quote_comes_first():
    assert first_quote(topic_weight=0.0).startswith('"The harbour charges are false')


def test_a_quote_without_a_topic_is_ordered_as_before():
    options = make_settings().core_options().engine
    articles = [RawArticle(Source("council.txt", "Council"), COUNCIL)]
    plain = Engine.from_articles(articles, options).ask("What did Ann Smith say?")
    off = make_settings(topic_weight=0.0).core_options().engine
    assert [a.quote for a in plain.answers] == [
        a.quote for a in Engine.from_articles(articles, off).ask("What did Ann Smith say?").answers
    ]
