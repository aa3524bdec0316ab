"""Properties that hold for any input: nothing crashes, nothing is lost, nothing is made up.

Each test feeds generated text (any Unicode but lone surrogates, control characters,
NULs, byte-order marks, CRLF, ``---`` fences, YAML oddities, curly quotes) to one
stage and checks what a user relies on: either a result whose spans slice the text
they claim to, or the project's own one-line error. The hypothesis profile (example
counts, derandomized in CI) is set in ``tests/conftest.py``.
"""

from __future__ import annotations

import gzip
import html
import itertools
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bot.core.answer.chatter import without_chatter
from bot.core.answer.engine import Engine
from bot.core.answer.question import parse_question
from bot.core.errors import UserError
from bot.core.index.tokenize import Tokenizer
from bot.core.ingest.clean import classify
from bot.core.ingest.document import prepare_articles
from bot.core.ingest.files import read_article, split_front_matter
from bot.core.ingest.html import read_html
from bot.core.ingest.raw import METADATA_FIELDS, ArticleFormatError, RawArticle
from bot.core.ingest.sentences import SentenceSplitter
from bot.core.lexicon import entries
from bot.core.models import BlockKind, Reply, Source
from tests.conftest import NEWS, SPORT, make_settings

# ------------------------------------------------------------------------- strategies

# Pieces real files are made of, and the ones that break naive readers.
FRAGMENTS = (
    "---", "---\n", "\n---\n", "...", "\n...\n", "\r\n", "\n", "\n\n", "\r", "\ufeff", "\x00",
    "\t", " ", "\u00a0", "\u200b", "\u2028", "\x0b", "\x0c", "\x1c", "\x85",
    "title: Storm closes harbour", "published: 2023-06-25", "author: Jane Doe",
    "title: &a anchored", "author: *a", "title: !!python/object:os.system",
    "title: 99999999999999999999999999999999", "title: [1, [2, [3, [4]]]]", "- a\n- b",
    "{a: b}", "title: yes", "title: 1e999", "title: .nan", "? ", ": ", "#", "|", ">", "%YAML",
    "'", '"', "“", "”", "‘", "’", "«", "»", "„", "…", "...", ". . .", "Mr.", "Dr.", "U.S.",
    "e.g.", "No. 5", "3.14", "1,000", "said", "told reporters", "“It is over,” she said.",
    "“We will not stop … ever,” he said.", "The council said the bridge would reopen in May.",
    "Mayor Tom Reilly told reporters the council would meet the crews on Wednesday.",
    "Read more:", "Subscribe to our newsletter", "© 2024", "• ", "1. ", "- ", "## ",
    "<b>", "</p>", "&amp;", "&#0;", "é", "e\u0301", "ß", "ﬁ", "İ", "中文。", "Россия.", "!", "?",
    "don't", "Russia's", "rock-'n'-roll", "co-operate", "--", "—", "–", "\U0001f600",
)  # fmt: skip
# Front-matter values a YAML loader treats specially.
YAML_ODDITIES = (
    "title: &a anchored\nauthor: *a", "title: !!python/object:os.system ls",
    "title: !!python/object/apply:os.system [ls]", "title: 99999999999999999999999999999999",
    "title: [1, [2, [3, [4]]]]", "title: {nested: {map: [1, 2]}}", "title: yes", "author: no",
    "title: ~", "title: ''", "title: 1e999", "title: -.inf", "title: 0o17", "title: 190:20:30",
    "title: !!binary aGVsbG8=", "title: !!set {a, b}", "title: !!omap [a: 1]", "<<: {title: m}",
    "? [complex, key]\n: value", "title: |\n  block\n  text", "title: >\n  folded", "- a list",
    "just a string", "title: a\ntitle: b", "title: \"unterminated", "title: [unclosed",
    "title: \"\\x00\"", "title: “curly”", "published: 2023-06-25", "published: 2023-06-25T10:00:00Z",
    "title: x # comment", "%TAG ! tag:example.com,2000:",
)  # fmt: skip
# Values the reader must turn into one-line errors, not tracebacks (see the report of #14).
YAML_IMPOSSIBLE = (
    "published: 2023-02-30", "published: 2024-05-00", "published: 2023-13-01",
    "published: 2023-02-28T25:00:00", "title: !!timestamp 2023-02-30",
    "title: !!timestamp x", "title: !!int 0x", "title: !!float x", "title: !!bool x",
)  # fmt: skip

_characters = st.characters(exclude_categories=("Cs",))  # any code point a str can encode
_any_text = st.text(_characters, max_size=24)
messy = st.lists(st.one_of(st.sampled_from(FRAGMENTS), _any_text), max_size=30).map("".join)
newline = st.sampled_from(["\n", "\r\n"])


