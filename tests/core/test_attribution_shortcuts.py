"""The attribution stage's shortcuts give what the plain computation gives (#19).

Ingest skips work where a cheap test proves it cannot change the result: a sentence
with no reporting word is not tokenized, the learned tagger is not asked where it
cannot tag a source, and so on. Each test here runs a straightforward reference,
written out in the test the way the code once did it, beside the fast path, on
generated sentences made of the pieces that trip such tests (cue words in odd
cases, characters that case-fold to ASCII letters, quotation marks, titles) and on
sentences of the BBC corpus when it is present.
"""

from __future__ import annotations

import functools
import json
import struct
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.ingest import attribution as att
from bot.core.ingest import learned_sources as ls
from bot.core.ingest import speakers as sp

BBC = Path(__file__).resolve().parents[3] / "shared" / "data" / "news" / "bbc-news.jsonl"

PIECES = (
    "said", "SAID", "Said", "saİd", "told", "asKed", "aske\u212a", "ſaid", "says", "added",
    "saying", "claims", "claimed", "according to", "According To", "accordıng to",
    "ACCORDING\tto", "accordingto", "according", "to", "the", "The", "ministry", "he", "She",
    "Mr", "Mr.", "Dr.", "Jane", "Q.", "Doe", "Prigozhin’s", "Russia's", "Reuters", "U.S.",
    "in", "a", "statement", "that", ":", ",", ".", "(D-Mo.)", "(", ")", "“", "”", '"', "‘", "’",
    "-", "—", "'", "İ", "ß", "é", "e\u0301", "3.14", "1,000", "\u00a0", "\t", "\n", "中文",
    "NEWSREADER", "MR SMITH:", "said-so", "re-said", "said’", "’said", "_said", "said_",
    "unsaid", "s.aid", "said.", ".said", "x.said",
)  # fmt: skip
_piece = st.one_of(st.sampled_from(PIECES), st.text(max_size=6))
sentences = st.lists(
    st.tuples(_piece, st.sampled_from([" ", " ", "", "  ", "\n"])), max_size=24
).map(lambda parts: "".join(p + sep for p, sep in parts))


def inside_quotes(sentence: str) -> list[bool]:
    """Per character, whether it lies inside a “curly” quotation (``quoted_spans``' ranges)."""
    flags = [False] * len(sentence)
    for start, end in att.quoted_spans(sentence):
        flags[start:end] = [True] * (end - start)
    return flags


def reference_find_mentions(sentence: str) -> list:
    """find_mentions as it was: tokenize every sentence, try "according to" on every one."""
    found = []
    transcript = att._TRANSCRIPT.match(sentence)
    if transcript:
        found.append(att._Mention(transcript.group("name"), ":", 0))
    tokens = [(m.group(), m.start()) for m in att._WORD.finditer(sentence)]
    words = [word for word, _ in tokens]
    assert att._starts(sentence, words, len(words)) == [start for _, start in tokens]
    cues = [i for i, (word, _) in enumerate(tokens) if word.lower() in att._CUES]
    quoted = inside_quotes(sentence)
    for i in cues:
        word, offset = tokens[i]
        if att._used_as_noun(words, i) or quoted[offset]:
            continue
        if word.lower() in att.REPORTING_PARTICIPLES:
            speaker = att._clause_subject(words) if i and words[i - 1] == "," else None
        else:
            speaker = att._subject_before(words, i) or att._subject_after_quote(words, i)
        if speaker:
            found.append(att._Mention(speaker, word.lower(), offset))
    for match in att._ACCORDING.finditer(sentence):
        tail = sentence[match.end() :]
        phrase = att._ACCORDING_END.split(tail, maxsplit=1)[0].strip()
        if phrase and len(phrase.split()) <= att.ACCORDING_TO_MAX_WORDS:
            found.append(att._Mention(phrase, "according to", match.start()))
    found.sort(key=lambda m: m.start)
    return found


