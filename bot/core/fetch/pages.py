"""Fetched pages as corpus files: the raw HTML and a ``NAME.meta.yaml`` sidecar beside it.

The corpus folder stays the truth: a fetched page is saved exactly as it arrived,
under ``web/<host>/``, and read back by the same offline reader as any saved page
(``bot.core.ingest.html``), so a rebuild from the folder sees the same articles. The
sidecar records where and when it was fetched (``source_url``, ``final_url``,
``fetched``, ``feeds``) and the page's address (``url``: its canonical URL, else
where the fetch ended); it sets a title, publisher or date only when the page
states none and its feed entry does.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import yaml
from courlan import normalize_url

from bot.core.fetch.client import Fetched, FetchError
from bot.core.ingest.html import (
    decode_html,
    document_layout,
    extract,
    page_metadata,
    sidecar_path,
)

WEB_FOLDER = "web"
_SLUG = re.compile(r"[^a-z0-9]+")
_PAGE_SUFFIX = re.compile(r"\.(html?|php|aspx?|jsp|cms)$")


@dataclass(frozen=True, slots=True)
class Page:
    """What a fetched page says about itself, and a digest of its article text."""

    title: str | None
    publisher: str | None
    url: str | None  # its canonical URL, absolute, when it states one
    published: str | None
    author: str | None
    digest: str  # of the article text, white space and case folded: same text, same digest


@dataclass(frozen=True, slots=True)
class Hints:
    """What a feed entry says of a page, used only where the page itself is silent."""

    title: str | None = None
    publisher: str | None = None
    published: str | None = None


def url_key(url: str) -> str:
    """A URL as compared for duplicates: host lower-cased, tracking parameters and fragment dropped."""
    try:
        normal = normalize_url(url)
    except (ValueError, TypeError):
        normal = url
    return normal.split("#", 1)[0]


def read_page(fetched: Fetched) -> Page:
    """Extract the page as the corpus reader will; ``FetchError`` if it holds no article text."""
    html = decode_html(fetched.body, fetched.charset)
    try:
        document = extract(html)
        text, _ = document_layout(document)
    except Exception as exc:  # a page trafilatura chokes on is that page's problem only
        first = (str(exc).splitlines() or [""])[0][:200]
        raise FetchError(fetched.url, f"cannot be read ({type(exc).__name__}: {first})") from exc
    if not text:
        raise FetchError(fetched.url, "no article text found in the page")
    meta = page_metadata(document, html)
    canonical = None
    if meta["url"]:
        try:
            joined = httpx.URL(fetched.final_url).join(meta["url"])
        except (httpx.InvalidURL, ValueError):
            joined = None
        if joined is not None and joined.scheme in ("http", "https") and joined.host:
            canonical = str(joined.copy_with(fragment=None))
    folded = " ".join(text.split()).casefold()
    return Page(
        title=meta["title"],
        publisher=meta["publisher"],
        url=canonical,
        published=meta["published"],
        author=meta["author"],
        digest=hashlib.sha256(folded.encode("utf-8")).hexdigest(),
    )


def article_id(url: str) -> str:
    """The corpus id for a page at ``url``: ``web/<host>/<slug>-<hash>.html``, stable per URL."""
    parsed = httpx.URL(url)
    host = (parsed.host or "unknown").lower().removeprefix("www.")
    if parsed.port:
        host = f"{host}_{parsed.port}"
    host = re.sub(r"[^a-z0-9._-]+", "-", host).strip(".-") or "unknown"
    segments = [part for part in parsed.path.split("/") if part]
    last = _PAGE_SUFFIX.sub("", segments[-1].lower()) if segments else "index"
    slug = _SLUG.sub("-", last).strip("-")[:60].strip("-") or "page"
    digest = hashlib.sha256(url_key(url).encode("utf-8")).hexdigest()[:10]
    return f"{WEB_FOLDER}/{host}/{slug}-{digest}.html"


def sidecar_fields(
    fetched: Fetched, page: Page, hints: Hints, feeds: list[str]
) -> dict[str, object]:
    """The sidecar of a fetched page: its address, provenance, and the feed's fallbacks."""
    fields: dict[str, object] = {"url": page.url or fetched.final_url}
    if page.title is None and hints.title:
        fields["title"] = hints.title
    if page.publisher is None and hints.publisher:
        fields["publisher"] = hints.publisher
    if page.published is None and hints.published:
        fields["published"] = hints.published
    fields["source_url"] = fetched.url
    fields["final_url"] = fetched.final_url
    fields["fetched"] = datetime.fromtimestamp(fetched.fetched_at, UTC).isoformat(
        timespec="seconds"
    )
    fields["feeds"] = sorted(feeds)
    if fetched.charset:  # the header's charset, so a rebuild decodes the page as we did
        fields["charset"] = fetched.charset
    return fields


def write_article(folder: Path, source_id: str, html: bytes, sidecar: dict[str, object]) -> Path:
    """Save a page and its sidecar into the corpus, each replaced in one step.

    The sidecar goes first, so whoever sees the new page sees its sidecar too. Both
    are written to hidden temporary files (which the corpus scan ignores) and renamed
    over their targets. Nothing is written through a link that leads out of the folder.
    """
    target = folder / source_id
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        target.parent.resolve().relative_to(folder.resolve())
    except ValueError as exc:
        raise OSError(f"{target.parent} leads outside the corpus folder") from exc
    text = yaml.safe_dump(sidecar, allow_unicode=True, sort_keys=False, width=1000)
    _replace(sidecar_path(target), text.encode("utf-8"))
    _replace(target, html)
    return target


def update_sidecar(folder: Path, source_id: str, changes: dict[str, object]) -> None:
    """Change some sidecar fields of a saved page (a second feed found it, say)."""
    path = sidecar_path(folder / source_id)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return
    if isinstance(data, dict):
        data.update(changes)
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
        _replace(path, text.encode("utf-8"))


def remove_article(folder: Path, source_id: str) -> bool:
    """Delete a saved page and its sidecar; True if the page was there."""
    target = folder / source_id
    sidecar_path(target).unlink(missing_ok=True)
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    return True


def _replace(target: Path, data: bytes) -> None:
    temp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.fetching")
    try:
        with temp.open("xb") as handle:
            handle.write(data)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
