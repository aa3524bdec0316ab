"""Sentences shaped like page furniture are not quotable; article sentences are."""

import itertools
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.answer.engine import Engine
from bot.core.ingest import sentence_furniture as sf
from bot.core.ingest.raw import RawArticle
from bot.core.ingest.sentence_furniture import card_start, is_bare_link, is_furniture_sentence
from bot.core.models import Source
from tests.conftest import make_settings
from tests.core.shortcut_texts import corpus_lines, tricky_text


@pytest.mark.parametrize(
    "line",
    [
        "© 2019 Example Media Group. All rights reserved.",
        "Related: Possible Water Plumes on Europa: The Discovery in Images",
    ],
)
def test_furniture_shaped_lines_closing_an_article_are_furniture(line):
    assert is_furniture_sentence(line, True, "Europa mission approved", after=0)


@pytest.mark.parametrize(
    "line", ["https://www.example.com/articles/stock-earnings-51574168486", "jo.doe@example.com"]
)
def test_a_bare_address_is_furniture_and_one_in_a_sentence_is_not(line):
    assert is_bare_link(line)
    assert not is_bare_link(f"Readers can write to {line} with their questions.")


def test_a_hover_card_run_into_a_sentence_is_cut_off():
    text = "He threatened to kill Rep. Ilhan OmarIlhan OmarHillicon Valley: Progressives oppose"
    assert text[: card_start(text)] == "He threatened to kill Rep. Ilhan Omar"
    assert card_start("Follow him at @RobertMaguire_ or on the iPhone app.") is None


@pytest.mark.parametrize(
    "sentence",
    [
        "The strike by bus drivers ended on Friday after negotiations brokered by the mayor.",
        "“We cannot risk another collision in this weather,” harbour master Jane Doyle said.",
        "Rovers beat United 3-1 in the cup final on Saturday, with two goals from Ana Silva.",
        "In 2019, revenue rose to $4.2 billion, up 12% from a year earlier.",
    ],
)
def test_article_sentences_are_kept(sentence):
    for after in (0, 5):
        assert not is_furniture_sentence(sentence, True, "Harbour to reopen", after)


def test_a_closing_related_link_and_a_hover_card_are_never_quoted():
    text = (
        "Harbour to reopen\n\n"
        "The harbour will reopen on Friday, harbour master Jane DoyleJane DoyleStorm news: "
        "Ferries cancelled | Roads closed.\n\n"
        "Fishing crews said they had lost a week of catches to the storm.\n\n"
        "Related: Harbour storm damage in pictures\n"
    )
    options = make_settings().core_options().engine
    engine = Engine.from_articles([RawArticle(Source("a.txt", "Harbour"), text)], options)
    quotes = " ".join(a.quote for a in engine.ask("harbour storm Jane Doyle", top_k=5).answers)
    assert "harbour master Jane Doyle" in quotes
    assert "Ferries cancelled" not in quotes and "in pictures" not in quotes


_TRICKY = st.sampled_from(
    [
        "May", "mayor", "5pm", "pm", "O'Mara", "pro-market", "Dec.", "Thursday", "GMT",
        "est", "EDT", "am", "12:30", "2019", "x1", "_a", "a_", "’s", "-", "İ", "ı", "ſ", "K",
        "©", "(C)", "(c)", "copyright", "COPYRIGHT", "All Rights Reserved", "reſerved", "rİghts",
        "the", "Jan", "January's", "a", "Ünal", "١٢", "², "
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_TRICKY, st.sampled_from([" ", "", "-", ", ", "\n", "'"])), max_size=12))
def test_the_shortcuts_of_the_features_give_what_the_full_scans_give(parts):
    sentence = "".join(word + gap for word, gap in parts)
    found = sf._WORD.findall(sentence)
    assert sf._date_only(sentence, found) == (
        len(sf._WORD.findall(sf._MONTH_DAY.sub(" ", sentence))) < 2
    )
    if sf._COPYRIGHT.search(sentence):
        assert sf._may_hold(sentence, sentence.lower(), sf._COPYRIGHT_MARKS)


# The features as they were first written, plain scans, against the shortcuts (#19).
_FINAL = re.compile(r"[.!?…][\"'”’)\]]*\s*$")
_SEPARATOR = re.compile(r"[|•»«►▶·]|\s[-–—/]\s.*\s[-–—/]\s")
_RUN = re.compile(r"[a-z][A-Z][a-z]")


def _features_reference(sentence, whole_paragraph, title, after):
    found = sf._WORD.findall(sentence)
    folded = [w.casefold() for w in found]
    heading = tuple(w.casefold() for w in sf._WORD.findall(title or ""))
    n = max(len(found), 1)
    glyphs = "".join(sentence.split())
    final = bool(_FINAL.search(sentence))
    return (
        math.log1p(len(found)),
        sum(map(str.isdigit, glyphs)) / max(len(glyphs), 1),
        sum(w[0].isupper() for w in found) / n,
        sum(w in sf._function_words() for w in folded) / n,
        float(final),
        float(not any(w[0].islower() and len(w) >= 3 for w in found)),
        float(bool(sf._LINK.search(sentence))),
        float(bool(_SEPARATOR.search(sentence))),
        float(bool(sf._LABEL.match(sentence))),
        float(len(sf._WORD.findall(sf._MONTH_DAY.sub(" ", sentence))) < 2),
        float(whole_paragraph),
        float(bool(_RUN.search(sentence))),
        sentence.count(",") / n,
        float(bool(sf._YOU.search(sentence))),
        float(bool(sf._COPYRIGHT.search(sentence))),
        sum(w in set(heading) for w in folded) / n if heading else 0.0,
        float(bool(heading) and tuple(folded[: min(5, len(heading))]) == heading[:5]),
        1.0 / (1 + after),
        float(len(found) <= 8 and not final),
        float(bool(sf._TAG.search(sentence))),
    )


