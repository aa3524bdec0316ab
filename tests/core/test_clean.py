import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.ingest import clean
from bot.core.ingest.clean import classify, ends_sentence, is_furniture, paragraphs
from bot.core.models import BlockKind
from tests.core.shortcut_texts import corpus_lines, tricky_text


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


def test_chinese_and_japanese_full_stops_end_sentences():
    assert ends_sentence("市议会周二投票决定关闭旧港口大桥。")
    assert ends_sentence("「橋は閉鎖される」と市長は述べた。」")
    assert ends_sentence("真的吗？")
    found = kinds("港口大桥\n\n市议会周二投票决定关闭旧港口大桥。")
    assert found["港口大桥"] is BlockKind.HEADING
    assert found["市议会周二投票决定关闭旧港口大桥。"] is BlockKind.CONTENT


def test_credit_and_contact_lines_are_furniture():
    for line in (
        "Reporting by Jane Doe; editing by John Smith",
        "Additional reporting by Ana Lopez in Madrid.",
        "Jane Doe can be reached at the newsroom desk.",
        "Follow Jane Doe on Twitter for more updates.",
        "Follow @janedoe",
        "Anna Berg contributed reporting from Oslo.",
        "Email Jane Doe at jane@example.org with tips.",
        "Manage your subscriptions",
    ):
        assert is_furniture(line), line


def test_a_sentence_mentioning_furniture_words_is_article_text():
    sentence = (
        "The council said the newsletter sent to residents in March had described "
        "the closure as temporary, which engineers later disputed."
    )
    assert not is_furniture(sentence)
    assert is_furniture("Sign up for our newsletter to get the morning briefing every day.")
    assert is_furniture("Read more.")


def test_a_colon_line_is_a_heading_only_when_short():
    found = kinds(
        "What happens next:\n\n"
        "The mayor told reporters on Monday that the plan had failed twice before:\n\n"
        "The ministry said it was calm."
    )
    assert found["What happens next:"] is BlockKind.HEADING
    assert found["The mayor told reporters on Monday that the plan had failed twice before:"] is (
        BlockKind.CONTENT
    )


def test_bylines_and_datelines_are_furniture_only_at_the_edges():
    body = [f"Paragraph {n} of the article says something new." for n in range(8)]
    text = "\n\n".join(["By Jane Doe", *body[:4], "March 5, 2024", *body[4:], "Updated March 6"])
    found = kinds(text)
    assert found["By Jane Doe"] is BlockKind.BOILERPLATE
    assert found["Updated March 6"] is BlockKind.BOILERPLATE
    assert found["March 5, 2024"] is not BlockKind.BOILERPLATE


def test_headings_marked_by_the_page_replace_guessing_from_shape():
    text = "Results\n\nRovers | 3 | 1\n\nCity | 2 | 2\n\nThe final was played on Sunday."
    start = text.index("Results")
    blocks = {text[b.start : b.end]: b.kind for b in classify(text, [(start, start + 7)])}
    assert blocks["Results"] is BlockKind.HEADING
    assert blocks["Rovers | 3 | 1"] is BlockKind.CONTENT
    assert blocks["City | 2 | 2"] is BlockKind.CONTENT
    assert kinds(text)["Rovers | 3 | 1"] is BlockKind.HEADING


def test_a_promotion_does_not_make_its_neighbour_one():
    text = (
        "Support our journalism today.\n\n"
        "You can help us keep reporting from the harbour.\n\n"
        "Your neighbours told us the bridge had been shaking for years.\n\n"
        "The council said repairs would start in March."
    )
    found = kinds(text)
    assert found["You can help us keep reporting from the harbour."] is BlockKind.BOILERPLATE
    assert found["Your neighbours told us the bridge had been shaking for years."] is (
        BlockKind.CONTENT
    )


# The fast paths (#19) against the plain code they replaced, written out here.
_FINAL = re.compile(r"[.!?…][\"'”’»)\]]*\s*$|[\"”’»][.!?]\s*$|[。！？][」』）”’]*\s*$")


