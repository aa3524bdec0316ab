"""Reading a folder of articles: front matter for metadata, the rest as the body.

A file that cannot be read is reported and skipped, so one bad file never takes
the whole corpus down with it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import yaml

from bot.core.errors import CorpusError
from bot.core.ingest import yamltext
from bot.core.models import Source

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm", ".html.gz")
METADATA_FIELDS = ("title", "publisher", "url", "published", "author")
_FENCE = "---"
# The default of the ``max_article_bytes`` setting (see there for the choice).
MAX_ARTICLE_BYTES = 8 * 1024 * 1024


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


class ArticleFormatError(ValueError):
    """The file is not an article this reader can take."""


def split_front_matter(raw: str) -> tuple[dict[str, str | None], str]:
    """Separate a leading ``---`` YAML block from the body; the body is returned untouched."""
    text = raw.removeprefix("\ufeff")
    first_line, sep, rest = text.partition("\n")
    if first_line.rstrip() != _FENCE or not sep:
        return {}, text
    offset = len(first_line) + 1
    for line in rest.splitlines(keepends=True):
        if line.rstrip("\r\n") in (_FENCE, "..."):
            header = text[len(first_line) + 1 : offset]
            body = text[offset + len(line) :]
            return _parse_header(header), body
        offset += len(line)
    raise ArticleFormatError("front matter opened with '---' is never closed")


def _parse_header(header: str) -> dict[str, str | None]:
    try:
        data = yamltext.load(header)
    except yaml.YAMLError as exc:
        raise ArticleFormatError(f"front matter {yamltext.problem(exc, 2)}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ArticleFormatError("front matter must be 'key: value' lines")
    return {key: metadata_text(key, data.get(key)) for key in METADATA_FIELDS}


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


def read_article(path: Path, source_id: str, max_bytes: int = MAX_ARTICLE_BYTES) -> RawArticle:
    """Read one file; raise ``ArticleFormatError`` with a one-line reason when it cannot.

    A file over ``max_bytes`` is refused before it is read. The corpus is what lies in
    its folder: a link to a file outside it is not read (``passwd.txt -> /etc/passwd``
    would otherwise be quoted to anyone who asks).
    """
    root = Path(*path.parts[: len(path.parts) - len(source_id.split("/"))])
    if links_outside(path, root):
        raise ArticleFormatError("is a link to a file outside the corpus folder")
    if path.name.lower().endswith(HTML_SUFFIXES):
        from bot.core.ingest.html import (
            read_html,  # deferred: bot.core.ingest.html imports this module
        )

        return read_html(path, source_id, max_bytes)
    try:
        raw = read_bounded(path, max_bytes).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArticleFormatError(f"not UTF-8 text (byte {exc.start})") from exc
    meta, body = split_front_matter(raw)
    if not body.strip():
        raise ArticleFormatError("has no article text")
    return RawArticle(Source(id=source_id, **meta), body)


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


class MissingFolderError(CorpusError, FileNotFoundError):
    """The corpus folder is not there: a user error, and a file-not-found all the same."""


def require_folder(folder: Path) -> Path:
    """``folder`` itself, or a ``MissingFolderError`` naming it when it is not a folder."""
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.is_file() else "does not exist"
        if folder.exists() and not folder.is_file():
            what = "is not a folder"
        raise MissingFolderError(f"corpus folder {str(folder)!r} {what}")
    return folder


def links_outside(path: Path, root: Path) -> bool:
    """Whether ``path`` is a link whose target is not a file inside ``root`` (links followed)."""
    if not path.is_symlink():
        return False
    try:
        path.resolve(strict=True).relative_to(root.resolve())
    except (OSError, RuntimeError, ValueError):  # broken, a loop, or outside
        return True
    return False


def is_article_file(path: Path) -> bool:
    """Whether the name marks an article this reader takes (.txt, .md or a saved page)."""
    return is_article_name(path.name)


def is_article_name(name: str) -> bool:
    """``is_article_file`` for a bare file name (a folder scan has names, not paths)."""
    return name.lower().endswith(ARTICLE_SUFFIXES + HTML_SUFFIXES)


class FileStamp(NamedTuple):
    """What the file system says of a file without reading it; any write changes it.

    ``ctime`` cannot be set back by a program (``touch -r``, ``cp -p`` and rsync
    restore only the modification time) and a replaced file gets a new inode.
    """

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int


def scan_folder(root: Path) -> dict[str, FileStamp]:
    """Article id (path under ``root``, ``/``-separated) -> stamp, in id order.

    Hidden files and folders are ignored; links to folders are not followed (no loops).
    One ``scandir`` per folder: tens of thousands of files take a fraction of a second.
    """
    found: dict[str, FileStamp] = {}
    pending = [("", str(root))]
    while pending:
        prefix, directory = pending.pop()
        try:
            entries = os.scandir(directory)
        except OSError:
            continue  # removed or unreadable while scanning
        with entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append((f"{prefix}{entry.name}/", entry.path))
                    elif is_article_name(entry.name):
                        info = entry.stat()
                        if entry.is_file():
                            found[prefix + entry.name] = FileStamp(
                                info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino
                            )
                except OSError:
                    continue  # deleted between listing and stat
    return dict(sorted(found.items()))


def article_files(root: Path) -> Iterator[Path]:
    """Article files under ``root`` in id order; hidden files and folders are ignored."""
    for source_id in scan_folder(root):
        yield root / source_id


def read_one(
    folder: Path, source_id: str, max_bytes: int = MAX_ARTICLE_BYTES
) -> RawArticle | LoadError:
    """Read one article file; whatever goes wrong is that file's ``LoadError``, never the load's.

    A failure the reader did not foresee (a bug, an odd file) is reported with its type, so
    one file can never take a build, a start-up or the folder watcher down with it.
    """
    try:
        return read_article(folder / source_id, source_id, max_bytes)
    except ArticleFormatError as exc:
        return LoadError(source_id, str(exc))
    except Exception as exc:
        log.debug("reading %s failed", source_id, exc_info=True)
        first = (str(exc).splitlines() or [""])[0][:200]
        return LoadError(source_id, f"could not be read ({type(exc).__name__}: {first})")


def read_files(
    folder: Path, ids: Iterable[str], max_bytes: int = MAX_ARTICLE_BYTES
) -> tuple[list[RawArticle], list[LoadError]]:
    """Read the named article files; each unreadable one is a warning line and a ``LoadError``."""
    articles: list[RawArticle] = []
    errors: list[LoadError] = []
    for source_id in ids:
        item = read_one(folder, source_id, max_bytes)
        if isinstance(item, LoadError):
            log.warning("skipped %s: %s", source_id, item.reason, extra={"file": source_id})
            errors.append(item)
        else:
            articles.append(item)
    return articles, errors


def load_folder(
    root: Path, max_bytes: int = MAX_ARTICLE_BYTES
) -> tuple[list[RawArticle], list[LoadError]]:
    """Every readable article under ``root``, and a ``LoadError`` for each that was skipped."""
    return read_files(root, scan_folder(require_folder(root)), max_bytes)
