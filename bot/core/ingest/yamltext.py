"""Safe YAML parsing of front matter, metadata files and the alias table.

libyaml's C parser when PyYAML was built with it (its wheels are): PyYAML's
pure-Python safe loader takes about 180 µs for a five-line front matter, the C
one about 27 µs, which counts when tens of thousands of articles are indexed.
Both build only plain data (no Python objects from the text) and raise
``yaml.YAMLError`` (with a ``problem_mark`` for syntax errors), and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ValueProblem(yaml.YAMLError):
    """YAML that parses but holds a value that cannot exist, such as ``2023-02-30``.

    PyYAML raises ``ValueError`` (or ``OverflowError``, ``RecursionError``…) from deep
    inside its constructors for those; callers catch ``yaml.YAMLError`` alone, so one
    impossible date in one file must not escape as another type and stop a whole load.
    """


def load(text: str) -> Any:
    """The one YAML document in ``text`` as plain data."""
    with _values_checked():
        return yaml.load(text, Loader=_LOADER)


def load_all(text: str) -> Iterator[Any]:
    """Every YAML document in ``text`` as plain data."""
    documents = yaml.load_all(text, Loader=_LOADER)
    while True:
        with _values_checked():
            document = next(documents, _END)
        if document is _END:
            return
        yield document


_END = object()


def problem(exc: yaml.YAMLError, first_line: int = 1) -> str:
    """What is wrong, for a one-line message: "is not valid YAML (line 3)" and the like.

    ``first_line``: the number of the text's first line in its file.
    """
    if isinstance(exc, ValueProblem):
        return f"holds an {exc}"
    mark = getattr(exc, "problem_mark", None)
    return "is not valid YAML" + (f" (line {mark.line + first_line})" if mark is not None else "")


@contextmanager
def _values_checked() -> Iterator[None]:
    try:
        yield
    except (ValueError, ArithmeticError, RecursionError, TypeError) as exc:
        raise ValueProblem(f"impossible value: {exc}") from exc
