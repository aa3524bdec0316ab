"""Reading saved web pages (``.html``, ``.htm``, ``.html.gz``) as articles, offline.

A saved page is mostly page furniture around one article. trafilatura finds the
article's main text and the page's metadata from the file alone: nothing is
fetched, so a corpus folder of saved pages loads the same way on any machine.

The extracted text keeps one paragraph per block of the page, separated by
blank lines, so ``clean.classify`` still sees (and filters) each paragraph.

Metadata comes from the page (``<meta>``, JSON-LD, canonical link, ``<time>``
elements, the title), unless a sidecar file says otherwise: ``NAME.meta.yaml``
beside ``NAME`` (``page.html`` → ``page.html.meta.yaml``) holding ``key: value``
lines for any of ``title``, ``publisher``, ``url``, ``published``, ``author``.
A key present in the sidecar wins, even when empty (``author: null`` clears a
wrong author found in the page); a key absent from it is taken from the page.
A field neither gives stays None: nothing is guessed from the URL or the text.
"""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import io
import logging
import re
import zlib
from html import unescape
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from bot.core.ingest import yamltext
from bot.core.ingest.raw import (
    MAX_ARTICLE_BYTES,
    METADATA_FIELDS,
    ArticleFormatError,
    RawArticle,
    metadata_text,
    read_bounded,
    size_text,
)
from bot.core.models import Source

if TYPE_CHECKING:
    from lxml.etree import _Element
    from trafilatura.settings import Document

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".meta.yaml"
# Sidecar keys a fetched page's sidecar also holds (where and when it was fetched, by
# bot.core.fetch.pages): not metadata shown with a quote, and no cause for a warning.
PROVENANCE_FIELDS = ("source_url", "final_url", "fetched", "feeds", "charset")
# How much of a .html.gz is unpacked at a time (so at most this much past the size limit).
_GUNZIP_PIECE = 1024 * 1024

# Extraction settings, measured on the article-extraction benchmark (bench/extraction.py,
# 181 news pages; figures are precision/recall of the CONTENT paragraphs): favor_precision
# because quoting page furniture is the worst answer the bot can give (0.964/0.899, against
# 0.955/0.904 for trafilatura's defaults); comments are not the article (keeping them costs
# 0.012 precision); tables stay, as leaving them out lost recall (0.892) and no precision.
EXTRACT_OPTIONS: dict[str, object] = {
    "favor_precision": True,
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "include_links": False,
    "include_formatting": False,
    "deduplicate": False,
}
# Only dates the page's markup states (meta tags, JSON-LD, <time>, the URL's path):
# htmldate's "extensive" search would take any date-like string from the text. A date
# after today is a mistake (``max_date``, set per call; trafilatura 2.0 requires it).
DATE_OPTIONS: dict[str, object] = {"extensive_search": False, "original_date": True}

# Where the page may declare its encoding: before </head>, within a generous prefix
# (real pages put <meta charset> after kilobytes of inline scripts and styles).
_PRESCAN_BYTES = 256 * 1024
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([\w.:+-]+)""", re.IGNORECASE | re.DOTALL
)
_HEAD_END = re.compile(rb"</head\s*>|<body[\s>]", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# WHATWG: these labels mean windows-1252 to every browser; a UTF-16 label in a page
# that was readable as ASCII to find the label cannot be true, so it means UTF-8.
_LABEL_ALIASES = {
    "iso-8859-1": "windows-1252",
    "iso8859-1": "windows-1252",
    "latin1": "windows-1252",
    "latin-1": "windows-1252",
    "l1": "windows-1252",
    "us-ascii": "windows-1252",
    "ascii": "windows-1252",
    "utf-16": "utf-8",
    "utf-16le": "utf-8",
    "utf-16be": "utf-8",
    "x-user-defined": "windows-1252",
}
# Unlabelled legacy pages: the web's de-facto default (undefined bytes become U+FFFD).
FALLBACK_ENCODING = "windows-1252"
# trafilatura's XML: elements that are paragraphs of their own (or hold them).
_BLOCK_TAGS = frozenset(
    {"p", "head", "item", "row", "quote", "list", "table", "code", "note", "div", "figure"}
)
_CELL_SEPARATOR = " | "
_BLOCK_SEPARATOR = "\n\n"
# trafilatura's last resorts for a site name (the URL's host) and a title (the first
# <h2>), and where a page does name itself: its <title> and its <meta content> values.
_URL_HOST = re.compile(r"https?://(?:www\.|w[0-9]+\.)?([^/]+)")
_H1 = re.compile(r"<h1\b", re.IGNORECASE)
_H2 = re.compile(r"<h2\b[^>]*>(.*?)</h2\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_HEAD_TEXT_END = re.compile(r"</head\s*>|<body[\s>]", re.IGNORECASE)
_STATED = re.compile(
    r"""<title[^>]*>([^<]*)</title>|<meta\b[^>]*\bcontent\s*=\s*["']([^"']*)["']""",
    re.IGNORECASE,
)


def sidecar_path(path: Path) -> Path:
    """Name the metadata sidecar of a page: ``page.html`` → ``page.html.meta.yaml``."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def read_html(path: Path, source_id: str, max_bytes: int = MAX_ARTICLE_BYTES) -> RawArticle:
    """Read one saved page; raise ``ArticleFormatError`` with a one-line reason when it cannot.

    The text is the page's main text, one paragraph per block, blank lines between;
    the page's own headings are passed on, so ``clean`` need not guess them. A page
    over ``max_bytes``, as saved or once unpacked, is refused.
    """
    raw = _read_bytes(path, max_bytes)
    sidecar = sidecar_data(sidecar_path(path))
    # A fetched page whose charset came only in the HTTP header is read in it, as it
    # was when fetched: the sidecar keeps that header's charset beside the raw page.
    charset = sidecar.get("charset")
    html = decode_html(raw, charset if isinstance(charset, str) else None)
    document = extract(html)
    text, headings = document_layout(document)
    if not text:
        raise ArticleFormatError("no article text found in the page")
    fields = page_metadata(document, html)
    fields.update(sidecar_metadata(sidecar))
    return RawArticle(Source(id=source_id, **fields), text, headings)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    raw = read_bounded(path, max_bytes)
    if not path.name.lower().endswith(".gz"):
        return raw
    return gunzip_bounded(raw, max_bytes)


