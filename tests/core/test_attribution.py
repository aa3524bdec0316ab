import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.ingest.attribution import (
    find_mentions,
    quoted_share,
    reported_speech,
)
from bot.core.ingest.speakers import _NAME_RUN, ArticleSpeakers
from bot.core.lexicon import ANAPHORIC_DETERMINERS, TITLES


@pytest.mark.parametrize(
    "sentence, speaker",
    [
        (
            "The Chinese Foreign Ministry said in a statement that it was calm.",
            "The Chinese Foreign Ministry",
        ),
        ("“We will stay,” the union leader said.", "the union leader"),
        ("“We will stay,” said Maria Lopez.", "Maria Lopez"),
        (
            "The spokesperson for the ministry, in addressing the crowd, declared, “No.”",
            "The spokesperson for the ministry",
        ),
        (
            "Prices rose, according to the Office for National Statistics.",
            "the Office for National Statistics",
        ),
        ("Evgeny Prigozhin, the chief of Wagner, alleged that camps were hit.", "Evgeny Prigozhin"),
        ("The official further emphasized the point.", "The official"),
    ],
)
def test_speaker_next_to_a_reporting_verb(sentence, speaker):
    assert speaker in [m.text for m in find_mentions(sentence)]


def test_verbs_inside_a_quotation_do_not_name_the_speaker():
    sentence = "“The Chinese side expressed support,” the Russian statement said."
    assert [m.text for m in find_mentions(sentence)] == ["the Russian statement"]


def test_reporting_words_used_as_nouns_are_not_attributions():
    assert find_mentions("The ministry dismissed Prigozhin’s claims as lies.")[0].cue == "dismissed"
    assert len(find_mentions("The ministry dismissed Prigozhin’s claims as lies.")) == 1


def test_references_resolve_to_the_nearest_fitting_named_speaker():
    sentences = [
        "The Chinese Foreign Ministry said in a statement that the uprising was internal.",
        "“China supports Russia,” the statement said.",
        "The ministry emphasized its view.",
        "Mayor Tom Reilly spoke to reporters.",
        "“We will meet,” he said.",
    ]
    speakers = ArticleSpeakers(sentences)
    found = [speakers.attribute(s) for s in sentences]
    assert found[1][0].speaker == "The Chinese Foreign Ministry"
    assert found[1][0].resolved_from == "the statement"
    assert found[2][0].speaker == "The Chinese Foreign Ministry"


def test_short_names_grow_to_the_articles_titled_form():
    sentences = [
        "Mr Rudenko held talks with Chinese Vice-Foreign Minister Ma Zhaoxu.",
        "“We must communicate,” Mr Ma said.",
    ]
    speakers = ArticleSpeakers(sentences)
    speakers.attribute(sentences[0])
    (found,) = speakers.attribute(sentences[1])
    assert "Chinese Vice-Foreign Minister Ma Zhaoxu" in found.speaker


def test_quoted_share_measures_the_speakers_own_words():
    assert quoted_share("“All of this is quoted,” he said.") > 0.6
    assert quoted_share("Nothing quoted here.") == 0


def _grown_by_testing_every_run(sentences: list[str], speaker: str) -> str:
    """``full_name`` as it was first written: every run of the article tested for each name."""
    runs = [run.group() for text in sentences for run in _NAME_RUN.finditer(text)]
    words = speaker.split()
    if words[0].lower() in ANAPHORIC_DETERMINERS:
        return speaker
    names = [w.rstrip("’'s") for w in words if w.lower().rstrip(".") not in TITLES]
    if not names or len(names) > 2 or not all(n[:1].isupper() for n in names):
        return speaker
    best = speaker
    for run in runs:
        titled = any(w.lower().rstrip(".") in TITLES for w in run.split())
        if (
            len(run) > len(best)
            and len(run.split()) <= 8
            and (titled or run.split()[-1] == names[-1])
            and all(re.search(rf"\b{re.escape(name)}\b", run) for name in names)
        ):
            best = run
    if best != speaker and speaker.lower() not in best.lower():
        return f"{speaker} ({best})"
    return best


_VOCABULARY = [
    "Mr", "Mrs.", "Dr", "President", "Foreign", "Minister", "the", "of", "said", "told",
    "Ma", "Zhaoxu", "Ma’s", "Jones", "Jone", "U.S.", "Vice-Foreign", "O'Brien", "Brien",
    "Ann", "Lee", "Lee-Ann", "Chinese", "Wagner", "Group", "reporters", "on", "Monday",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    sentences=st.lists(
        st.lists(st.sampled_from(_VOCABULARY), min_size=1, max_size=12).map(" ".join),
        min_size=1,
        max_size=8,
    ),
    speaker=st.lists(st.sampled_from(_VOCABULARY), min_size=1, max_size=3).map(" ".join),
)
def test_names_grow_as_when_every_run_of_the_article_was_tested(sentences, speaker):
    """Looking runs up by their words (linear in the article) picks what testing all did."""
    expected = _grown_by_testing_every_run(sentences, speaker)
    speakers = ArticleSpeakers(sentences)
    assert speakers.full_name(speaker) == expected
    assert speakers.full_name(speaker) == expected  # the remembered answer too


@pytest.mark.parametrize(
    ("sentence", "flags"),
    [
        ("“We will not yield,” the minister said.", (True, True)),
        ("The ministry said on Monday that talks would resume.", (True, True)),
        ("The spokesman said: prices will fall.", (True, True)),
        ("The ministry affirmed its position through a statement.", (True, False)),
        ("Prices rose by 3% in March.", (False, False)),
    ],
)
def test_reported_speech_says_whether_speech_is_reported_and_whether_its_words_are_given(
    sentence, flags
):
    assert reported_speech(sentence) == flags