def _fenced(lines: list[str], body: str, nl: str, bom: bool) -> tuple[str, str]:
    """A file with ``lines`` as front matter, and the body a reader must return untouched."""
    header = nl.join(lines)
    return ("\ufeff" if bom else "") + f"---{nl}{header}{nl}---{nl}{body}", body


_yaml_line = st.one_of(
    st.sampled_from(YAML_ODDITIES),
    st.builds(
        "{}: {}".format,
        st.sampled_from((*METADATA_FIELDS, "tags", "x")),
        st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"), max_size=30),
    ),
)
# Only values the reader can take: a fenced header that must never lose or alter the body.
fenced_file = st.builds(_fenced, st.lists(_yaml_line, max_size=6), messy, newline, st.booleans())
fenced_file_impossible = st.builds(
    _fenced,
    st.lists(st.one_of(_yaml_line, st.sampled_from(YAML_IMPOSSIBLE)), min_size=1, max_size=6),
    messy,
    newline,
    st.booleans(),
)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """One scratch folder for the examples of a module (hypothesis reruns a test many times)."""
    with tempfile.TemporaryDirectory(prefix="newsquote-props-") as name:
        yield Path(name)


def _one_line(error: BaseException) -> None:
    """The project's errors are shown to a person as they are: one non-empty line."""
    message = str(error)
    assert message.strip() and "\n" not in message and "Traceback" not in message, message


# ------------------------------------------------------------------------- front matter


def _check_front_matter(raw: str) -> tuple[dict[str, str | None], str] | None:
    try:
        meta, body = split_front_matter(raw)
    except ArticleFormatError as exc:
        _one_line(exc)
        return None
    assert set(meta) <= set(METADATA_FIELDS)
    assert all(value is None or (isinstance(value, str) and value) for value in meta.values())
    # The body is the file's tail, untouched: quotes are slices of exactly this text.
    assert raw.removeprefix("\ufeff").endswith(body)
    return meta, body


@given(messy)
def test_front_matter_of_any_text_is_metadata_and_its_tail_or_one_line_error(raw: str) -> None:
    found = _check_front_matter(raw)
    if not raw.removeprefix("\ufeff").startswith("---"):
        assert found == ({}, raw.removeprefix("\ufeff"))


@given(fenced_file)
@example(_fenced(["title: &a x", "author: *a"], "Body “quoted”.\r\n", "\r\n", True))
def test_front_matter_never_alters_the_body_after_the_fence(case: tuple[str, str]) -> None:
    raw, body = case
    found = _check_front_matter(raw)
    if found is not None:
        assert found[1] == body


@given(st.binary(max_size=300) | messy.map(lambda s: s.encode("utf-8", "surrogatepass")))
@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_read_article_of_any_bytes_is_an_article_or_one_line_error(
    workdir: Path, data: bytes
) -> None:
    path = workdir / "any.txt"
    path.write_bytes(data)
    try:
        article = read_article(path, "any.txt")
    except ArticleFormatError as exc:
        _one_line(exc)
        return
    assert isinstance(article, RawArticle) and article.source.id == "any.txt"
    assert article.text.strip()
    assert data.decode("utf-8").removeprefix("\ufeff").endswith(article.text)


# ------------------------------------------------------------------------- saved pages

_page_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS[20:]), _any_text), max_size=12).map(
    "".join
)


def _page(title: str, headings: list[str], paragraphs: list[str], charset: str) -> str:
    esc = html.escape
    body = "".join(
        (f"<h2>{esc(h)}</h2>" if h else "") + f"<p>{esc(p)}</p>"
        for h, p in zip(headings + [""] * len(paragraphs), paragraphs, strict=False)
    )
    return (
        f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>{esc(title)}</title>'
        f'<meta property="og:site_name" content="{esc(title, quote=True)}"></head>'
        f"<body><nav><a href='/'>Home</a></nav><article><h1>{esc(title)}</h1>{body}</article>"
        "<footer>© 2024 All rights reserved</footer></body></html>"
    )


pages = st.builds(
    _page,
    _page_text,
    st.lists(_page_text, max_size=3),
    st.lists(_page_text, max_size=6),
    st.sampled_from(["utf-8", "UTF-8", "latin-1", "windows-1251", "nonsense", "utf-16"]),
)


def _check_page(path: Path) -> None:
    try:
        article = read_html(path, path.name)
    except ArticleFormatError as exc:
        _one_line(exc)
        return
    assert article.text.strip()
    assert all(isinstance(getattr(article.source, f), str | None) for f in METADATA_FIELDS)
    spans = list(article.headings or ())
    assert all(0 <= s < e <= len(article.text) for s, e in spans)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    classify(article.text, article.headings)


