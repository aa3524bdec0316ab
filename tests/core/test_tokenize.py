import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.index import tokenize
from bot.core.index.tokenize import Tokenizer, load_aliases, normalise
from tests.core.shortcut_texts import corpus_lines, tricky_text


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("China’s", ["china"]),
        ("China's", ["china"]),
        ("“Beijing” — Chinese", ["china", "china"]),
        ("The Kremlin, Moscow and Russians", ["russia", "russia", "russia"]),
        ("said, says, declared, stated", ["say", "say", "say", "say"]),
        ("co-operation", ["cooper", "co", "oper"]),
        ("£8,738 and 3.5", ["8738", "3.5"]),
        ("U.S. officials", ["usa", "offici"]),
        ("didn’t", ["not"]),
        ("not never no", ["not", "never", "no"]),
        ("neighbour neighbor", ["neighbor", "neighbor"]),
        ("北京 Łódź", ["北京", "łodz"]),
        ("Beyoncé Beyonce", ["beyonc", "beyonc"]),
        ("What did who say?", ["say"]),
    ],
)
def test_tokens(tok, text, expected):
    assert tok(text) == expected


def test_question_and_article_words_meet(tok):
    question = set(tok("What did Beijing say?"))
    sentence = set(tok("The Chinese Foreign Ministry stated its view."))
    assert {"china", "say"} <= question & sentence


def test_custom_alias_file_replaces_the_bundled_table(tmp_path):
    path = tmp_path / "aliases.yaml"
    path.write_text("nato: [alliance, otan]\n", encoding="utf-8")
    tok = Tokenizer(aliases=load_aliases(path))
    assert tok("OTAN alliance Beijing") == ["nato", "nato", "beij"]


def test_broken_alias_file_names_the_problem(tmp_path):
    path = tmp_path / "aliases.yaml"
    path.write_text("nato: alliance\n", encoding="utf-8")
    with pytest.raises(ValueError, match="must be a list"):
        load_aliases(path)


def test_the_word_caches_stay_bounded_however_many_new_words_are_asked(monkeypatch):
    # Questions bring new words without end; the stem cache kept every one of them.
    monkeypatch.setattr("bot.core.index.tokenize.WORD_CACHE_SIZE", 64)
    tok = Tokenizer()
    words = [f"zq{i}x" for i in range(1000)]
    for word in words:
        tok(word)
    assert len(tok._words) <= 64
    assert tok._stem.cache_info().currsize <= 64
    assert tok(" ".join(words[:3])) == Tokenizer()(" ".join(words[:3]))  # same terms as fresh


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_ascii_text_is_normalised_as_the_full_path_would(text):
    full = unicodedata.normalize("NFKC", text).translate(tokenize._TRANSLATE).casefold()
    assert normalise(text) == full


# The tokenizer as first written, plain patterns, against its shortcuts (#19).
_TOKEN = re.compile(
    r"(?:[^\W\d_]\.){2,}|\d+(?:[.,]\d+)*|[^\W_]+(?:['-][^\W_]+)*'?",
)


_WORD_PIECES = [
    "colour", "Honour's", "organise", "organisation", "is", "our", "isn't", "Tour-de", "u.s.",
    "A.B", "3.5", "1,000", "can't", "co-op", "it'", "x-", "'", "-", ".", " ", "é", "İs",
]  # fmt: skip


def _reference_terms(tok: Tokenizer, text: str) -> list[str]:
    def one(word: str) -> str:
        canonical = tok.aliases.get(word)
        if canonical is None and (word in tok.stopwords or not word):
            return ""
        word = canonical if canonical is not None else word
        for pattern, replacement in tokenize._BRITISH:
            word = pattern.sub(replacement, word)
        return tok._stem(word)

    terms = []
    for raw in _TOKEN.findall(normalise(text)):
        if raw[0].isdigit():
            terms.append(raw.replace(",", ""))
            continue
        if "." in raw:
            terms.append(one(raw.rstrip(".")))
            continue
        word = raw
        for ending in tokenize._CONTRACTIONS:
            if word.endswith(ending) and len(word) > len(ending):
                word = word[: -len(ending)]
                break
        out = [one(word.replace("'", "").replace("-", ""))]
        out.extend(one(part.replace("'", "")) for part in (word.split("-") if "-" in word else []))
        if raw.endswith("n't"):
            out.append("not")
        terms.extend(term for term in out if term)
    return terms


@settings(max_examples=1500, deadline=None)
@given(
    st.one_of(
        tricky_text(),
        st.text(alphabet=st.characters(max_codepoint=127), max_size=60),
        st.lists(st.sampled_from(_WORD_PIECES), max_size=12).map("".join),
    )
)
def test_the_terms_are_the_plain_patterns_terms_on_random_text(tok, text):
    assert tok(text) == _reference_terms(tok, text)


def test_the_terms_are_the_plain_patterns_terms_on_corpus_text(tok):
    for line in corpus_lines():
        assert tok(line) == _reference_terms(tok, line), line
