"""read_html: saved pages in, article paragraphs and the page's own metadata out."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from pathlib import Path

import pytest

from bot.core.ingest.clean import classify
from bot.core.ingest.files import article_files, load_folder, read_article
from bot.core.ingest.html import declared_encoding, decode_html, read_html
from bot.core.ingest.raw import ArticleFormatError, LoadError
from bot.core.models import BlockKind

PARAGRAPHS = (
    "The city council voted on Tuesday to close the old harbour bridge to cars from March, "
    "after engineers found that two of its steel supports had corroded far faster than expected.",
    "Mayor Ines Kovac said the decision had not been easy, but that the inspection left the "
    "council no choice. \u201cWe cannot ask people to drive over a bridge we would not walk "
    "under,\u201d she told reporters outside the town hall.",
    "Cyclists and pedestrians will still be allowed to cross while repairs are planned. The "
    "council expects a full replacement to cost about 40 million euros and to take three years.",
    "Local shop owners on the harbour front worried that fewer visitors would come. Several of "
    "them asked the council for a temporary shuttle bus between the two banks of the river.",
)
NAVIGATION = ("Home", "World", "Business", "Sport", "Weather")
COOKIE = "We use cookies to improve your experience. Accept all cookies or manage cookie settings."
RELATED = (
    "Ferry timetable changes for the summer season",
    "New cycle lanes planned for the old town",
    "Harbour festival returns after two years",
)


def news_page(
    *,
    head: str = "",
    title: str | None = "Harbour bridge to close to cars",
    paragraphs: tuple[str, ...] = PARAGRAPHS,
    byline: str = '<p class="byline">By <span class="author">Jane Doe</span></p>',
    dated: bool = True,
) -> str:
    """A saved news page: navigation, cookie banner, article, related links, footer."""
    h1 = f"<h1>{title}</h1>" if title else ""
    time = '<time datetime="2024-03-05T09:30:00Z">5 March 2024</time>' if dated else ""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    nav = "".join(f'<li><a href="/{n.lower()}">{n}</a></li>' for n in NAVIGATION)
    related = "".join(f'<li><a href="/news/{i}">{r}</a></li>' for i, r in enumerate(RELATED))
    return f"""<!DOCTYPE html>
