"""Laying out replies for Discord: escaping that renders identically, and limits that always hold."""

from __future__ import annotations

import json

import pytest

from bot.core.answer.engine import ArticleInfo
from bot.core.corpus.service import Listed, Listing, Reloaded
from bot.core.index.changes import CorpusChange
from bot.core.ingest.raw import LoadError
from bot.core.models import Answer, Reply, Source
from bot.discord.formatting import (
    ELLIPSIS,
    MAX_DESCRIPTION,
    clip,
    context_embed,
    escape,
    help_embed,
    reload_embed,
    reply_page,
    share,
    source_line,
    sources_embed,
    unescape,
)
from tests.discord.fake_discord import limit_problems

NONE = {"parse": []}


def answer(quote: str, *sources: Source, speaker: str | None = None) -> Answer:
    return Answer(
        quote=quote,
        sources=sources or (Source("a.md", "Title", "Publisher"),),
        score=1.0,
        article=0,
        start=0,
        end=len(quote),
        sentences=(0,),
        speaker=speaker,
    )


def payload(page) -> dict:
    return {"content": page.content, "embeds": page.embeds, "allowed_mentions": NONE}


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("@everyone and @here", "\\@everyone and \\@here"),
        ("<@123> <@!123> <@&456> <#789>", "\\<\\@123> \\<\\@!123> \\<\\@&456> \\<#789>"),
        (
            "**bold** __under__ ~~gone~~ ||spoiler||",
            "\\*\\*bold\\*\\* \\_\\_under\\_\\_ \\~\\~gone\\~\\~ \\|\\|spoiler\\|\\|",
        ),
        ("`code` and [link](https://x.example)", "\\`code\\` and \\[link\\](https://x.example)"),
        (
            "# heading\n> quote\n- item\n-# small\n1. first",
            "\\# heading\n\\> quote\n\\- item\n\\-# small\n1\\. first",
        ),
        ("a back\\slash", "a back\\\\slash"),
        (
            "Rostov-on-Don, 24 June. 3 > 2 # not a heading",
            "Rostov-on-Don, 24 June. 3 > 2 # not a heading",
        ),
        ("“Curly quotes” and naïve café — fine", "“Curly quotes” and naïve café — fine"),
    ],
)
def test_escape_neutralises_markup_and_mentions(text, escaped):
    assert escape(text) == escaped
    assert unescape(escape(text)) == text  # what Discord shows is the text itself


@pytest.mark.parametrize(
    "text",
    ["plain", "\\\\ double", "trailing \\", "@\n#\n>\n-", "10) x\n 2. y", "<t:1:R> <:e:1>", ""],
)
def test_unescape_inverts_escape(text):
    assert unescape(escape(text)) == text


def test_clip_keeps_fitting_text_whole():
    assert clip("hello @world", 100) == "hello \\@world"


def test_clip_cuts_at_a_word_and_marks_it():
    text = "the quick brown fox jumps over the lazy dog"
    clipped = clip(text, 20)
    assert len(clipped) <= 20
    assert clipped.endswith(ELLIPSIS)
    shown = unescape(clipped[: -len(ELLIPSIS)])
    assert text.startswith(shown) and text[len(shown)] == " "  # a whole-word prefix


def test_clip_counts_the_escapes_against_the_limit():
    clipped = clip("*a* *b* *c* *d* *e*", 12)
    assert len(clipped) <= 12 and clipped.endswith(ELLIPSIS)
    assert unescape(clipped[:-1]) == "*a* *b*"


def test_clip_cuts_one_enormous_word_where_it_must():
    assert clip("x" * 50, 10) == "x" * 9 + ELLIPSIS


def test_source_line_links_the_title_and_dates_the_timestamp():
    source = Source(
        "id", "A [bracketed] title", "Pub", "https://ex.example/a (b)", "2023-06-25T18:30:00Z"
    )
    assert source_line(source) == (
        "[A \\[bracketed\\] title](https://ex.example/a%20%28b%29) — Pub, 2023-06-25"
    )


@pytest.mark.parametrize("url", [None, "javascript:alert(1)", "ftp://x.example/a", "not a url"])
def test_source_line_links_only_web_addresses(url):
    assert source_line(Source("file.md", None, None, url)) == "file.md"