def gunzip_bounded(packed: bytes, max_bytes: int) -> bytes:
    """Unpack gzip data, stopping as soon as it comes to more than ``max_bytes``.

    A few megabytes of gzip can unpack to gigabytes (a "gzip bomb"): the data is
    unpacked a piece at a time, never more than ``max_bytes`` and one piece of it.
    """
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(packed)) as stream:
            pieces, total = [], 0
            while total <= max_bytes:
                piece = stream.read(_GUNZIP_PIECE)
                if not piece:
                    break
                pieces.append(piece)
                total += len(piece)
    except (OSError, EOFError, zlib.error) as exc:
        raise ArticleFormatError(f"not a readable gzip file ({exc})") from exc
    if total > max_bytes:
        raise ArticleFormatError(f"expands to more than {size_text(max_bytes)} (max_article_bytes)")
    return b"".join(pieces)


def decode_html(raw: bytes, transport: str | None = None) -> str:
    """Decode a page as a browser would: a BOM, the header's charset, the page's, then UTF-8.

    ``transport`` is the charset of the HTTP Content-Type header a fetched page came
    with (kept in its sidecar), which outranks the page's own. So the page reads as
    its author saw it, whatever the machine's locale. Bytes that are none of those
    are read as windows-1252, which cannot fail.
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom) :].decode(encoding, errors="replace")
    declared = _codec(transport) if transport else None
    declared = declared or declared_encoding(raw)
    if declared is not None:
        try:
            return raw.decode(declared)
        except UnicodeDecodeError:
            log.debug("page declares %s but is not; trying UTF-8", declared)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode(FALLBACK_ENCODING, errors="replace")


def declared_encoding(raw: bytes) -> str | None:
    """Find the charset a page declares in its ``<head>``, as a Python codec name."""
    prefix = raw[:_PRESCAN_BYTES]
    head_end = _HEAD_END.search(prefix)
    if head_end is not None:
        prefix = prefix[: head_end.start()]
    for match in _META_CHARSET.finditer(prefix):
        codec = _codec(match.group(1).decode("ascii", errors="replace"))
        if codec is not None:
            return codec
    return None


def _codec(label: str) -> str | None:
    """A charset label (as HTML and HTTP name them) as a Python codec name; None if unknown."""
    label = label.strip().lower()
    label = _LABEL_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        log.debug("unknown charset %r declared", label)
        return None


def extract(html: str) -> Document:
    """Run trafilatura on a page: main text and metadata, or an empty document.

    trafilatura is imported here, at the first page read, not with this module: it
    takes most of a second, and a corpus of text files never needs it.
    """
    import trafilatura
    from trafilatura.settings import Document

    # lxml refuses a str that still declares its bytes' encoding, and trafilatura then
    # re-parses it as UTF-8 bytes under that declaration: drop it, the text is decoded.
    html = _XML_DECLARATION.sub("", html, count=1)
    if not html.strip():
        return Document()
    document = trafilatura.bare_extraction(
        html,
        with_metadata=True,
        date_extraction_params={**DATE_OPTIONS, "max_date": dt.date.today().isoformat()},
        **EXTRACT_OPTIONS,  # type: ignore[arg-type]
    )
    return document if isinstance(document, Document) else Document()


def document_layout(document: Document) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Lay out the main text as ``clean`` reads it: one block per paragraph, blank lines between.

    Also returns the character spans of the blocks that were the page's headings
    (trafilatura's ``<head>``), as a short line alone cannot tell a heading from
    a table row or a list item.

    Built from trafilatura's XML rather than its plain text, which puts a ``<br>``
    and a paragraph end alike on a new line: here a ``<br>`` stays a single line
    break inside its paragraph, so ``clean`` can rejoin a sentence that a page
    hard-wrapped. List items and table rows are paragraphs of their own (list
    markers are not page text, so none are added); table cells are joined by " | ".
    """
    if document.body is None:
        return "", ()
    paragraphs: list[list[str]] = [[]]
    heading_paragraphs: set[int] = set()
    _render(document.body, paragraphs, heading_paragraphs, in_cell=False)
    blocks: list[str] = []
    headings: list[tuple[int, int]] = []
    end = 0
    for index, parts in enumerate(paragraphs):
        block = "\n".join(_lines("".join(parts)))
        if not block:
            continue
        start = end + len(_BLOCK_SEPARATOR) if blocks else 0
        end = start + len(block)
        if index in heading_paragraphs:
            headings.append((start, end))
        blocks.append(block)
    return _BLOCK_SEPARATOR.join(blocks), tuple(headings)


