import re
from importlib import resources
from pathlib import Path

import pytest

from bot.core import lexicon

DATA = resources.files("bot.core").joinpath("data")
LISTS = sorted(p.name for p in DATA.iterdir() if p.name.endswith(".txt"))
BOT = Path(lexicon.__file__).parents[1]


def test_every_list_is_read_somewhere():
    """A list nobody reads is a rule that silently does nothing."""
    source = "\n".join(p.read_text("utf-8") for p in BOT.rglob("*.py"))
    unread = [name for name in LISTS if f'"{name}"' not in source]
    assert not unread


@pytest.mark.parametrize("name", LISTS)
def test_list_says_what_it_is_for(name):
    first = DATA.joinpath(name).read_text("utf-8").splitlines()[0]
    assert first.startswith("# ") and len(first) > 20


# Lists of the chat around a question ("hey there", "thank you"): phrases, not words.
PHRASES = {
    "acknowledgements.txt",
    "addressees.txt",
    "greetings.txt",
    "politeness.txt",
    "thanks.txt",
}


@pytest.mark.parametrize("name", LISTS)
def test_list_entries_are_distinct_single_words(name):
    entries = lexicon.entries(name)
    assert entries
    assert len(entries) == len(set(entries)), "an entry is listed twice"
    if name not in PHRASES:
        assert all(not re.search(r"\s", entry) for entry in entries)


@pytest.mark.parametrize("name", [n for n in LISTS if n != "dotted_titles.txt"])
def test_lists_compared_in_lower_case_are_lower_case(name):
    assert all(entry == entry.lower() for entry in lexicon.entries(name))


def test_entries_are_read_once():
    assert lexicon.entries("titles.txt") is lexicon.entries("titles.txt")


def test_alternation_prefers_the_longer_word():
    pattern = re.compile(rf"(?:{lexicon.alternation(['Sen', 'Sens', 'a.b'])})")
    assert pattern.match("Sens").group() == "Sens"
    assert pattern.match("a.b") and not pattern.match("axb")
    assert lexicon.alternation({"b", "a", "cc"}) == lexicon.alternation(["cc", "a", "b"])


def test_titles_and_honorifics_are_two_lists():
    """Articles strip many role words from a name; a question's speaker only courtesy titles."""
    assert {"miss", "lord", "lady"} == lexicon.HONORIFICS - lexicon.TITLES
    assert "president" in lexicon.TITLES and "president" not in lexicon.HONORIFICS
