"""What a chat message holds besides its question: mentions, links, greetings, wrappers.

"@everyone hey bot, “what did China say?” thanks 🤔" asks what "what did China say?"
asks. Every door (CLI, REPL, Discord) passes its text to ``Engine.ask``, which takes
these out here before the question is parsed and searched, so a greeting never counts
as a key word and quotes or an emoji never hide the "what did X say" shape.

The rule is conservative: a text with none of these is returned unchanged, character
for character, so questions without chatter are answered exactly as before. Word lists
are data (``data/greetings.txt`` and its neighbours), one list per idea.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from bot.core.index.tokenize import bundled_stopwords
from bot.core.lexicon import entries

# Discord's markup for users, roles, channels and custom emoji; @everyone, @here and
# plain @names (not the middle of an e-mail address); http(s) links, bare or in <…>.
_MARKUP = re.compile(
    r"<@[!&]?\d+>|<#\d+>|<a?:\w+:\d+>"
    r"|(?<![\w@.])@\w+(?:[.\-]\w+)*"
    r"|<https?://[^\s>]*>|https?://[^\s<>]*[^\s<>.,;:!?'\")\]”’]"
)
# What people put after a greeting or between a question and its thanks.
_SEPARATORS = ",;:-–—~"
_TERMINAL = "?!."
# Unicode categories of characters that decorate rather than say: emoji and other
# symbols, their skin-tone modifiers, joiners, private-use glyphs. Combining marks are
# letters' own in many scripts (Hindi, Hebrew); only those that shape an emoji count.
_DECORATION = frozenset({"So", "Sk", "Cf", "Co", "Cs"})
_EMOJI_MARKS = re.compile("[\ufe00-\ufe0f\u20e3\U000e0100-\U000e01ef]")
# Wrapping marks and the mark that closes each. Markdown's emphasis, code and spoiler
# marks wrap a whole message the same way quotes do.
_CLOSING = {
    '"': '"', "'": "'", "“": "”", "”": "”", "‘": "’", "’": "’", "„": "“”", "‚": "‘’",
    "«": "»", "»": "«»", "‹": "›", "「": "」", "『": "』",
    "*": "*", "_": "_", "~": "~", "`": "`", "|": "|",
}  # fmt: skip
_APOSTROPHES = "'’"
# Each pass takes off at least one character, so this only bounds pathological input.
_MAX_PASSES = 64


def without_chatter(question: str) -> str:
    """``question`` with mentions, links, greetings, thanks and wrapping marks taken out.

    Returns ``question`` itself when there is nothing to take out, and "" when nothing
    else was there ("hey @bot"). Applied until nothing changes, because the pieces nest:
    a greeting before a quoted question, an emoji after the thanks.
    """
    text = question
    for _ in range(_MAX_PASSES):
        tidier = _without_courtesies(_unwrapped(_undecorated(_without_markup(text))))
        if tidier == text:
            break
        text = tidier
    if text != question and not any(char.isalnum() for char in text):
        return ""  # "hello?" or "@bot 👋": punctuation alone is no question
    return text


def _without_markup(text: str) -> str:
    """Mentions and links removed; what they leave (", what did…", "say ?") tidied."""
    bare, found = _MARKUP.subn(" ", text)
    if not found:
        return text
    bare = " ".join(bare.split())
    bare = re.sub(r"\s+(?=[?!.,;:])", "", bare)
    return bare.lstrip(_SEPARATORS + _TERMINAL + " ").rstrip(_SEPARATORS + " ")


def _is_decoration(char: str) -> bool:
    return unicodedata.category(char) in _DECORATION or _EMOJI_MARKS.match(char) is not None


def _undecorated(text: str) -> str:
    """Emoji and other symbols taken off both ends; the question's own mark is kept."""
    start = 0
    while start < len(text) and (text[start].isspace() or _is_decoration(text[start])):
        start += 1
    end = len(text)
    while end > start and (
        text[end - 1].isspace() or _is_decoration(text[end - 1]) or text[end - 1] in _TERMINAL
    ):
        end -= 1
    tail = text[end:]
    if start == 0 and not any(_is_decoration(c) for c in tail):
        return text
    marks = "".join(c for c in tail if c in _TERMINAL)
    return text[start:end] + marks


def _split_mark(text: str) -> tuple[str, str]:
    """``text`` without its closing ?, ! or . (and spaces), and that ending."""
    core = text.rstrip(_TERMINAL + " ")
    return core, text[len(core) :]


