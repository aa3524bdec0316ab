"""Feeds and pages into the corpus: dedupe, updates in place, 304s, failures, retention."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml

from bot.core.answer.engine import Engine
from bot.core.errors import UserError
from bot.core.feeds.news import News
from bot.core.feeds.options import FeedOptions
from bot.core.feeds.state import FeedStore, state_file
from bot.core.fetch.client import Fetcher
from bot.core.ingest.html import read_html
from tests.conftest import make_settings
from tests.fetch.conftest import local_options
from tests.fetch.site import (
    FEED_TITLE,
    PUBLISHER,
    TRAPS,
    Route,
    Site,
    newsroom,
    page_html,
    sitemap,
    update_item,
)


def make_news(tmp_path: Path, feeds: tuple[str, ...] = (), clock=None, **options) -> News:
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    store = FeedStore(state_file(tmp_path / "data", corpus))
    fetcher = Fetcher(local_options(total_timeout=1.0, max_bytes=1024 * 1024))
    values = {"feeds": feeds, "workers": 1, **options}
    kwargs = {"clock": clock} if clock else {}
    return News(corpus, store, fetcher, FeedOptions(**values), **kwargs)


def pages(news: News) -> list[str]:
    return sorted(str(p.relative_to(news.folder)) for p in news.folder.rglob("*.html"))


def sidecar(news: News, source_id: str) -> dict:
    return yaml.safe_load((news.folder / (source_id + ".meta.yaml")).read_text(encoding="utf-8"))


@pytest.fixture
def feeds(site: Site) -> dict[str, str]:
    return newsroom(site)


def test_a_poll_takes_every_page_once_dedupes_and_says_why_others_failed(site, feeds, tmp_path):
    news = make_news(tmp_path, (feeds["main"], feeds["second"], feeds["broken"]))
    report = news.poll()
    main, second, broken = report.feeds
    assert len(main.added) == 20 and not main.failed and main.status == "ok: 20 new, 0 updated"
    assert len(second.added) == 1 and second.added[0].startswith("web/127.0.0.1_")
    reasons = {failure.url.removeprefix(site.base): failure.reason for failure in second.failed}
    assert set(reasons) == set(TRAPS)
    for path, reason in TRAPS.items():
        assert reason in reasons[path] and "\n" not in reasons[path]
    assert broken.error is not None and broken.error.startswith("the feed's XML is broken")

    assert len(pages(news)) == 21  # 20 + item 21; items 3, 4 and 5 of the second feed are one each
    assert site.hits["/news/item-3"] == 1  # the tracking-parameter URL was known without a fetch
    assert site.hits["/mirror/item-4"] == 1  # fetched, then found to be item 4's text
    assert site.hits["/private/secret"] == 0 and site.hits["/robots.txt"] == 1
    shared = [a for a in news.store.read().articles.values() if len(a.feeds) == 2]
    assert len(shared) == 3
    for article in shared:
        assert sidecar(news, article.id)["feeds"] == sorted([feeds["main"], feeds["second"]])

    views = {view.url: view for view in news.feeds()}
    assert views[feeds["main"]].articles == 20 and views[feeds["second"]].articles == 4
    assert views[feeds["broken"]].articles == 0 and views[feeds["broken"]].error
    failed = [f.url for f in news.failures()]
    assert feeds["broken"] in failed and site.url("/news/gone") in failed


def test_fetched_pages_are_answerable_with_title_publisher_and_url(site, feeds, tmp_path):
    news = make_news(tmp_path, (feeds["main"],))
    news.poll()
    engine = Engine.from_folder(news.folder, make_settings().core_options().engine)
    assert engine.article_count == 20 and not engine.errors
    reply = engine.ask("When will bridge 7 reopen?", 3)
    source = reply.answers[0].source
    assert "bridge 7 would reopen in May" in reply.answers[0].quote
    assert source.title == "Bridge 7 to reopen in May, council says"
    assert source.publisher == PUBLISHER
    assert source.url == site.url("/news/item-7")
    assert source.id.startswith("web/127.0.0.1_") and source.id.endswith(".html")
    meta = sidecar(news, source.id)
    assert meta["source_url"] == meta["final_url"] == site.url("/news/item-7")
    assert meta["fetched"].endswith("+00:00") and meta["feeds"] == [feeds["main"]]


def test_failed_pages_are_retried_then_conditional_requests_refetch_nothing(site, feeds, tmp_path):
    news = make_news(tmp_path, (feeds["main"], feeds["second"]))
    news.poll()
    assert news.poll().feeds[0].status == "not modified"  # main: nothing failed
    news.poll()  # the second feed's failed pages: tried on two more polls, then left
    assert site.hits["/news/gone"] == 3 and site.hits["/files/report.pdf"] == 3
    before = sum(site.hits.values())
    report = news.poll()
    assert [feed.status for feed in report.feeds] == ["not modified", "not modified"]
    assert not report.changed
    assert sum(site.hits.values()) - before == 2  # the two feeds, nothing else
    asked = {path: (etag, since) for path, etag, since in site.conditional}
    assert asked["/feed.xml"][0] == '"main-1"'
    assert asked["/atom.xml"][1] is not None


def test_an_item_updated_in_place_replaces_its_article(site, feeds, tmp_path):
    news = make_news(tmp_path, (feeds["main"],))
    first = news.poll().feeds[0]
    old_id = next(a.id for a in news.store.read().articles.values() if "item-5" in a.url)
    update_item(site, 5, "The council later said the reopening would slip to June.", '"main-2"')
    report = news.poll().feeds[0]
    assert report.replaced == (old_id,) and report.added == ()
    assert site.hits["/news/item-5"] == 2 and site.hits["/news/item-6"] == 1
    assert len(pages(news)) == len(first.added)
    text = (news.folder / old_id).read_text(encoding="utf-8")
    assert "slip to June" in text


def test_state_survives_a_restart(site, feeds, tmp_path):
    make_news(tmp_path, (feeds["main"],)).poll()
    again = make_news(tmp_path, (feeds["main"],))
    view = again.feeds()[0]
    assert view.articles == 20 and view.title == FEED_TITLE and view.last_success is not None
    assert again.poll().feeds[0].status == "not modified"
    assert again.due() == []


def test_a_feed_with_more_new_entries_than_the_cap_finishes_on_later_polls(site, feeds, tmp_path):
    news = make_news(tmp_path, (feeds["main"],), max_new_per_poll=8)
    statuses = [news.poll().feeds[0].status for _ in range(4)]
    assert statuses[0] == "ok: 8 new, 0 updated, 12 left for the next poll"
    assert statuses[2] == "ok: 4 new, 0 updated"
    assert statuses[3] == "not modified"
    assert len(pages(news)) == 20


def test_feeds_polled_at_once_still_make_one_article_per_page(site, feeds, tmp_path):
    news = make_news(tmp_path, (feeds["main"], feeds["second"]), workers=4)
    news.poll()
    assert len(pages(news)) == 21


def test_add_takes_a_page_a_sitemap_and_refuses_what_is_not_html(site, feeds, tmp_path):
    news = make_news(tmp_path)
    site.routes["/moved"] = Route(status=301, headers={"Location": "/news/item-2"})
    added = news.add([site.url("/moved"), site.url("/files/report.pdf")])
    (taken,) = added.taken
    assert taken.change == "added" and taken.title.startswith("Bridge 2")
    assert taken.publisher == PUBLISHER
    meta = sidecar(news, taken.id)
    assert meta["source_url"] == site.url("/moved") and meta["final_url"] == site.url(
        "/news/item-2"
    )
    assert [f.reason for f in added.failed] == [
        "is application/pdf, not an HTML page, a feed or a sitemap"
    ]

    urls = [site.url(f"/news/item-{n}") for n in (2, 8, 9)]
    site.routes["/sitemap.xml"] = Route(sitemap(urls).encode(), "application/xml")
    site.routes["/sitemap-index.xml"] = Route(
        sitemap([site.url("/sitemap.xml")], index=True).encode(), "application/xml"
    )
    again = news.add([site.url("/sitemap-index.xml")])
    assert sorted(t.change for t in again.taken) == ["added", "added", "duplicate"]
    assert len(pages(news)) == 3


def test_follow_checks_the_feed_and_unfollow_keeps_settings_feeds(site, feeds, tmp_path):
    news = make_news(tmp_path, (feeds["main"],))
    view = news.follow(feeds["second"])
    assert (view.title, view.kind, view.origin) == ("Second Desk", "atom", "added")
    assert news.feed_urls() == [feeds["main"], feeds["second"]]
    with pytest.raises(UserError, match="already followed"):
        news.follow(feeds["second"])
    with pytest.raises(UserError, match=r"not followed: is text/html, not an RSS/Atom feed"):
        news.follow(site.url("/news/item-1"))
    with pytest.raises(UserError, match="is in the feeds setting"):
        news.unfollow(feeds["main"])
    assert news.unfollow(feeds["second"]) == 0
    with pytest.raises(UserError, match="not a followed feed"):
        news.unfollow(feeds["second"])


def test_retention_prunes_the_oldest_fetched_articles_never_hand_added_files(site, feeds, tmp_path):
    now = [1_000_000.0]
    news = make_news(tmp_path, (feeds["main"],), clock=lambda: now[0], max_articles=5)
    (news.folder / "mine.md").write_text("A note of my own.\n", encoding="utf-8")
    report = news.poll()
    assert len(report.pruned) == 15 and len(pages(news)) == 5
    assert (news.folder / "mine.md").exists()
    sidecars = list(news.folder.rglob("*.meta.yaml"))
    assert len(sidecars) == 5  # pruned pages went with their sidecars
    aged = make_news(tmp_path, (feeds["main"],), clock=lambda: now[0], max_age_days=1)
    now[0] += 2 * 86400
    assert len(aged.prune()) == 5 and pages(aged) == []
    assert (news.folder / "mine.md").exists()


def test_the_poll_stops_between_pages_when_told(site, feeds, tmp_path):
    news = make_news(tmp_path, (feeds["main"],))
    stop = threading.Event()
    stop.set()
    report = news.poll(stop=stop)
    assert report.feeds[0].added == () and "20 left for the next poll" in report.feeds[0].status


def test_a_charset_given_only_in_the_header_is_kept_for_the_rebuild(site, tmp_path):
    # windows-1251 Cyrillic read as UTF-8, then windows-1252 (the fallback), is mojibake:
    # only the header says what the bytes are, so the saved page must remember it.
    said = "Мэр Анна Орлова сказала, что мост откроется в мае."
    html = page_html(30, extra=said).replace('<meta charset="utf-8">', "")
    site.routes["/news/cyrillic"] = Route(
        html.encode("windows-1251"), "text/html; charset=windows-1251"
    )
    news = make_news(tmp_path)
    (taken,) = news.add([site.url("/news/cyrillic")]).taken
    assert sidecar(news, taken.id)["charset"] == "cp1251"
    rebuilt = read_html(news.folder / taken.id, taken.id)  # as a rebuild reads the folder
    assert said in rebuilt.text
