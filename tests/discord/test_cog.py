"""The commands end to end: the real discord.py client against the stand-in Discord.

Each test acts as a user would (a slash command, a message, a mention) and asserts on
the payload the stand-in received. The ``fake`` fixture also fails any test whose
payloads break Discord's limits, let a mention through, or hit an unserved route.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time

import discord
import pytest

from bot.discord import cog
from bot.discord.formatting import unescape
from tests.discord.fake_discord import ALL_PERMISSIONS, EPHEMERAL, MEMBER_PERMISSIONS
from tests.discord.worker_process import write_corpus

QUESTION = "what did China say?"


def message_of(call):
    """The message a call carries: an interaction callback's ``data`` or a plain send."""
    return call.body["data"] if "/interactions/" in call.path else call.body


def visible(text: str) -> str:
    """What a Discord user sees for ``text`` (escapes rendered)."""
    return unescape(text)


def assert_one_private_line(call, *phrases: str) -> str:
    data = message_of(call)
    assert call.body["type"] == 4
    assert data["flags"] & EPHEMERAL
    assert "\n" not in data["content"]
    assert not data.get("embeds")
    for phrase in phrases:
        assert phrase in data["content"]
    return data["content"]


async def test_slash_ask_answers_with_quotes_sources_and_buttons(fake, bot, engine):
    interaction = await fake.slash("ask", {"question": QUESTION})
    call = await fake.response_to(interaction)

    assert call.body["type"] == 4
    data = call.body["data"]
    assert data["allowed_mentions"] == {"parse": []}
    assert not data.get("flags", 0) & EPHEMERAL
    assert data["content"] == f"**Question:** {QUESTION}"
    expected = engine.ask(QUESTION, top_k=3)
    assert len(data["embeds"]) == len(expected.answers)
    first = data["embeds"][0]["description"]
    quote, source = first.split("\n\n— ")
    assert visible(quote) == expected.answers[0].quote
    assert source == (
        "[China backs Russia after mutiny]"
        "(https://news.example/world/china-backs-russia_%28analysis%29)"
        " — The Daily Wire Service, 2023-06-25"
    )
    labels = [b["label"] for row in data["components"] for b in row["components"]]
    assert labels == ["More", "Sources"] + [
        f"Context {i}" for i in range(1, len(expected.answers) + 1)
    ]


async def test_prefix_command_answers_in_a_reply_when_the_intent_is_on(fake, start_bot):
    await start_bot(message_content_intent=True)
    message = await fake.say(f"!ask {QUESTION}")
    call = await fake.reply_to(message)

    assert call.path == f"/channels/{fake.channel_id}/messages"
    assert call.body["allowed_mentions"] == {"parse": [], "replied_user": False}
    assert "international" not in call.body["content"]
    assert "China supports Russia" in call.body["embeds"][0]["description"]
    assert fake.identifies[0]["intents"] & (1 << 15)


async def test_mention_is_answered_without_the_message_content_intent(fake, bot):
    prefixed = await fake.say(f"!ask {QUESTION}")  # Discord blanks this one's text
    mention = await fake.say(f"<@{fake.app_id}> {QUESTION}", mentions=[fake.bot_user])
    call = await fake.reply_to(mention)

    assert "China supports Russia" in call.body["embeds"][0]["description"]
    assert not fake.identifies[0]["intents"] & (1 << 15)
    await asyncio.sleep(0.05)
    replies = [c for c in fake.calls if c.method == "POST" and "/channels/" in c.path]
    assert all(str(c.body["message_reference"]["message_id"]) != prefixed["id"] for c in replies)


async def test_greetings_and_mentions_around_a_question_are_not_searched(fake, bot):
    slash = await fake.slash("ask", {"question": "@everyone hey, “what did China say?” 🤔"})
    data = message_of(await fake.response_to(slash))
    assert "China supports Russia" in data["embeds"][0]["description"]

    mention = await fake.say(
        f"<@{fake.app_id}> Hi bot! what did China say? thanks", mentions=[fake.bot_user]
    )
    call = await fake.reply_to(mention)
    assert "China supports Russia" in call.body["embeds"][0]["description"]