<html lang="en"><head>{head}</head>
<body>
<header><nav class="menu"><ul>{nav}</ul></nav></header>
<div id="cookie-banner" class="cookie-consent"><p>{COOKIE}</p>
<button>Accept</button></div>
<main><article>
{h1}
{byline}
{time}
{body}
</article>
<aside class="related"><h2>Related stories</h2><ul>{related}</ul></aside>
</main>
<footer><p>Contact us | Privacy policy | Terms of use</p></footer>
</body></html>"""


FULL_HEAD = """<meta charset="utf-8">
<title>Harbour bridge to close to cars | Riverside Gazette</title>
<meta property="og:title" content="Harbour bridge to close to cars">
<meta property="og:site_name" content="Riverside Gazette">
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2024-03-05T09:30:00Z">
<link rel="canonical" href="https://gazette.example.org/news/harbour-bridge">"""


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def content_paragraphs(text: str) -> list[str]:
    return [text[b.start : b.end] for b in classify(text) if b.kind is BlockKind.CONTENT]


@pytest.fixture
def article(tmp_path: Path):
    return read_html(write(tmp_path, "bridge.html", news_page(head=FULL_HEAD)), "bridge.html")


def test_text_holds_every_article_paragraph_as_its_own_block(article):
    blocks = article.text.split("\n\n")
    for paragraph in PARAGRAPHS:
        assert paragraph in blocks


def test_content_paragraphs_are_the_article_and_nothing_else(article):
    assert content_paragraphs(article.text) == list(PARAGRAPHS)


@pytest.mark.parametrize(
    "furniture", [*NAVIGATION, COOKIE, "Accept", *RELATED, "Privacy policy", "Jane Doe"]
)
def test_page_furniture_never_reaches_a_content_paragraph(article, furniture):
    assert not any(furniture in p for p in content_paragraphs(article.text))


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("id", "bridge.html"),
        ("title", "Harbour bridge to close to cars"),
        ("publisher", "Riverside Gazette"),
        ("url", "https://gazette.example.org/news/harbour-bridge"),
        ("published", "2024-03-05"),
        ("author", "Jane Doe"),
    ],
)
def test_source_fields_come_from_the_page_metadata(article, field, expected):
    assert getattr(article.source, field) == expected


def test_page_without_metadata_leaves_every_field_none(tmp_path):
    page = news_page(title=None, byline="", dated=False)
    source = read_html(write(tmp_path, "bare.html", page), "bare.html").source
    fields = (source.title, source.publisher, source.url, source.published, source.author)
    assert fields == (None,) * 5


IN_ARTICLE_FURNITURE = (
    "Sign up for our daily newsletter to get the latest news in your inbox.",
    "Read more: Ferry timetable changes for the summer season",
    "Share this article on Facebook",
)


def test_furniture_inside_the_article_reaches_clean_and_stops_there(tmp_path):
    paragraphs = (*PARAGRAPHS[:2], *IN_ARTICLE_FURNITURE, *PARAGRAPHS[2:])
    page = news_page(head=FULL_HEAD, paragraphs=paragraphs)
    text = read_html(write(tmp_path, "promo.html", page), "promo.html").text
    assert all(furniture in text.split("\n\n") for furniture in IN_ARTICLE_FURNITURE)
    assert content_paragraphs(text) == list(PARAGRAPHS)


def test_page_without_a_title_has_title_none_but_keeps_its_text(tmp_path):
    head = '<meta property="og:site_name" content="Riverside Gazette">'
    result = read_html(write(tmp_path, "t.html", news_page(head=head, title=None)), "t.html")
    assert result.source.title is None
    assert result.source.publisher == "Riverside Gazette"
    assert PARAGRAPHS[0] in result.text


def test_host_name_is_not_taken_for_a_publisher_the_page_never_names(tmp_path):
    head = '<link rel="canonical" href="https://www.quiet-news.example.com/a/1">'
    page = news_page(head=head, title=None, byline="")
    source = read_html(write(tmp_path, "p.html", page), "p.html").source
    assert source.url == "https://www.quiet-news.example.com/a/1"
    assert source.publisher is None


NON_UTF8 = [
    (
        "windows-1251",
        '<meta charset="windows-1251">',
        "Городской совет в четверг закрыл старый мост через гавань для автомобилей. "
        "Инженеры обнаружили, что две стальные опоры проржавели намного быстрее, чем ожидалось.",
    ),
    (
        "iso-8859-1",
        '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">',
        "Le conseil municipal a décidé de fermer le vieux pont du port aux voitures dès mars. "
        "Les ingénieurs ont constaté que deux piliers d'acier étaient très abîmés.",
    ),
    (
        "koi8-r",
        "<meta charset=koi8-r>",
        "Жители набережной попросили совет пустить временный автобус между двумя берегами реки, "
        "пока мост закрыт для машин и идёт ремонт опор.",
    ),
]


@pytest.mark.parametrize(("encoding", "declaration", "paragraph"), NON_UTF8)
def test_page_in_a_legacy_charset_decodes_by_its_meta_declaration(
    tmp_path, encoding, declaration, paragraph
):
    paragraphs = (paragraph, PARAGRAPHS[0], PARAGRAPHS[2])
    page = news_page(head=declaration, paragraphs=paragraphs).encode(encoding)
    with pytest.raises(UnicodeDecodeError):
        page.decode("utf-8")
    result = read_html(write(tmp_path, "legacy.html", page), "legacy.html")
    assert paragraph in result.text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\ufeff<meta charset=windows-1251>été".encode(), "<meta charset=windows-1251>été"),
        (b"<meta charset=utf-8>\xc3\xa9t\xc3\xa9", "<meta charset=utf-8>été"),
        (b"<p>\xc3\xa9t\xc3\xa9</p>", "<p>été</p>"),
        (b"<p>\xe9t\xe9 \x93quoted\x94</p>", "<p>été \u201cquoted\u201d</p>"),
        (b'<meta charset="latin1">caf\xe9 \x80', '<meta charset="latin1">café €'),
        (b"<meta charset=no-such-charset>caf\xc3\xa9", "<meta charset=no-such-charset>café"),
    ],
    ids=["bom-wins", "declared-utf8", "undeclared-utf8", "fallback", "latin1-is-1252", "unknown"],
)
def test_decoding_order_is_bom_then_declaration_then_utf8_then_fallback(raw, expected):
    assert decode_html(raw) == expected


def test_charset_declared_in_the_body_is_not_the_pages(tmp_path):
    raw = b"<html><head><title>x</title></head><body><pre>&lt;meta charset=koi8-r&gt;"
    assert declared_encoding(raw + b"<meta charset=koi8-r></pre></body>") is None


@pytest.mark.parametrize(
    "page",
    [
        "",
        "   \n  ",
        "<html><head><title>Nothing here</title></head><body></body></html>",
        "<html><body><nav><ul><li><a href='/'>Home</a></li></ul></nav></body></html>",
    ],
    ids=["empty-file", "blank-file", "empty-body", "navigation-only"],
)
def test_page_without_article_text_is_refused(tmp_path, page):
    with pytest.raises(ArticleFormatError, match=r"^no article text found in the page$"):
        read_html(write(tmp_path, "empty.html", page), "empty.html")


def test_broken_gzip_is_refused_with_a_reason(tmp_path):
    path = tmp_path / "broken.html.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(ArticleFormatError, match="gzip"):
        read_html(path, "broken.html.gz")


@pytest.mark.parametrize("name", ["page.html", "page.htm", "page.HTML", "page.html.gz"])
def test_every_saved_page_form_reads_the_same(tmp_path, name):
    result = read_html(write(tmp_path, name, news_page(head=FULL_HEAD)), name)
    assert content_paragraphs(result.text) == list(PARAGRAPHS)


def test_line_break_stays_inside_its_paragraph(tmp_path):
    wrapped = (
        "The inspection report, published on Monday, found that the supports<br>"
        "had lost almost a third of their thickness since the last survey in 2015."
    )
    page = news_page(paragraphs=(*PARAGRAPHS[:2], wrapped, *PARAGRAPHS[2:]))
    text = read_html(write(tmp_path, "br.html", page), "br.html").text
    joined = wrapped.replace("<br>", "\n")
    assert joined in text.split("\n\n")
    assert joined in content_paragraphs(text)


@pytest.mark.parametrize(
    ("sidecar", "expected"),
    [
        (
            "title: Bridge closure\npublished: 2024-03-06\n",
            {"title": "Bridge closure", "published": "2024-03-06", "author": "Jane Doe"},
        ),
        ("---\nauthor: null\npublisher: Gazette Archive\n---\n", {"author": None}),
        ("---\nauthor: null\npublisher: Gazette Archive\n---\n", {"publisher": "Gazette Archive"}),
        (
            "url: https://example.org/x\n",
            {"url": "https://example.org/x", "title": "Harbour bridge to close to cars"},
        ),
        ("", {"title": "Harbour bridge to close to cars", "author": "Jane Doe"}),
    ],
    ids=["sets-fields", "null-clears", "fenced-front-matter", "absent-key-keeps-page", "empty"],
)
def test_sidecar_fields_win_over_the_page_key_by_key(tmp_path, sidecar, expected):
    path = write(tmp_path, "page.html", news_page(head=FULL_HEAD))
    (tmp_path / "page.html.meta.yaml").write_text(sidecar, encoding="utf-8")
    source = read_html(path, "page.html").source
    assert {field: getattr(source, field) for field in expected} == expected


@pytest.mark.parametrize(
    ("sidecar", "reason"),
    [
        ("title: [unclosed\n", r"page\.html\.meta\.yaml is not valid YAML \(line 2\)"),
        ("- a list\n- of things\n", "must be 'key: value' lines"),
    ],
)
def test_bad_sidecar_is_reported_by_name(tmp_path, sidecar, reason):
    path = write(tmp_path, "page.html", news_page(head=FULL_HEAD))
    (tmp_path / "page.html.meta.yaml").write_text(sidecar, encoding="utf-8")
    with pytest.raises(ArticleFormatError, match=reason):
        read_html(path, "page.html")


def test_corpus_folder_reads_pages_beside_text_articles(tmp_path):
    write(tmp_path, "a.html", news_page(head=FULL_HEAD))
    write(tmp_path, "b.htm", news_page())
    write(tmp_path, "c.html.gz", news_page())
    (tmp_path / "a.html.meta.yaml").write_text("title: From the sidecar\n", encoding="utf-8")
    (tmp_path / "d.md").write_text("---\ntitle: Notes\n---\nA plain article.\n", encoding="utf-8")
    names = [p.name for p in article_files(tmp_path)]
    assert names == ["a.html", "b.htm", "c.html.gz", "d.md"]
    articles, errors = load_folder(tmp_path)
    assert errors == []
    assert [a.source.title for a in articles][:1] == ["From the sidecar"]
    assert read_article(tmp_path / "c.html.gz", "c").text == articles[2].text


def test_page_headings_are_passed_on_as_spans_of_the_text(tmp_path: Path):
    page = news_page(paragraphs=(PARAGRAPHS[0], "<h2>What happens next</h2>", PARAGRAPHS[1]))
    article = read_html(write(tmp_path, "bridge.html", page.replace("<p><h2>", "<h2>")), "b")
    assert article.headings is not None
    marked = [article.text[s:e] for s, e in article.headings]
    assert "What happens next" in marked
    assert not any(p in marked for p in PARAGRAPHS)


def test_a_short_table_row_stays_content_when_the_page_says_it_is_no_heading(tmp_path: Path):
    table = (
        "<h2>Crossings per day</h2>"
        "<table><tr><th>Mode</th><th>Before</th><th>After</th></tr>"
        "<tr><td>Cars</td><td>12,000</td><td>0</td></tr>"
        "<tr><td>Bicycles</td><td>3,000</td><td>3,500</td></tr></table>"
    )
    page = news_page(paragraphs=(*PARAGRAPHS[:2], table, *PARAGRAPHS[2:]))
    article = read_html(write(tmp_path, "bridge.html", page.replace(f"<p>{table}</p>", table)), "b")
    blocks = {
        article.text[b.start : b.end]: b.kind for b in classify(article.text, article.headings)
    }
    assert blocks["Crossings per day"] is BlockKind.HEADING
    assert blocks["Cars | 12,000 | 0"] is BlockKind.CONTENT
    assert blocks["Bicycles | 3,000 | 3,500"] is BlockKind.CONTENT
    assert content_paragraphs(article.text)[:2] == list(PARAGRAPHS[:2])


def gzip_bomb(path: Path, unpacked_mb: int) -> Path:
    """A .html.gz of a page followed by ``unpacked_mb`` MB of zeros (about 1 KB packed per MB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    zeros = bytes(1024 * 1024)
    with path.open("wb") as out:
        out.write(packer.compress(news_page().encode("utf-8")))
        for _ in range(unpacked_mb):
            out.write(packer.compress(zeros))
        out.write(packer.flush())
    return path


def test_a_gzip_bomb_is_refused_before_it_is_unpacked_whole(tmp_path):
    bomb = gzip_bomb(tmp_path / "bomb.html.gz", unpacked_mb=64)
    assert bomb.stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(ArticleFormatError) as refused:
            read_article(bomb, "bomb.html.gz", max_bytes=1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(refused.value) == "expands to more than 1 MB (max_article_bytes)"
    assert peak < 8 * 1024 * 1024  # the 64 MB it would unpack to never sit in memory


def test_a_gzip_bomb_beside_good_pages_leaves_them_loaded(tmp_path):
    gzip_bomb(tmp_path / "bomb.html.gz", unpacked_mb=4)
    write(tmp_path, "good.html.gz", news_page())
    articles, errors = load_folder(tmp_path, max_bytes=1024 * 1024)
    assert [a.source.id for a in articles] == ["good.html.gz"]
    assert errors == [LoadError("bomb.html.gz", "expands to more than 1 MB (max_article_bytes)")]
