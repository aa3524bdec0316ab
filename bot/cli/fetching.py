"""``add URL…`` and ``feeds``: pages and feeds fetched into the corpus folder from the command line.

The corpus folder stays the truth: pages are saved there (``web/<host>/``) and the
index is then brought up to date from the folder, as ``add`` does for files.

The fetching stack (HTTP client, HTML and feed readers: about half a second of
imports) is imported by the commands that use it, when they run: every command
line parses these commands, and ``ask`` must not pay for them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bot.cli.options import EXIT_FAILED, corpus_folder
from bot.core.feeds.results import Added, Failed, FeedView
from bot.core.feeds.state import state_file
from bot.core.index import saved as index
from bot.core.ingest.files import require_folder
from bot.settings import Settings

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(name: str) -> bool:
    """Whether an ``add`` argument is a URL (``scheme://…``) rather than a path."""
    return bool(_URL.match(name))


def add_urls(urls: Sequence[str], folder: Path, settings: Settings, quiet: bool) -> Added:
    """Fetch pages (or a sitemap's or feed's articles) into ``folder``; print what happened."""
    from bot.core.feeds.service import news_for

    with news_for(settings.core_options(), folder) as news:
        added = news.add(urls)
        news.prune()
    if not quiet:
        for taken in added.taken:
            what = {"added": "fetched", "replaced": "fetched again", "unchanged": "unchanged"}
            label = what.get(taken.change, "already there")
            print(f"{label}: {taken.id}{_about(taken.title, taken.publisher)}")
        if added.skipped:
            print(
                f"{added.skipped} more entries not fetched (feed_max_new_per_poll is "
                f"{settings.feed_max_new_per_poll})"
            )
    for failed in added.failed:
        print(f"error: {failed.url}: {failed.reason}", file=sys.stderr)
    return added


def _about(title: str | None, publisher: str | None) -> str:
    shown = ", ".join(part for part in (title, publisher) if part)
    return f" — {shown}" if shown else ""


def fetch_failures(folder: Path, settings: Settings) -> list[Failed]:
    """Feeds and pages that could not be fetched for ``folder``, and why; [] if none were."""
    if not state_file(settings.data_dir, folder).exists():
        return []
    from bot.core.feeds.service import news_for

    with news_for(settings.core_options(), folder) as news:
        return news.failures()


def print_fetch_failures(failures: Sequence[Failed], listed: bool) -> None:
    """Under ``sources``: each failed page and feed with why (``--errors``), or their count."""
    if failures and listed:
        print(f"\n{len(failures)} page(s) or feed(s) could not be fetched:")
        for failure in failures:
            print(f"- {failure.url}: {failure.reason}")
    elif failures:
        print(f"{len(failures)} page(s) or feed(s) could not be fetched: see sources --errors")


def cmd_feeds(args: argparse.Namespace, settings: Settings) -> int:
    """List the followed feeds; follow or drop one; or poll them all once and index."""
    from bot.core.feeds.service import news_for

    folder = require_folder(corpus_folder(args, settings))
    options = settings.core_options()
    with news_for(options, folder) as news:
        if args.add:
            view = news.follow(args.add)
            if not args.quiet:
                print(f"following: {view.url}{_about(view.title, view.kind)}")
        if args.remove:
            kept = news.unfollow(args.remove)
            if not args.quiet:
                print(f"no longer following: {args.remove} ({kept} of its articles stay)")
        if not args.poll:
            if not (args.add or args.remove):
                _show(news.feeds(), args.json)
            return 0
        report = news.poll()
    failed = any(feed.status.startswith("error") for feed in report.feeds)
    for feed in report.feeds:
        if not args.quiet:
            print(f"{feed.url}: {feed.status}")
            for page in feed.failed:
                print(f"  failed: {page.url}: {page.reason}")
    if not args.quiet and report.pruned:
        print(f"pruned {len(report.pruned)} old fetched article(s)")
    if not report.feeds and not args.quiet:
        print("No feeds are followed: add some to the feeds setting, or use feeds --add URL.")
    if report.changed or not index.index_file(folder, options).exists():
        opened = index.open_engine(folder, options)
        if not args.quiet:
            print(index.describe(opened))
    return EXIT_FAILED if failed else 0


def _show(views: list[FeedView], as_json: bool) -> None:
    if as_json:
        print(json.dumps([_view_json(view) for view in views], ensure_ascii=False, indent=2))
        return
    if not views:
        print("No feeds are followed: add some to the feeds setting, or use feeds --add URL.")
        return
    for view in views:
        print(f"{view.url}{_about(view.title, view.kind)}")
        when = _when(view.last_attempt)
        origin = "" if view.origin == "settings" else " (added by command)"
        print(f"  last fetch: {when}; {view.status}; {view.articles} article(s){origin}")
        if view.error and not view.status.startswith("error"):
            print(f"  warning: {view.error}")


def _view_json(view: FeedView) -> dict[str, object]:
    return {
        "url": view.url,
        "title": view.title,
        "kind": view.kind,
        "origin": view.origin,
        "last_fetch": _iso(view.last_attempt),
        "last_success": _iso(view.last_success),
        "status": view.status,
        "error": view.error,
        "articles": view.articles,
    }


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="seconds")


def _when(moment: float | None) -> str:
    if moment is None:
        return "never"
    ago = max(0.0, time.time() - moment)
    if ago < 90:
        span = f"{ago:.0f} s ago"
    elif ago < 5400:
        span = f"{ago / 60:.0f} min ago"
    elif ago < 2 * 86400:
        span = f"{ago / 3600:.0f} h ago"
    else:
        span = f"{ago / 86400:.0f} days ago"
    stamp = dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{stamp} ({span})"


def add_feed_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> None:
    """Register ``feeds`` on the CLI's subcommand parser."""
    feeds = commands.add_parser(
        "feeds",
        parents=parents,
        help="list the followed feeds, or poll them once",
        description="List the followed feeds (the feeds setting and those added with --add) "
        "with their last fetch, status and article counts. --poll polls every feed once, "
        "fetches new and changed entries into the corpus folder, indexes them and exits "
        "(for cron); it exits 1 when a feed could not be read.",
    )
    feeds.add_argument("--poll", action="store_true", help="poll every feed once, then index")
    feeds.add_argument("--add", metavar="URL", help="follow a feed or sitemap")
    feeds.add_argument("--remove", metavar="URL", help="stop following a feed added with --add")
    feeds.add_argument("--json", action="store_true", help="machine-readable list")
    feeds.set_defaults(func=cmd_feeds)