@given(pages, st.booleans())
@hypothesis_settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_read_html_of_any_generated_page_plain_or_gzipped(
    workdir: Path, page: str, gzipped: bool
) -> None:
    data = page.encode("utf-8", "replace")
    name = "page.html.gz" if gzipped else "page.html"
    (workdir / name).write_bytes(gzip.compress(data) if gzipped else data)
    _check_page(workdir / name)


@given(st.binary(max_size=400), st.sampled_from(["junk.html", "junk.htm", "junk.html.gz"]))
@hypothesis_settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_read_html_of_any_bytes_is_an_article_or_one_line_error(
    workdir: Path, data: bytes, name: str
) -> None:
    (workdir / name).write_bytes(data)
    _check_page(workdir / name)


# ------------------------------------------------------------------------- cleaning

_INVISIBLE = frozenset(c for c in map(chr, range(0x3000 + 1)) if c.isspace()) | {
    "\u00a0",
    "\u200b",
    "\ufeff",
}


@given(messy, st.none() | st.lists(st.tuples(st.integers(-5, 400), st.integers(-5, 400))))
def test_classify_covers_every_visible_character_once(
    text: str, headings: list[tuple[int, int]] | None
) -> None:
    blocks = classify(text, headings)
    previous_end = 0
    for block in blocks:
        assert previous_end <= block.start < block.end <= len(text)
        piece = text[block.start : block.end]
        # Trimmed: a paragraph starts and ends with something visible.
        assert piece[0] not in _INVISIBLE and piece[-1] not in _INVISIBLE, repr(piece)
        previous_end = block.end
    covered = {i for b in blocks for i in range(b.start, b.end)}
    lost = [c for i, c in enumerate(text) if i not in covered]
    # Nothing is lost but white space: every visible character belongs to one paragraph.
    assert all(c in _INVISIBLE for c in lost), lost


# ------------------------------------------------------------------------- sentences


@pytest.fixture(scope="module")
def untrained() -> SentenceSplitter:
    return SentenceSplitter.untrained()


def _check_spans(spans: list[tuple[int, int]], length: int) -> None:
    assert all(0 <= s < e <= length for s, e in spans), spans
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans


@given(messy)
def test_sentence_spans_of_any_paragraph_are_ordered_slices(
    untrained: SentenceSplitter, paragraph: str
) -> None:
    spans = untrained.spans(paragraph)
    _check_spans(spans, len(paragraph))


@given(st.lists(messy, min_size=1, max_size=4), messy)
@hypothesis_settings(max_examples=50)
def test_a_splitter_trained_on_any_text_still_gives_ordered_slices(
    corpus: list[str], paragraph: str
) -> None:
    splitter = SentenceSplitter.train(corpus)
    _check_spans(splitter.spans(paragraph), len(paragraph))


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


@given(messy)
def test_every_sentence_of_any_article_is_a_slice_of_its_body_in_content(
    untrained: SentenceSplitter, tokenizer: Tokenizer, body: str
) -> None:
    (prepared,) = prepare_articles([RawArticle(Source("a.txt"), body)], untrained, tokenizer)
    assert not isinstance(prepared, Exception), prepared
    spans = [(s.start, s.end) for s in prepared.sentences]
    _check_spans(spans, len(body))
    content = [(b.start, b.end) for b in prepared.article.blocks if b.kind is BlockKind.CONTENT]
    for sentence, own in zip(prepared.sentences, prepared.own_terms, strict=True):
        assert any(s <= sentence.start and sentence.end <= e for s, e in content)
        # The article's words are the question's: one tokenizer for both.
        assert own == frozenset(tokenizer(body[sentence.start : sentence.end]))
    assert [s.position for s in prepared.sentences] == list(range(len(spans)))


# ------------------------------------------------------------------------- tokenizer


@given(messy)
def test_tokenizer_never_raises_and_is_deterministic(tokenizer: Tokenizer, text: str) -> None:
    terms = tokenizer(text)
    assert terms == tokenizer(text) == Tokenizer()(text)  # warm cache, cold cache alike
    assert all(isinstance(t, str) and t and not any(c.isspace() for c in t) for t in terms)


# ------------------------------------------------------------------------- questions


@given(messy | st.builds("what did {} say about {}?".format, messy, messy))
def test_parse_question_of_any_string_takes_its_parts_from_the_text(text: str) -> None:
    parsed = parse_question(text)
    assert parsed.text == " ".join(text.split())
    for part in (parsed.speaker, parsed.topic):
        assert part is None or (part.strip() and part in parsed.text)
    assert parsed.verb is None or parsed.verb == parsed.verb.lower()


