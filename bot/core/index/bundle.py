"""A saved index bundle: named numpy arrays plus a JSON header, in one file.

One file, so a bundle is replaced whole or not at all: it is written beside
the old one, flushed and fsynced, then renamed over it (and the directory
fsynced), and a crash at any point leaves either the old bundle or the new
one, never half of each. The header, a JSON document, records the format
version and the fingerprint of every setting that shapes the index (tokenizer
word lists, stemmer, BM25 parameters, ...), so a caller can tell a stale
bundle (rebuild) from one to bring up to date.
Loading never runs code from the file (no pickle: only plain numeric and
boolean dtypes are accepted), and any bundle that cannot be used, whatever the
reason, is reported in one warning line and answered with None: the caller
rebuilds, the bot never crashes on a bad cache.

Layout: ``NQBUNDLE``, the header's length (u64) and CRC-32 (u32), the header,
then every array's bytes at a 64-byte aligned offset the header gives with
its dtype, shape and CRC-32. A load maps the file read-only and checks each
array's CRC (a truncated or damaged file is refused); the arrays are views of
the mapping, so the data is never copied: at a million sentences (~400 MB) a
load takes ~0.15 s where copying it (``np.load`` of an ``.npz``, or a read into
fresh memory, whose page faults dominate on these machines) took 0.8-1 s.
A new bundle replaces the file by rename, so a mapping in use keeps the old
file's data intact.

Writers take turns: each holds an exclusive ``flock`` on the directory's
``.lock`` file while it writes or deletes a bundle, so one writer never removes
another's half-written temporary file, and a temporary file found while holding
the lock was left by a crashed writer and is safe to remove. The kernel drops
the lock of a process that dies, even by ``kill -9``. The lock file is never
deleted (deleting it would let a waiter lock a file nobody else sees).

The bundle knows nothing about what the arrays mean (that is ``encoding``), nor
what the fingerprint holds: it only refuses a bundle saved under another one.
"""

from __future__ import annotations

import fcntl
import json
import logging
import mmap
import os
import struct
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np

log = logging.getLogger(__name__)
T = TypeVar("T")

FORMAT_VERSION = 2
MAGIC = b"NQBUNDLE"
_PREFIX = struct.Struct("<8sQI")  # magic, header length, header CRC-32
_ALIGN = 64
_KINDS = "biuf"  # bool, signed, unsigned, float: nothing that needs pickle
_SUFFIX = ".nqi"


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """Where saved indexes live and how many are kept (set in ``Settings``)."""

    data_dir: Path
    use_saved_index: bool  # False: nothing is read or written, every start builds
    max_saved_indexes: int


@dataclass(frozen=True, slots=True)
class Bundle:
    """What is saved: arrays by name, JSON-able metadata and the settings fingerprint."""

    arrays: Mapping[str, np.ndarray]
    meta: Mapping[str, Any] = field(default_factory=dict)
    fingerprint: Mapping[str, Any] = field(default_factory=dict)


class _Unusable(Exception):
    """A bundle that reads fine but must not be used (other version or settings)."""


class _Used(Exception):
    """What ``load_using``'s ``use`` raised on a bundle that passed its checks (its cause)."""


def bundle_path(directory: Path, name: str = "index") -> Path:
    """Where the bundle called ``name`` lives in ``directory``."""
    return directory / f"{name}{_SUFFIX}"


def save(directory: Path, bundle: Bundle, name: str = "index") -> Path:
    """Write ``bundle`` atomically to ``directory/<name>.nqi``; returns the path."""
    arrays = {key: np.ascontiguousarray(value) for key, value in bundle.arrays.items()}
    for key, value in arrays.items():
        if value.dtype.kind not in _KINDS or value.dtype.hasobject:
            raise ValueError(f"array {key!r} holds {value.dtype}: only numbers, never pickle")
    specs, offset = [], 0
    for key, value in arrays.items():
        specs.append(
            {
                "name": key,
                "dtype": value.dtype.str,
                "shape": list(value.shape),
                "offset": offset,
                "crc32": zlib.crc32(_bytes(value)),
            }
        )
        offset = _aligned(offset + value.nbytes)
    header = {
        "format": FORMAT_VERSION,
        "fingerprint": dict(bundle.fingerprint),
        "meta": dict(bundle.meta),
        "arrays": specs,
        "data_bytes": offset,
    }
    directory.mkdir(parents=True, exist_ok=True)
    target = bundle_path(directory, name)
    with locked(directory):
        for stale in directory.glob(f".{name}.*.tmp"):  # left by a crashed writer
            with suppress(OSError):
                stale.unlink()
        fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                _write(handle, header, arrays)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            with suppress(OSError):
                os.unlink(temp)
            raise
        _fsync_directory(directory)
    log.debug("saved %s (%d arrays)", target, len(arrays))
    return target


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold the directory's writer lock (blocking): one writer at a time."""
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def remove(directory: Path, name: str) -> None:
    """Delete the bundle ``name``, once no writer is busy; a mapping in use keeps its data."""
    with locked(directory):
        bundle_path(directory, name).unlink(missing_ok=True)


