r"""Replies laid out for Discord: embeds as plain dicts, inside every limit, quotes never rewritten.

Pure functions from the core's dataclasses to Discord's wire shapes, so they can be
tested without a client and reused by every way of asking. Two promises hold for
everything produced here:

* What a reader sees is the article's text word for word. Markup and mentions are
  neutralised with backslash escapes, which Discord renders as the character itself
  (``\@everyone`` shows ``@everyone`` and pings no one; ``\*`` shows ``*``). No
  zero-width characters are inserted and nothing is paraphrased: ``unescape`` of a
  rendered quote gives the quote back exactly.
* Discord's size limits always hold. A quote too long for its share of the message is
  cut at a word boundary and marked with "…"; it is never shortened any other way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from bot.core.corpus.service import Listed, Listing, Reloaded, published_at
from bot.core.ingest.raw import LoadError
from bot.core.models import Answer, Reply, Source

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_EMBED_TOTAL = 6000
MAX_LINK = 512
ELLIPSIS = "…"
_MIN_QUOTE_ROOM = 200  # below this a quote is better served by a shorter source line
_MAX_ALSO = 300

ANSWER_COLOUR = 0x2B6CB0
CONTEXT_COLOUR = 0x718096
SOURCES_COLOUR = 0x2F855A

Embed = dict[str, Any]

# Characters Discord reads as markup or mention syntax anywhere in a line...
_INLINE = re.compile(r"([\\*_~`|\[\]<@])")
# ...and only at the start of a line: headings, quotes, list bullets, "1." lists, "-#" subtext.
_LINE_START = re.compile(r"(?m)^([ \t]*)(?:([-+#>])|(\d+)([.)]))")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SAFE_URL_CHARS = "/:?#[]@!$&'*+,;=%-._~"


def escape(text: str) -> str:
    """Backslash-escape markup and mentions so Discord shows ``text`` exactly and acts on none.

    ``@everyone``, ``@here``, ``<@123>``, ``<@&123>``, ``<#1>``, ``**bold**``, ``[a](b)``,
    ``||spoiler||`` and line-start ``#``/``>``/``-``/``1.`` all render literally.
    """
    escaped = _INLINE.sub(r"\\\1", text)
    return _LINE_START.sub(_escape_line_start, escaped)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, bullet, number, dot = match.groups()
    if bullet:
        return f"{indent}\\{bullet}"
    return f"{indent}{number}\\{dot}"


def unescape(text: str) -> str:
    """What Discord shows for ``escape``d text (the inverse of ``escape``)."""
    return _ESCAPED.sub(r"\1", text)


def clip(text: str, limit: int, *, markdown: bool = True) -> str:
    """``text`` escaped to fit ``limit`` characters; if cut, cut at a word and marked with "…".

    With ``markdown=False`` nothing is escaped (footers and button labels show text as is).
    """
    render = escape if markdown else _same
    whole = render(text)
    if len(whole) <= limit:
        return whole
    room = limit - len(ELLIPSIS)
    if room <= 0:
        return ELLIPSIS[:limit]
    low, high = 0, len(text)
    while low < high:  # the longest prefix whose rendering fits in ``room``
        middle = (low + high + 1) // 2
        if len(render(text[:middle])) <= room:
            low = middle
        else:
            high = middle - 1
    cut = _word_boundary(text, low)
    return render(text[:cut].rstrip()) + ELLIPSIS


def _same(text: str) -> str:
    return text


def _word_boundary(text: str, cut: int) -> int:
    """The last word end at or before ``cut``; ``cut`` itself when one word fills the room."""
    if cut < len(text) and text[cut].isspace():
        return cut
    for index in range(cut - 1, 0, -1):
        if text[index].isspace():
            return index
    return cut


def _link(url: str | None) -> str | None:
    """A URL safe to put in ``[title](url)``: http(s) only, brackets and spaces encoded."""
    if not url:
        return None
    url = url.strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https"):
        return None
    safe = quote(url, safe=_SAFE_URL_CHARS)
    return safe if len(safe) <= MAX_LINK else None


def _date(published: str | None) -> str | None:
    """The day of an ISO timestamp (a reader wants the date, not the second); else as given."""
    if published and _ISO_DATE.match(published):
        return published[:10]
    return published


def source_line(source: Source, *, compact: bool = False) -> str:
    """``title — publisher, date``, the title linked to the article when it has a URL.

    An untitled article shows its file name; absent fields are left out. ``compact``
    drops the link and shortens the parts, for when ten answers must share a message.
    """
    title_room, part_room = (80, 40) if compact else (200, 100)
    title = clip(source.title or source.id, title_room)
    url = None if compact else _link(source.url)
    head = f"[{title}]({url})" if url else title
    parts = (source.publisher, _date(source.published))
    tail = ", ".join(clip(part, part_room) for part in parts if part)
    return f"{head} — {tail}" if tail else head


def _plain_source(source: Source) -> str:
    """``title — publisher`` unescaped and unlinked, for the "Also in" list."""
    return " — ".join(part for part in (source.title or source.id, source.publisher) if part)


@dataclass(frozen=True, slots=True)
class Page:
    """One message's worth of reply: the text line and the embeds under it."""

    content: str
    embeds: list[Embed] = field(default_factory=list)