@given(messy)
@example("“@everyone hey” 🤔")
def test_taking_the_chatter_out_is_done_once_and_never_adds(text: str) -> None:
    bare = without_chatter(text)
    assert without_chatter(bare) == bare
    assert len(bare) <= len(text)


_COURTESIES = {
    line.casefold()
    for name in ("greetings", "politeness", "acknowledgements", "addressees", "thanks")
    for line in entries(f"{name}.txt")
}
_name = st.from_regex(r"[A-Z][a-z]{2,8}( [A-Z][a-z]{2,8}){0,2}", fullmatch=True)
_topic = st.lists(st.from_regex(r"[a-z]{3,9}", fullmatch=True), min_size=1, max_size=4).filter(
    lambda words: not _COURTESIES & set(words)
)
_wrappers = st.sampled_from(["", '"{}"', "“{}”", "'{}'", "«{}»", "**{}**", "`{}`"])
_before = st.sampled_from(["", "hey ", "Hi, ", "hello bot, ", "ok ", "@everyone ", "<@!42> "])
_after = st.sampled_from(["", " thanks", ", please", " 🤔", " 👍🏽", " https://example.com/a"])


@given(_name, _topic, _wrappers, _before, _after)
def test_a_speech_question_in_any_chatter_parses_as_the_bare_one(
    name: str, topic: list[str], wrapper: str, before: str, after: str
) -> None:
    bare = f"what did {name} say about {' '.join(topic)}?"
    chatty = before + (wrapper.format(bare) if wrapper else bare) + after
    expected = parse_question(bare)
    parsed = parse_question(without_chatter(chatty))
    assert (parsed.speaker, parsed.topic) == (expected.speaker, expected.topic)


@pytest.fixture(scope="module")
def engine() -> Engine:
    articles = [
        RawArticle(Source("news/storm.txt", "Storm closes harbour", "Coast Courier"), NEWS),
        RawArticle(Source("sport/final.txt", "Rovers win the cup final"), SPORT),
    ]
    return Engine.from_articles(articles, make_settings(ingest_workers=1).core_options().engine)


_question_words = st.sampled_from(
    "what did who say said harbour Jane Doyle Silva Mayor Tom Reilly storm cup final Rovers "
    "United crews council Friday weather told reporters the about on Rovers’ “best day” ?".split()
)
questions = st.one_of(
    messy,
    st.lists(_question_words, max_size=14).map(" ".join),
    st.builds("what did {} say about {}?".format, messy, messy),
    st.text(_characters, min_size=290, max_size=320),
)


@given(questions, st.integers(1, 12), st.integers(0, 6))
@example("what did Jane Doyle say?", 3, 0)
@example("   ", 3, 0)
@example("x" * 301, 3, 0)
def test_ask_any_string_gives_a_reply_of_slices_or_a_one_line_user_error(
    engine: Engine, question: str, top_k: int, offset: int
) -> None:
    _check_ask(engine, question, top_k, offset)


def _check_ask(engine: Engine, question: str, top_k: int, offset: int) -> None:
    """A Reply whose quotes are slices of their articles, or a one-line ``UserError``."""
    try:
        reply = engine.ask(question, top_k, offset)
    except UserError as exc:
        _one_line(exc)
        return
    assert isinstance(reply, Reply)
    assert len(reply.answers) <= top_k
    assert reply.answers or reply.no_answer_reason
    # The reply repeats the question as asked and lists the terms of what was searched.
    assert reply.terms == tuple(engine.tokenizer(without_chatter(reply.question)))
    for answer in reply.answers:
        body = engine.table.text(answer.article)
        assert answer.quote == body[answer.start : answer.end]
        assert answer.source == engine.table.sources[answer.article]
    json.dumps(reply.to_json(), ensure_ascii=False)


_article_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), _any_text, st.sampled_from(NEWS.splitlines())),
    max_size=20,
).map("".join)


@given(st.lists(_article_text, max_size=4), st.lists(_question_words | _any_text, max_size=8))
@hypothesis_settings(max_examples=60)
def test_an_engine_over_any_articles_answers_any_question_with_slices(
    bodies: list[str], words: list[str]
) -> None:
    raw = [RawArticle(Source(f"{i}.txt"), body) for i, body in enumerate(bodies)]
    built = Engine.from_articles(raw, make_settings(ingest_workers=1).core_options().engine)
    # The question borrows the articles' own words, so some are answered.
    question = " ".join(words + [w for b in bodies for w in b.split()[:3]])[:290]
    _check_ask(built, question, 5, 0)