def test_reply_page_has_an_embed_per_answer_with_quote_then_source():
    reply = Reply("what did @everyone say?", (answer("“Yes,” she said.", speaker="she"),))
    page = reply_page(reply)
    assert page.content == "**Question:** what did \\@everyone say?"
    assert page.embeds[0]["description"] == "“Yes,” she said.\n\n— Title — Publisher"
    assert page.embeds[0]["footer"] == {"text": "Answer 1 · speaker: she"}


def test_reply_page_lists_other_articles_with_the_same_quote():
    other = Source("b.md", "Other paper", "Second Pub")
    page = reply_page(Reply("q", (answer("Quote.", Source("a.md", "T", "P"), other),)))
    assert page.embeds[0]["description"].endswith("\nAlso in: Other paper — Second Pub")


def test_no_answer_is_one_plain_line():
    page = reply_page(Reply("q", (), "No article mentions <@&1>."))
    assert page.content == "No article mentions \\<\\@&1>." and page.embeds == []


def test_quote_over_the_description_limit_is_cut_at_a_word():
    quote = ("word " * 1200).strip()  # 5,999 characters
    page = reply_page(Reply("q", (answer(quote),)))
    description = page.embeds[0]["description"]
    assert len(description) <= MAX_DESCRIPTION
    shown = description.split("\n\n— ")[0]
    assert shown.endswith(ELLIPSIS) and quote.startswith(shown[:-1])
    assert not limit_problems(payload(page))


def test_ten_long_answers_share_the_6000_character_budget():
    answers = tuple(answer(f"{i} " + "long quote text " * 300) for i in range(10))
    page = reply_page(Reply("q", answers))
    assert len(page.embeds) == 10
    assert not limit_problems(payload(page))
    assert all(e["description"].split("\n\n— ")[0].endswith(ELLIPSIS) for e in page.embeds)


def test_short_answers_stay_whole_while_long_ones_are_cut():
    page = reply_page(Reply("q", (answer("Short."), answer("long " * 2000))))
    assert page.embeds[0]["description"].startswith("Short.\n\n— ")
    assert page.embeds[1]["description"].split("\n\n— ")[0].endswith(ELLIPSIS)
    assert not limit_problems(payload(page))


def test_huge_titles_and_addresses_fall_back_to_a_compact_source_line():
    source = Source("a.md", "T" * 5000, "P" * 5000, "https://x.example/" + "p" * 400, "2023-06-25")
    page = reply_page(Reply("q", tuple(answer("Quote " * 200, source, source) for _ in range(10))))
    assert not limit_problems(payload(page))
    assert "](https://" not in page.embeds[0]["description"]


def test_long_questions_are_cut_to_fit_the_message():
    page = reply_page(Reply("why " * 1000, (answer("Quote."),)))
    assert len(page.content) <= 2000 and page.content.endswith(ELLIPSIS)


@pytest.mark.parametrize(
    ("total", "wants", "expected"),
    [(100, [10, 80, 80], [10, 45, 45]), (100, [10, 20], [10, 20]), (0, [5], [0]), (10, [], [])],
)
def test_share_meets_small_wants_and_splits_the_rest(total, wants, expected):
    assert share(total, wants) == expected


def test_context_bolds_the_quoted_sentence_in_its_surroundings():
    quoted = answer("It was closed.")
    embed = context_embed(quoted, ("Before it.", "It was closed.", "After *that*."), 2)
    assert embed["title"] == "Context for answer 2"
    assert embed["description"] == (
        "Before it.\n**It was closed.**\nAfter \\*that\\*.\n\n— Title — Publisher"
    )


def test_context_of_many_long_sentences_stays_in_the_limit():
    sentences = tuple("sentence " * 300 for _ in range(5))
    embed = context_embed(answer(sentences[2]), sentences, 1)
    assert not limit_problems({"embeds": [embed], "allowed_mentions": NONE})