async def test_no_answer_is_a_short_plain_reply(fake, bot):
    interaction = await fake.slash("ask", {"question": "what did Obama say?"})
    data = message_of(await fake.response_to(interaction))

    assert data["content"] == "No article mentions Obama."
    assert not data.get("embeds")
    assert not data.get("components")
    assert not data.get("flags", 0) & EPHEMERAL


async def test_too_long_question_gets_one_private_line(fake, bot):
    interaction = await fake.slash("ask", {"question": "why " * 200})
    content = assert_one_private_line(await fake.response_to(interaction), "characters long")
    assert content == (
        "That question is 799 characters long; a question may be at most 300 characters."
    )


async def test_empty_prefix_question_gets_a_one_line_hint(fake, start_bot):
    await start_bot(message_content_intent=True)
    message = await fake.say("!ask")
    call = await fake.reply_to(message)
    assert (
        call.body["content"] == "Ask a question after the command, for example: what did China say?"
    )


async def test_cooldown_refuses_the_next_question_privately(fake, start_bot):
    await start_bot(cooldown_rate=1, cooldown_seconds=60)
    asker = fake.user("quick")
    first = await fake.slash("ask", {"question": QUESTION}, asker)
    await fake.response_to(first)
    second = await fake.slash("ask", {"question": QUESTION}, asker)
    assert_one_private_line(await fake.response_to(second), "try again in 60 s")
    other = await fake.slash("ask", {"question": QUESTION}, fake.user("patient"))
    assert message_of(await fake.response_to(other)).get("embeds")


async def test_question_with_mass_mentions_is_echoed_inert(fake, bot):
    question = "what did China say @everyone <@&123> @here?"
    interaction = await fake.slash("ask", {"question": question})
    data = message_of(await fake.response_to(interaction))

    assert data["allowed_mentions"] == {"parse": []}
    content = data["content"]
    assert "@everyone <@&123> @here" in visible(content)  # shown as typed...
    assert not re.search(r"(?<!\\)[@<]", content), content  # ...but every @ and < is escaped


async def test_quote_with_mentions_and_markup_is_escaped_but_verbatim(fake, bot, engine):
    interaction = await fake.slash("ask", {"question": "what did the harbour master say?"})
    data = message_of(await fake.response_to(interaction))

    description = data["embeds"][0]["description"]
    quote = description.split("\n\n— ")[0]
    assert visible(quote) == engine.ask("what did the harbour master say?").answers[0].quote
    assert "\\@everyone" in quote and "\\<\\@&123>" in quote and "\\*harbour\\*" in quote
    assert data["allowed_mentions"] == {"parse": []}


async def test_quote_longer_than_a_field_is_shown_whole(fake, bot, engine):
    interaction = await fake.slash("ask", {"question": "what did Morag Ferguson say?"})
    data = message_of(await fake.response_to(interaction))

    quote = engine.ask("what did Morag Ferguson say?").answers[0].quote
    assert len(quote) > 1024
    shown = data["embeds"][0]["description"].split("\n\n— ")[0]
    assert visible(shown) == quote


async def test_channel_outside_the_allowlist_gets_one_private_line(fake, start_bot):
    await start_bot(allowed_channels=[42])
    interaction = await fake.slash("ask", {"question": QUESTION})
    assert_one_private_line(await fake.response_to(interaction), "I only answer in #42.")


async def test_allowlisted_channel_is_answered(fake, start_bot):
    await start_bot(allowed_channels=[fake.channel_id])
    interaction = await fake.slash("ask", {"question": QUESTION})
    assert message_of(await fake.response_to(interaction))["embeds"]


@pytest.mark.parametrize(("allow_dms", "answered"), [(True, True), (False, False)])
async def test_direct_messages_follow_the_setting(fake, start_bot, allow_dms, answered):
    await start_bot(allow_dms=allow_dms)
    interaction = await fake.slash("ask", {"question": QUESTION}, guild_id=None)
    call = await fake.response_to(interaction)
    if answered:
        assert message_of(call)["embeds"]
    else:
        assert_one_private_line(call, "direct messages")


