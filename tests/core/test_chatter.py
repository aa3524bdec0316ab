"""Chat around a question (mentions, links, greetings, quotes, emoji) is not searched for."""

import pytest

from bot.core.answer.chatter import without_chatter
from bot.core.answer.question import parse_question
from bot.core.errors import QuestionError

BARE = "what did China say?"


@pytest.mark.parametrize(
    "question",
    [
        '"what did China say?"',
        '"what did China say"?',
        "“what did China say?”",
        "'what did China say?'",
        "«what did China say?»",
        "**what did China say?**",
        "`what did China say?`",
        "what did China say? 🤔",
        "what did China say? 👨\u200d👩\u200d👧🇨🇳",
        "👀 “what did China say?” 🙏",
        "Hey, what did China say?",
        "hi there! what did China say?",
        "Good morning - what did China say?",
        "hey bot, please what did China say?",
        "OK, what did China say?",
        "what did China say, please?",
        "what did China say? thanks!",
        "what did China say, bot? thank you very much",
        "@everyone what did China say?",
        "@here, what did China say?",
        "<@123> <@!45> <@&9> <#77> what did China say?",
        "@newsdesk what did China say?",
        "what did China say @everyone?",
        "what did China <:thinking:1234> say?",
        "what did China say https://example.com/a?b=1",
        "<https://example.com/x> what did China say?",
        "Hello there @everyone! “what did China say?” Thanks a lot 🙏",
    ],
)
def test_chatter_around_a_question_leaves_the_bare_question(seed_engine, question):
    assert without_chatter(question).rstrip("?") == BARE.rstrip("?")
    bare = seed_engine.ask(BARE)
    reply = seed_engine.ask(question)
    assert reply.question == question  # the reply repeats what was asked...
    assert reply.terms == bare.terms == ("china", "say")  # ...and searches the question
    assert [a.quote for a in reply.answers] == [a.quote for a in bare.answers]


def test_a_quoted_question_keeps_its_speaker_and_topic():
    parsed = parse_question(without_chatter("“What is Putin's position on Wagner?” 🤔"))
    assert (parsed.speaker, parsed.topic) == ("Putin", "Wagner")


@pytest.mark.parametrize(
    "question",
    [
        BARE,
        "What is another name for State Route 168?",
        '"Bairn" and "hyem" have origins from what culture?',  # the first quote closes early
        'Who is the designer of the "50?"',
        "In which year did Genghis Khan's grandson invade Kievan Rus'?",
        "who made the bot?",  # a closing word after a word is the question's own
        "who gave thanks",
        "Hi-tech firms in Shenzhen",
        "Hello Kitty's maker",
        "Greetingsville mayor",
        "what did the council write to me@example.com?",
        "Who said, “Here I stand”?",
        "what is China's view ?",
        "मोदी ने क्या कहा कि वे आएँ",  # ends in a combining mark (candrabindu) of its word
    ],
)
def test_a_question_without_chatter_is_untouched(question):
    assert without_chatter(question) == question


@pytest.mark.parametrize("question", ["hey", "Hello?", "thanks!", "@everyone 👋", "hey <@42>"])
def test_chatter_alone_asks_for_a_question(seed_engine, question):
    with pytest.raises(QuestionError, match="Ask a question, for example"):
        seed_engine.ask(question)
