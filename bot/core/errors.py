"""Errors a user can cause, each carrying the one line they are shown."""

from __future__ import annotations


class UserError(Exception):
    """A problem with what the user asked for; ``str(error)`` is the reply, no traceback."""


# How much of a refused question an error line repeats.
ECHO_CHARS = 40


def echoed(text: str, limit: int = ECHO_CHARS) -> str:
    """``text`` as an error line may repeat it: whole up to ``limit`` characters, else a prefix.

    An error is one line for a person to read; a refused megabyte must not come back whole.
    """
    if len(text) <= limit:
        return text
    return text[: min(limit, ECHO_CHARS)].rstrip() + "…"


def too_long(length: int, limit: int) -> str:
    """The refusal of a long question, stating the rule exactly as it is applied."""
    return (
        f"That question is {length:,} characters long; "
        f"a question may be at most {limit:,} characters."
    )


class QuestionError(UserError):
    """The question cannot be asked as it is (empty, too long)."""


class CorpusError(UserError):
    """The corpus cannot be used (missing folder, no readable article)."""
