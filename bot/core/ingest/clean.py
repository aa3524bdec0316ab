"""Dividing an article body into paragraphs and telling article text from page furniture.

Saved web pages carry navigation, fundraising boxes, share prompts and lists of
other headlines. A quote taken from those is the worst answer this bot can
give, so every paragraph is classified before anything is indexed: CONTENT
(quotable), HEADING (never quoted, but kept as ranking context for the
paragraphs under it) or BOILERPLATE (ignored). The rules are general
patterns of page furniture, not strings of any one page.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from itertools import accumulate

from bot.core.models import Block, BlockKind

# What may follow a final stop before the end (and white space): closing quotes and
# brackets; after a Chinese or Japanese full stop, theirs (or every CJK paragraph would
# read as a heading).
_CLOSERS = "\"'”’»)]"
_CJK_CLOSERS = "」』）”’"
_LIST_ITEM = re.compile(r"^\s*(?:[-*•·▪–—]|\d{1,2}[.)])\s+")
_WORD = re.compile(r"\w+(?:[’'-]\w+)*")
# ``_WORD`` for ASCII text, where \w is these ranges: a quarter faster (ranges, not classes)
_ASCII_WORD = re.compile(r"[A-Za-z0-9_]+(?:['-][A-Za-z0-9_]+)*")
_BLANK = re.compile(r"^[\s\u00a0\u200b\ufeff]*$")
_OUTSIDE_QUOTES = re.compile(r"“[^”]*”|\"[^\"]*\"")

# Page furniture that announces itself: any block made of little else is boilerplate.
# One word-boundary and letter test before all the phrases, not one per phrase: a tenth of the cost.
_FURNITURE = re.compile(
    r"""
    \b(?=[a-z])(?:
    skip\ to\b | jump\ to\ (?:main\ )?content\b | skip\ navigation\b
    | donat(?:e|es|ed|ion|ions|ing)\b | fighting\ fund\b | fundrais\w*
    | become\ a\ (?:supporter|member|subscriber|patron|friend)\b
    | support\ (?:us|our\ (?:work|journalism|reporting))\b | you'?ve\ raised\b
    | we\ need:? | days?\ (?:left|remaining)\b | make\ a\ contribution\b
    | subscri(?:be|ption|bers?)\b | sign\ (?:up|in)\b | newsletters?\b | log\ ?in\b
    | create\ an\ account\b | register\ (?:now|today|for\ free)\b
    | share\ (?:this|on|via)\b | follow\ us\b | email\ this\b | print\ this\b
    | copy\ link\b | click\ here\b | read\ (?:more|next|also)\b | see\ also\b
    | similar\ (?:posts|articles|stories)\b | related\ (?:posts|articles|stories|news|content|topics|coverage|reading)\b
    | recommended\ (?:for\ you|stories|articles)\b | you\ (?:may|might)\ also\ like\b
    | most\ (?:read|popular|viewed|shared)\b | more\ (?:from|on\ this|stories|news)\b
    | trending\b | further\ reading\b | top\ stories\b
    | (?:accept|reject|manage)\ (?:all\ )?cookies\b | cookie\ (?:policy|settings|preferences|notice)\b
    | we\ use\ cookies\b | this\ (?:site|website)\ uses\ cookies\b | privacy\ (?:policy|notice)\b
    | terms\ (?:of\ (?:use|service)|and\ conditions)\b | all\ rights\ reserved\b
    | copyright\ (?:©\ )?\d{4}\b | advertisement\b | sponsored\ content\b
    | owned\ by\ our\ readers\b | reader-owned\b | buying\ shares\b
    | (?:photo|image|picture)\ (?:credit|by)\b | getty\ images\b | file\ photo\b
    | comments?\ (?:\(\d+\)|section|are\ closed)\b | leave\ a\ (?:comment|reply)\b
    | back\ to\ top\b | watch\ (?:the\ )?video\b | listen\ to\ (?:this|the)\ (?:article|story)\b
    ) | ©
    """,
    re.IGNORECASE | re.VERBOSE,
)
# ``_FURNITURE`` for lower-cased ASCII text (its letters are all lower case): without
# ``re.I`` each alternative is ruled out by its first letter, a third of the cost.
_FURNITURE_LOWER = re.compile(_FURNITURE.pattern, re.VERBOSE)
# Credit and contact lines, furniture whether or not they are written as sentences.
_CREDIT_OR_CONTACT = re.compile(
    r"""
    \bsubscriptions\b
    | \bfollow\ (?:@\w+|(?:\w+\ ){1,4}on\ (?:twitter|facebook|instagram|linkedin|youtube))
    | \bshare\ (?:it|this\ (?:story|article))\ with\b
    | \b(?:can|may)\ be\ reached\ at\b | \bemail\ (?:\w+\ ){1,3}at\ \S+@
    | \bcontributed\ (?:reporting|to\ this\ (?:report|story|article))\b
    | ^\W*(?:additional\ )?(?:reporting|writing|editing)\ by\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
