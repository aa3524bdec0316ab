"""The REPL follows the feeds too: a feed item becomes answerable while it runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

from tests.conftest import REPO
from tests.fetch.site import Route, Site, http_date, rss


def test_the_repl_answers_from_a_feed_polled_while_it_runs(site: Site, tmp_path):
    site.page("/news/item-3", 3)
    items = [("item-3", "/news/item-3", http_date(1_714_000_000))]
    site.routes["/feed.xml"] = Route(
        rss("Gazette", items, site.base).encode(), "application/rss+xml"
    )
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "seed.md").write_text("The harbour reopened on Monday.\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQUOTE_")}
    env |= {
        "NEWSQUOTE_DATA_DIR": str(tmp_path / "data"),
        "NEWSQUOTE_FEEDS": json.dumps([site.url("/feed.xml")]),
        "NEWSQUOTE_FEED_INTERVAL_MINUTES": "0.01",
        "NEWSQUOTE_FETCH_ALLOW_PRIVATE": "true",
        "NEWSQUOTE_FETCH_HOST_INTERVAL_SECONDS": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "repl", "--corpus", str(corpus)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env=env,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        while not any("bridge 3 would reopen" in line for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            process.stdin.write("when will bridge 3 reopen?\n")
            process.stdin.flush()
            time.sleep(0.5)
        process.stdin.close()
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    answer = next(i for i, line in enumerate(lines) if "bridge 3 would reopen" in line)
    assert any("Bridge 3 to reopen in May, council says" in line for line in lines[answer:])