def question_line(question: str) -> str:
    """The echoed question above the answers (escaped: it is the asker's text, not ours)."""
    label = "**Question:** "
    return label + clip(question, MAX_CONTENT - len(label))


def one_line(message: str) -> str:
    """A short plain message (errors, no-answer reasons) that fits in one Discord message."""
    return clip(" ".join(message.split()), MAX_CONTENT)


def reply_page(reply: Reply) -> Page:
    """The reply as one message: the question, then an embed per answer (quote, then source).

    No answers gives a plain line with the engine's reason. The quotes share the
    message's 6,000-character embed budget: short quotes are shown whole and the long
    ones split what is left, each cut at a word if it must be.
    """
    if not reply.answers:
        return Page(one_line(reply.no_answer_reason or "The articles do not cover this question."))
    answers = reply.answers[:MAX_EMBEDS]
    footers = [_answer_footer(answer, reply.offset + i + 1) for i, answer in enumerate(answers)]
    tails = [_answer_tail(answer) for answer in answers]
    fixed = [len(tail) + len(footer) for tail, footer in zip(tails, footers, strict=True)]
    if sum(fixed) + _MIN_QUOTE_ROOM * len(answers) > MAX_EMBED_TOTAL:
        tails = [_answer_tail(answer, compact=True) for answer in answers]
        fixed = [len(tail) + len(footer) for tail, footer in zip(tails, footers, strict=True)]
    caps = [MAX_DESCRIPTION - len(tail) for tail in tails]
    wants = [min(len(escape(a.quote)), cap) for a, cap in zip(answers, caps, strict=True)]
    budgets = share(MAX_EMBED_TOTAL - sum(fixed), wants)
    embeds = [
        {
            "description": clip(answer.quote, budget) + tail,
            "color": ANSWER_COLOUR,
            "footer": {"text": footer},
        }
        for answer, budget, tail, footer in zip(answers, budgets, tails, footers, strict=True)
    ]
    return Page(question_line(reply.question), embeds)


def _answer_tail(answer: Answer, *, compact: bool = False) -> str:
    """What follows a quote in its embed: the source line and any other articles saying it."""
    lines = ["", "", f"— {source_line(answer.source, compact=compact)}"]
    others = answer.sources[1:]
    if others and not compact:
        also = "; ".join(_plain_source(s) for s in others)
        lines.append(clip(f"Also in: {also}", _MAX_ALSO))
    return "\n".join(lines)


def _answer_footer(answer: Answer, number: int) -> str:
    text = f"Answer {number}"
    if answer.speaker:
        text += " · speaker: " + clip(answer.speaker, 60, markdown=False)
    return text


def share(total: int, wants: Sequence[int]) -> list[int]:
    """Split ``total`` so modest wants are met in full and the large ones share the rest evenly."""
    out = [0] * len(wants)
    left = max(total, 0)
    order = sorted(range(len(wants)), key=lambda i: wants[i])
    for rank, index in enumerate(order):
        fair = left // (len(wants) - rank)
        out[index] = min(wants[index], fair)
        left -= out[index]
    return out