def _bytes(value: np.ndarray) -> memoryview:
    """A contiguous array's bytes, flat; an empty array (shape with a zero) is no bytes."""
    return memoryview(value.reshape(-1).view(np.uint8))


def _write(handle: IO[bytes], header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    # A lone surrogate (an undecodable file name's, in the unreadable files) can only stand
    # in a JSON string, where its escape ``\\udcff`` reads back as the same character.
    encoded = json.dumps(header, ensure_ascii=False).encode("utf-8", "backslashreplace")
    start = _aligned(_PREFIX.size + len(encoded))
    handle.write(_PREFIX.pack(MAGIC, len(encoded), zlib.crc32(encoded)))
    handle.write(encoded)
    handle.write(bytes(start - _PREFIX.size - len(encoded)))
    written = 0
    for value in arrays.values():
        handle.write(_bytes(value))
        written += value.nbytes
        handle.write(bytes(_aligned(written) - written))
        written = _aligned(written)


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


def load(directory: Path, fingerprint: Mapping[str, Any], name: str = "index") -> Bundle | None:
    """The bundle saved under ``name``, or None if there is none or it cannot be used.

    A missing bundle is an info line (a first run); an unusable one, one warning line.

    Unusable means: unreadable, truncated or corrupt (CRC), declaring a dtype
    other than plain numbers, another format version, or a fingerprint that
    differs from ``fingerprint``.
    """
    loaded = load_using(directory, fingerprint, name, lambda bundle: bundle)
    return None if loaded is None else loaded[1]


def load_using(
    directory: Path,
    fingerprint: Mapping[str, Any],
    name: str,
    use: Callable[[Bundle], T],
) -> tuple[T, Bundle] | None:
    """``use(bundle)`` and the bundle ``load`` gives, or None when ``load`` gives None.

    ``use`` runs while the arrays' CRCs are checked (on the other threads, which zlib
    runs without the GIL), so what a caller makes of the arrays costs no time of its
    own beside the check; its result is handed back only once every CRC is right, so a
    damaged bundle is refused as by ``load``. An exception ``use`` raises on a bundle
    that passed its checks is the caller's.
    """
    path = bundle_path(directory, name)
    if not path.exists():
        log.info("no saved index at %s; building one", path)  # a first run: nothing wrong
        return None
    try:
        bundle, made = _read(path, _canonical(fingerprint), use)
    except _Used as exc:
        raise exc.__cause__ from None  # type: ignore[misc]
    except _Unusable as exc:
        log.warning("saved index %s is out of date (%s); rebuilding", path, exc)
    except Exception as exc:  # damage shows up as many types
        reason = (str(exc).splitlines() or [""])[0] or type(exc).__name__
        log.warning("saved index %s is unreadable (%s); rebuilding", path, reason)
    else:
        # Its access time records its last use (see ``last_used``), whatever the mount options.
        with suppress(OSError):  # a read-only folder: no record
            os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns))
        return made, bundle
    return None


def last_used(directory: Path, name: str) -> int:
    """When the bundle ``name`` was last loaded or saved (ns); OSError when it is gone."""
    return bundle_path(directory, name).stat().st_atime_ns


def saved_meta(directory: Path) -> dict[str, Mapping[str, Any]]:
    """Bundle name -> its header's ``meta``, for every readable bundle in ``directory``.

    Only headers are read (a few kilobytes each), never the arrays.
    """
    found = {}
    for path in sorted(directory.glob(f"*{_SUFFIX}")):
        try:
            with _open_unused(path) as handle:
                header, _ = _header(handle)
        except Exception:  # not ours, or damaged (many types): its own load will say so
            continue
        meta = header.get("meta")
        found[path.name.removesuffix(_SUFFIX)] = meta if isinstance(meta, dict) else {}
    return found


