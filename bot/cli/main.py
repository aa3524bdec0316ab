"""``python -m bot``: argument parsing and the one-shot commands.

The ``ask --json`` output is a contract for scripts: one JSON object per
question, ``{"question", "answers": [{"quote", "source", "score", ...}],
"no_answer_reason"}``, extended but never broken.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import sys
import time
from collections.abc import Sequence, Set
from pathlib import Path
from typing import TextIO

from bot import __version__
from bot.cli.render import reply_text, sources_text
from bot.cli.repl import run_repl
from bot.core.answer.engine import Engine, Progress
from bot.core.errors import UserError
from bot.core.index import saved as index
from bot.core.ingest.files import article_files, is_article_file, links_outside, require_folder
from bot.core.live import LiveCorpus, Watcher
from bot.core.models import Reply
from bot.discord.commands import add_discord_commands
from bot.logs import configure
from bot.settings import SETTINGS_ERRORS, Settings, settings_problem

log = logging.getLogger(__name__)

EXIT_FAILED = 1
EXIT_USAGE = 2


def _progress(stream: TextIO, quiet: bool = False) -> Progress | None:
    """A one-line progress bar (files, sentences, rate) on a terminal; nothing when piped."""
    if quiet or not stream.isatty():
        return None
    started = time.monotonic()
    shown = [0.0]

    def show(done: int, total: int, sentences: int) -> None:
        now = time.monotonic()
        if done != total and now - shown[0] < 0.1:
            return
        shown[0] = now
        width = 24
        filled = width * done // max(total, 1)
        rate = sentences / max(now - started, 1e-9)
        bar = "#" * filled + "-" * (width - filled)
        end = "\n" if done == total else ""
        print(
            f"\rindexing [{bar}] {done}/{total} files, {sentences:,} sentences, "
            f"{rate:,.0f} sentences/s",
            end=end,
            file=stream,
            flush=True,
        )

    return show


def _folder(args: argparse.Namespace, settings: Settings) -> Path:
    return Path(args.corpus) if getattr(args, "corpus", None) else settings.corpus_dir


def _engine(args: argparse.Namespace, settings: Settings, quiet: bool = False) -> Engine:
    """The corpus's engine: its saved index, updated to the files, or a fresh build.

    On the opensearch backend, the cluster's index as it stands (asking never writes to a
    cluster others may share; ``index``, ``add``, ``remove`` and the REPL do).
    """
    if settings.backend == "opensearch":
        from bot.core.search.searcher import ClusterEngine  # the client takes 0.5 s to import

        return ClusterEngine.open(settings)  # type: ignore[return-value]
    return index.open_engine(_folder(args, settings), settings, _progress(sys.stderr, quiet)).engine


def _open(
    folder: Path, settings: Settings, progress: Progress | None, rebuild: bool = False
) -> index.Opened:
    """The folder's index brought in step with it, on the configured backend."""
    if settings.backend == "opensearch":
        from bot.core.search.live import sync_folder

        return sync_folder(folder, settings, progress, rebuild_all=rebuild)  # type: ignore[return-value]
    return index.open_engine(folder, settings, progress, rebuild=rebuild)


def _describe(opened: index.Opened) -> str:
    if not isinstance(opened, index.Opened):
        from bot.core.search.live import describe

        return describe(opened)
    return index.describe(opened)


def _top_k(args: argparse.Namespace, settings: Settings) -> int:
    return args.top_k or settings.top_k


def _reply_json(reply: Reply) -> str:
    return json.dumps(reply.to_json(), ensure_ascii=False)


def _error_json(question: str, message: str) -> str:
    return json.dumps(
        {"question": question, "answers": [], "no_answer_reason": message, "error": message},
        ensure_ascii=False,
    )


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """One question from the command line, or (with --json and no question) many from stdin."""
    engine = _engine(args, settings, quiet=args.json)
    k = _top_k(args, settings)
    if args.question is not None:
        question = " ".join(args.question)
        try:
            reply = engine.ask(question, k)
        except UserError as exc:
            if args.json:
                print(_error_json(question, str(exc)))
            else:
                print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        print(_reply_json(reply) if args.json else reply_text(reply))
        return 0
    if not args.json:
        print("error: give a QUESTION, or use --json to read questions from stdin", file=sys.stderr)
        return EXIT_USAGE
    for line in sys.stdin:
        question = line.rstrip("\r\n")
        try:
            print(_reply_json(engine.ask(question, k)), flush=True)
        except UserError as exc:
            print(_error_json(question, str(exc)), flush=True)
    return 0


def cmd_repl(args: argparse.Namespace, settings: Settings) -> int:
    """The interactive loop over the corpus, which is watched for changes while it runs."""
    if settings.backend == "opensearch":
        from bot.core.search.live import ClusterCorpus

        corpus = ClusterCorpus.load(_folder(args, settings), settings, _progress(sys.stderr))
    else:
        corpus = LiveCorpus.load(_folder(args, settings), settings, _progress(sys.stderr))
    if settings.watch_interval_seconds <= 0:
        return run_repl(corpus, _top_k(args, settings))
    with Watcher(corpus, settings.watch_interval_seconds):
        return run_repl(corpus, _top_k(args, settings))