def _unwrapped(text: str) -> str:
    """The question inside quotes (or Markdown marks) that wrap all of it, else ``text``.

    '"what did China say"?' and '“what did China say?”' are wrapped; '"Bairn" and
    "hyem" come from what culture?' is not (its first quote closes early).
    """
    core, mark = _split_mark(text)
    if len(core) < 2 or core[0] not in _CLOSING:
        return text
    opening = core[0]
    width = min(_run(core, opening), _run(core[::-1], core[-1]))
    if width == 0 or core[-1] not in _CLOSING[opening] or 2 * width >= len(core):
        return text
    inner = core[width:-width]
    if _has_stray(inner, opening + _CLOSING[opening]):
        return text
    inner = inner.strip()
    return inner if inner.endswith(tuple(_TERMINAL)) else inner + mark.strip()


def _run(text: str, char: str) -> int:
    """How many times ``char`` repeats at the start of ``text``."""
    return len(text) - len(text.lstrip(char))


def _has_stray(inner: str, marks: str) -> bool:
    """Whether ``inner`` holds a wrapping mark, so the outer ones do not pair with each other.

    An apostrophe between two letters ("China's") is a letter of its word, not a mark.
    """
    for i, char in enumerate(inner):
        if char not in marks:
            continue
        if char in _APOSTROPHES and _between_letters(inner, i):
            continue
        return True
    return False


def _between_letters(text: str, i: int) -> bool:
    return 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()


def _without_courtesies(text: str) -> str:
    """Greetings and acknowledgements off the start, thanks and politeness off the end."""
    text = text[_opening(text) :]
    core, mark = _split_mark(text)
    closed = _closers().search(core)
    if closed is None or not _may_close(core[: closed.start()], closed.group(0)):
        return text
    rest = core[: closed.start()].rstrip(_SEPARATORS + " ")
    return rest if rest.endswith(tuple(_TERMINAL)) or not rest else rest + mark.strip()


def _opening(text: str) -> int:
    """How many leading characters of ``text`` are one greeting and what follows it (", ").

    A greeting joined to a capitalised word by a space alone may be the start of a name
    ("Hello Kitty", "OK Computer"): it is taken only when that word is a function or
    question word ("Hey What did…") or another courtesy ("Hey Bot, …").
    """
    opened = _openers().match(text)
    if opened is None:
        return 0
    gap = text[len(opened.group("phrase")) : opened.end()]
    following = text[opened.end() :].split(maxsplit=1)
    if gap.isspace() and following and following[0][:1].isupper():
        word = following[0].casefold().strip(_SEPARATORS + _TERMINAL)
        if word not in bundled_stopwords() and _openers().fullmatch(word) is None:
            return 0
    return opened.end()


def _may_close(before: str, phrase: str) -> bool:
    """Whether ``phrase`` ends the message as a courtesy rather than as part of the question.

    After punctuation it is one ("what did China say? thanks"); after a word only
    politeness is ("...say please"), so "who made the bot" keeps its "bot".
    """
    before = before.rstrip()
    if not before or not before[-1].isalnum():
        return True
    return _phrase_key(phrase) in _words("politeness.txt")


@cache
def _openers() -> re.Pattern[str]:
    names = ("greetings.txt", "politeness.txt", "acknowledgements.txt", "addressees.txt")
    words = _alternatives(names)
    separators = re.escape(_SEPARATORS + ".!")
    return re.compile(rf"(?P<phrase>{words})(?![\w'’\-])[\s{separators}]*", re.I)


@cache
def _closers() -> re.Pattern[str]:
    words = _alternatives(("thanks.txt", "politeness.txt", "addressees.txt"))
    return re.compile(rf"(?<![\w'’\-])(?:{words})$", re.I)


def _alternatives(names: tuple[str, ...]) -> str:
    """The phrases of the lists ``names`` as one regex alternation, longest first."""
    phrases = sorted({p for name in names for p in _words(name)}, key=len, reverse=True)
    return "|".join(r"\s+".join(map(re.escape, p.split())) for p in phrases)


@cache
def _words(name: str) -> frozenset[str]:
    return frozenset(_phrase_key(line) for line in entries(name))


def _phrase_key(phrase: str) -> str:
    return " ".join(phrase.casefold().split())