_CREDIT_OR_CONTACT_LOWER = re.compile(_CREDIT_OR_CONTACT.pattern, re.VERBOSE)
_CREDIT_WORDS = (
    "subscriptions", "follow", "share", "reached", "email", "contributed", "reporting",
    "writing", "editing",
)  # fmt: skip
# Furniture written as a sentence tells the reader to do something.
_IMPERATIVE = re.compile(
    r"^\W*(?:sign|click|subscribe|follow|share|read|visit|get|join|download|listen|watch|see"
    r"|support|donate|register|like|tap|log|become|make|email|contact)\b",
    re.IGNORECASE,
)
_BYLINE = re.compile(
    r"^(?:by|written\ by|posted\ by|reporting\ by|words\ by|story\ by)\s+\S"
    r"|^(?:published|updated|posted|last\ updated|first\ published)\b",
    re.IGNORECASE | re.VERBOSE,
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATELINE = re.compile(
    rf"^[\w\s,:|/.-]*(?:\b{_MONTH}\s+\d{{1,2}}|\d{{1,2}}\s+{_MONTH}|\d{{4}}-\d\d-\d\d|\d{{1,2}}/\d{{1,2}}/\d{{2,4}})"
    r"[\w\s,:|/.-]*$",
    re.IGNORECASE,
)
# Reader-directed promotion: "we"/"you"/"our" outside quotation marks.
_ADDRESS = re.compile(r"\b(?:you|your|you're|you've|we're|we've|our|us)\b", re.IGNORECASE)
# The same words in lower-case ASCII text, each way led by its first letter so the search
# skips to those letters (a leading ``\b`` or ``re.I`` makes it try every position); the
# word boundary before is asked after that letter.
_ADDRESS_LOWER = re.compile(
    r"(?:y(?<!\w.)ou(?:r|'re|'ve)?|w(?<!\w.)e(?:'re|'ve)|o(?<!\w.)ur|u(?<!\w.)s)\b"
)
_MONEY_ONLY = re.compile(r"^[\W\d£$€¥]*(?:\w+\s?){0,3}:?\s*[£$€¥]\s?[\d,.]+\w*\W*$")
_CURRENCY = "£$€¥"

HEADING_MAX_WORDS = 16
PROMO_MAX_WORDS = 45
# A sentence this short that names furniture is furniture ("Read more.", "Sign up today.").
SHORT_SENTENCE_WORDS = 12
# Bylines and datelines sit at an article's edges; a date line in its middle is its text.
EDGE_PARAGRAPHS = 3


def words(text: str) -> list[str]:
    """The words of ``text`` (letters, digits, inner apostrophes and hyphens)."""
    return (_ASCII_WORD if text.isascii() else _WORD).findall(text)


def ends_sentence(text: str) -> bool:
    """Whether ``text`` ends the way a sentence does (final stop, possibly inside quotes).

    A stop (``.!?…``), closing marks, white space, then the end; or a quote then ``.!?``
    (``"...".``); or a CJK stop and its closing marks. String tests from the end, not a
    regex search, which tries every stop in the text (ten times the cost); a stop is
    neither white space nor a closing mark, so stripping those finds it.
    ``tests/core/test_clean.py`` checks this against the pattern it replaced.
    """
    end = text.rstrip()  # rstrip() and \s know the same white space
    if end.rstrip(_CLOSERS).endswith((".", "!", "?", "…")):
        return True
    if end.endswith((".", "!", "?")) and end[-2:-1] in ('"', "”", "’", "»"):
        return True
    return end.rstrip(_CJK_CLOSERS).endswith(("。", "！", "？"))


def _credit_or_contact(text: str, lowered: str) -> bool:
    """``_CREDIT_OR_CONTACT.search``, skipped when none of the words it needs is there.

    Every alternative of the pattern contains one of these words; a substring test
    is a fraction of the regex's cost, and most sentences have none of them.
    ``lowered``: ``text.lower()``.
    """
    return any(map(lowered.__contains__, _CREDIT_WORDS)) and _search_folded(
        _CREDIT_OR_CONTACT, _CREDIT_OR_CONTACT_LOWER, text, lowered
    )


def _search_folded(
    pattern: re.Pattern[str], lower: re.Pattern[str], text: str, lowered: str
) -> bool:
    """``pattern.search(text)`` of a case-blind pattern; ``lower``: it without ``re.I``.

    ASCII text lowers letter for letter and keeps its words and their boundaries where
    they were, so its lower-cased form is searched with ``lower`` (when every letter
    of the pattern is lower case, the same test); other text as it is, since ``re.I``
    and ``lower()`` differ on a few letters ("İ", "ſ"). ``lowered``: ``text.lower()``.
    """
    if text.isascii():
        return lower.search(lowered) is not None
    return pattern.search(text) is not None


def _addresses(text: str, lowered: str) -> bool:
    """``_ADDRESS.search``; ``lowered``: ``text.lower()``.

    ASCII text is searched lower-cased with ``_ADDRESS_LOWER`` (ASCII lowers letter for
    letter, so words and their boundaries stay where they were); other text as it is,
    since ``re.I`` and ``lower()`` differ on a few letters ("İ", "ſ").
    """
    if text.isascii():
        return _ADDRESS_LOWER.search(lowered) is not None
    return _ADDRESS.search(text) is not None


def is_furniture(text: str, count: int | None = None) -> bool:
    """Whether a short text is page furniture (donation, share, cookie, related-links...).

    A sentence that merely mentions furniture words ("the newsletter reported...")
    is article text: as a sentence, furniture addresses the reader, gives an
    order ("Sign up...") or is very short. ``count``: ``len(words(text))``, when known.
    """
    if count is None:
        count = len(words(text))
    if count == 0:
        return True
    # every way of _MONEY_ONLY holds a currency sign: most text skips the match
    if any(map(text.__contains__, _CURRENCY)) and _MONEY_ONLY.match(text.strip()):
        return True
    if count > PROMO_MAX_WORDS and (count > 2 * HEADING_MAX_WORDS or ends_sentence(text)):
        # What the tests below would say without the quotation marks taken out and the
        # text lowered: a sentence this long is text, and so is a longer run of words
        # without a final stop. Most paragraphs are settled here.
        return False
    # every quotation _OUTSIDE_QUOTES takes out opens with one of these: most text has none
    outside = _OUTSIDE_QUOTES.sub(" ", text) if '"' in text or "“" in text else text
    lowered = outside.lower()
    if count <= PROMO_MAX_WORDS and _credit_or_contact(outside, lowered):
        return True
    if ends_sentence(text):
        if not (
            count <= SHORT_SENTENCE_WORDS or _IMPERATIVE.match(text) or _addresses(outside, lowered)
        ):
            return False
    elif count > 2 * HEADING_MAX_WORDS:
        return False
    return _search_folded(_FURNITURE, _FURNITURE_LOWER, outside, lowered)


def _is_byline_or_dateline(text: str, count: int) -> bool:
    """``count``: ``len(words(text))`` (stripping white space keeps every word)."""
    stripped = text.strip()
    if count > 12 or (ends_sentence(stripped) and _BYLINE.match(stripped) is None):
        return False
    return bool(_BYLINE.match(stripped) or _DATELINE.match(stripped))


def _is_heading(text: str, count: int) -> bool:
    """``count``: ``len(words(text))``."""
    stripped = text.strip()
    if stripped.endswith(":"):
        # "China's Official Statement:" leads a section; a sentence introducing a
        # quote ("He told reporters on Monday that the plan had failed:") does not.
        lead = stripped[:-1].rstrip()
        return len(words(lead)) <= HEADING_MAX_WORDS // 2 and not ends_sentence(lead)
    return count <= HEADING_MAX_WORDS and not ends_sentence(stripped)


def _addresses_reader(text: str) -> bool:
    outside = _OUTSIDE_QUOTES.sub(" ", text)
    return _addresses(outside, outside.lower())


def paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """Character ranges of the paragraphs of ``text``, trimmed of surrounding white space.

    A paragraph ends at a blank line or at a line break, except where the next
    line is plainly the same sentence wrapped (it starts in lower case after a
    line with no final stop). Paragraphs are never merged otherwise, so a
    sentence can never run from one paragraph into the next.
    """
    start: int | None = None
    end = 0
    previous = ""
    for match in re.finditer(r"[^\n]*(?:\n|$)", text):
        line = match.group().rstrip("\r\n")
        if match.start() == len(text) and not line:
            break
        if _BLANK.match(line):
            if start is not None:
                yield _trim(text, start, end)
                start = None
            continue
        wrapped = (
            start is not None
            and not ends_sentence(previous)
            and not _LIST_ITEM.match(line)
            and not _LIST_ITEM.match(previous)
            and line.lstrip()[:1].islower()
        )
        if start is not None and not wrapped:
            yield _trim(text, start, end)
            start = None
        if start is None:
            start = match.start()
        end = match.start() + len(line)
        previous = line
    if start is not None:
        yield _trim(text, start, end)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in "\u00a0\u200b\ufeff"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in "\u00a0\u200b\ufeff"):
        end -= 1
    return start, end


