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
import logging
import re
import zlib
from pathlib import Path

import trafilatura
import yaml
from trafilatura.settings import Document

from bot.core.corpus import HTML_SUFFIXES, METADATA_FIELDS, ArticleFormatError, RawArticle
from bot.core.models import Source

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".meta.yaml"

# Extraction settings, chosen on the article-extraction benchmark (bench/extraction.py):
# comments are never article text; tables hold data worth quoting as often as layout
# furniture, and leaving them in measured better than out; favour_precision because a
# quote of page furniture is the worst answer the bot can give.
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
# htmldate's "extensive" search would take any date-like string from the text.
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
# The bare host trafilatura uses as a site name when the page names none.
_URL_HOST = re.compile(r"https?://(?:www\.|w[0-9]+\.)?([^/]+)")


def is_html_file(path: Path) -> bool:
    """Whether ``path`` names a saved web page this module reads (by its suffix)."""
    return path.name.lower().endswith(HTML_SUFFIXES)


def sidecar_path(path: Path) -> Path:
    """Name the metadata sidecar of a page: ``page.html`` → ``page.html.meta.yaml``."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def read_html(path: Path, source_id: str) -> RawArticle:
    """Read one saved page; raise ``ArticleFormatError`` with a one-line reason when it cannot.

    The text is the page's main text, one paragraph per block, blank lines between.
    """
    raw = _read_bytes(path)
    html = decode_html(raw)
    document = extract(html)
    text = document_text(document)
    if not text:
        raise ArticleFormatError("no article text found in the page")
    fields = page_metadata(document)
    fields.update(read_sidecar(sidecar_path(path)))
    return RawArticle(Source(id=source_id, **fields), text)


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ArticleFormatError(f"cannot be read: {exc.strerror or exc}") from exc
    if not path.name.lower().endswith(".gz"):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ArticleFormatError(f"not a readable gzip file ({exc})") from exc


def decode_html(raw: bytes) -> str:
    """Decode a page as a browser would: a byte-order mark, the page's charset, then UTF-8.

    Browsers decide the same way, so the page reads as its author saw it. A page
    that is none of those is read as windows-1252, which never fails.
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom) :].decode(encoding, errors="replace")
    declared = declared_encoding(raw)
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
        label = match.group(1).decode("ascii", errors="replace").strip().lower()
        label = _LABEL_ALIASES.get(label, label)
        try:
            return codecs.lookup(label).name
        except LookupError:
            log.debug("unknown charset %r declared in page", label)
    return None


def extract(html: str) -> Document:
    """Run trafilatura on a page: main text and metadata, or an empty document."""
    # lxml refuses a str that still declares its bytes' encoding, and trafilatura then
    # re-parses it as UTF-8 bytes under that declaration: drop it, the text is decoded.
    html = _XML_DECLARATION.sub("", html, count=1)
    if not html.strip():
        return Document()
    document = trafilatura.bare_extraction(
        html,
        with_metadata=True,
        date_extraction_params=DATE_OPTIONS,
        **EXTRACT_OPTIONS,  # type: ignore[arg-type]
    )
    return document if isinstance(document, Document) else Document()


def document_text(document: Document) -> str:
    """Lay out the main text as ``clean`` reads it: one block per paragraph, blank lines between.

    trafilatura writes one block of the page per line (a ``<br>`` also starts a line,
    and clean would split there too), so every non-empty line becomes a paragraph.
    """
    lines = (line.strip() for line in (document.text or "").splitlines())
    return "\n\n".join(line for line in lines if line)


def page_metadata(document: Document) -> dict[str, str | None]:
    """Take the Source fields the page states; a field the page does not state is None."""
    url = _clean(document.url)
    return {
        "title": _clean(document.title),
        "publisher": _publisher(_clean(document.sitename), url),
        "url": url,
        "published": _clean(document.date),
        "author": _clean(document.author),
    }


def _publisher(sitename: str | None, url: str | None) -> str | None:
    """Keep the site name unless it is only the URL's host name (trafilatura's last resort)."""
    if sitename is None or url is None:
        return sitename
    host = _URL_HOST.match(url)
    return None if host is not None and host.group(1) == sitename else sitename


def read_sidecar(path: Path) -> dict[str, str | None]:
    """Read the fields a ``NAME.meta.yaml`` sidecar sets (present keys only); {} without one."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ArticleFormatError(f"metadata file {path.name} cannot be read ({exc})") from exc
    try:
        data = yaml.safe_load(_strip_fences(raw))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ArticleFormatError(f"metadata file {path.name} is not valid YAML{where}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ArticleFormatError(f"metadata file {path.name} must be 'key: value' lines")
    unknown = sorted(str(key) for key in data if key not in METADATA_FIELDS)
    if unknown:
        log.warning("%s: ignored unknown keys %s", path.name, ", ".join(unknown))
    return {key: _as_text(data[key]) for key in METADATA_FIELDS if key in data}


def _strip_fences(raw: str) -> str:
    """Allow the sidecar to be written as front matter: ``---`` lines around the keys."""
    lines = raw.splitlines()
    while lines and lines[0].strip() in ("---", ""):
        lines.pop(0)
    while lines and lines[-1].strip() in ("---", "...", ""):
        lines.pop()
    return "\n".join(lines)


def _as_text(value: object) -> str | None:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return _clean(None if value is None else str(value))


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    return text or None
