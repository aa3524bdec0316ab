"""``index``, ``add`` and ``remove``: the commands that change the corpus and its saved index.

On the OpenSearch backend the index they keep in step is the cluster's
(``bot.core.search.live.sync_folder``), by article id; the folder is the truth either way.

They keep the corpus folder and its saved index in step: ``add`` copies files in (or
fetches URLs, ``bot.cli.fetching``), ``remove`` deletes them, both then bring the index up to date (only those files
are processed); ``index`` builds it from scratch. Only what lies inside the corpus
folder is ever written or deleted: a link leading out of it is never followed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
from collections.abc import Set
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.fetching import add_urls, is_url
from bot.cli.options import EXIT_FAILED, corpus_folder, progress_bar
from bot.core.errors import UserError
from bot.core.index import saved as index
from bot.core.ingest.files import article_files, is_article_file, links_outside, require_folder
from bot.core.ingest.options import Progress
from bot.settings import Settings

if TYPE_CHECKING:  # the OpenSearch client is imported only on that backend (0.5 s)
    from bot.core.search.live import Synced


def add_index_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    corpus: argparse.ArgumentParser,
    quiet: argparse.ArgumentParser,
) -> None:
    """Register ``index``, ``add`` and ``remove`` on the CLI's subcommands."""
    build = subparsers.add_parser(
        "index",
        parents=[corpus, quiet],
        help="build and save the corpus's index",
        description="Index every article from scratch (Punkt retrained) and save the index "
        "under data_dir; with --update, only bring the saved index up to date.",
    )
    build.add_argument("--update", action="store_true", help="apply file changes only")
    build.set_defaults(func=cmd_index)
    add = subparsers.add_parser(
        "add",
        parents=[corpus, quiet],
        help="copy articles (or fetch URLs) into the corpus and index them",
        description="Copy FILEs (or every article under DIRs, kept in a folder of that name) "
        "into the corpus folder, replacing files of the same name, and index only them. "
        "A URL is fetched (robots.txt, rate limits and size limits apply) and saved as raw "
        "HTML with a NAME.meta.yaml sidecar under web/; a sitemap's or feed's URL fetches "
        "its articles. Exits 1 when a URL could not be fetched.",
    )
    add.add_argument("paths", nargs="+", metavar="FILE|DIR|URL")
    add.set_defaults(func=cmd_add)
    remove = subparsers.add_parser(
        "remove",
        parents=[corpus, quiet],
        help="delete articles from the corpus and the index",
        description="Delete articles, given by id (their path in the corpus folder) or by "
        "path, from the corpus folder, and drop them from the index. A folder's articles "
        "are removed only with --recursive; the corpus folder itself never is. A link is "
        "removed itself, never what it points at.",
    )
    remove.add_argument("items", nargs="+", metavar="ID|FILE|DIR")
    remove.add_argument(
        "-r", "--recursive", action="store_true", help="remove every article under a DIR"
    )
    remove.set_defaults(func=cmd_remove)


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """Build the corpus's index from scratch and save it (or, with --update, bring it up to date)."""
    if settings.backend == "opensearch":
        progress = progress_bar(sys.stderr, args.quiet)
        synced = _in_step(corpus_folder(args, settings), settings, progress, not args.update)
        if not args.quiet:
            print(_described(synced))
        return 0
    if not settings.use_saved_index:
        raise UserError("use_saved_index is off: turn it on to save an index")
    folder = corpus_folder(args, settings)
    options = settings.core_options()
    opened = index.open_engine(
        folder, options, progress_bar(sys.stderr, args.quiet), rebuild=not args.update
    )
    where = index.index_file(folder, options)
    if opened.save_error is not None:
        print(f"error: {index.describe(opened)}; {where} is unchanged", file=sys.stderr)
        return EXIT_FAILED
    if not args.quiet:
        print(f"{index.describe(opened)}; saved to {where}")
    return 0


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """Copy article files (or fetch URLs) into the corpus folder and index them."""
    folder = require_folder(corpus_folder(args, settings))
    urls = [name for name in args.paths if is_url(name)]
    plan = [pair for name in args.paths if not is_url(name) for pair in _to_add(Path(name), folder)]
    for _, target in plan:  # every target checked before anything is written
        if _inside(target.parent, folder) is None:
            raise UserError(
                f"{target}: not written, a link on the way leads outside the corpus folder"
            )
    for source, target in plan:
        if source.resolve() == target.resolve():
            continue  # already in the corpus folder: only indexed
        try:
            _copy_in(source, target)
        except OSError as exc:
            raise UserError(f"{target}: cannot be written: {exc.strerror or exc}") from exc
    fetched = add_urls(urls, folder, settings, args.quiet) if urls else None
    shown = {taken.id for taken in fetched.taken} if fetched else set()
    opened = _in_step(folder, settings, progress_bar(sys.stderr, args.quiet))
    code = _report(opened, args, shown)
    return EXIT_FAILED if fetched and fetched.failed else code


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    """Delete articles (by id or path) from the corpus folder and drop them from the index."""
    folder = require_folder(corpus_folder(args, settings))
    doomed = {
        path: source_id
        for name in args.items
        for path, source_id in _to_remove(name, folder, args.recursive)
    }  # every name checked before anything is deleted
    for path, source_id in doomed.items():
        path.unlink(missing_ok=True)
        if not args.quiet:
            print(f"removed: {source_id}")
    opened = _in_step(folder, settings, progress_bar(sys.stderr, args.quiet))
    return _report(opened, args, shown=set(doomed.values()))