def classify(text: str, headings: Sequence[tuple[int, int]] | None = None) -> tuple[Block, ...]:
    """The paragraphs of an article body, each labelled content, heading or boilerplate.

    ``headings`` are the character spans of the text that its page marks up as
    headings (an HTML page's ``<h2>``...). Given, they are the headings, and any
    other short line (a table row, a list item) is text; plain-text articles
    have no such markup (None), so a heading is guessed from its shape.
    """
    spans = [span for span in paragraphs(text) if span[1] > span[0]]
    marked = _marked_headings(spans, headings)
    counts = [len(words(text[s:e])) for s, e in spans]  # each pass asks for them
    kinds: list[tuple[BlockKind, str]] = [
        _first_pass(
            text[s:e],
            counts[i],
            at_edge=i < EDGE_PARAGRAPHS or i >= len(spans) - EDGE_PARAGRAPHS,
            marked_heading=marked[i],
        )
        for i, (s, e) in enumerate(spans)
    ]
    _link_lists(text, spans, kinds)
    _promotions(text, spans, counts, kinds)
    _furniture_sections(text, spans, kinds)
    return tuple(Block(s, e, k, r) for (s, e), (k, r) in zip(spans, kinds, strict=True))


def _marked_headings(
    spans: Sequence[tuple[int, int]], headings: Sequence[tuple[int, int]] | None
) -> list[bool | None]:
    """Per paragraph, whether a marked-up heading span holds it (None: the format has none).

    One binary search per paragraph, as a page can have thousands of headings:
    a span ``(s, e)`` lies inside a heading when, of the headings that start at
    or before ``s``, the one reaching furthest reaches ``e``.
    """
    if headings is None:
        return [None] * len(spans)
    ordered = sorted(headings)
    starts = [start for start, _ in ordered]
    reach = list(accumulate((end for _, end in ordered), max))
    marked: list[bool | None] = []
    for start, end in spans:
        found = bisect_right(starts, start)
        marked.append(found > 0 and reach[found - 1] >= end)
    return marked