def _chance_reference(model, values):
    z = model.intercept
    terms = 0
    for w, x, m, s in zip(model.weights, values, model.mean, model.scale, strict=True):
        terms += w * (x - m) / s
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z + terms))))


def _same_features(sentence: str, title: str) -> None:
    for whole, after in ((True, 0), (False, 3)):
        ours = sf.features(sentence, whole, title, after)
        theirs = _features_reference(sentence, whole, title, after)
        assert ours == theirs, (
            sentence,
            [f for f, a, b in zip(sf.FEATURES, ours, theirs, strict=True) if a != b],
        )
        model = sf.bundled_model()
        assert model.chance(ours) == _chance_reference(model, theirs)


@settings(max_examples=1500, deadline=None)
@given(tricky_text(), st.sampled_from(["", "Harbour storm: you said", "The US and İstanbul"]))
def test_the_features_are_the_plain_scans_on_random_text(sentence, title):
    _same_features(sentence, title)


def test_the_features_are_the_plain_scans_on_corpus_text():
    lines = corpus_lines()
    for line, title in zip(lines, ("", *lines), strict=False):
        _same_features(line, title)


def test_the_you_shortcut_sees_every_letter_re_ignorecase_folds():
    every = "".join(map(chr, range(0x110000)))
    for letter in "you":
        assert set(re.findall(letter, every, re.IGNORECASE)) == {letter, letter.upper()}


_SHAPES = st.text(
    alphabet=st.sampled_from(
        [*"0123456789 \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2028\u3000-–—/|·aZ", "²", "١"]
    ),
    max_size=30,
)


@settings(max_examples=1500, deadline=None)
@given(_SHAPES)
def test_digits_spaces_and_separators_are_counted_as_the_plain_scans_count(sentence):
    glyphs = "".join(sentence.split())
    assert sf._digits_and_glyphs(sentence) == (sum(map(str.isdigit, glyphs)), len(glyphs))
    assert sf._has_separator(sentence) == bool(_SEPARATOR.search(sentence))


_GLUE = re.compile(r"(?<=[a-z])[A-Z][a-z]+")
_GLUED = ["OmarIlhan", "Omar", "Ilhan", "iPhone", "@RobertMaguire", "www.DearAbby.com", "aB"]


def _glued(sentence):
    return [m.span() for m in sf._GLUE.finditer(sentence)]


def _glued_reference(sentence):
    """The glued words as the plain look-behind pattern finds them: what card_start walks."""
    return [m.span() for m in _GLUE.finditer(sentence)]


@settings(max_examples=1500, deadline=None)
@given(
    st.one_of(
        tricky_text(),
        st.lists(st.sampled_from([*_GLUED, " ", "Rep. ", "x", "."]), max_size=12).map("".join),
    )
)
def test_hover_cards_and_bare_links_are_found_as_the_plain_patterns_find_them(sentence):
    assert _glued(sentence) == _glued_reference(sentence)
    assert is_bare_link(sentence) == bool(sf._BARE_LINK.fullmatch(sentence.strip()))


def test_hover_cards_and_bare_links_on_corpus_text():
    for line in corpus_lines():
        assert _glued(line) == _glued_reference(line)
        assert is_bare_link(line) == bool(sf._BARE_LINK.fullmatch(line.strip()))


def _decision_reference(sentence, whole, title, after):
    model = sf.bundled_model()
    values = _features_reference(sentence, whole, title, after)
    return _chance_reference(model, values) >= model.threshold


def test_sentences_settled_early_are_decided_as_the_full_score_decides_them():
    lines = corpus_lines()
    for line, title in zip(lines, ("", *lines), strict=False):
        for whole, after in ((True, 0), (False, 3), (False, 40)):
            assert is_furniture_sentence(line, whole, title, after) == _decision_reference(
                line, whole, title, after
            ), line


@settings(max_examples=1500, deadline=None)
@given(tricky_text(), st.booleans(), st.integers(0, 50))
def test_random_sentences_are_decided_as_the_full_score_decides_them(sentence, whole, after):
    assert is_furniture_sentence(sentence, whole, "The US said", after) == _decision_reference(
        sentence, whole, "The US said", after
    )


_WEIGHT = st.floats(-30, 30, allow_nan=False)


@settings(max_examples=600, deadline=None)
@given(
    st.lists(st.tuples(_WEIGHT, st.floats(-2, 2), st.floats(0.01, 3)), min_size=20, max_size=20),
    st.floats(-20, 20),
    st.floats(0.0, 1.0),
    st.lists(st.floats(0, 5), min_size=20, max_size=20),
)
def test_a_model_settles_early_only_what_no_late_feature_can_change(terms, intercept, cut, values):
    weights, mean, scale = (tuple(column) for column in zip(*terms, strict=True))
    model = sf.FurnitureModel(mean, scale, weights, intercept, cut)
    if not model.surely_not(values):
        return
    for late in itertools.product((0.0, 1.0), repeat=len(sf.LATE_FEATURES)):
        full = list(values)
        for name, value in zip(sf.LATE_FEATURES, late, strict=True):
            full[sf.FEATURES.index(name)] = value
        assert model.chance(full) < model.threshold, late
