"""``punkt_spans`` splits exactly as NLTK's Punkt ``span_tokenize`` does, with the same parameters."""

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.tokenize.punkt import PunktLanguageVars, PunktSentenceTokenizer, PunktToken

from bot.core.ingest import punkt_spans
from bot.core.ingest.sentences import SentenceSplitter

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
# Tokens that put Punkt's rules to work: initials, abbreviations (curated and learnt),
# numbers and ordinals, ellipses in three spellings, quotes and brackets of both kinds,
# several end marks, hyphens and dashes, and case changes after a stop.
TRICKY = [
    "J.", "R.", "a.", "Mr.", "Dr.", "Gov.", "Jan.", "U.S.", "U.K.", "e.g.", "i.e.", "etc.", "No.",
    "vs.", "St.", "Inc.", "co.", "ex-Gov.", "3.5", "3.", "1,000.", "-2.", ".5", "2nd.", "1990s.",
    "...", "…", ". . .", "?!", "!!", "?", "!", ".", ",", ";", ":", "--", "-", "—", "(", ")", "[",
    "]", "{", "}", '"', "'", "“", "”", "‘", "’", "«", "»", "*", "@", "#", "&", "`", "said.",
    "The", "the", "He", "he", "It", "it", "In", "in", "But", "but", "Smith.", "smith", "Ma",
    "Bach", "and.", "word", "Word.", "WORD.", "x", "é.", "Ünal.", "İ.", "١٢.", "²."
]  # fmt: skip
SEPARATORS = [" ", " ", " ", "  ", "\n", "\n\n", "\t", "", "\x0c", "\u00a0", " \n "]
TRAINING = (
    "Mr. Smith met Gov. Jones in Washington. They spoke for an hour. The U.S. and the U.K. "
    "signed on Jan. 5. Talks resume soon. J. S. Bach wrote it. He was born in 1685. "
    "In the end, it rained. It was wet. The ministry said... Then it stopped. "
    "Sales rose 3.5 per cent. No. 10 said so. The vote was 2nd. Then came a third. "
) * 3


def _params(text: str):
    return SentenceSplitter.train([text]).params


def _both(params) -> tuple[PunktSentenceTokenizer, punkt_spans.PunktSpans]:
    fast = punkt_spans.PunktSpans(
        params.abbrev_types, params.collocations, params.sent_starters, params.ortho_context
    )
    return PunktSentenceTokenizer(params), fast  # NLTK's own, as it ships


@pytest.fixture(scope="module")
def trained() -> tuple[PunktSentenceTokenizer, punkt_spans.PunktSpans]:
    return _both(_params(TRAINING))


def test_patterns_are_nltks():
    lang = PunktLanguageVars()
    # NLTK joins the non-period end marks from a set, so their order varies by run.
    marks = [re.escape("?!"), re.escape("!?")]
    non_word = {punkt_spans.NON_WORD_CHARS.replace(re.escape("?!"), m) for m in marks}
    assert lang._re_non_word_chars in non_word
    assert lang._re_sent_end_chars == punkt_spans.SENT_END_CLASS
    assert lang._re_word_start == punkt_spans.WORD_START
    assert lang._re_multi_char_punct == punkt_spans.MULTI_CHAR_PUNCT
    assert lang.sent_end_chars == punkt_spans.SENT_END_CHARS
    assert PunktSentenceTokenizer.PUNCTUATION == punkt_spans.PUNCTUATION
    for ours, theirs in [
        (punkt_spans._REALIGN, lang.re_boundary_realignment),
        (punkt_spans._ELLIPSIS, PunktToken._RE_ELLIPSIS),
        (punkt_spans._NUMERIC, PunktToken._RE_NUMERIC),
        (punkt_spans._INITIAL, PunktToken._RE_INITIAL),
    ]:
        assert (ours.pattern, ours.flags) == (theirs.pattern, theirs.flags)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(TRICKY), st.sampled_from(SEPARATORS)), max_size=30))
def test_words_and_candidate_ends_are_found_as_nltk_finds_them(parts):
    lang = PunktLanguageVars()
    text = "".join(token + gap for token, gap in parts)
    assert punkt_spans._WORD_TOKENIZER.findall(text) == lang._word_tokenizer_re().findall(text)
    ours, theirs = (
        [(m.span(), m["after_tok"], m["next_tok"]) for m in pattern.finditer(text)]
        for pattern in (punkt_spans._PERIOD_CONTEXT, lang.period_context_re())
    )
    assert ours == theirs


def test_the_seed_articles_split_the_same():
    texts = [p.read_text("utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    assert texts
    nltk, fast = _both(_params("\n\n".join(texts)))
    for text in texts:
        for paragraph in [text, *text.split("\n")]:
            assert fast.spans(paragraph) == list(nltk.span_tokenize(paragraph))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        ".",
        "Hi.",
        "Mr. Smith met Gov. Jones. They spoke.",
        "J. S. Bach was here. He left.",
        "(Sent1.) Sent2.",
        "He said “Go!” She left.",
        "Very bad acting!!! I promise.",
        "It cost $3.5 bn. in 2020. Then it fell.",
        "Wait... what? No!  \n\n  Yes.",
        "a.b. c.d. E.F. G.",
        "\n. \n.\n",
        "end.\x1cStart. Next.",
    ],
)
def test_edge_cases_split_the_same(trained, text):
    nltk, fast = trained
    assert fast.spans(text) == list(nltk.span_tokenize(text))


@settings(max_examples=600, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(TRICKY), st.sampled_from(SEPARATORS)), min_size=1, max_size=30
    )
)
def test_random_text_of_tricky_tokens_splits_the_same(trained, parts):
    nltk, fast = trained
    text = "".join(token + gap for token, gap in parts)
    assert fast.spans(text) == list(nltk.span_tokenize(text))


def test_a_saved_splitter_splits_without_importing_nltk_parameters():
    saved = SentenceSplitter.train([TRAINING]).saved_form()
    splitter = SentenceSplitter.from_saved(saved)
    text = "Mr. Smith met Gov. Jones. They spoke. J. S. Bach wrote it."
    assert splitter.spans(text) == SentenceSplitter(splitter.params).spans(text)
    assert splitter._params is not None  # asked for by the line above, not by spans
    fresh = SentenceSplitter.from_saved(saved)
    fresh.spans(text)
    assert fresh._params is None


_HEADS = ["Mr", "mr", "Dr", "Gov", "Jan", "J", "a", "Smith", "smith", "Bach", "said", "word", "WORD",
          "etc", "vs", "St", "co", "No", "x", "It", "in"]  # fmt: skip
_TAILS = ["The", "the", "He", "he", "It", "in", "Smith", "Bach", "Ma", "x", "A", "WORD", "co"]


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(_HEADS),
    st.sampled_from([". ", ".  ", ".\n", ". \n", "? ", ".", ". . "]),
    st.sampled_from(_TAILS),
    st.sampled_from(["", ",", ".", "-x", "é", "1"]),
)
def test_a_plain_word_period_word_context_is_decided_as_its_tokens_decide_it(
    trained, head, gap, tail, end
):
    _, fast = trained
    context = head + gap + tail + end
    assert fast._contains_sentbreak(context) == fast._tokens_sentbreak(context)
