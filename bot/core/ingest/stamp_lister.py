"""The corpus folder's article files and their stamps, listed by a child process.

Checking that every file is unchanged since the saved index means a ``stat`` of
each: 50,000 files take a few tenths of a second, as long as loading the index. A
one-shot command starts this listing first, in a child process on the other core,
and collects it once the index is loaded, so the two overlap instead of adding up.

This module is run as a script by that child (``python -I -S <this file>``): it
imports nothing but the standard library, so the child starts in milliseconds.
``walk`` is also what ``files.scan_folder`` runs in process: one rule for which
files are articles, whoever lists them. When no child can be started (no
``sys.executable``, a process limit) or it fails, the caller lists in process.

The child writes the file count (8 bytes), the stamps (4 signed 64-bit numbers per
file: size, mtime_ns, ctime_ns, inode, native order) and the ids, NUL-separated,
in id order.
"""

from __future__ import annotations

import os
import subprocess
import sys
from array import array
from collections.abc import Callable, Iterable
from pathlib import Path

Row = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode: ``files.FileStamp``'s fields
Collect = Callable[[], tuple[list[str], bytes]]
# The names of article files (``files.SCANNED_SUFFIXES``, which a test holds equal): here too,
# so the command line can start a listing before it imports the readers.
ARTICLE_NAMES = (".txt", ".md", ".html", ".htm", ".html.gz")

_early: dict[tuple[str, tuple[str, ...]], Collect] = {}  # started by ``start_early``


def walk(root: str, suffixes: tuple[str, ...]) -> list[tuple[str, Row]]:
    """(id, stamp) of every article file under ``root``, in id order.

    An id is the path under ``root``, ``/``-separated. Hidden files and folders are
    ignored; links to folders are not followed (no loops); a file removed while it is
    listed is left out. One ``scandir`` per folder.
    """
    found: list[tuple[str, Row]] = []
    pending = [("", root)]
    while pending:
        prefix, directory = pending.pop()
        try:
            entries = os.scandir(directory)
        except OSError:
            continue  # removed or unreadable while scanning
        with entries:
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append((f"{prefix}{name}/", entry.path))
                    elif name.lower().endswith(suffixes):
                        info = entry.stat()
                        if entry.is_file():
                            found.append((prefix + name, row_of(info)))
                except OSError:
                    continue  # deleted between listing and stat
    found.sort()
    return found


def row_of(info: os.stat_result) -> Row:
    """The stamp in a ``stat`` result (``files.FileStamp.of`` is this too)."""
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def encode(found: Iterable[tuple[str, Row]]) -> bytes:
    """``walk``'s result as the child sends it (see the module docs)."""
    ids: list[str] = []
    numbers = array("q")
    for source_id, row in found:
        ids.append(source_id)
        numbers.extend(row)
    count = array("q", [len(ids)])
    names = "\0".join(ids).encode("utf-8", "surrogateescape")
    return count.tobytes() + numbers.tobytes() + names


def decode(blob: bytes) -> tuple[list[str], bytes]:
    """The ids and the raw stamps (``4 * 8`` bytes per id) of ``encode``'s bytes.

    ValueError when the bytes are not a whole listing (a child cut short).
    """
    width = array("q").itemsize
    if len(blob) < width:
        raise ValueError("listing cut short")
    count = array("q", blob[:width])[0]
    end = width + 4 * width * count
    if count < 0 or len(blob) < end:
        raise ValueError("listing cut short")
    names = blob[end:].decode("utf-8", "surrogateescape")
    ids = names.split("\0") if count else []
    if len(ids) != count or (not count and names):
        raise ValueError("listing does not fit its count")
    return ids, blob[width:end]


def start_early(root: str, suffixes: tuple[str, ...] = ARTICLE_NAMES) -> None:
    """Start listing ``root`` now, for the ``start`` that asks for it later in this process.

    A one-shot command knows its folder from its arguments before it imports anything
    heavy: listing from then on hides the listing behind half a second of imports. A
    listing made earlier in the process is as good as one made at ``start``: a file
    changed in between is a change after the command began, and its new stamp differs
    from the listed one, so the next start reads it (``changes.hash_files``).
    """
    key = (os.path.realpath(root), suffixes)
    if key not in _early:
        _early[key] = _child(Path(root), suffixes)


def start(root: Path, suffixes: tuple[str, ...]) -> Collect:
    """Start listing ``root`` in a child process; the returned call waits for it (``decode``).

    A listing ``start_early`` began for the same folder is taken instead (once). When
    no child can be started, or it fails or says something that is not a listing, the
    call lists in process instead: the answer is the same, only slower.
    """
    early = _early.pop((os.path.realpath(root), suffixes), None)
    return early if early is not None else _child(root, suffixes)


def _child(root: Path, suffixes: tuple[str, ...]) -> Collect:
    """``start`` without looking for an early listing."""
    argv = [sys.executable, "-I", "-S", __file__, str(root), *suffixes]
    try:
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except (OSError, ValueError):  # no interpreter to start, or no process to spare
        child = None

    def collect() -> tuple[list[str], bytes]:
        if child is not None:
            out, _ = child.communicate()
            if child.returncode == 0:
                try:
                    return decode(out)
                except ValueError:
                    pass
        return listed_here(root, suffixes)

    return collect


def listed_here(root: Path, suffixes: tuple[str, ...]) -> tuple[list[str], bytes]:
    """What the child would send, listed in this process (``start``'s fallback)."""
    return decode(encode(walk(str(root), suffixes)))


if __name__ == "__main__":  # the child: list argv[1], article suffixes argv[2:]
    sys.stdout.buffer.write(encode(walk(sys.argv[1], tuple(sys.argv[2:]))))