def _first_pass(
    paragraph: str, count: int, *, at_edge: bool, marked_heading: bool | None
) -> tuple[BlockKind, str]:
    if is_furniture(paragraph, count):
        return BlockKind.BOILERPLATE, "page furniture"
    if at_edge and _is_byline_or_dateline(paragraph, count):
        return BlockKind.BOILERPLATE, "byline or dateline"
    if marked_heading is not None:
        if marked_heading:
            return BlockKind.HEADING, "heading in the page"
        return BlockKind.CONTENT, ""
    if _LIST_ITEM.match(paragraph) and not ends_sentence(paragraph):
        return BlockKind.HEADING, "list item without a sentence"
    if _is_heading(paragraph, count):
        return BlockKind.HEADING, "heading"
    return BlockKind.CONTENT, ""


def _link_lists(text: str, spans: Sequence[tuple[int, int]], kinds: list) -> None:
    """A run of two or more list items that are not sentences is a list of links."""
    run: list[int] = []
    for i, (start, end) in enumerate([*spans, (0, 0)]):
        item = i < len(spans) and _LIST_ITEM.match(text[start:end]) is not None
        if item and not ends_sentence(text[start:end]):
            run.append(i)
            continue
        if len(run) >= 2:
            for j in run:
                kinds[j] = (BlockKind.BOILERPLATE, "list of links")
        run = []


