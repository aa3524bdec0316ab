"""Reading a folder of articles: front matter for metadata, the rest as the body.

A file that cannot be read is reported and skipped, so one bad file never takes
the whole corpus down with it.
"""

from __future__ import annotations

import logging
import os
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import yaml

from bot.core.errors import CorpusError
from bot.core.ingest import stamp_lister, yamltext
from bot.core.ingest.raw import (
    HTML_SUFFIXES,
    MAX_ARTICLE_BYTES,
    METADATA_FIELDS,
    ArticleFormatError,
    LoadError,
    RawArticle,
    metadata_text,
    read_bounded,
)
from bot.core.models import Source

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".txt", ".md")
SCANNED_SUFFIXES = ARTICLE_SUFFIXES + HTML_SUFFIXES  # what ``is_article_name`` takes
_FENCE = "---"


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


def read_article(path: Path, source_id: str, max_bytes: int = MAX_ARTICLE_BYTES) -> RawArticle:
    """Read one file; raise ``ArticleFormatError`` with a one-line reason when it cannot.

    A file over ``max_bytes`` is refused before it is read. The corpus is what lies in
    its folder: a link to a file outside it is not read (``passwd.txt -> /etc/passwd``
    would otherwise be quoted to anyone who asks).
    """
    if not source_id.isascii() and not _utf8_name(source_id):
        # A name in another encoding (Latin-1 from an old archive) cannot be an id: ids are
        # saved, printed and sent to Discord as UTF-8.
        raise ArticleFormatError("file name is not UTF-8: rename the file to read it")
    root = Path(*path.parts[: len(path.parts) - len(source_id.split("/"))])
    if links_outside(path, root):
        raise ArticleFormatError("is a link to a file outside the corpus folder")
    if path.name.lower().endswith(HTML_SUFFIXES):
        from bot.core.ingest.html import read_html  # pages only: a folder of text never needs it

        return read_html(path, source_id, max_bytes)
    try:
        raw = read_bounded(path, max_bytes).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArticleFormatError(f"not UTF-8 text (byte {exc.start})") from exc
    meta, body = split_front_matter(raw)
    if not body.strip():
        raise ArticleFormatError("has no article text")
    return RawArticle(Source(id=source_id, **meta), body)


def _utf8_name(source_id: str) -> bool:
    """Whether ``source_id`` is text, not bytes a file system kept as lone surrogates."""
    try:
        source_id.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
    return name.lower().endswith(SCANNED_SUFFIXES)


class FileStamp(NamedTuple):
    """What the file system says of a file without reading it; any write changes it.

    ``ctime`` cannot be set back by a program (``touch -r``, ``cp -p`` and rsync
    restore only the modification time) and a replaced file gets a new inode.
    """

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @classmethod
    def of(cls, info: os.stat_result) -> FileStamp:
        """The stamp in a ``stat`` result."""
        return cls(*stamp_lister.row_of(info))


def scan_folder(root: Path) -> dict[str, FileStamp]:
    """Article id (path under ``root``, ``/``-separated) -> stamp, in id order.

    Hidden files and folders are ignored; links to folders are not followed (no loops).
    One ``scandir`` per folder: tens of thousands of files take a fraction of a second.
    The walk is ``stamp_lister.walk``, which a child process may run instead.
    """
    return {key: FileStamp(*row) for key, row in stamp_lister.walk(str(root), SCANNED_SUFFIXES)}


def stamps_of(ids: list[str], raw: bytes) -> dict[str, FileStamp]:
    """``scan_folder``'s answer from a listing's ids and raw stamps (``stamp_lister``)."""
    numbers = array("q", raw).tolist()
    rows = zip(*[iter(numbers)] * 4, strict=True)
    return {key: FileStamp(*row) for key, row in zip(ids, rows, strict=True)}


def article_files(root: Path) -> Iterator[Path]:
    """Article files under ``root`` in id order; hidden files and folders are ignored."""
    for source_id in scan_folder(root):
        yield root / source_id


def read_one(
    folder: Path,
    source_id: str,
    max_bytes: int = MAX_ARTICLE_BYTES,
    reported: LoadError | None = None,
) -> RawArticle | LoadError:
    """Read one article file; whatever goes wrong is that file's ``LoadError``, never the load's.

    Each failure is one warning line for the operator, unless it is ``reported``, the
    very failure already told for this file: a watcher seeing a broken file again stays
    quiet.
    """
    item = read_quietly(folder, source_id, max_bytes)
    if isinstance(item, LoadError) and item != reported:
        tell(item)
    return item


def read_quietly(
    folder: Path, source_id: str, max_bytes: int = MAX_ARTICLE_BYTES
) -> RawArticle | LoadError:
    """``read_one`` without the warning line (a worker process reads; its parent tells).

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


def tell(error: LoadError) -> None:
    """The one warning line for a file that could not be read."""
    log.warning("skipped %s: %s", error.path, error.reason, extra={"file": error.path})


def read_files(
    folder: Path, ids: Iterable[str], max_bytes: int = MAX_ARTICLE_BYTES
) -> tuple[list[RawArticle], list[LoadError]]:
    """Read the named article files: the readable ones, and a ``LoadError`` for each other."""
    articles: list[RawArticle] = []
    errors: list[LoadError] = []
    for source_id in ids:
        item = read_one(folder, source_id, max_bytes)
        if isinstance(item, LoadError):
            errors.append(item)
        else:
            articles.append(item)
    return articles, errors


def load_folder(
    root: Path, max_bytes: int = MAX_ARTICLE_BYTES
) -> tuple[list[RawArticle], list[LoadError]]:
    """Every readable article under ``root``, and a ``LoadError`` for each that was skipped."""
    return read_files(root, scan_folder(require_folder(root)), max_bytes)
