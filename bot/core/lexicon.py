"""The word lists the core's rules use, read once from ``bot/core/data``.

A rule such as "the speaker is the noun phrase next to a reporting verb" is only
as good as its lists, and lists grow by review: one entry a line in a text file
reads, diffs and extends better than a Python literal, and each idea is listed
once, so two modules cannot keep diverging copies of it. Every file opens with
a comment saying what its list is for and which module uses it. Where two
modules need different lists for related ideas (titles in an article against
honorifics in a question), they are two files with two names, never one list
quietly shared.

The files are package data, read through ``importlib.resources`` so an
installed wheel finds them as well as a checkout does.

The article-side lists decide what a saved index holds (speakers, cues), so the
saved index's fingerprint includes ``digest()`` of every list: an edited list
rebuilds saved indexes by itself, as a changed setting does.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources


@cache
def entries(name: str) -> tuple[str, ...]:
    """The entries of the bundled data file ``name``, in file order.

    One entry a line; ``#`` starts a comment, blank lines are skipped. Cached, so
    each file is read once per process however many modules ask for it.
    """
    text = resources.files("bot.core").joinpath(f"data/{name}").read_text("utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(line for line in lines if line)


@cache
def digest() -> str:
    """A hash of every bundled list, for fingerprints of what the lists shaped."""
    data = resources.files("bot.core").joinpath("data")
    files = sorted((f for f in data.iterdir() if f.name.endswith(".txt")), key=lambda f: f.name)
    hashed = hashlib.sha256()
    for file in files:
        hashed.update(file.name.encode("utf-8") + b"\0" + file.read_bytes() + b"\0")
    return hashed.hexdigest()[:16]


def words(name: str) -> frozenset[str]:
    """The entries of ``name`` as a set: the rules only ask whether a word is listed."""
    return frozenset(entries(name))


def alternation(listed: Iterable[str]) -> str:
    """A regular-expression alternation matching any of ``listed`` literally.

    Longest first, so that no entry can win over a longer one it begins
    ("Sen" before "Sens"); alphabetical among equals, so the pattern is the
    same from run to run although sets have no order.
    """
    return "|".join(re.escape(word) for word in sorted(listed, key=lambda w: (-len(w), w)))


# --- articles: who is speaking (bot/core/ingest/attribution.py, speakers.py)
REPORTING_VERBS = words("reporting_verbs.txt")
REPORTING_PARTICIPLES = words("reporting_participles.txt")
SPEAKER_ASSOCIATES = words("speaker_associates.txt")
SPEAKER_PHRASE_BOUNDARIES = words("speaker_phrase_boundaries.txt")
SPEAKER_PHRASE_INNER = words("speaker_phrase_inner.txt")
VERB_LEAD_INS = words("verb_lead_ins.txt")
SUBJECT_PRONOUNS = words("subject_pronouns.txt")
ANAPHORIC_DETERMINERS = words("anaphoric_determiners.txt")
TITLES = words("titles.txt")
DOTTED_TITLES = words("dotted_titles.txt")
NOUN_MARKERS = words("noun_markers.txt")
NAME_RUN_GLUE = words("name_run_glue.txt")
AFTER_VERB_STOPS = words("after_verb_stops.txt")
ACCORDING_TO_STOPS = words("according_to_stops.txt")
UNNAMED_SPEAKER_HEADS = words("unnamed_speaker_heads.txt")
REFERENCE_DOCUMENTS = words("reference_documents.txt")
REFERENCE_STAND_INS = words("reference_stand_ins.txt")
REFERENCE_PLURALS = words("reference_plurals.txt")

# --- questions: whose words are asked for (bot/core/answer/question.py)
QUESTION_SPEECH_VERBS = words("question_speech_verbs.txt")
STANCE_NOUNS = words("stance_nouns.txt")
REACTION_VERBS = words("reaction_verbs.txt")
QUESTION_NAME_GLUE = words("question_name_glue.txt")
PLACEHOLDER_SUBJECTS = words("placeholder_subjects.txt")

# --- ranking and answers (bot/core/answer/: need, rank, passages, engine)
HONORIFICS = words("honorifics.txt")
GENERIC_SPEECH_VERBS = words("generic_speech_verbs.txt")
NAMING_VERBS = words("naming_verbs.txt")
LEADING_PRONOUNS = words("leading_pronouns.txt")
