import pytest

from bot.core.attribution import ArticleSpeakers, find_mentions, quoted_share


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
