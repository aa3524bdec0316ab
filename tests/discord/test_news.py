"""/add and /feeds through the real discord.py client, and feeds followed by the real worker."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.discord.news import NO_FOLDER
from tests.discord.fake_discord import MEMBER_PERMISSIONS, FakeDiscord
from tests.discord.worker_process import WorkerProcess
from tests.fetch.site import PUBLISHER, Route, Site, http_date, newsroom, rss


@pytest.fixture
def site():
    with Site() as running:
        running.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /private/\n", "text/plain")
        yield running


def fetching(tmp_path, **more: object) -> dict[str, object]:
    return {
        "data_dir": tmp_path / "data",
        "fetch_allow_private": True,
        "fetch_host_interval_seconds": 0.0,
        "fetch_timeout_seconds": 2.0,
        "feed_interval_minutes": 0.0,
        **more,
    }


async def private_line(fake: FakeDiscord, interaction) -> str:
    """The ephemeral one-line reply to a deferred command (the follow-up, or the response)."""
    first = await fake.response_to(interaction, timeout=20)
    if first.body["type"] == 4:
        return first.body["data"]["content"]
    token = interaction["token"]
    call = await fake.wait_for(
        lambda c: c.method == "POST" and c.path == f"/webhooks/{fake.app_id}/{token}", timeout=20
    )
    return call.body["content"]


async def answer(fake: FakeDiscord, question: str) -> dict:
    interaction = await fake.slash("ask", {"question": question})
    return (await fake.response_to(interaction, timeout=20)).body["data"]


async def test_add_fetches_a_page_that_is_then_quoted_with_its_source(
    fake, start_bot, site, tmp_path
):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    await start_bot(corpus=corpus, **fetching(tmp_path))
    url = site.page("/news/item-2", 2)
    line = await private_line(fake, await fake.slash("add", {"url": url}))
    assert line == f"Added “Bridge 2 to reopen in May, council says” — {PUBLISHER}."
    data = await answer(fake, "when will bridge 2 reopen?")
    description = data["embeds"][0]["description"]
    assert "bridge 2 would reopen in May" in description
    assert f"[Bridge 2 to reopen in May, council says]({url}) — {PUBLISHER}" in description


async def test_add_says_why_not_in_one_line(fake, start_bot, site, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    await start_bot(corpus=corpus, **fetching(tmp_path))
    site.routes["/report.pdf"] = Route(b"%PDF-1.4", "application/pdf")
    line = await private_line(fake, await fake.slash("add", {"url": site.url("/report.pdf")}))
    assert line == (
        f"Not added: {site.url('/report.pdf')}: is application/pdf, not an HTML page, a feed or a "
        "sitemap"
    )
    line = await private_line(fake, await fake.slash("add", {"url": "file:///etc/passwd"}))
    assert line.startswith("Not added: file:///etc/passwd: only http and https URLs")


async def test_add_and_feeds_are_for_managers_only(fake, start_bot, site, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    await start_bot(corpus=corpus, **fetching(tmp_path))
    url = site.page("/news/item-2", 2)
    for name, options, sub in (("add", {"url": url}, None), ("feeds", {}, "list")):
        interaction = await fake.slash(
            name, options, permissions=MEMBER_PERMISSIONS, subcommand=sub
        )
        reply = await fake.response_to(interaction)
        assert reply.body["data"]["content"] == (
            "Only members with the Manage Server permission can do that."
        )
    assert site.hits["/news/item-2"] == 0


async def test_add_without_a_corpus_folder_says_so(fake, bot):
    interaction = await fake.slash("add", {"url": "https://example.org/a"})
    assert await private_line(fake, interaction) == NO_FOLDER


async def test_feeds_list_add_and_remove(fake, start_bot, site, tmp_path):
    feeds = newsroom(site)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    await start_bot(corpus=corpus, **fetching(tmp_path, feeds=[feeds["main"]]))
    line = await private_line(
        fake, await fake.slash("feeds", {"url": feeds["second"]}, subcommand="add")
    )
    assert (
        line
        == "Following “Second Desk” (atom); new articles are fetched when python -m bot feeds --poll runs."
    )
    reply = await fake.response_to(await fake.slash("feeds", subcommand="list"))
    embed = reply.body["data"]["embeds"][0]
    assert embed["title"] == "Feeds followed (2)"
    assert f"({feeds['main']}) (settings): never fetched" in embed["description"]
    assert f"[Second Desk]({feeds['second']})" in embed["description"]
    line = await private_line(
        fake, await fake.slash("feeds", {"url": feeds["main"]}, subcommand="remove")
    )
    assert line.startswith(f"{feeds['main']}: is in the feeds setting")
    line = await private_line(
        fake, await fake.slash("feeds", {"url": feeds["second"]}, subcommand="remove")
    )
    assert line == f"No longer following {feeds['second']}; its 0 article(s) stay."


async def test_worker_answers_a_new_feed_item_within_one_poll(fake, site, tmp_path):
    """The real ``python -m bot run``: an item added to a followed feed becomes answerable."""
    base = site.base
    site.page("/news/item-1", 1)
    site.page("/news/item-2", 2)

    def feed(numbers, etag):
        items = [(f"item-{n}", f"/news/item-{n}", http_date(1_714_000_000 + n)) for n in numbers]
        site.routes["/feed.xml"] = Route(
            rss("Gazette", items, base).encode(), "application/rss+xml", etag=etag
        )

    feed([1], '"one"')
    interval = 0.02  # minutes: 1.2 s
    async with WorkerProcess(
        fake,
        tmp_path,
        NEWSQUOTE_FEEDS=json.dumps([site.url("/feed.xml")]),
        NEWSQUOTE_FEED_INTERVAL_MINUTES=str(interval),
        NEWSQUOTE_FETCH_ALLOW_PRIVATE="true",
        NEWSQUOTE_FETCH_HOST_INTERVAL_SECONDS="0",
    ) as process:
        await process.log_line("discord ready")
        async with asyncio.timeout(60):
            while site.hits["/news/item-1"] == 0:
                await asyncio.sleep(0.05)
        feed([1, 2], '"two"')
        asked_before = len(site.order)
        async with asyncio.timeout(60):
            while True:
                data = await answer(fake, "when will bridge 2 reopen?")
                if "bridge 2 would" in str(data.get("embeds")):  # item 1 answers until then
                    break
                await asyncio.sleep(0.1)
        polls = site.order[asked_before:].count("/feed.xml")
        description = data["embeds"][0]["description"]
        assert "bridge 2 would reopen in May" in description
        url = site.url("/news/item-2")
        assert f"[Bridge 2 to reopen in May, council says]({url}) — {PUBLISHER}" in description
        # Within one poll: the first poll after the change fetched the page, and it was
        # answerable before a third poll (a second may start while the answer is asked).
        since = site.order[asked_before:]
        assert since.index("/news/item-2") > since.index("/feed.xml")
        assert since[: since.index("/news/item-2")].count("/feed.xml") == 1
        assert polls <= 2, since
        code, output = await process.terminate(timeout=15)
    assert code == 0, output
    assert (tmp_path / "data").is_dir() and any((tmp_path / "data").glob("*.feeds.json"))
