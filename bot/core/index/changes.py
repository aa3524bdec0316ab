"""What changed in a corpus folder: content hashes, the stamps that vouch for them, and diffs.

Every article file (readable or not) is known by the sha256 of its bytes, hashed
*before* the file is read, so an edit made while it is being read shows up as a
change next time. Reading every file again at each start would cost seconds for a
large corpus, so a hash is reused while the file's stamp (size, modification and
change times, inode) is the one recorded with it, as long as that stamp was
recorded well after the file's last write (git's rule for "racily clean" entries;
see ``hash_files``).

Two kinds of difference are told: ``ArticleChanges``, how a folder's files differ
from the hashes an index was saved with (what a start or ``index --update`` has to
apply), and ``CorpusChange``, what applying files actually changed in the answers,
with the files that could not be read (what a watcher or ``/reload`` reports).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.core.ingest.files import FileStamp, require_folder, scan_folder
from bot.core.ingest.raw import LoadError

RACY_NS = 2_000_000_000  # a stamp this close to the time it was read does not vouch for a hash
# A start rewrites the whole index only to record new stamps when at least this share of the
# files would otherwise be read again at every start (see ``stamps_worth_saving``).
RESAVE_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class FolderFiles:
    """Every article file's content hash, and the stamps that vouch for those hashes."""

    hashes: dict[str, str]
    stamps: dict[str, FileStamp]

    def copy(self) -> FolderFiles:
        """A copy to change while the original stays what an engine in use reflects."""
        return FolderFiles(dict(self.hashes), dict(self.stamps))

    def forget(self, source_id: str) -> None:
        """Drop a file that is gone."""
        self.hashes.pop(source_id, None)
        self.stamps.pop(source_id, None)


@dataclass(frozen=True, slots=True)
class ArticleChanges:
    """How the article files differ from those a saved index was built from."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    def __bool__(self) -> bool:
        """True when anything changed."""
        return bool(self.added or self.removed or self.changed)

    def counted(self) -> str:
        """For a person: "2 added, 1 changed, 0 removed"."""
        return f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed"


@dataclass(frozen=True, slots=True)
class CorpusChange:
    """What applying files changed, by article id, and the files that could not be read."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    failed: tuple[LoadError, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.failed)

    def summary(self) -> str:
        """One line for a person: "2 added, 1 changed, 0 removed, 1 unreadable"."""
        return (
            f"{len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.removed)} removed, {len(self.failed)} unreadable"
        )


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes: an article's identity for change detection."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def article_changes(saved: Mapping[str, str], current: Mapping[str, str]) -> ArticleChanges:
    """Which articles (id -> content hash) were added, removed or changed since ``saved``."""
    if saved == current:  # the usual start: one comparison, no sets of every id
        return ArticleChanges((), (), ())
    return ArticleChanges(
        added=tuple(sorted(current.keys() - saved.keys())),
        removed=tuple(sorted(saved.keys() - current.keys())),
        changed=tuple(sorted(k for k in saved.keys() & current.keys() if saved[k] != current[k])),
    )


def hash_files(
    folder: Path,
    known: FolderFiles | None = None,
    scanned: Mapping[str, FileStamp] | None = None,
) -> FolderFiles:
    """The sha256 of every article file's bytes, read again unless ``known`` vouches for it.

    A hash in ``known`` is reused when the file's stamp (size, mtime, ctime, inode)
    is the one recorded with it; a stamp is only recorded when the file had not
    been written for ``RACY_NS`` before it was read, so a write after hashing
    always changes it, even on file systems with coarse timestamps (git's rule
    for "racily clean" entries). Tens of thousands of unchanged files are then
    checked in a fraction of a second instead of being read. ``scanned``: the
    folder's ``scan_folder``, if the caller has it already.
    """
    now = time.time_ns()
    if scanned is None:
        scanned = scan_folder(require_folder(folder))
    files = FolderFiles({}, {})
    known_stamps = known.stamps if known is not None else {}
    known_hashes = known.hashes if known is not None else {}
    for source_id, stamp in scanned.items():
        if known_stamps.get(source_id) == stamp and source_id in known_hashes:
            # Untouched since its stamp vouched for its hash, so the stamp vouches still
            # (``vouches`` only grows more sure with time): no read, no second check.
            files.hashes[source_id] = known_hashes[source_id]
            files.stamps[source_id] = stamp
        else:
            record_file(files, folder, source_id, stamp, now)
    return files


def record_file(
    files: FolderFiles,
    folder: Path,
    source_id: str,
    stamp: FileStamp,
    read_at_ns: int,
) -> None:
    """Read one file and put its content hash in ``files``.

    Its stamp goes with it only when it ``vouches``; a file deleted before it could
    be read leaves ``files`` altogether.
    """
    files.stamps.pop(source_id, None)
    try:
        digest = file_digest(folder / source_id)
    except OSError:
        files.hashes.pop(source_id, None)
        return
    files.hashes[source_id] = digest
    if vouches(stamp, read_at_ns):
        files.stamps[source_id] = stamp


def settle(folder: Path, files: FolderFiles, scanned: Mapping[str, FileStamp]) -> int:
    """Record the stamps that can vouch by now for hashes taken while their files were recent.

    A build or update takes time: files too recent to vouch when they were hashed
    (just written, e.g. by the program that fills the folder) are often old enough
    once the engine is ready. Each such file whose stamp is still the ``scanned``
    one is hashed again now; when the hash is still the one in ``files``, the stamp
    vouches for it, under the same rule as ``hash_files`` (its time taken before the
    stat and the read). Without this, the next start would hash those files again
    and rewrite the whole index. Returns how many stamps were recorded.
    """
    now = time.time_ns()
    recorded = 0
    for source_id, digest in files.hashes.items():
        stamp = scanned.get(source_id)
        if source_id in files.stamps or stamp is None or not vouches(stamp, now):
            continue
        path = folder / source_id
        try:
            if FileStamp.of(path.stat()) != stamp or file_digest(path) != digest:
                continue  # changed since it was hashed: the next start reads it again
        except OSError:
            continue
        files.stamps[source_id] = stamp
        recorded += 1
    return recorded


def vouches(stamp: FileStamp, read_at_ns: int) -> bool:
    """Whether ``stamp``, read at ``read_at_ns``, may stand for the file's content next time."""
    return max(stamp.mtime_ns, stamp.ctime_ns) < read_at_ns - RACY_NS


def stamps_worth_saving(files: FolderFiles, saved: FolderFiles) -> bool:
    """Whether to rewrite an unchanged index only for the stamps that now vouch for its hashes.

    A file without a saved stamp is read again at every start; recording its stamp
    rewrites the whole index. For the few files an ``add`` wrote just before (too
    recent to vouch then) the reads cost milliseconds per start, the rewrite 1.4 s
    at a million sentences; after a build of files written moments before it, most
    files are in that case and one rewrite saves seconds at every later start.
    """
    newly = sum(1 for key, stamp in files.stamps.items() if saved.stamps.get(key) != stamp)
    return newly > 0 and newly >= RESAVE_SHARE * len(files.hashes)