def reference_reported_speech(sentence: str) -> tuple[bool, bool]:
    """reported_speech as it was: every sentence's words read."""
    if att.quoted_share(sentence) > 0:
        return True, True
    words = [w.lower() for w in att._WORD.findall(sentence)]
    if not any(w in att._CUES for w in words):
        return False, False
    for i, word in enumerate(words):
        if word in att._CUES:
            ahead = words[i + 1 : i + 1 + att.CONTENT_LOOKAHEAD_WORDS]
            if ahead[:1] == [":"] or "that" in ahead:
                return True, True
    return True, False


def _check(sentence: str) -> None:
    has_cue = any(w.lower() in att._CUES for w in att._WORD.findall(sentence))
    assert att._CUE_GATE.may_hold(sentence) or not has_cue, sentence
    assert "ccord" in sentence.lower() or not att._ACCORDING.search(sentence), sentence
    assert att.find_mentions(sentence) == reference_find_mentions(sentence), sentence
    assert att.reported_speech(sentence) == reference_reported_speech(sentence), sentence


@settings(max_examples=600)
@given(st.one_of(sentences, st.text(alphabet=st.characters(max_codepoint=127), max_size=80)))
def test_the_cue_test_reads_ascii_text_as_bytes_as_it_reads_the_lowered_runs(sentence):
    for gate in (att._CUE_GATE, ls._CUE_GATE):
        runs = att.lowered_words(sentence)
        assert gate.may_hold(sentence) == (not gate.words.isdisjoint(runs)), sentence


def test_the_cue_test_needs_plain_cue_words():
    # The proof in WordGate holds for plain lower-case ASCII cue words; the module
    # falls back to tokenizing every sentence otherwise, which this pins.
    assert att._CUE_GATE.plain


@settings(max_examples=600)
@given(sentences)
def test_skipping_sentences_without_cues_changes_nothing(sentence):
    _check(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "“We will stay,” the union leader sai\u212a.",
        "Prices rose, accordıng to the Office for National Statistics.",
        "Prices rose, ACCORDING  TO the ONS.",
        "Jane Doe, Acme’s chief, ASKED for more.",
        "The re-said claim, un-said.",
    ],
)
def test_skipping_on_hand_picked_sentences(sentence):
    _check(sentence)


def corpus_texts(limit: int) -> list[str]:
    """Paragraphs of the first ``limit`` BBC articles (what ingest splits into sentences)."""
    if not BBC.is_file():
        pytest.skip(f"{BBC} is not present")
    out = []
    with BBC.open(encoding="utf-8") as lines:
        for _, line in zip(range(limit), lines, strict=False):
            out += [p for p in json.loads(line)["text"].split("\n") if p.strip()]
    return out


def test_skipping_on_corpus_paragraphs():
    for text in corpus_texts(300):
        for sentence in text.split(". "):
            _check(sentence)


# ------------------------------------------------------------- the learned tagger


def reference_learned_source(sentence: str) -> str | None:
    """The tagging as it was before the byte rows: every feature passed as str, then the first S run."""
    if not ls.worth_tagging(sentence):
        return None
    found = ls.tokens(sentence)
    if not found:
        return None
    labels = ls._tagger().tag(ls.features([w for w, _, _ in found]))
    start = end = None
    for (_, s, e), label in zip(found, labels, strict=True):
        if label == "S":
            start = s if start is None else start
            end = e
        elif start is not None:
            break
    return None if start is None or end is None else sentence[start:end]


def sources(texts: list[str]) -> list[str | None]:
    """The tagger's sources as ingest asks for them (``speakers.rule_mentions`` and ``learned_mentions``)."""
    return ls.sources_of(texts, [ls.words_worth_tagging(text) for text in texts])


def _check_learned(sentence: str) -> None:
    assert sources([sentence]) == [reference_learned_source(sentence)], sentence


@settings(max_examples=300)
@given(sentences)
def test_tagging_sentences_one_at_a_time_changes_nothing(sentence):
    _check_learned(sentence)