def test_sources_embed_says_how_many_did_not_fit_and_still_counts_unreadable_files():
    articles = [ArticleInfo(Source(f"file{i}.md", "A title " * 20), 10) for i in range(200)]
    unreadable = (LoadError("bad.md", "has no article text"),) * 2
    embed = sources_embed(Listing(tuple(Listed(info) for info in articles), unreadable))
    assert embed["title"] == "Loaded articles (200), newest first"
    lines = embed["description"].splitlines()
    assert lines[-2].startswith("… and ") and lines[-1] == "2 files could not be read."
    assert not limit_problems({"embeds": [embed], "allowed_mentions": NONE})


def test_sources_embed_dates_an_undated_article_by_its_file():
    dated = Listed(ArticleInfo(Source("a.md", "Dated", published="2023-06-25T18:30:00Z"), 4), 0.0)
    undated = Listed(ArticleInfo(Source("b.md", "Undated"), 5), 1_700_000_000.0)
    description = sources_embed(Listing((dated, undated)))["description"]
    assert description.splitlines() == [
        "• Dated — 2023-06-25 · 4 sentences",
        "• Undated · file dated 2023-11-14 · 5 sentences",
    ]


def test_sources_embed_with_nothing_loaded_still_counts_unreadable_files():
    embed = sources_embed(Listing((), (LoadError("bad.md", "has no article text"),)))
    assert embed["title"] == "No articles are loaded"
    assert embed["description"] == "1 file could not be read."


def test_reload_embed_lists_every_change_escaped_with_reasons():
    change = CorpusChange(
        added=("new_*story*.md",),
        changed=("world/china.md",),
        removed=("@everyone.md",),
        failed=(LoadError("broken.md", "front matter opened with '---' is never closed"),),
    )
    earlier = LoadError("old.html", "not UTF-8 text (byte 3)")
    embed = reload_embed(Reloaded(change, (earlier, *change.failed), 7, watching=True))
    assert embed["title"] == "Reloaded: 1 added, 1 changed, 1 removed, 1 unreadable"
    assert embed["description"].splitlines() == [
        "**Added (1)**",
        "• new\\_\\*story\\*.md",
        "**Changed (1)**",
        "• world/china.md",
        "**Removed (1)**",
        "• \\@everyone.md",
        "**Unreadable (1)**",
        "• broken.md: front matter opened with '---' is never closed",
        "**Still unreadable (1)**",
        "• old.html: not UTF-8 text (byte 3)",
    ]
    assert embed["footer"]["text"].startswith(
        "Now answering from 7 articles. The folder is watched"
    )


def test_reload_embed_shows_a_name_that_is_not_utf8_as_text_discord_takes():
    """The file system hands an undecodable name over with lone surrogates: no JSON encoder
    sending to Discord (orjson, or the standard library's strict UTF-8) takes those."""
    odd = LoadError("caf\udce9.txt", "file name is not UTF-8: rename the file to read it")
    embed = reload_embed(Reloaded(CorpusChange(failed=(odd,)), (odd,), 2, watching=False))
    assert (
        "• caf\ufffd.txt: file name is not UTF-8: rename the file to read it"
        in embed["description"].splitlines()
    )
    json.dumps(embed, ensure_ascii=False).encode("utf-8")


def test_reload_embed_says_when_nothing_changed():
    embed = reload_embed(Reloaded(CorpusChange(), (), 1, watching=False))
    assert embed["title"] == "Reloaded: 0 added, 0 changed, 0 removed, 0 unreadable"
    assert embed["description"].startswith("Nothing changed")
    assert embed["footer"]["text"] == "Now answering from 1 article."


def test_reload_embed_of_a_huge_change_stays_in_the_limits():
    ids = tuple(f"folder/{'x' * 150}/{i}.md" for i in range(500))
    failed = tuple(LoadError(f"bad{i}.md", "r" * 400) for i in range(100))
    embed = reload_embed(Reloaded(CorpusChange(ids, ids, ids, failed), failed, 500, True))
    assert embed["description"].splitlines()[-1].startswith("… and ")
    assert not limit_problems({"embeds": [embed], "allowed_mentions": NONE})


@pytest.mark.parametrize(("enabled", "shown"), [(True, True), (False, False)])
def test_help_mentions_the_prefix_only_when_it_works(enabled, shown):
    description = help_embed("?", enabled)["description"]
    assert ("?ask what did China say?" in description) is shown
    assert "/ask question:" in description