def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    """List the loaded articles (and, with --errors, the files that could not be read)."""
    engine = _engine(args, settings, quiet=args.json)
    if args.json:
        payload = {
            "articles": [
                {**info.source.to_json(), "sentences": info.sentences} for info in engine.sources()
            ],
            "errors": [{"id": e.path, "reason": e.reason} for e in engine.errors],
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print(sources_text(engine.sources()))
    if engine.errors and not args.errors:
        print(f"\n{len(engine.errors)} file(s) could not be read: see sources --errors")
    if args.errors:
        if engine.errors:
            print(f"\n{len(engine.errors)} file(s) could not be read:")
            for error in engine.errors:
                print(f"- {error.path}: {error.reason}")
        else:
            print("\nEvery file was read.")
    return 0


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """Build the corpus's index from scratch and save it (or, with --update, bring it up to date)."""
    if settings.backend == "opensearch":
        synced = _open(_folder(args, settings), settings, _progress(sys.stderr, args.quiet),
                       rebuild=not args.update)  # fmt: skip
        if not args.quiet:
            print(_describe(synced))
        return 0
    if not settings.use_saved_index:
        raise UserError("use_saved_index is off: turn it on to save an index")
    folder = _folder(args, settings)
    opened = index.open_engine(
        folder, settings, _progress(sys.stderr, args.quiet), rebuild=not args.update
    )
    where = index.index_file(folder, settings)
    if opened.save_error is not None:
        print(f"error: {index.describe(opened)}; {where} is unchanged", file=sys.stderr)
        return EXIT_FAILED
    if not args.quiet:
        print(f"{index.describe(opened)}; saved to {where}")
    return 0


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """Copy article files into the corpus folder and index them (the others are reused)."""
    folder = require_folder(_folder(args, settings))
    plan = [pair for name in args.paths for pair in _to_add(Path(name), folder)]
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
    return _report(_open(folder, settings, _progress(sys.stderr, args.quiet)), args)


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    """Delete articles (by id or path) from the corpus folder and drop them from the index."""
    folder = require_folder(_folder(args, settings))
    doomed = {
        path: source_id
        for name in args.items
        for path, source_id in _to_remove(name, folder, args.recursive)
    }  # every name checked before anything is deleted
    for path, source_id in doomed.items():
        path.unlink(missing_ok=True)
        if not args.quiet:
            print(f"removed: {source_id}")
    opened = _open(folder, settings, _progress(sys.stderr, args.quiet))
    return _report(opened, args, shown=set(doomed.values()))


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


def _report(opened: index.Opened, args: argparse.Namespace, shown: Set[str] = frozenset()) -> int:
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
        print(_describe(opened))
    return 0


def _inside(path: Path, folder: Path) -> Path | None:
    """``path`` relative to ``folder`` if it lies inside it, links followed, else None."""
    try:
        return path.resolve().relative_to(folder.resolve())
    except ValueError:
        return None


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


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m bot`` argument parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Answer questions about news articles with verbatim, attributed quotes.",
    )
    parser.add_argument("--version", action="version", version=f"newsquote {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    corpus = argparse.ArgumentParser(add_help=False)
    corpus.add_argument("--corpus", metavar="DIR", help="folder of articles (default: setting)")
    top_k = argparse.ArgumentParser(add_help=False)
    top_k.add_argument("--top-k", type=_positive, metavar="K", help="answers per question")

    ask = commands.add_parser(
        "ask",
        parents=[corpus, top_k],
        help="answer one question (or, with --json, questions from stdin)",
        description="Answer a question with verbatim quotes from the articles.",
    )
    ask.add_argument("question", nargs="*", default=None, help="the question (quotes optional)")
    ask.add_argument("--json", action="store_true", help="print the machine-readable contract")
    ask.set_defaults(func=cmd_ask)

    repl = commands.add_parser(
        "repl",
        parents=[corpus, top_k],
        help="ask questions interactively",
        description="Interactive questions: :more, :sources, :reload, :help, :quit (or Ctrl-D). "
        "The corpus folder is watched: added, edited and deleted files are picked up.",
    )
    repl.set_defaults(func=cmd_repl)

    sources = commands.add_parser(
        "sources",
        parents=[corpus],
        help="list the loaded articles",
        description="List the loaded articles with their metadata and sentence counts.",
    )
    sources.add_argument("--json", action="store_true", help="machine-readable output")
    sources.add_argument("--errors", action="store_true", help="also list unreadable files")
    sources.set_defaults(func=cmd_sources)

    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument("--quiet", action="store_true", help="print nothing but errors")
    build = commands.add_parser(
        "index",
        parents=[corpus, quiet],
        help="build and save the corpus's index",
        description="Index every article from scratch (Punkt retrained) and save the index "
        "under data_dir; with --update, only bring the saved index up to date.",
    )
    build.add_argument("--update", action="store_true", help="apply file changes only")
    build.set_defaults(func=cmd_index)
    add = commands.add_parser(
        "add",
        parents=[corpus, quiet],
        help="copy articles into the corpus and index them",
        description="Copy FILEs (or every article under DIRs, kept in a folder of that name) "
        "into the corpus folder, replacing files of the same name, and index only them.",
    )
    add.add_argument("paths", nargs="+", metavar="FILE|DIR")
    add.set_defaults(func=cmd_add)
    remove = commands.add_parser(
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
    add_discord_commands(commands)
    return parser


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, build settings once, run the command; user errors become one line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "question", None) == []:
        args.question = None
    try:
        settings = Settings()
    except SETTINGS_ERRORS as exc:
        print(f"error: {settings_problem(exc)}", file=sys.stderr)
        return EXIT_USAGE
    configure(settings.log_level, settings.log_format)
    try:
        return args.func(args, settings)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as a pipeline expects.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