def test_tagging_corpus_sentences_one_at_a_time_changes_nothing():
    texts = corpus_texts(120)
    tagged = 0
    for text in texts:
        for sentence in text.split(". "):
            _check_learned(sentence)
            tagged += sources([sentence])[0] is not None
    assert tagged > 20  # the tagger did find sources: the comparison was not all None


_word = st.one_of(
    st.sampled_from(("said", "Said", "SAID", "the", "The", "“", '"', "—", "9", "9th", "U.S.")),
    st.sampled_from(("Trump", "trump", "ministry", "x", "X", "ing", "Ing", "–", "̃", "’")),
    st.text(min_size=1, max_size=8),
)


@settings(max_examples=500)
@given(_word)
def test_a_words_features_are_its_attribute_names_in_row_order(word):
    ((outside, inside), near) = ls._features_of_word(word)
    low = word.lower()
    base = (f"w={low}", f"shape={ls._shape(word)}", f"cue={low in ls.LEARNED_CUES}")
    own = (base[0], base[1], f"suf={low[-3:]}", base[2])
    assert outside == (*own, "q=False") and inside == (*own, "q=True")
    assert near == tuple(tuple(f"{d}{b}" for b in base) for d in ls._NEAR)
    assert ls._names_of_word(word) == own + tuple(name for names in near for name in names)


# ------------------------------------------------------------- an article's names

NAME_PIECES = (
    "Bank", "of", "England", "de", "al", "Ma", "Zhaoxu", "Mr", "the", "for", "’s", "O'Neil",
    "-", "Vice-Foreign", "\t", " ", "\n", "", "É", "ß", "X", "x", "offers", "A.",
)  # fmt: skip
_name_piece = st.one_of(st.sampled_from(NAME_PIECES), st.text(max_size=4))
articles = st.lists(
    st.lists(_name_piece, max_size=16).map(" ".join).map(lambda s: s.replace("  ", "\t")),
    max_size=8,
)


@settings(max_examples=400)
@given(articles)
def test_one_pass_over_an_article_finds_each_sentences_names(sentences):
    speakers = sp.ArticleSpeakers(sentences)
    each = sp._RunIndex(m.group() for text in sentences for m in sp._NAME_RUN.finditer(text))
    assert speakers._runs._by_segment == each._by_segment
    speakers._common_noun("Residents")  # reads the article's lower-case words
    lower = frozenset(w for text in sentences for w in sp._LOWER_WORD.findall(text))
    assert speakers._lower == lower


_quote_piece = st.sampled_from(("“", "”", "“", "”", '"', "’", "a", " ", "said", "x y"))
quoting = st.lists(st.one_of(_quote_piece, st.text(max_size=3)), max_size=20).map("".join)


@settings(max_examples=400)
@given(quoting)
def test_the_quoted_share_counts_the_characters_inside_quotations(sentence):
    flags = inside_quotes(sentence)
    assert att.quoted_share(sentence) == (sum(flags) / len(flags) if flags else 0.0)


# ------------------------------------------------------------- the tagger's weights as arrays


@functools.cache
def _label_numbers() -> dict[str, int]:
    return {name: int(n) for name, n in ls._tagger().info().labels.items()}


def _crfsuite_labels(words: list[str]) -> list[int]:
    """crfsuite's labels for one sentence, as the label numbers the arrays use."""
    return [_label_numbers()[label] for label in ls._tagger().tag(ls.features(words))]


def _check_batch(texts: list[str]) -> None:
    """Tagged together, a batch of sentences gets crfsuite's labels and sources, sentence by sentence."""
    weights = ls._weights()
    assert weights is not None  # the shipped model's file reads whole
    words = [found for found in map(ls._TOKEN.findall, texts) if found]
    if words:
        labels, starts = weights.labels(words)
        for i, one in enumerate(words):
            assert labels[starts[i] : starts[i + 1]].tolist() == _crfsuite_labels(one), one
        ids, _ = weights.attribute_ids(words)
        for i, one in enumerate(words):
            rows = ls.features(one)
            for t in range(len(one)):
                given = [int(a) for a in ids[:, starts[i] + t] if a != weights._unknown]
                assert given == [weights._ids[name] for name in rows[t] if name in weights._ids]
    assert sources(texts) == [reference_learned_source(s) for s in texts]


