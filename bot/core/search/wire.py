"""JSON to and from the cluster with ``orjson`` where it can, the standard library where not.

A question at a million sentences reads about 0.7 MB of JSON (the articles it fetches)
and a bulk load writes every document once: with the standard library's decoder the
answers alone took 11 ms of Python CPU a question. ``orjson`` reads and writes the same
JSON faster (measured on the answers of a run at 1M sentences: 6.5 against 7.4 ms a
question; mostly strings, which both copy). What it does not write (integers beyond 64
bits, keys that are not strings, a value only the client's ``default`` knows) goes
through ``opensearchpy``'s own ``JSONSerializer``, so the text sent is what the client
would have sent. Reading differs in one place: an integer outside -2**63 .. 2**64-1
comes back as a float, where the standard library keeps it exact; nothing the backend
reads is near that (counts, versions, sequence numbers, offsets, the project's own
numbers).
"""

from __future__ import annotations

from typing import Any

import orjson
from opensearchpy.exceptions import SerializationError
from opensearchpy.serializer import JSONSerializer

_PLAIN = JSONSerializer()
# Dates go to the client's ``default`` (``isoformat``), as they would without orjson.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def dumps(data: Any) -> str:
    """``data`` as compact JSON text, non-ASCII kept (the client's own ``dumps``)."""
    try:
        return orjson.dumps(data, default=_PLAIN.default, option=_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        # A lone surrogate (a file name that is not UTF-8, among the unreadable files) can
        # only stand in a JSON string, where its escape reads back as the same character;
        # as a raw character the request body could not be encoded at all.
        return _PLAIN.dumps(data).encode("utf-8", "backslashreplace").decode("utf-8")


def loads(text: str | bytes) -> Any:
    """The value of JSON ``text``."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # what it refuses (say, NaN) the standard library
        return _PLAIN.loads(text)  # reads, or says why


class WireSerializer(JSONSerializer):
    """The client's JSON serializer, with ``dumps`` and ``loads`` above."""

    def loads(self, s: str) -> Any:
        try:
            return loads(s)
        except (ValueError, TypeError) as exc:
            raise SerializationError(s, exc) from exc

    def dumps(self, data: Any) -> Any:
        if isinstance(data, str | bytes):
            return data  # already text, as the client's own passes it through
        try:
            return dumps(data)
        except (ValueError, TypeError) as exc:
            raise SerializationError(data, exc) from exc
