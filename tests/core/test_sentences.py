import pytest

from bot.core.ingest.sentences import SentenceSplitter


@pytest.fixture(scope="module")
def splitter() -> SentenceSplitter:
    return SentenceSplitter.untrained()


def split(splitter: SentenceSplitter, text: str) -> list[str]:
    return [text[s:e] for s, e in splitter.spans(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Mr. Smith met Gov. Jones in Washington. They spoke for an hour.",
            ["Mr. Smith met Gov. Jones in Washington.", "They spoke for an hour."],
        ),
        (
            "The U.S. and the U.K. signed on Jan. 5. Talks resume soon.",
            ["The U.S. and the U.K. signed on Jan. 5.", "Talks resume soon."],
        ),
        (
            "It was “Russia’s internal affair.” The statement said more.",
            ["It was “Russia’s internal affair.”", "The statement said more."],
        ),
        (
            "“It is necessary to … communicate in a timely manner,” Mr Ma said. Talks ended.",
            ["“It is necessary to … communicate in a timely manner,” Mr Ma said.", "Talks ended."],
        ),
        (
            "He said “we must wait... Then we act.” Nobody agreed.",
            ["He said “we must wait... Then we act.”", "Nobody agreed."],
        ),
        ("Dr. Lee said “Go!” She left.", ["Dr. Lee said “Go!”", "She left."]),
    ],
)
def test_sentences_keep_abbreviations_quotes_and_ellipses_whole(splitter, text, expected):
    assert split(splitter, text) == expected


def test_spans_slice_the_paragraph_exactly(splitter):
    text = "First one.  Second one!\tThird one?"
    spans = splitter.spans(text)
    assert [text[s:e] for s, e in spans] == ["First one.", "Second one!", "Third one?"]


def test_training_on_a_corpus_needs_no_download_and_keeps_curated_abbreviations():
    trained = SentenceSplitter.train(["Sen. Warren spoke. The vote passed. " * 20])
    assert "sen" in trained.params.abbrev_types
    assert split(trained, "Sen. Warren spoke. The vote passed.") == [
        "Sen. Warren spoke.",
        "The vote passed.",
    ]