@settings(max_examples=150)
@given(st.lists(sentences, max_size=12))
def test_tagging_a_batch_of_sentences_as_arrays_changes_nothing(texts):
    _check_batch(texts)


def test_tagging_corpus_sentences_as_arrays_changes_nothing():
    texts = [s for text in corpus_texts(120) for s in text.split(". ")]
    for at in range(0, len(texts), 400):  # batches of every length mix, as ingest sends
        _check_batch(texts[at : at + 400])


def reference_viterbi(state: list[list[float]], trans: list[list[float]]) -> list[int]:
    """crfsuite's crf1dc_viterbi written out: a later predecessor wins only when strictly better."""
    labels_n = len(trans)
    score = [list(state[0])]
    back = [[0] * labels_n]
    for t in range(1, len(state)):
        row, links = [], []
        for j in range(labels_n):
            best, arg = -float("inf"), -1
            for i in range(labels_n):
                through = score[t - 1][i] + trans[i][j]
                if best < through:
                    best, arg = through, i
            row.append(best + state[t][j])
            links.append(arg)
        score.append(row)
        back.append(links)
    last = 0
    best = -float("inf")
    for i in range(labels_n):
        if best < score[-1][i]:
            best, last = score[-1][i], i
    path = [last]
    for t in range(len(state) - 1, 0, -1):
        path.append(back[t][path[-1]])
    return path[::-1]


@settings(max_examples=300)
@given(
    st.lists(st.integers(1, 9), min_size=1, max_size=8),
    st.integers(0, 2**32 - 1),
    st.sampled_from([2, 3, 4]),
)
def test_decoding_many_sentences_at_once_is_crfsuites_viterbi(lengths, seed, labels_n):
    # Small whole numbers as scores: ties everywhere, so the tie rule is what is tested.
    import numpy as np

    rng = np.random.default_rng(seed)
    state = rng.integers(-2, 3, size=(sum(lengths), labels_n)).astype(float)
    trans = rng.integers(-2, 3, size=(labels_n, labels_n)).astype(float)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    got = ls._viterbi(state, starts, trans)
    for i in range(len(lengths)):
        one = state[starts[i] : starts[i + 1]].tolist()
        assert got[starts[i] : starts[i + 1]].tolist() == reference_viterbi(one, trans.tolist())


def test_a_model_file_read_otherwise_than_expected_is_refused(monkeypatch):
    from importlib import resources

    data = resources.files("bot.core").joinpath("data", ls.MODEL).read_bytes()
    info = ls._tagger().info()
    ls._Weights(data, info.attributes, info.labels)  # the shipped file reads
    for broken in (b"xCRF" + data[4:], data[:200]):
        with pytest.raises((ValueError, struct.error)):
            ls._Weights(broken, info.attributes, info.labels)
    with pytest.raises(ValueError):
        ls._Weights(data, dict(list(info.attributes.items())[:-1]), info.labels)
    # Without the arrays, crfsuite tags each sentence: the same sources.
    monkeypatch.setattr(ls, "_weights", lambda: None)
    texts = [s for text in corpus_texts(20) for s in text.split(". ")]
    assert sources(texts) == [reference_learned_source(s) for s in texts]


def test_batches_tagged_on_several_threads_get_what_one_thread_gets():
    from concurrent.futures import ThreadPoolExecutor

    texts = [s for text in corpus_texts(60) for s in text.split(". ")]
    parts = [texts[i::4] for i in range(4)]
    alone = [[reference_learned_source(s) for s in part] for part in parts]
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns inside the table's filling
    try:
        for _ in range(3):
            ls._weights.cache_clear()  # a fresh word table, filled by the threads at once
            assert ls._weights() is not None  # made here, once: the threads share it
            with ThreadPoolExecutor(4) as pool:
                assert list(pool.map(sources, parts)) == alone
    finally:
        sys.setswitchinterval(switching)