async def test_sources_lists_the_loaded_articles_privately(fake, bot, engine):
    interaction = await fake.slash("sources")
    data = message_of(await fake.response_to(interaction))
    assert data["flags"] & EPHEMERAL
    embed = data["embeds"][0]
    assert embed["title"] == "Loaded articles (3), newest first"
    keeper = engine.sources()[2].sentences
    assert embed["description"].endswith(f"• Lighthouse keeper retires · {keeper} sentences")


async def test_help_explains_how_to_ask(fake, start_bot):
    await start_bot(message_content_intent=True)
    slash = await fake.slash("help")
    assert "/ask question:" in message_of(await fake.response_to(slash))["embeds"][0]["description"]
    prefixed = await fake.say("!help")
    assert (await fake.reply_to(prefixed)).body["embeds"][0]["title"] == "How to ask"
    mention = await fake.say(f"<@{fake.app_id}> help", mentions=[fake.bot_user])
    assert (await fake.reply_to(mention)).body["embeds"][0]["title"] == "How to ask"


async def test_unexpected_error_is_logged_and_answered_with_an_apology(
    fake, bot, engine, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("index on fire")

    monkeypatch.setattr(engine, "ask", broken)
    with caplog.at_level(logging.ERROR, logger="bot.discord"):
        interaction = await fake.slash("ask", {"question": QUESTION})
        content = assert_one_private_line(await fake.response_to(interaction), "Sorry")
    assert "index on fire" not in content
    record = next(r for r in caplog.records if r.name == "bot.discord.errors")
    assert record.exc_info and "index on fire" in str(record.exc_info[1])


async def test_slow_answer_is_acknowledged_first_then_sent_as_a_follow_up(
    fake, bot, engine, monkeypatch
):
    real_ask = engine.ask

    def slow_ask(*args, **kwargs):
        time.sleep(0.3)
        return real_ask(*args, **kwargs)

    monkeypatch.setattr(cog, "DEFER_AFTER_SECONDS", 0.05)
    monkeypatch.setattr(engine, "ask", slow_ask)
    interaction = await fake.slash("ask", {"question": QUESTION})
    assert (await fake.response_to(interaction)).body == {"type": 5}  # "thinking…"
    token = interaction["token"]
    follow_up = await fake.wait_for(lambda c: c.path == f"/webhooks/{fake.app_id}/{token}")
    assert "China supports Russia" in follow_up.body["embeds"][0]["description"]
    assert follow_up.body["allowed_mentions"] == {"parse": []}


@pytest.mark.parametrize(
    ("content", "question"),
    [
        ("<@42> what did China say?", "what did China say?"),
        ("  <@!42>\nwhat did China say?", "what did China say?"),
        ("<@42>", ""),
        ("<@43> what did China say?", None),  # someone else
        ("hey <@42> what did China say?", None),  # not addressed to us first
        ("!ask what did China say?", None),
    ],
)
def test_mentioned_question_reads_only_messages_that_open_with_our_mention(content, question):
    assert cog.mentioned_question(content, 42) == question


# ------------------------------------------------------------------ a live corpus

DAM = """Dam inspection ordered after cracks

Engineers found new cracks in the Kariba dam wall on Thursday, officials said.

“The wall is safe for now, but we will lower the reservoir by two metres as a precaution,” chief engineer Ruth Moyo said.

Farmers downstream were told to move livestock away from the river banks.

The power company said electricity supplies would not be affected.

An independent panel will report on the cracks within a month.

Fishing on the lake has been suspended until the inspection ends.
"""


@pytest.fixture
def corpus(tmp_path):
    """The three test articles as files (only china.md has a publication date)."""
    return write_corpus(tmp_path / "articles")


async def reload_as(fake, permissions: int = ALL_PERMISSIONS) -> dict:
    """A member with ``permissions`` runs /reload; the ephemeral reply's data."""
    interaction = await fake.slash("reload", user=fake.user("editor"), permissions=permissions)
    return message_of(await fake.response_to(interaction))


async def test_reload_by_a_manager_reports_a_new_file_and_ask_then_quotes_it(
    fake, start_bot, corpus
):
    await start_bot(corpus=corpus, watch_interval_seconds=0)
    (corpus / "dam.md").write_text(DAM, encoding="utf-8")

    data = await reload_as(fake)

    assert data["flags"] & EPHEMERAL and data["allowed_mentions"] == {"parse": []}
    embed = data["embeds"][0]
    assert embed["title"] == "Reloaded: 1 added, 0 changed, 0 removed, 0 unreadable"
    assert embed["description"] == "**Added (1)**\n• dam.md"
    assert embed["footer"]["text"] == "Now answering from 4 articles."
    interaction = await fake.slash("ask", {"question": "what did Ruth Moyo say?"})
    answer = message_of(await fake.response_to(interaction))["embeds"][0]["description"]
    assert "lower the reservoir by two metres" in answer
    assert answer.endswith("\n\n— dam.md")


async def test_reload_reports_edits_deletions_and_unreadable_files_and_answers_follow(
    fake, start_bot, corpus
):
    await start_bot(corpus=corpus, watch_interval_seconds=0)
    china = corpus / "china.md"
    china.write_text(
        china.read_text(encoding="utf-8").replace("China supports", "China firmly backs"),
        encoding="utf-8",
    )
    (corpus / "harbour.md").unlink()
    (corpus / "draft.md").write_text('---\ntitle: "Unfinished"\n', encoding="utf-8")

    embed = (await reload_as(fake))["embeds"][0]

    assert embed["title"] == "Reloaded: 0 added, 1 changed, 1 removed, 1 unreadable"
    assert embed["description"].splitlines() == [
        "**Changed (1)**",
        "• china.md",
        "**Removed (1)**",
        "• harbour.md",
        "**Unreadable (1)**",
        "• draft.md: front matter opened with '---' is never closed",
    ]
    china_reply = await fake.slash("ask", {"question": QUESTION})
    quote = message_of(await fake.response_to(china_reply))["embeds"][0]["description"]
    assert "China firmly backs Russia" in quote
    harbour_reply = await fake.slash("ask", {"question": "what did the harbour master say?"})
    data = message_of(await fake.response_to(harbour_reply))
    assert not data.get("embeds")


async def test_reload_by_a_member_without_manage_server_is_refused_and_rescans_nothing(
    fake, start_bot, corpus
):
    await start_bot(corpus=corpus, watch_interval_seconds=0)
    (corpus / "dam.md").write_text(DAM, encoding="utf-8")

    interaction = await fake.slash(
        "reload", user=fake.user("reader"), permissions=MEMBER_PERMISSIONS
    )
    assert_one_private_line(
        await fake.response_to(interaction),
        "Only members with the Manage Server permission can do that.",
    )
    sources = message_of(await fake.response_to(await fake.slash("sources")))
    assert sources["embeds"][0]["title"] == "Loaded articles (3), newest first"


async def test_prefix_reload_is_refused_to_a_member_without_manage_server(fake, start_bot):
    fake.everyone_permissions = MEMBER_PERMISSIONS
    await start_bot(message_content_intent=True)
    call = await fake.reply_to(await fake.say("!reload"))
    assert call.body["content"] == "Only members with the Manage Server permission can do that."


async def test_reload_is_registered_for_server_managers_only(bot):
    command = bot.tree.get_command("reload")
    assert command.default_permissions == discord.Permissions(manage_guild=True)
    assert command.guild_only


async def test_sources_shows_the_count_and_the_newest_articles_first(fake, start_bot, corpus):
    # china.md is published 2023-06-25; the others are dated by their files.
    os.utime(corpus / "harbour.md", (1_704_067_200, 1_704_067_200))  # 2024-01-01
    os.utime(corpus / "keeper.md", (1_577_836_800, 1_577_836_800))  # 2020-01-01
    (corpus / "empty.md").write_text("", encoding="utf-8")
    await start_bot(corpus=corpus, watch_interval_seconds=0)

    data = message_of(await fake.response_to(await fake.slash("sources")))

    assert data["flags"] & EPHEMERAL
    embed = data["embeds"][0]
    assert embed["title"] == "Loaded articles (3), newest first"
    lines = embed["description"].splitlines()
    assert [line.split(" — ")[0].split(" · ")[0] for line in lines[:3]] == [
        "• Harbour closed by storm",
        "• [China backs Russia after mutiny](https://news.example/world/china)",
        "• Lighthouse keeper retires",
    ]
    assert "file dated 2024-01-01" in lines[0] and "2023-06-25" in lines[1]
    assert lines[3:] == ["1 file could not be read."]