def _render(
    element: _Element, paragraphs: list[list[str]], headings: set[int], *, in_cell: bool
) -> None:
    """Append ``element``'s text to the last paragraph, opening new ones at block edges.

    The indices of the paragraphs a ``<head>`` element fills are added to ``headings``.
    """
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag == "graphic":
        return
    block = tag in _BLOCK_TAGS and not in_cell
    if block and paragraphs[-1]:
        paragraphs.append([])
    first = len(paragraphs) - 1
    if tag == "cell":
        if element.getprevious() is not None:
            paragraphs[-1].append(_CELL_SEPARATOR)
        in_cell = True
    if tag == "lb":
        paragraphs[-1].append(" " if in_cell else "\n")
    elif element.text:
        paragraphs[-1].append(element.text)
    for child in element:
        _render(child, paragraphs, headings, in_cell=in_cell)
        if child.tail:
            paragraphs[-1].append(child.tail)
    if block and tag == "head":
        headings.update(range(first, len(paragraphs)))
    if block and paragraphs[-1]:
        paragraphs.append([])


def _lines(text: str) -> list[str]:
    """The non-empty lines of a paragraph, white space collapsed as a browser shows it."""
    return [line for line in (" ".join(raw.split()) for raw in text.split("\n")) if line]


def page_metadata(document: Document, html: str) -> dict[str, str | None]:
    """Take the Source fields the page states; a field the page does not state is None."""
    url = _clean(document.url)
    return {
        "title": _title(_clean(document.title), html),
        "publisher": _publisher(_clean(document.sitename), url, html),
        "url": url,
        "published": _clean(document.date),
        "author": _clean(document.author),
    }


def _title(title: str | None, html: str) -> str | None:
    """Keep the title unless it is only the page's first ``<h2>`` (trafilatura's last resort).

    On a page with no ``<title>``, ``<h1>`` or title metadata, the first ``<h2>`` is
    as likely a sidebar's "Related stories" as the article's title.
    """
    if title is None or _H1.search(html) or _stated_in_head(html, title):
        return title
    first_h2 = _H2.search(html)
    if first_h2 is not None and _clean(unescape(_TAG.sub(" ", first_h2.group(1)))) == title:
        return None
    return title


def _publisher(sitename: str | None, url: str | None, html: str) -> str | None:
    """Keep the site name unless it is only the URL's host, which the page never names.

    With no site name in the page, trafilatura falls back to the URL's host name: a
    guess, not a publisher. A host that the page's ``<title>`` or a ``<meta>`` value
    names (``og:site_name`` = "livescience.com") is the page's own word and is kept.
    """
    if sitename is None or url is None:
        return sitename
    host = _URL_HOST.match(url)
    if host is None or host.group(1) != sitename:
        return sitename
    return sitename if _stated_in_head(html, sitename) else None


def _stated_in_head(html: str, value: str) -> bool:
    """Whether the page's ``<title>`` or a ``<meta content>`` in its head contains ``value``."""
    end = _HEAD_TEXT_END.search(html)
    head = html if end is None else html[: end.start()]
    wanted = value.lower()
    return any(
        wanted in unescape(match.group(1) or match.group(2)).lower()
        for match in _STATED.finditer(head)
    )


def sidecar_metadata(data: dict[str, object]) -> dict[str, str | None]:
    """The article fields a sidecar's mapping sets (present keys only)."""
    return {key: _clean(metadata_text(key, data[key])) for key in METADATA_FIELDS if key in data}


def sidecar_data(path: Path) -> dict[str, object]:
    """A ``NAME.meta.yaml`` sidecar's mapping, unknown keys warned of; {} without one."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ArticleFormatError(f"metadata file {path.name} cannot be read ({exc})") from exc
    try:
        # ``---`` fences (front-matter style) are YAML document markers: allowed, not needed.
        documents = [doc for doc in yamltext.load_all(raw) if doc is not None]
    except yaml.YAMLError as exc:
        raise ArticleFormatError(f"metadata file {path.name} {yamltext.problem(exc)}") from exc
    if not documents:
        return {}
    data = documents[0]
    if len(documents) > 1 or not isinstance(data, dict):
        raise ArticleFormatError(f"metadata file {path.name} must be 'key: value' lines")
    unknown = sorted(
        str(key) for key in data if key not in METADATA_FIELDS and key not in PROVENANCE_FIELDS
    )
    if unknown:
        log.warning("%s: ignored unknown keys %s", path.name, ", ".join(unknown))
    return data


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    return text or None
