"""The buttons under an answer, clicked through the stand-in Discord."""

from __future__ import annotations

from bot.discord.formatting import unescape
from bot.discord.views import GONE
from tests.discord.fake_discord import EPHEMERAL
from tests.discord.test_cog import DAM
from tests.discord.worker_process import write_corpus

QUESTION = "what did China say?"


def buttons(message: dict) -> dict[str, dict]:
    return {b["label"]: b for row in message["components"] for b in row["components"]}


async def ask(fake, user=None) -> dict:
    """Ask by slash command; the bot's answer message as the stand-in stored it."""
    interaction = await fake.slash("ask", {"question": QUESTION}, user)
    call = await fake.response_to(interaction)
    message_id = int(fake.interaction_messages[interaction["token"]])
    assert call.body["type"] == 4
    return fake.messages[message_id]


async def test_more_pages_to_the_next_answers_for_the_asker(fake, start_bot, engine):
    await start_bot(top_k=1)
    asker = fake.user("asker")
    message = await ask(fake, asker)
    more = buttons(message)["More"]
    assert not more["disabled"]

    click = await fake.click(message["id"], more["custom_id"], asker)
    call = await fake.response_to(click)

    assert call.body["type"] == 7  # the same message, edited in place
    data = call.body["data"]
    second = engine.ask(QUESTION, top_k=1, offset=1).answers[0]
    assert unescape(data["embeds"][0]["description"].split("\n\n— ")[0]) == second.quote
    assert data["embeds"][0]["footer"]["text"].startswith("Answer 2")
    assert data["allowed_mentions"] == {"parse": []}
    assert buttons(data)["More"]["disabled"]  # two answers in all: nothing further
    assert "Context 2" in buttons(data)


async def test_only_the_asker_can_page(fake, start_bot):
    await start_bot(top_k=1)
    message = await ask(fake, fake.user("asker"))
    click = await fake.click(
        message["id"], buttons(message)["More"]["custom_id"], fake.user("nosy")
    )
    data = (await fake.response_to(click)).body["data"]
    assert data["flags"] & EPHEMERAL
    assert data["content"].startswith("Only the person who asked")


async def test_context_shows_the_sentences_around_the_quote_privately(fake, bot, engine):
    message = await ask(fake)
    click = await fake.click(message["id"], buttons(message)["Context 1"]["custom_id"])
    data = (await fake.response_to(click)).body["data"]

    assert data["flags"] & EPHEMERAL
    embed = data["embeds"][0]
    assert embed["title"] == "Context for answer 1"
    answer = engine.ask(QUESTION).answers[0]
    shown = [
        unescape(line.strip("*")) for line in embed["description"].split("\n\n— ")[0].split("\n")
    ]
    assert shown == list(engine.context(answer))
    assert f"**{answer.quote}**" in unescape(embed["description"])


async def test_sources_button_lists_the_articles_privately(fake, bot):
    message = await ask(fake)
    click = await fake.click(
        message["id"], buttons(message)["Sources"]["custom_id"], fake.user("anyone")
    )
    data = (await fake.response_to(click)).body["data"]
    assert data["flags"] & EPHEMERAL
    assert data["embeds"][0]["title"] == "Loaded articles (3), newest first"


async def test_buttons_are_disabled_after_the_timeout_and_then_say_so(fake, start_bot):
    await start_bot(button_timeout_seconds=0.2)
    interaction = await fake.slash("ask", {"question": QUESTION})
    await fake.response_to(interaction)
    token = interaction["token"]

    edit = await fake.wait_for(
        lambda c: c.method == "PATCH" and c.path.endswith(f"/{token}/messages/@original")
    )
    assert all(b["disabled"] for b in buttons(edit.body).values())

    message = fake.messages[fake.interaction_messages[token]]
    click = await fake.click(message["id"], buttons(message)["Context 1"]["custom_id"])
    data = (await fake.response_to(click)).body["data"]
    assert data["flags"] & EPHEMERAL
    assert "expired" in data["content"]


async def test_prefix_answer_buttons_are_disabled_by_editing_the_message(fake, start_bot):
    await start_bot(button_timeout_seconds=0.2, message_content_intent=True)
    reply = await fake.reply_to(await fake.say(f"!ask {QUESTION}"))
    message_id = fake.messages and max(fake.messages)
    edit = await fake.wait_for(
        lambda c: (
            c.method == "PATCH" and c.path == f"/channels/{fake.channel_id}/messages/{message_id}"
        )
    )
    assert reply.body["components"]
    assert all(b["disabled"] for b in buttons(edit.body).values())


async def test_context_follows_the_folder_that_changed_since_the_answer(fake, start_bot, tmp_path):
    # The Context button of an answer given before a reload: the articles' numbers have
    # moved, and it showed another article's sentences or an apology (bench/soak.py).
    corpus = write_corpus(tmp_path / "articles")
    await start_bot(corpus=corpus, watch_interval_seconds=0)
    message = await ask(fake)
    context = buttons(message)["Context 1"]["custom_id"]
    (corpus / "aaa.md").write_text(DAM, encoding="utf-8")  # sorts first: numbers move
    await reload(fake)

    data = (await fake.response_to(await fake.click(message["id"], context))).body["data"]
    description = unescape(data["embeds"][0]["description"])
    assert "China supports Russia" in description and "reservoir" not in description

    (corpus / "china.md").unlink()
    await reload(fake)
    data = (await fake.response_to(await fake.click(message["id"], context))).body["data"]
    assert data["flags"] & EPHEMERAL and data["content"] == GONE


async def reload(fake) -> None:
    interaction = await fake.slash("reload", user=fake.user("editor"))
    assert (await fake.response_to(interaction)).body["type"] == 4
