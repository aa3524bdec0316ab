"""Errors a user can cause, each carrying the one line they are shown."""

from __future__ import annotations


class UserError(Exception):
    """A problem with what the user asked for; ``str(error)`` is the reply, no traceback."""


class QuestionError(UserError):
    """The question cannot be asked as it is (empty, too long)."""


class CorpusError(UserError):
    """The corpus cannot be used (missing folder, no readable article)."""
