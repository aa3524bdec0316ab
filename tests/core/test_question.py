import pytest

from bot.core.answer.question import parse_question


@pytest.mark.parametrize(
    "question, speaker, topic",
    [
        ("What did China say?", "China", None),
        (
            "what did the Chinese Foreign Ministry say about the uprising?",
            "Chinese Foreign Ministry",
            "the uprising",
        ),
        ("What is Putin's position on Wagner?", "Putin", "Wagner"),
        ("How did Beijing react to the mutiny?", "Beijing", "the mutiny"),
        ("Did Xinhua comment on the coup?", "Xinhua", "the coup"),
        ("Russia’s reaction to the rebellion", "Russia", "the rebellion"),
        ("what has Mr Ma said", "Mr Ma", None),
        ("What did the Post say?", "Post", None),  # "post" is a speech verb too
        ("What did the Post say about the debate?", "Post", "the debate"),
    ],
)
def test_speech_questions_name_speaker_and_topic(question, speaker, topic):
    parsed = parse_question(question)
    assert parsed.asks_for_speech
    assert (parsed.speaker, parsed.topic) == (speaker, topic)


@pytest.mark.parametrize(
    "question",
    [
        "Where is Rostov-on-Don?",
        "Who is Qin Gang?",
        "When did the mutiny start?",
        "wagner",
        "What was the naval base called?",  # passive: the base says nothing
        "What is another name for State Route 168?",
    ],
)
def test_other_questions_are_plain(question):
    assert not parse_question(question).asks_for_speech
