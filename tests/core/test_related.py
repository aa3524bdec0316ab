"""WordNet relatives of a question's words: found, and weighed below the words themselves."""

from bot.core.answer.engine import Engine
from bot.core.answer.related import related_table, relatives
from bot.core.ingest.raw import RawArticle
from bot.core.models import Source
from tests.conftest import make_settings

DEALS = """Rail sale agreed

Acme and Beta Ltd are both based in Leeds and employ about 4,000 people.

Acme Corp reached an agreement with Beta Ltd on the sale of its rail division.

The sale is worth 40 million pounds and is expected to close in March.

Analysts said the price was higher than many had expected.

Shares in Beta rose by four per cent on the news.

The bus strike ended on Friday after negotiations brokered by the mayor.
"""


def engine(related_weight: float) -> Engine:
    options = make_settings(related_weight=related_weight).core_options().engine
    return Engine.from_articles([RawArticle(Source("deals.txt", "Rail sale"), DEALS)], options)


def test_the_table_joins_what_stems_do_not():
    assert "agreement" in related_table()["agre"]  # agree ~ agreement
    assert "agre" in related_table()["agreement"]  # both ways


def test_relatives_are_only_those_some_article_has_and_not_the_question_words():
    found = relatives({"agre", "agreement"}, lambda term: True)
    assert ("agreement", "agre") not in found  # already a question word
    assert relatives({"agre"}, lambda term: False) == ()


def test_a_derived_word_covers_the_question_better_than_no_match():
    with_relatives = engine(0.5).ask("What did Acme agree with Beta?").answers[0]
    without = engine(0.0).ask("What did Acme agree with Beta?").answers[0]
    assert "reached an agreement" in with_relatives.quote
    assert with_relatives.coverage > without.coverage


def test_a_relative_counts_less_than_the_word_itself():
    exact = engine(0.5).ask("Acme agreement with Beta").answers[0]
    related = engine(0.5).ask("Acme agree with Beta").answers[0]
    assert "reached an agreement" in exact.quote and "reached an agreement" in related.quote
    assert related.coverage < exact.coverage


# Two sentences share the question's own words; only the later one answers it, in other
# words: a first-sense hypernym ("killed" for "murdered"), a synonym of a word's third
# sense ("aired" for "broadcast").
COUNCIL = """Mayor's killing

The mayor spoke on Monday.

The town's final budget vote was held in the council chamber on Tuesday.

A network reporter said the mayor's spouse had not been seen since Wednesday.

The mayor was murdered by his driver on Thursday, police said.

The final vote was broadcast by a local television network on Friday.
"""


def council_engine(related_weight: float) -> Engine:
    # The order of the answers is tested, not whether a one-article corpus is worth answering
    # (the fitted decline model's question, fitted on SQuAD).
    settings = make_settings(related_weight=related_weight, fitted_decline=False)
    options = settings.core_options().engine
    return Engine.from_articles([RawArticle(Source("council.txt", "Council"), COUNCIL)], options)


def test_synonyms_of_any_sense_and_first_sense_hypernyms_are_in_the_table():
    table = related_table()
    assert "kill" in table["murder"] and "murder" in table["kill"]  # murder.v.01 is a kill
    assert "broadcast" in table["air"]  # air.v.03: a sense other than the first
    assert "spous" in table["wife"]  # wife.n.01 is a spouse
    assert "canin" in table["dog"]


def test_a_question_in_other_words_finds_the_sentence_that_answers_it():
    with_relatives, without = council_engine(0.5), council_engine(0.0)
    for question, answer in (
        ("Who killed the mayor?", "murdered by his driver"),
        ("Which network aired the final vote?", "broadcast by a local television"),
    ):
        assert answer in with_relatives.ask(question).answers[0].quote, question
        # Without relatives it is not the first answer (or none): the test's premise.
        first = without.ask(question, top_k=1).answers
        assert not first or answer not in first[0].quote, question