def _in_step(
    folder: Path, settings: Settings, progress: Progress | None, rebuild: bool = False
) -> index.Opened | Synced:
    """The folder's index brought in step with it, on the configured backend."""
    options = settings.core_options()
    if options.cluster is not None:
        from bot.core.search.live import sync_folder

        return sync_folder(folder, options, progress, rebuild_all=rebuild)
    return index.open_engine(folder, options, progress, rebuild=rebuild)


def _described(opened: index.Opened | Synced) -> str:
    """One line: what was done to the index and what it holds."""
    if isinstance(opened, index.Opened):
        return index.describe(opened)
    from bot.core.search.live import describe

    return describe(opened)


def _report(
    opened: index.Opened | Synced, args: argparse.Namespace, shown: Set[str] = frozenset()
) -> int:
    """Print the index's changes (but not the ``shown`` ids again) and its size."""
    if not args.quiet:
        changes = opened.changes
        for label, ids in (
            ("added", changes.added),
            ("replaced", changes.changed),
            ("removed", changes.removed),
        ):
            for source_id in ids:
                if source_id not in shown:
                    print(f"{label}: {source_id}")
        print(_described(opened))
    return 0


def _inside(path: Path, folder: Path) -> Path | None:
    """``path`` relative to ``folder`` if it lies inside it, links followed, else None."""
    try:
        return path.resolve().relative_to(folder.resolve())
    except ValueError:
        return None


def _copy_in(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` so that nobody ever reads it half-copied.

    The copy is written to a hidden temporary file of its own (two ``add``s of the same
    name at once each write theirs), then renamed over ``target`` in one step, which
    replaces a link at ``target`` and never writes through it.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.adding")
    try:
        with source.open("rb") as reader, temp.open("xb") as writer:
            shutil.copyfileobj(reader, writer)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _to_add(path: Path, folder: Path) -> list[tuple[Path, Path]]:
    """(file, where it goes in the corpus) for a FILE or every article file under a DIR.

    A link found in DIR that leads outside DIR is skipped with a warning: adding a
    folder copies that folder, not whatever its links point at.
    """
    if path.is_file():
        if not is_article_file(path):
            raise UserError(f"{path}: not an article file (use .txt, .md, .html or .html.gz)")
        inside = _inside(path, folder)
        return [(path, folder / (inside if inside is not None else path.name))]
    if path.is_dir():
        inside = _inside(path, folder)
        base = folder / (inside if inside is not None else path.resolve().name)
        files = []
        for file in article_files(path):
            if links_outside(file, path):
                print(f"skipped: {file} is a link to a file outside {path}", file=sys.stderr)
            else:
                files.append((file, base / file.relative_to(path)))
        if not files:
            raise UserError(f"{path}: no article files in this folder")
        return files
    if path.exists():  # a device, a pipe or a socket: reading it could block or never end
        raise UserError(f"{path}: not a regular file or folder")
    raise UserError(f"{path}: no such file or folder")


def _to_remove(name: str, folder: Path, recursive: bool) -> list[tuple[Path, str]]:
    """(file, id) of the corpus files meant by an article id, or a path to a file or folder.

    Only what lies in the corpus folder is ever meant: a link is removed itself, never
    what it points at, and the corpus folder as a whole is never meant at all.
    """
    if not name.strip():
        raise UserError("remove: an empty name is not an article (give an id or a path)")
    root = folder.resolve()
    for candidate in (folder / name, Path(name)):
        if not (candidate.exists() or candidate.is_symlink()):
            continue
        if candidate.resolve() == root:
            raise UserError(
                f"{name}: is the corpus folder itself; remove never empties the whole corpus"
            )
        if _corpus_id(candidate, root) is None:
            continue
        if candidate.is_dir() and not candidate.is_symlink():
            files = [(file, _corpus_id(file, root) or "") for file in article_files(candidate)]
            if not recursive:
                raise UserError(
                    f"{name}: is a folder holding {len(files)} article(s); add --recursive "
                    "(-r) to remove them all"
                )
            return files
        if is_article_file(candidate):
            return [(candidate, _corpus_id(candidate, root) or "")]
    raise UserError(f"{name}: not an article in the corpus folder {str(folder)!r}")


def _corpus_id(path: Path, root: Path) -> str | None:
    """The id of ``path`` in the corpus at ``root`` (resolved), the last link not followed."""
    where = path.parent.resolve() / path.name if path.is_symlink() else path.resolve()
    try:
        return where.relative_to(root).as_posix()
    except ValueError:
        return None
