"""``python -m bot add URL``, ``feeds``, ``feeds --poll`` and ``sources --errors``, as run by people."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.fetch.site import PUBLISHER, Route, Site, newsroom


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQUOTE_")}
    base |= {
        "NEWSQUOTE_DATA_DIR": str(tmp_path / "data"),
        "NEWSQUOTE_CORPUS_DIR": str(tmp_path / "corpus"),
        "NEWSQUOTE_FETCH_ALLOW_PRIVATE": "true",
        "NEWSQUOTE_FETCH_HOST_INTERVAL_SECONDS": "0",
        "NEWSQUOTE_FETCH_TIMEOUT_SECONDS": "1",
        "NEWSQUOTE_MAX_ARTICLE_BYTES": str(1024 * 1024),
    }
    (tmp_path / "corpus").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**base, **env},
        timeout=120,
    )


def test_add_url_fetches_saves_and_answers_with_the_pages_metadata(site: Site, tmp_path):
    url = site.page("/news/item-2", 2)
    site.routes["/report.pdf"] = Route(b"%PDF-1.4", "application/pdf")
    result = run(tmp_path, "add", url, site.url("/report.pdf"))
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {site.url('/report.pdf')}: is application/pdf, not an HTML page, a feed or "
        "a sitemap"
    ]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("fetched: web/127.0.0.1_")
    assert lines[0].endswith(f" — Bridge 2 to reopen in May, council says, {PUBLISHER}")
    saved = list((tmp_path / "corpus" / "web").rglob("*"))
    assert sorted(p.suffix for p in saved if p.is_file()) == [".html", ".yaml"]

    asked = run(tmp_path, "ask", "--json", "when will bridge 2 reopen?")
    source = json.loads(asked.stdout)["answers"][0]["source"]
    assert source["url"] == url and source["publisher"] == PUBLISHER
    assert source["title"] == "Bridge 2 to reopen in May, council says"


def test_private_addresses_are_refused_unless_the_setting_allows_them(site: Site, tmp_path):
    url = site.page("/news/item-2", 2)
    result = run(tmp_path, "add", url, NEWSQUOTE_FETCH_ALLOW_PRIVATE="false")
    assert result.returncode == 1 and site.hits["/news/item-2"] == 0
    assert result.stderr.strip().splitlines() == [
        f"error: {url}: refused: 127.0.0.1 is a private or local address "
        "(fetch_allow_private is off)"
    ]


def test_feeds_list_poll_and_errors(site: Site, tmp_path):
    feeds = newsroom(site)
    setting = json.dumps([feeds["main"], feeds["broken"]])
    listed = run(tmp_path, "feeds", NEWSQUOTE_FEEDS=setting)
    assert listed.returncode == 0, listed.stderr
    assert "last fetch: never; never fetched; 0 article(s)" in listed.stdout

    polled = run(tmp_path, "feeds", "--poll", NEWSQUOTE_FEEDS=setting)
    assert polled.returncode == 1  # the broken feed
    assert f"{feeds['main']}: ok: 20 new, 0 updated" in polled.stdout
    assert f"{feeds['broken']}: error: the feed's XML is broken" in polled.stdout
    assert "20 articles" in polled.stdout  # the index was brought up to date

    again = run(tmp_path, "feeds", "--poll", NEWSQUOTE_FEEDS=json.dumps([feeds["main"]]))
    assert again.returncode == 0 and f"{feeds['main']}: not modified" in again.stdout

    shown = json.loads(run(tmp_path, "feeds", "--json", NEWSQUOTE_FEEDS=setting).stdout)
    assert [(f["url"], f["articles"], f["title"]) for f in shown] == [
        (feeds["main"], 20, "Harbour Gazette: latest"),
        (feeds["broken"], 0, None),
    ]
    assert shown[0]["status"] == "not modified" and shown[0]["last_fetch"].endswith("+00:00")

    errors = run(tmp_path, "sources", "--errors", NEWSQUOTE_FEEDS=setting)
    assert "1 page(s) or feed(s) could not be fetched:" in errors.stdout
    assert f"- {feeds['broken']}: feed: the feed's XML is broken" in errors.stdout


def test_feeds_add_and_remove_by_command(site: Site, tmp_path):
    feeds = newsroom(site)
    added = run(tmp_path, "feeds", "--add", feeds["second"])
    assert added.stdout.strip() == f"following: {feeds['second']} — Second Desk, atom"
    assert feeds["second"] in run(tmp_path, "feeds").stdout
    refused = run(tmp_path, "feeds", "--add", site.url("/news/gone"))
    assert refused.returncode == 2
    assert (
        refused.stderr.strip()
        == f"error: {site.url('/news/gone')}: not followed: HTTP 404 Not Found"
    )
    removed = run(tmp_path, "feeds", "--remove", feeds["second"])
    assert (
        removed.stdout.strip() == f"no longer following: {feeds['second']} (0 of its articles stay)"
    )
    assert "No feeds are followed" in run(tmp_path, "feeds").stdout