def _promotions(
    text: str, spans: Sequence[tuple[int, int]], counts: Sequence[int], kinds: list
) -> None:
    """Short reader-directed text ("you can become part of the paper") beside furniture.

    Judged against the labels as they stand before this pass, so one promotion
    never makes its neighbour one and a run of them cannot eat into the article.
    """
    before = list(kinds)
    for i, (start, end) in enumerate(spans):
        if kinds[i][0] is not BlockKind.CONTENT:
            continue
        if counts[i] > PROMO_MAX_WORDS or not _near_furniture(before, i):
            continue  # the cheap tests first: most paragraphs have no furniture beside them
        if _addresses_reader(text[start:end]):
            kinds[i] = (BlockKind.BOILERPLATE, "promotion beside page furniture")


def _near_furniture(kinds: Sequence[tuple[BlockKind, str]], i: int, reach: int = 1) -> bool:
    """Whether furniture lies within ``reach`` content paragraphs of paragraph ``i``.

    One: furniture two paragraphs away is as often a page's last line as a box.
    """
    for step in (-1, 1):
        j, seen = i + step, 0
        while 0 <= j < len(kinds) and seen < reach:
            if kinds[j][0] is BlockKind.BOILERPLATE:
                return True
            if kinds[j][0] is BlockKind.CONTENT:
                seen += 1
            j += step
    return False


def _furniture_sections(text: str, spans: Sequence[tuple[int, int]], kinds: list) -> None:
    """A short paragraph between two pieces of furniture is furniture too (a footer zone).

    Looks behind at the labels as this pass leaves them, ahead at those it has
    not reached yet; both kept in step, so the pass stays one walk.
    """
    after = _next_non_heading(kinds)
    before: BlockKind | None = None
    for i, (start, end) in enumerate(spans):
        if (
            kinds[i][0] is BlockKind.CONTENT
            and before is BlockKind.BOILERPLATE
            and after[i] is BlockKind.BOILERPLATE
            and len(words(text[start:end])) <= PROMO_MAX_WORDS
        ):
            kinds[i] = (BlockKind.BOILERPLATE, "inside a block of page furniture")
        if kinds[i][0] is not BlockKind.HEADING:
            before = kinds[i][0]


def _next_non_heading(kinds: Sequence[tuple[BlockKind, str]]) -> list[BlockKind | None]:
    """Per paragraph, the kind of the first later paragraph that is not a heading."""
    after: list[BlockKind | None] = [None] * len(kinds)
    following: BlockKind | None = None
    for i in range(len(kinds) - 1, -1, -1):
        after[i] = following
        if kinds[i][0] is not BlockKind.HEADING:
            following = kinds[i][0]
    return after
