from bot.core.clean import classify, ends_sentence, is_furniture, paragraphs
from bot.core.models import BlockKind


def kinds(text: str) -> dict[str, BlockKind]:
    return {text[b.start : b.end]: b.kind for b in classify(text)}


def test_paragraphs_split_on_blank_lines_and_single_line_breaks():
    text = "First paragraph ends here.\nSecond paragraph.\n\n\nThird one."
    assert [text[s:e] for s, e in paragraphs(text)] == [
        "First paragraph ends here.",
        "Second paragraph.",
        "Third one.",
    ]


def test_hard_wrapped_lines_stay_one_paragraph():
    text = "The minister said the plan would\ncost more than expected.\n\nNext."
    assert [text[s:e] for s, e in paragraphs(text)] == [
        "The minister said the plan would\ncost more than expected.",
        "Next.",
    ]


def test_offsets_slice_the_original_text_without_surrounding_space():
    text = "\u00a0 Lead sentence here. \n\n  Second.  "
    assert [text[s:e] for s, e in paragraphs(text)] == ["Lead sentence here.", "Second."]


def test_headings_and_colon_lines_are_never_content():
    found = kinds(
        "Talks in Beijing\n\nChina’s Official Statement:\n\nThe ministry said it was calm."
    )
    assert found["Talks in Beijing"] is BlockKind.HEADING
    assert found["China’s Official Statement:"] is BlockKind.HEADING
    assert found["The ministry said it was calm."] is BlockKind.CONTENT


def test_related_links_list_is_boilerplate():
    text = (
        "The court ruled on Tuesday.\n\nSimilar Posts:\n- Court delays ruling again\n"
        "- Judge steps down amid row\n- Appeal lodged by defence"
    )
    found = kinds(text)
    assert found["Similar Posts:"] is BlockKind.BOILERPLATE
    assert all(found[f"- {t}"] is BlockKind.BOILERPLATE for t in ["Court delays ruling again"])
    assert found["The court ruled on Tuesday."] is BlockKind.CONTENT


def test_donation_box_and_reader_promotion_are_boilerplate():
    text = (
        "The strike ended after talks.\n\nSUPPORT INDEPENDENT NEWS\n\n"
        "We rely on readers like you, so you can help keep our reporting free.\n\n"
        "Donate today\n\nYou've raised: £1,200\n\n3 days remaining"
    )
    found = kinds(text)
    assert found["The strike ended after talks."] is BlockKind.CONTENT
    assert found["We rely on readers like you, so you can help keep our reporting free."] is (
        BlockKind.BOILERPLATE
    )
    assert found["Donate today"] is BlockKind.BOILERPLATE


def test_quoted_first_person_speech_is_still_content():
    text = "“We will not back down,” the union leader said.\n\nDonate today"
    assert kinds(text)["“We will not back down,” the union leader said."] is BlockKind.CONTENT


def test_bylines_datelines_cookie_and_share_prompts_are_boilerplate():
    text = (
        "By Maria Lopez\n\nPublished 12 March 2024\n\nWe use cookies to improve your experience.\n\n"
        "Share this article\n\nThe bridge reopened after repairs lasting two years."
    )
    found = kinds(text)
    for line in ["By Maria Lopez", "Published 12 March 2024", "Share this article"]:
        assert found[line] is not BlockKind.CONTENT, line
    assert found["We use cookies to improve your experience."] is BlockKind.BOILERPLATE
    assert found["The bridge reopened after repairs lasting two years."] is BlockKind.CONTENT


def test_skip_link_is_furniture_but_a_news_sentence_is_not():
    assert is_furniture("Skip to main content")
    assert not is_furniture(
        "The Chinese Foreign Ministry said the uprising was an internal affair."
    )


def test_sentence_end_detection_accepts_closing_quotes():
    assert ends_sentence("It was “Russia’s internal affair.”")
    assert ends_sentence("He said: “No.”")
    assert not ends_sentence("High-Level Talks Between Beijing and Moscow")