def _open_unused(path: Path) -> IO[bytes]:
    """Open to read without counting as a use: no access time update where Linux allows it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOATIME", 0))
    except PermissionError:  # O_NOATIME is for the file's owner (and root) only
        fd = os.open(path, os.O_RDONLY)
    return os.fdopen(fd, "rb")


def _header(handle: IO[bytes]) -> tuple[dict[str, Any], int]:
    """The bundle's JSON header and its length; ValueError when it is not one."""
    prefix = handle.read(_PREFIX.size)
    if len(prefix) != _PREFIX.size:
        raise ValueError("file too short to be an index")
    magic, length, crc = _PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise ValueError("not an index file")
    encoded = handle.read(length)
    if len(encoded) != length or zlib.crc32(encoded) != crc:
        raise ValueError("header is truncated or damaged")
    header = json.loads(encoded.decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    return header, length


def _read(path: Path, fingerprint: dict[str, Any], use: Callable[[Bundle], T]) -> tuple[Bundle, T]:
    with path.open("rb") as handle:
        header, length = _header(handle)
        if header.get("format") != FORMAT_VERSION:
            raise _Unusable(f"format {header.get('format')!r}, expected {FORMAT_VERSION}")
        saved = header.get("fingerprint")
        if saved != fingerprint:
            saved = saved if isinstance(saved, dict) else {}
            keys = sorted(
                k for k in saved.keys() | fingerprint.keys() if saved.get(k) != fingerprint.get(k)
            )
            raise _Unusable("settings changed: " + ", ".join(keys))
        specs = [_spec(item) for item in header.get("arrays") or []]
        size = max(
            (offset + dtype.itemsize * count for _, dtype, _, offset, count, _ in specs), default=0
        )
        start = _aligned(_PREFIX.size + length)
        file_size = os.fstat(handle.fileno()).st_size
        if file_size != start + header.get("data_bytes", -1):
            raise ValueError("file is truncated or has bytes past its end")
        if start + size > file_size:
            raise ValueError("file is truncated: an array ends past it")
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    data = np.frombuffer(mapped, dtype=np.uint8)[start:]
    raws = [
        data[offset : offset + dtype.itemsize * count] for _, dtype, _, offset, count, _ in specs
    ]
    arrays = {
        key: raw.view(dtype).reshape(shape)
        for (key, dtype, shape, *_), raw in zip(specs, raws, strict=True)
    }
    bundle = Bundle(arrays, header.get("meta") or {}, saved)
    # Checking is most of a load (a third of a second for a million sentences on one
    # core); zlib lets go of the GIL, so both cores take a share of the arrays, largest
    # first, while this thread runs ``use`` on them.
    largest = sorted(range(len(raws)), key=lambda i: -raws[i].nbytes)
    with ThreadPoolExecutor(max_workers=_CHECKERS) as pool:
        checking = {i: pool.submit(zlib.crc32, raws[i]) for i in largest}
        try:
            made, failed = use(bundle), None
        except Exception as exc:  # a damaged array may be what it tripped on: checks first
            made, failed = None, exc
        sums = [checking[i].result() for i in range(len(raws))]
    for (key, *_, checksum), found in zip(specs, sums, strict=True):
        if found != checksum:
            raise ValueError(f"array {key!r} is damaged (CRC mismatch)")
    if failed is not None:
        raise _Used from failed
    return bundle, made  # type: ignore[return-value]


_CHECKERS = 2  # threads checking CRCs at load: the machines this runs on have two cores


def _spec(item: Any) -> tuple[str, np.dtype, tuple[int, ...], int, int, int]:
    """One array's entry in the header, checked: name, dtype, shape, offset, length, CRC."""
    if not isinstance(item, dict):
        raise ValueError("array entry is not an object")
    dtype = np.dtype(str(item["dtype"]))
    if dtype.kind not in _KINDS or dtype.hasobject:
        raise ValueError(f"array {item.get('name')!r} declares dtype {dtype}, refused")
    shape = tuple(int(n) for n in item["shape"])
    offset, checksum = int(item["offset"]), int(item["crc32"])
    if offset < 0 or offset % _ALIGN or any(n < 0 for n in shape):
        raise ValueError(f"array {item.get('name')!r} has an invalid offset or shape")
    return str(item["name"]), dtype, shape, offset, int(np.prod(shape, dtype=np.int64)), checksum


def _canonical(value: Mapping[str, Any]) -> dict[str, Any]:
    """``value`` as it reads back from JSON (tuples become lists), for comparison."""
    return json.loads(json.dumps(dict(value), ensure_ascii=False))


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