def context_embed(answer: Answer, sentences: Sequence[str], number: int) -> Embed:
    """The sentences around a quote in its article, verbatim, the quoted ones in bold."""
    tail = f"\n\n— {source_line(answer.source)}"
    room = MAX_DESCRIPTION - len(tail)
    per_sentence = max(room // max(len(sentences), 1) - 5, 1)  # 5: "**" twice and a newline
    lines = []
    for sentence in sentences:
        text = clip(sentence, per_sentence)
        lines.append(f"**{text}**" if sentence in answer.quote else text)
    return {
        "title": f"Context for answer {number}",
        "description": "\n".join(lines) + tail,
        "color": CONTEXT_COLOUR,
    }


def sources_embed(listing: Listing) -> Embed:
    """The article count and the newest articles, one line each, as many as fit.

    The listing comes newest first; an article without an ISO publication date shows
    its file's date instead. Unreadable files are counted on a last line (their names
    and reasons are for server managers, in /reload).
    """
    articles = listing.articles
    tail = [f"{_count(len(listing.unreadable), 'file')} could not be read."]
    if not articles:
        embed: Embed = {"title": "No articles are loaded", "color": SOURCES_COLOUR}
        if listing.unreadable:
            embed["description"] = tail[0]
        return embed
    lines = [_listed_line(item) for item in articles]
    return {
        "title": f"Loaded articles ({len(articles)}), newest first",
        "description": _fit_lines(lines, tail if listing.unreadable else []),
        "color": SOURCES_COLOUR,
    }


def _listed_line(item: Listed) -> str:
    line = f"• {source_line(item.info.source)}"
    if published_at(item.info.source.published) is None and item.modified is not None:
        line += f" · file dated {datetime.fromtimestamp(item.modified, UTC):%Y-%m-%d}"
    return f"{line} · {item.info.sentences} sentences"


def reload_embed(reloaded: Reloaded) -> Embed:
    """What a rescan changed: the counts, then the ids, then every unreadable file and why.

    Files this rescan could not read come first; files that were already unreadable
    follow, so a manager sees the reasons even after the watcher got there first.
    """
    change = reloaded.change
    new = {error.path for error in change.failed}
    earlier = [error for error in reloaded.unreadable if error.path not in new]
    sections = [
        ("Added", [clip(key, 200) for key in change.added]),
        ("Changed", [clip(key, 200) for key in change.changed]),
        ("Removed", [clip(key, 200) for key in change.removed]),
        ("Unreadable", [_error_line(error) for error in change.failed]),
        ("Still unreadable", [_error_line(error) for error in earlier]),
    ]
    lines = [
        line
        for name, items in sections
        if items
        for line in (f"**{name} ({len(items)})**", *(f"• {item}" for item in items))
    ]
    if not change:
        lines.insert(0, "Nothing changed: I already answer from the folder as it is now.")
    now = f"Now answering from {_count(reloaded.articles, 'article')}."
    if reloaded.watching:
        now += " The folder is watched: changes are picked up within seconds."
    return {
        "title": f"Reloaded: {change.summary()}",
        "description": _fit_lines(lines, []),
        "footer": {"text": now},
        "color": SOURCES_COLOUR,
    }


def _error_line(error: LoadError) -> str:
    return f"{clip(error.shown_path, 200)}: {clip(error.reason, 300)}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _fit_lines(lines: Sequence[str], tail: Sequence[str], limit: int = MAX_DESCRIPTION) -> str:
    """``lines`` joined, as many as fit in ``limit`` with ``tail`` after them.

    Lines that do not fit are counted in an "… and N more" line; ``tail`` is always shown.
    """
    reserve = sum(len(line) + 1 for line in tail) + len(f"… and {len(lines)} more")
    shown: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > limit - reserve:
            shown.append(f"… and {len(lines) - len(shown)} more")
            break
        shown.append(line)
        used += len(line) + 1
    return "\n".join([*shown, *tail])


def help_embed(prefix: str, prefix_enabled: bool) -> Embed:
    """How to ask, in the words a user needs (the prefix shown is the configured one)."""
    shown = escape(prefix)
    ways = [
        "• `/ask question: what did China say?`",
        "• Mention me: @newsquote what did China say?",
    ]
    if prefix_enabled:
        ways.append(f"• {shown}ask what did China say?")
    lines = [
        "I answer questions about the loaded news articles with **verbatim quotes** "
        "and where each comes from. Ask in any of these ways:",
        *ways,
        "",
        "Under an answer: **More** shows the next answers (only for the person who asked), "
        "**Context** shows the sentences around a quote, **Sources** lists the articles.",
        f"`/sources` (or {shown}sources) lists the articles I can quote from, newest first.",
        "Server managers: `/reload` re-reads the articles folder now and says what changed.",
    ]
    return {"title": "How to ask", "description": "\n".join(lines), "color": SOURCES_COLOUR}
