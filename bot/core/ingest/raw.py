"""What reading one article file gives, and the rules every file reader shares.

A reader (``files`` for text, ``html`` for saved pages) turns a file into a
``RawArticle`` or refuses it with an ``ArticleFormatError`` whose message is the
one line a user is shown; the caller keeps that line as the file's ``LoadError``.
The size limit and the metadata fields live here, once, so a text file and a
saved page are held to the same rules.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from bot.core.models import Source

METADATA_FIELDS = ("title", "publisher", "url", "published", "author")
# The default of the ``max_article_bytes`` setting (see there for the choice).
MAX_ARTICLE_BYTES = 8 * 1024 * 1024
# The names the HTML reader (``html.read_html``) takes; here, so listing a folder does not
# import that reader.
HTML_SUFFIXES = (".html", ".htm", ".html.gz")


@dataclass(frozen=True, slots=True)
class RawArticle:
    """A file's metadata and body text, before cleaning.

    ``headings``: character spans of ``text`` that the file marks up as headings
    (an HTML page's ``<h1>``-``<h6>``), for ``clean.classify``; None when the
    format has no such markup (plain text), and headings are guessed from shape.
    """

    source: Source
    text: str
    headings: tuple[tuple[int, int], ...] | None = None


@dataclass(frozen=True, slots=True)
class LoadError:
    """A file that was skipped, and why, in words a user can act on."""

    path: str
    reason: str

    @property
    def shown_path(self) -> str:
        """``path`` as text to print or send: a name that is not UTF-8 shows "�" for its odd bytes.

        ``path`` itself keeps them (as lone surrogates): it is the file's key.
        """
        return self.path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class ArticleFormatError(ValueError):
    """The file is not an article this reader can take."""


def metadata_text(field: str, value: object) -> str | None:
    """A metadata value as the text shown: dates in ISO form, a list of names joined by commas.

    Anything else structured is refused: it is no title or author, and printing it could
    take exponential time and memory (YAML aliases nest a few lines into gigabytes).
    """
    if value is None:
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        value = ", ".join(str(item).strip() for item in value)
    elif isinstance(value, list | dict | set | bytes):
        kind = "list of lists" if isinstance(value, list) else type(value).__name__
        raise ArticleFormatError(f"metadata field {field!r} must be text, not a {kind}")
    text = str(value).strip()
    return text or None


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """A file's bytes, or ``ArticleFormatError`` when it is over ``max_bytes`` or unreadable.

    The size is checked before reading, and no more than ``max_bytes + 1`` bytes
    are read in any case, so a file that grows meanwhile cannot slip through.
    """
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            data = b"" if size > max_bytes else handle.read(max_bytes + 1)
    except OSError as exc:
        raise ArticleFormatError(f"cannot be read: {exc.strerror or exc}") from exc
    if size > max_bytes or len(data) > max_bytes:
        shown = size_text(max(size, len(data)))
        raise ArticleFormatError(
            f"is {shown}, over the {size_text(max_bytes)} limit (max_article_bytes)"
        )
    return data


def size_text(count: int) -> str:
    """A byte count as a person reads it: "512 bytes", "40 KB", "52.3 MB" (powers of 1024)."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count} bytes"
