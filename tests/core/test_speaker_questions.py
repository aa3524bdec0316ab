"""Speaker questions in house styles and words the rules were not written for (#18).

The articles are written for these tests: a BBC-style appositive quote, a "she said"
two paragraphs after the name, speakers that only act ("dismissed", "called"), and
roles instead of names.
"""

import pytest

from bot.core.answer.acting import _acts
from bot.core.answer.engine import Engine
from bot.core.answer.identity import describes
from bot.core.ingest.attribution import find_mentions
from bot.core.ingest.files import RawArticle
from bot.core.models import Source
from tests.conftest import make_settings

HARBOUR = """Harbour plan faces fresh criticism

The city council's plan to rebuild the old harbour has drawn fresh criticism from residents and shop owners.

Dr Jane Q. Doe, Acme senior vice president, Research and Policy, said: "The figures in this plan do not add up, and the people of this town deserve better."

The council published the plan in March after two years of consultation with local groups.

Residents said the harbour had been neglected for decades.

"We will keep asking questions until we get straight answers," she said.

The Interior Ministry dismissed the survey, labelling it a fabrication.

A harbour spokesperson said the quay would stay open during the works.
"""

STRIKE = """Mayor brokers end to dock strike

A strike by dock workers ended on Tuesday after talks led by the city's mayor.

The union's leader, Maria Lopez, called the settlement "a victory for common sense".

Port managers said shipments would resume by the weekend.

Local shops reported a rise in trade as the port reopened.

"We lost a whole week of sailings," said Fenwick Jones, a ferry captain.

Harbour master Paul Fenwick said the quay would need new piles before winter.

The weather was mild for the time of year, and the ferries ran on time.
"""


@pytest.fixture(scope="module")
def engine():
    articles = [
        RawArticle(Source("harbour.txt", "Harbour"), HARBOUR),
        RawArticle(Source("strike.txt", "Strike"), STRIKE),
    ]
    return Engine.from_articles(articles, make_settings().core_options().engine)


def test_a_name_with_a_middle_initial_and_a_long_appositive_is_the_speaker():
    sentence = (
        "Dr Jane Q. Doe, Acme senior vice president, Research and Policy, said: "
        '"The figures do not add up."'
    )
    assert [m.text for m in find_mentions(sentence)] == ["Dr Jane Q. Doe"]


@pytest.mark.parametrize("question", ["What did Doe say?", "What did Jane Doe say?"])
def test_surname_question_finds_the_appositive_quote_and_the_later_she_said(engine, question):
    reply = engine.ask(question, top_k=3)
    quotes = " ".join(a.quote for a in reply.answers)
    assert "do not add up" in quotes
    assert "straight answers" in quotes
    assert "neglected for decades" not in quotes  # "Residents said" is not Doe


def test_a_capitalised_common_noun_is_not_taken_for_the_she_of_a_later_quote(engine):
    reply = engine.ask("What did residents say?", top_k=3)
    assert reply.answers
    assert all("straight answers" not in a.quote for a in reply.answers)


def test_a_speaker_who_only_acts_is_answered(engine):
    reply = engine.ask("What did Lopez say?")
    assert reply.answers, reply.no_answer_reason
    assert "victory for common sense" in reply.answers[0].quote


@pytest.mark.parametrize(
    ("sentence", "acts"),
    [
        ("The Interior Ministry on Monday dismissed the survey.", True),
        ("Shipments resumed, according to Lopez.", True),
        ("Lopez was born in the town and went to school there.", False),
        ("Lopez is a mother of two. Critics warned of delays.", False),
    ],
)
def test_a_name_acts_when_a_learned_cue_follows_it_closely(sentence, acts):
    names = {"ministry", "lopez"}
    assert _acts(sentence, names) is acts


def test_how_did_the_ministry_respond_is_answered_from_what_it_did(engine):
    reply = engine.ask("How did the interior ministry respond to the survey?")
    assert reply.answers, reply.no_answer_reason
    assert "dismissed the survey" in reply.answers[0].quote


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What did the spokesperson say?", "quay would stay open"),
        ("What did the managers say?", "shipments would resume"),
    ],
)
def test_a_role_is_matched_by_the_head_noun_of_the_speakers(engine, question, expected):
    reply = engine.ask(question)
    assert reply.answers, reply.no_answer_reason
    assert expected in reply.answers[0].quote


def test_a_role_no_speaker_has_is_declined(engine):
    reply = engine.ask("What did the ambassador say?")
    assert not reply.answers
    assert "ambassador" in (reply.no_answer_reason or "")


def test_a_name_never_mentioned_is_still_declined(engine):
    reply = engine.ask("What did Angela Merkel say about the harbour?")
    assert not reply.answers


def test_a_one_word_name_is_not_matched_to_someone_with_that_first_name(engine):
    reply = engine.ask("What did Fenwick say?")
    assert reply.answers
    assert "new piles" in reply.answers[0].quote


GRAIN = """Talks on grain corridor resume

Rudenko said the talks would continue next week in Istanbul.

Rudenko met Turkish officials on Monday and Tuesday.

Negotiators from both sides spoke to reporters after the meeting.

The talks were led on the Russian side by Deputy Foreign Minister Andrei Rudenko, who has handled the file since 2021.

Rudenko later described the meeting as a "march for justice" for farmers, a phrase critics mocked.

Shipping firms welcomed the news, and grain prices fell slightly.
"""


@pytest.fixture(scope="module")
def grain():
    articles = [RawArticle(Source("grain.txt", "Grain"), GRAIN)]
    return Engine.from_articles(articles, make_settings().core_options().engine)


@pytest.mark.parametrize("question", ["Who is Rudenko?", "Who was Andrei Rudenko?"])
def test_who_is_answers_with_the_sentence_that_says_what_they_are(grain, question):
    assert "Deputy Foreign Minister" in grain.ask(question).answers[0].quote


def test_what_did_x_call_y_finds_the_quoted_naming_phrase(grain):
    assert "march for justice" in grain.ask("What did Rudenko call the meeting?").answers[0].quote


@pytest.mark.parametrize(
    ("sentence", "described"),
    [
        ("The union's leader, Maria Lopez, called the deal fair.", True),
        ("Maria Lopez, who runs the union, called the deal fair.", True),
        ("Lopez is a former dock worker.", True),
        ("Dr Jane Q. Lopez, Acme senior vice president, said no.", True),
        ("Lopez said the deal was fair.", False),
        ("Talks with Lopez ended early.", False),
    ],
)
def test_a_sentence_describes_a_person_by_title_apposition_or_copula(sentence, described):
    assert describes(sentence, frozenset({"maria", "lopez"})) is described


CAMPAIGN = """Campaign stays quiet

"We will not comment on the polls," a spokesman for the Lopez campaign said on Monday.

The Department of Education said it would review the loans.

The weather was mild for the time of year.
"""


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What did the spokesman say?", "will not comment on the polls"),
        ("What did the department say?", "would review the loans"),
    ],
)
def test_a_role_is_the_head_before_the_preposition_of_a_speaker_phrase(question, expected):
    # "a spokesman for the Lopez campaign" is a spokesman; the Department of Education
    # is a department, not an education.
    articles = [RawArticle(Source("campaign.txt", "Campaign"), CAMPAIGN)]
    reply = Engine.from_articles(articles, make_settings().core_options().engine).ask(question)
    assert reply.answers, reply.no_answer_reason
    assert expected in reply.answers[0].quote
