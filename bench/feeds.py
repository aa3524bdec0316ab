"""Fetching and feeds (#17): throughput, time to answerable, and a simulated week of 50 feeds.

Usage (from the repository root)::

    python -m bench.feeds [--pages 200] [--feeds 50] [--days 7] [--max-articles 1000]

Everything is served by the tests' local news site on 127.0.0.1 (``tests/fetch/site.py``);
nothing leaves the machine. Three figures:

* **fetch throughput**: pages per second from the local server with the rate limit off,
  fetch only (HTTP, limits, robots.txt cached), then the whole ``add`` path (fetch,
  extraction for duplicates and metadata, raw page + sidecar written, state saved).
* **new feed item to answerable**: a live corpus with a poller (interval 1 s) beside it,
  as the worker runs it; a new item is put in the feed, and the clock runs until the
  engine answers a question only that item answers. Median and worst of the runs.
* **a week of 50 feeds, time compressed**: a simulated clock advances 15 minutes per
  poll (672 polls a week); each feed gets a new item every 2 simulated hours; every
  changed poll is applied to the live corpus (index in memory, as the worker's scoring
  process keeps it), with retention ``max_articles``. Peak RSS of this process, and
  RSS after each simulated day.

Writes ``bench/results/feeds.json`` and ``feeds.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.core.corpus.live import LiveCorpus  # noqa: E402
from bot.core.feeds.news import News  # noqa: E402
from bot.core.feeds.options import FeedOptions  # noqa: E402
from bot.core.feeds.poller import FeedPoller  # noqa: E402
from bot.core.feeds.state import FeedStore, state_file  # noqa: E402
from bot.core.fetch.client import Fetcher, FetchOptions  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.fetch.site import Route, Site, http_date, page_html, rss, sitemap  # noqa: E402

RESULTS = REPO / "bench" / "results"
OPTIONS = FetchOptions(allow_private=True, host_interval=0.0)


def rss_kb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def settings_for(tmp: Path) -> Settings:
    return Settings(_env_file=None, use_saved_index=False, data_dir=tmp / "data", ingest_workers=1)


def throughput(pages: int) -> dict[str, float]:
    with Site() as site, tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        urls = [site.page(f"/news/p{n}", n) for n in range(pages)]
        with Fetcher(OPTIONS) as fetcher:
            fetcher.get(urls[0])  # robots.txt and the connection, once
            started = time.perf_counter()
            for url in urls:
                fetcher.get(url)
            fetch_rate = pages / (time.perf_counter() - started)
        site.routes["/sitemap.xml"] = Route(sitemap(urls).encode(), "application/xml")
        corpus = tmp / "corpus"
        corpus.mkdir()
        news = News(
            corpus,
            FeedStore(state_file(tmp / "data", corpus)),
            Fetcher(OPTIONS),
            FeedOptions(max_new_per_poll=pages),
        )
        started = time.perf_counter()
        added = news.add([site.url("/sitemap.xml")])
        add_rate = len(added.taken) / (time.perf_counter() - started)
        news.fetcher.close()
        assert len(added.taken) == pages and not added.failed
    return {"pages": pages, "fetch_pages_per_s": fetch_rate, "add_pages_per_s": add_rate}


def to_answerable(runs: int) -> dict[str, float]:
    waits = []
    with Site() as site, tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        corpus = tmp / "corpus"
        corpus.mkdir()
        (corpus / "seed.md").write_text("The harbour reopened on Monday.\n", encoding="utf-8")
        items: list[tuple[str, str, str]] = []

        def publish(number: int) -> None:
            site.page(f"/news/item-{number}", number)
            items.append((f"item-{number}", f"/news/item-{number}", http_date(1.7e9 + number)))
            site.routes["/feed.xml"] = Route(
                rss("Gazette", items, site.base).encode(), "application/rss+xml", etag=f'"{number}"'
            )

        publish(1)
        live = LiveCorpus.load(corpus, settings_for(tmp).core_options())
        news = News(
            corpus,
            FeedStore(state_file(tmp / "data", corpus)),
            Fetcher(OPTIONS),
            FeedOptions(feeds=(site.url("/feed.xml"),), interval_seconds=1.0),
        )
        with FeedPoller(news, lambda report: live.rescan(), tick=1.0):
            for number in range(2, runs + 2):
                started = time.perf_counter()
                publish(number)
                question = f"When will bridge {number} reopen?"
                while True:
                    reply = live.engine.ask(question, 1)
                    if reply.answers and f"bridge {number} would" in reply.answers[0].quote:
                        break
                    time.sleep(0.01)
                waits.append(time.perf_counter() - started)
    return {
        "runs": runs,
        "poll_interval_s": 1.0,
        "median_s": statistics.median(waits),
        "max_s": max(waits),
    }


def week(feeds: int, days: float, max_articles: int) -> dict[str, object]:
    polls = int(days * 24 * 4)
    now = [1_700_000_000.0]
    with Site() as site, tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        corpus = tmp / "corpus"
        corpus.mkdir()
        (corpus / "seed.md").write_text("The harbour reopened on Monday.\n", encoding="utf-8")
        listed: dict[int, list[tuple[str, str, str]]] = {f: [] for f in range(feeds)}
        serial = [0]

        def new_item(feed: int) -> None:
            serial[0] += 1
            number = serial[0]
            site.routes[f"/news/{number}"] = Route(page_html(number).encode())
            entries = listed[feed]
            entries.insert(0, (f"{feed}-{number}", f"/news/{number}", http_date(now[0])))
            del entries[20:]  # a feed shows its 20 latest
            site.routes[f"/feed/{feed}.xml"] = Route(
                rss(f"Feed {feed}", entries, site.base).encode(),
                "application/rss+xml",
                etag=f'"{number}"',
            )

        for feed in range(feeds):
            new_item(feed)
        live = LiveCorpus.load(corpus, settings_for(tmp).core_options())
        news = News(
            corpus,
            FeedStore(state_file(tmp / "data", corpus)),
            Fetcher(OPTIONS),
            FeedOptions(
                feeds=tuple(site.url(f"/feed/{f}.xml") for f in range(feeds)),
                interval_seconds=900.0,
                max_articles=max_articles,
                workers=4,
            ),
            clock=lambda: now[0],
        )
        stop = threading.Event()
        daily = []
        started = time.perf_counter()
        requests_before = sum(site.hits.values())
        for poll in range(polls):
            # every 2 simulated hours each feed publishes (spread over the 8 polls)
            for feed in range(feeds):
                if (poll + feed) % 8 == 0 and poll:
                    new_item(feed)
            report = news.poll(due_only=True, stop=stop)
            if report.changed:
                live.rescan()
            now[0] += 900.0
            if (poll + 1) % 96 == 0:
                daily.append(
                    {
                        "day": (poll + 1) // 96,
                        "rss_mb": round(current_rss_mb(), 1),
                        "articles": live.engine.article_count,
                        "sentences": live.engine.sentence_count,
                    }
                )
                print(f"  day {daily[-1]['day']}: {daily[-1]}", flush=True)
        elapsed = time.perf_counter() - started
        news.fetcher.close()
        state_bytes = state_file(tmp / "data", corpus).stat().st_size
    return {
        "feeds": feeds,
        "simulated_days": days,
        "polls": polls,
        "items_published": serial[0],
        "max_articles": max_articles,
        "requests": sum(site.hits.values()) - requests_before,
        "wall_seconds": round(elapsed, 1),
        "peak_rss_mb": round(rss_kb(), 1),
        "state_file_kb": round(state_bytes / 1024, 1),
        "daily": daily,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--max-articles", type=int, default=1000)
    args = parser.parse_args()
    print("throughput…", flush=True)
    load_before = os.getloadavg()
    results: dict[str, object] = {"throughput": throughput(args.pages)}
    print(results["throughput"], flush=True)
    print("new item to answerable…", flush=True)
    results["to_answerable"] = to_answerable(args.runs)
    print(results["to_answerable"], flush=True)
    print("a simulated week…", flush=True)
    results["week"] = week(args.feeds, args.days, args.max_articles)
    # The machine is shared: the load average says how far to trust the timings.
    results["load_average"] = {
        "start": [round(x, 2) for x in load_before],
        "end": [round(x, 2) for x in os.getloadavg()],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "feeds.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "feeds.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))


def markdown(results: dict[str, object]) -> str:
    t = results["throughput"]
    a = results["to_answerable"]
    w = results["week"]
    load = results.get("load_average", {})
    days = "\n".join(
        f"| {d['day']} | {d['articles']} | {d['sentences']:,} | {d['rss_mb']} |" for d in w["daily"]
    )
    return f"""# Fetching and feeds (bench/feeds.py)

Local server on 127.0.0.1, rate limit off; one process, 2 cores shared with other work
(load average, 1/5/15 min: {load.get("start")} at the start, {load.get("end")} at the end).

| figure | value |
| --- | --- |
| fetch only, {t["pages"]} pages | {t["fetch_pages_per_s"]:.0f} pages/s |
| whole `add` path (fetch, extract, save page + sidecar + state) | {t["add_pages_per_s"]:.1f} pages/s |
| new feed item to answerable, poll interval {a["poll_interval_s"]:g} s ({a["runs"]} runs) | median {a["median_s"]:.2f} s, worst {a["max_s"]:.2f} s |
| {w["feeds"]} feeds for {w["simulated_days"]:g} simulated days ({w["polls"]} polls, {w["items_published"]} items, max_articles {w["max_articles"]}) | peak RSS {w["peak_rss_mb"]} MB; {w["requests"]} requests; {w["wall_seconds"]} s of wall time; state file {w["state_file_kb"]} KB |

| simulated day | articles | sentences | RSS (MB) |
| --- | --- | --- | --- |
{days}
"""


if __name__ == "__main__":
    main()