def _is_furniture_reference(text: str) -> bool:
    count = len(clean.words(text))
    if count == 0:
        return True
    if clean._MONEY_ONLY.match(text.strip()):
        return True
    outside = clean._OUTSIDE_QUOTES.sub(" ", text)
    if count <= clean.PROMO_MAX_WORDS and clean._CREDIT_OR_CONTACT.search(outside):
        return True
    if _FINAL.search(text):
        if count > clean.PROMO_MAX_WORDS:
            return False
        if not (
            clean._IMPERATIVE.match(text)
            or clean._ADDRESS.search(outside)
            or count <= clean.SHORT_SENTENCE_WORDS
        ):
            return False
    elif count > 2 * clean.HEADING_MAX_WORDS:
        return False
    return bool(clean._FURNITURE.search(outside))


def _same_as_reference(text: str) -> None:
    assert clean.words(text) == clean._WORD.findall(text), text
    assert ends_sentence(text) == bool(_FINAL.search(text)), text
    lowered = text.lower()
    assert clean._addresses(text, lowered) == bool(clean._ADDRESS.search(text)), text
    assert is_furniture(text) == _is_furniture_reference(text), text
    for variant in (text, text.upper(), text.title()):
        for pattern, lower in _FOLDED:
            found = clean._search_folded(pattern, lower, variant, variant.lower())
            assert found == bool(pattern.search(variant)), (variant, pattern.pattern[:40])


_FOLDED = (
    (clean._FURNITURE, clean._FURNITURE_LOWER),
    (clean._CREDIT_OR_CONTACT, clean._CREDIT_OR_CONTACT_LOWER),
)


def test_the_lowered_patterns_are_the_case_blind_ones_in_lower_case():
    for pattern, lower in _FOLDED:
        assert lower.pattern == pattern.pattern
        assert pattern.flags & re.IGNORECASE and not lower.flags & re.IGNORECASE
        # no capital stands for itself in the pattern (only escapes such as \S and \W)
        assert re.search(r"(?<!\\)[A-Z]", pattern.pattern) is None


def test_furniture_phrases_in_any_case_are_found_as_the_case_blind_patterns_find_them():
    phrases = [
        "Sign up for our newsletter", "Copyright 2024 Acme", "Follow Jane Doe on Twitter",
        "Reporting by Jane Doe", "Photo credit: AP", "Share this story with a friend",
        "Email Jane at jane@example.com", "Read more about this", "We use cookies here",
        "All rights reserved", "Comments are closed", "You've raised £200", "Back to top",
        "© Acme", "Donations welcome", "Jane can be reached at 555",
    ]  # fmt: skip
    for phrase in phrases:
        assert clean._FURNITURE.search(phrase) or clean._CREDIT_OR_CONTACT.search(phrase), phrase
        for text in (phrase, f"The mayor said: {phrase}.", f"“{phrase}”, he said."):
            _same_as_reference(text)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(tricky_text(), st.text(alphabet=st.characters(max_codepoint=127), max_size=60)))
def test_fast_paths_agree_with_the_plain_patterns_on_random_text(text):
    _same_as_reference(text)


def test_fast_paths_agree_with_the_plain_patterns_on_corpus_text():
    for line in corpus_lines():
        _same_as_reference(line)


def test_every_white_space_character_ends_a_sentence_as_the_pattern_says():
    for code in range(0x3100):
        char = chr(code)
        for text in (f"Done.{char}", f"Done{char}", f"“Done.”{char}", f"Done.{char}x"):
            assert ends_sentence(text) == bool(_FINAL.search(text)), repr(text)


def test_the_address_shortcut_sees_the_letters_re_ignorecase_folds():
    # Every character the case-blind pattern takes for a letter of the words it looks for
    # must be that letter once lower-cased, or be outside ASCII (searched as it is).
    every = "".join(map(chr, range(0x110000)))
    for letter in "yourwesv'":
        for char in re.findall(re.escape(letter), every, re.IGNORECASE):
            assert char.lower() == letter or not char.isascii(), (char, letter)
