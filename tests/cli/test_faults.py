"""The fault matrix: ``kill -9`` at random points of ``index``, ``add``, ``remove`` and a live
reload, while another process keeps asking.

Why this holds, and what would break it: the saved index is replaced by rename under a lock,
and every command that opens it brings it up to date by the content hash of each file, so
whatever instant a writer dies at, the next ``ask`` must give exactly the answers a clean
rebuild of the folder, as it then stands, gives. Each cell of the matrix checks that, plus:
the reader never saw a traceback, the killed command left no process behind, no half-written
file is visible as an article, and the index left on disk after recovery is current.

Kill points are drawn from a seeded RNG (``FAULT_SEED``, default 14; ``FAULT_KILLS`` kills per
command, default 3; the slow test runs more), and every failure message names the seed, the
cell and the kill point. A cell's draws depend only on the seed, the command and the cell's
number, but the folder it starts from is what the cells before it left, so a cell is
reproduced by running its whole command again (``-k COMMAND``). A delay is counted from the moment the command starts work on the
folders (inotify tells when a process first opens them), not from its start: importing the
bot takes most of a short command's life and a kill there would test nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import random
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.core.index import saved as index
from bot.settings import Settings
from tests.conftest import SEEDS

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc and uses inotify (Linux only)"
)

SEED = int(os.environ.get("FAULT_SEED", "14"))
KILLS = int(os.environ.get("FAULT_KILLS", "3"))
SLOW_KILLS = 12
TIMEOUT = 120  # seconds any one subprocess may take, loaded machine included
REPRODUCE = "FAULT_SEED={seed} pytest tests/cli/test_faults.py -k {command}"

QUESTIONS = (
    "what did China say?",
    "where is Rostov-on-Don?",
    "what did the mayor say?",
    "what did Jane Doyle say?",
    "who warned about the railway?",
    "how much will the wind farm cost?",
    "what did Angela Merkel say?",
)

PLACES = ("Harbourton", "Millbrook", "Eastvale", "Northwick", "Stonebridge", "Lakeside", "Fenby")
PEOPLE = (
    ("Jane Doyle", "harbour master"),
    ("Tom Reilly", "mayor"),
    ("Ana Silva", "coach"),
    ("Omar Haddad", "minister"),
    ("Lena Park", "engineer"),
)
TOPICS = ("the flood barrier", "the new railway", "the school budget", "the wind farm")


def article(number: int) -> str:
    """A short generated news article; each number gives different facts and speakers."""
    rng = random.Random(number)
    place = PLACES[number % len(PLACES)]
    name, role = PEOPLE[number % len(PEOPLE)]
    other, other_role = PEOPLE[(number + 2) % len(PEOPLE)]
    topic = TOPICS[number % len(TOPICS)]
    return (
        f'---\ntitle: "{place} council debates {topic} ({number})"\n'
        f'publisher: "Fault Gazette"\n---\n'
        f"{place} council debates {topic}\n\n"
        f"The council in {place} met on Tuesday to discuss {topic}, which is expected to cost "
        f"{rng.randint(2, 90)} million pounds.\n\n"
        f"“We have waited long enough for {topic},” {role} {name} said after meeting "
        f"number {number}.\n\n"
        f"{other}, the {other_role}, warned that the plan for {topic} could be delayed until "
        f"{rng.choice(['spring', 'summer', 'autumn'])}.\n\n"
        f"Residents of {place} gathered outside the hall, asking for a public vote.\n"
    )


# --------------------------------------------------------------------- processes


def group_members(group: int) -> list[str]:
    """Live processes (not zombies) of process group ``group``, as ``pid (command line)``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:  # exited meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, pgrp, ...
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(f"{entry} ({command.decode(errors='replace').strip()[:80]})")
    return found


def survivors(group: int, grace: float = 3.0) -> list[str]:
    """The members of ``group`` still alive after a bounded grace for exiting on their own."""
    deadline = time.monotonic() + grace
    while (alive := group_members(group)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def end_group(group: int) -> None:
    """Kill what is left of a group this test started (its own processes, by group id)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


class FolderEvents:
    """inotify on a few folders: tells when some process first touches them, or starts a save.

    Without inotify (a kernel limit reached), ``wait`` returns at once and kill delays
    count from the command's start instead.
    """

    _MASK = 0x20 | 0x80 | 0x100 | 0x200  # IN_OPEN, IN_MOVED_TO, IN_CREATE, IN_DELETE
    _EVENT = struct.Struct("iIII")

    def __init__(self, *folders: Path) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        self.names: dict[int, Path] = {}
        for folder in folders if self.fd >= 0 else ():
            watch = libc.inotify_add_watch(self.fd, os.fsencode(folder), self._MASK)
            if watch >= 0:
                self.names[watch] = folder

    @property
    def working(self) -> bool:
        """Whether events arrive at all."""
        return bool(self.names)

    def close(self) -> None:
        """Stop watching."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _read(self) -> list[tuple[Path, str, int]]:
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return []
        events, offset = [], 0
        while offset < len(data):
            watch, mask, _, length = self._EVENT.unpack_from(data, offset)
            offset += self._EVENT.size
            name = data[offset : offset + length].rstrip(b"\0").decode(errors="replace")
            offset += length
            events.append((self.names.get(watch, Path("?")), name, mask))
        return events

    def drain(self) -> None:
        """Forget what happened so far."""
        while self.working and self._read():
            pass

    def wait(
        self, wanted: Callable[[Path, str, int], bool], alive: Callable[[], bool]
    ) -> str | None:
        """Block until an event ``wanted`` accepts (its description), or ``alive()`` is false."""
        deadline = time.monotonic() + TIMEOUT
        while self.working and alive() and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            for folder, name, mask in self._read() if ready else []:
                if wanted(folder, name, mask):
                    return f"{'created' if mask & 0x100 else 'opened'} {folder.name}/{name}"
        return None


class Reader(threading.Thread):
    """Runs ``ask --json QUESTION`` over and over, as another user would, until stopped."""

    def __init__(self, lab: Lab) -> None:
        super().__init__(name="fault-reader", daemon=True)
        self.lab = lab
        self.replies: list[tuple[str, subprocess.CompletedProcess[str]]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        """Ask the questions in turn, each in a fresh process (so each one loads the index)."""
        turn = 0
        while not self._halt.is_set():
            question = QUESTIONS[turn % len(QUESTIONS)]
            turn += 1
            self.replies.append((question, self.lab.bot("ask", "--json", question)))

    def finish(self) -> list[str]:
        """Stop after the question in flight; what was wrong with any reply."""
        self._halt.set()
        self.join(TIMEOUT)
        assert not self.is_alive(), "the reader's last ask did not finish"
        return [problem for q, reply in self.replies if (problem := reply_problem(q, reply))]


def reply_problem(question: str, reply: subprocess.CompletedProcess[str]) -> str | None:
    """Why ``reply`` is neither a JSON answer nor a clean one-line error, or None."""
    if "Traceback" in reply.stderr:
        return f"{question!r}: a traceback: {reply.stderr[-2000:]}"
    if reply.returncode == 0:
        try:
            payload = json.loads(reply.stdout)
        except ValueError:
            return f"{question!r}: exit 0 but not JSON: {reply.stdout[:500]!r}"
        if payload.get("question") != question or not isinstance(payload.get("answers"), list):
            return f"{question!r}: not the ask --json contract: {reply.stdout[:500]!r}"
        return None
    lines = [line for line in reply.stderr.splitlines() if not line.startswith("{")]  # not logs
    if len(lines) != 1 or not lines[0].startswith("error: "):
        return f"{question!r}: exit {reply.returncode} without one error line: {reply.stderr!r}"
    return None


def log_records(stderr: str) -> list[dict[str, Any]]:
    """The JSON log lines of a command's stderr (stderr is no terminal, so logs are JSON)."""
    records = []
    for line in stderr.splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict):
                records.append(record)
    return records


# --------------------------------------------------------------------- the lab


@dataclass
class Lab:
    """A corpus folder and data folder in ``root``, and the commands that run against them."""

    root: Path
    versions: dict[str, set[str]] = field(default_factory=dict)  # every text each file had
    made: int = 0  # generated articles so far

    def __post_init__(self) -> None:
        self.corpus = self.root / "corpus"
        self.data = self.root / "data"
        self.outside = self.root / "outside"
        for folder in (self.corpus, self.data, self.outside):
            folder.mkdir()
        for seed in sorted(SEEDS.iterdir()):
            self.write(seed.name, seed.read_text(encoding="utf-8"))
        for _ in range(4):
            self.write(*self.new_article())
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NEWSQUOTE_")},
            "NEWSQUOTE_CORPUS_DIR": str(self.corpus),
            "NEWSQUOTE_DATA_DIR": str(self.data),
            "NEWSQUOTE_WATCH_INTERVAL_SECONDS": "0.2",
            "HOME": str(self.root),  # the REPL's history file, if any, stays here
        }
        # The index every cell starts from exists, as it would in use.
        index.open_engine(self.corpus, self.settings(self.data).core_options())
        self.events = FolderEvents(self.corpus, self.data)

    def settings(self, data: Path) -> Settings:
        """In-process settings for this corpus; the environment is cleared by the fixture."""
        return Settings(_env_file=None, corpus_dir=self.corpus, data_dir=data)

    def new_article(self) -> tuple[str, str]:
        """A name and text never used before."""
        self.made += 1
        return f"gen{self.made:03d}.txt", article(self.made)

    def generated(self) -> list[str]:
        """The generated articles now in the corpus."""
        return sorted(p.name for p in self.corpus.glob("gen*.txt"))

    def write(self, name: str, text: str, atomic: bool = True) -> None:
        """Put an article in the corpus directly (as a person would), and remember its text."""
        self.versions.setdefault(name, set()).add(text)
        target = self.corpus / name
        if not atomic:  # an editor saving in place: the file is briefly half-written
            target.write_text(text, encoding="utf-8")
            return
        temp = self.corpus / f".{name}.writing"
        temp.write_text(text, encoding="utf-8")
        temp.replace(target)

    def bot(
        self, *args: str, stdin: str | None = None, log_level: str = "WARNING"
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python -m bot ARGS`` to completion."""
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=self.root,  # no developer's .env applies
            env={**self.env, "NEWSQUOTE_LOG_LEVEL": log_level},
            timeout=TIMEOUT,
            start_new_session=True,
        )

    def spawn(self, *args: str, env: dict[str, str], **options: Any) -> subprocess.Popen[str]:
        """Start ``python -m bot ARGS`` as the leader of a new process group."""
        return subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            text=True,
            cwd=self.root,
            env={**self.env, **env},
            start_new_session=True,
            **options,
        )

    def clean_answers(self, number: int) -> list[dict[str, Any]]:
        """The answers of a clean rebuild of the folder as it stands, in a fresh data folder."""
        fresh = self.root / f"fresh-{number}"
        opened = index.open_engine(self.corpus, self.settings(fresh).core_options())
        assert opened.status == "built"
        return [as_json(opened.engine.ask(q).to_json()) for q in QUESTIONS]

    def saved_status(self) -> tuple[str, list[dict[str, Any]]]:
        """How the saved index opens now ("loaded": it is current), and its answers."""
        opened = index.open_engine(self.corpus, self.settings(self.data).core_options())
        return opened.status, [as_json(opened.engine.ask(q).to_json()) for q in QUESTIONS]

    def stray_files(self) -> tuple[list[str], list[str]]:
        """(visible files that are no complete article we wrote, hidden leftovers)."""
        visible, hidden = [], []
        for folder, folders, files in os.walk(self.corpus):
            for name in files:
                path = Path(folder, name)
                key = path.relative_to(self.corpus).as_posix()
                if any(part.startswith(".") for part in Path(key).parts):
                    hidden.append(key)
                elif path.read_text(encoding="utf-8") not in self.versions.get(key, set()):
                    visible.append(key)
            folders[:] = [f for f in folders if not f.startswith(".")]  # never an article
        ours = index.index_file(self.corpus, self.settings(self.data).core_options()).name
        for path in sorted(self.data.iterdir()):
            if not path.name.startswith("."):
                visible += [] if path.name == ours else [f"data/{path.name}"]
            elif path.name != ".lock":  # a crashed writer's temporary file
                hidden.append(f"data/{path.name}")
        return visible, hidden


def as_json(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` as it reads back from the JSON the CLI prints."""
    return json.loads(json.dumps(payload, ensure_ascii=False))


def differences(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> list[str]:
    """Where two answer lists differ: scores within rounding, everything else exactly."""
    found = []
    for question, a, b in zip(QUESTIONS, got, want, strict=True):
        if _comparable(a) != _comparable(b):
            found.append(
                f"{question!r}:\n  got   {json.dumps(a)[:800]}\n  clean {json.dumps(b)[:800]}"
            )
    return found


def _comparable(reply: dict[str, Any]) -> dict[str, Any]:
    """A reply with its scores rounded further: float sums in another order differ in ulps."""
    answers = [{**a, "score": round(a["score"], 4)} for a in reply.get("answers", [])]
    return {**reply, "answers": answers}


# --------------------------------------------------------------------- one cell


@dataclass
class Cell:
    """One kill: which command, which kill point, and what came of it."""

    command: str
    number: int
    trigger: str = ""  # "work": counted from the first touch of the folders; "save": a temp file
    delay: float = 0.0
    seen: str | None = None  # the event that armed the kill
    outcome: str = ""
    leftovers: list[str] = field(default_factory=list)
    replies: int = 0
    found: str = ""  # what the ask after the kill found on disk

    def label(self) -> str:
        """What a failure message starts with: enough to run the same cell again."""
        how = REPRODUCE.format(seed=SEED, command=self.command)
        return (
            f"[seed={SEED} {self.command} kill #{self.number}: {self.trigger} trigger "
            f"({self.seen or 'no event'}) + {self.delay * 1000:.1f} ms -> {self.outcome}; "
            f"reproduce: {how}]"
        )


def is_save(folder: Path, name: str, mask: int) -> bool:
    """A writer's temporary index file was created in the data folder."""
    return folder.name == "data" and bool(mask & 0x100) and name.endswith(".tmp")


def is_work(folder: Path, name: str, mask: int) -> bool:
    """Any process touched the corpus or data folder (the first thing every command does)."""
    return True


def prepare(lab: Lab, command: str, rng: random.Random) -> list[str]:
    """Set the folder up for the cell and return the command's arguments."""
    if command == "index":
        # The saved index is made stale first, so the rebuild has something to change.
        choice = rng.choice(["new", "edit", "delete"]) if len(lab.generated()) > 2 else "new"
        if choice == "new":
            lab.write(*lab.new_article())
        elif choice == "edit":
            lab.write(rng.choice(lab.generated()), article(1000 + rng.randrange(10**6)))
        else:
            (lab.corpus / rng.choice(lab.generated())).unlink()
        return ["index", "--quiet"]
    if command == "add":
        if rng.random() < 0.3 and lab.generated():  # same name: the article is replaced
            name, text = rng.choice(lab.generated()), article(1000 + rng.randrange(10**6))
        else:
            name, text = lab.new_article()
        (lab.outside / name).write_text(text, encoding="utf-8")
        lab.versions.setdefault(name, set()).add(text)
        return ["add", "--quiet", str(lab.outside / name)]
    if command == "remove":
        while len(lab.generated()) < 3:
            lab.write(*lab.new_article())
        return ["remove", "--quiet", rng.choice(lab.generated())]
    raise AssertionError(command)


def change_live(lab: Lab, rng: random.Random) -> None:
    """What a person does to the folder while the REPL watches: add, edit in place, delete."""
    while len(lab.generated()) < 3:
        lab.write(*lab.new_article())
    edited, deleted = rng.sample(lab.generated(), 2)
    lab.write(*lab.new_article())
    lab.write(edited, article(1000 + rng.randrange(10**6)), atomic=False)
    (lab.corpus / deleted).unlink()


def run_cell(lab: Lab, command: str, number: int) -> Cell:
    """Kill one command at a random point with a reader running, then check everything."""
    rng = random.Random(f"{SEED}:{command}:{number}")
    cell = Cell(command, number)
    cell.trigger = rng.choice(["work", "work", "save"])
    live = command == "live"
    if cell.trigger == "save":
        cell.delay = rng.uniform(0, 0.005)  # inside the write, the fsync or the rename, or after
    elif live:
        cell.delay = rng.uniform(0, 1.6)  # the watcher waits 1 s for files to settle
    else:
        cell.delay = rng.uniform(0, 0.4)
    args = ["repl"] if live else prepare(lab, command, rng)
    lab.events.drain()
    reader = Reader(lab)
    proc = lab.spawn(
        *args,
        stdin=subprocess.PIPE if live else subprocess.DEVNULL,
        stdout=subprocess.PIPE if live else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={"PYTHONUNBUFFERED": "1"},  # the REPL's banner says when it is loaded
    )
    code: int | None = None
    try:
        reader.start()
        if live:
            banner = _line(proc, TIMEOUT)
            assert banner.startswith("newsquote: "), f"{cell.label()} no REPL: {banner!r}"
            lab.events.drain()
            change_live(lab, rng)
            if rng.random() < 0.5:  # an explicit :reload, at once, besides the watcher
                assert proc.stdin is not None
                proc.stdin.write(":reload\n")
                proc.stdin.flush()
            if cell.trigger == "work":
                cell.seen = "folder changed"
        if cell.seen is None:
            wanted = is_save if cell.trigger == "save" else is_work
            cell.seen = lab.events.wait(wanted, lambda: proc.poll() is None)
        try:
            code = proc.wait(timeout=cell.delay)
            cell.outcome = f"finished first (exit {code})"
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=TIMEOUT)
            cell.outcome = "killed"
        orphans = survivors(proc.pid)
    finally:
        end_group(proc.pid)  # whatever happened, nothing this test started lives on
        _, stderr = proc.communicate(timeout=TIMEOUT)  # the pipes are free once all are dead
        problems = reader.finish()
    cell.replies = len(reader.replies)
    label = cell.label()
    if cell.outcome.startswith("finished"):
        assert code == 0 and "Traceback" not in stderr, f"{label} the command failed: {stderr}"
    assert not orphans, f"{label} processes outlived the killed command: {orphans}"
    assert not problems, f"{label} the reader got:\n" + "\n".join(problems)

    visible, cell.leftovers = lab.stray_files()
    assert not visible, f"{label} files that are no article written whole: {visible}"

    recovered = lab.bot("ask", "--json", stdin="\n".join(QUESTIONS) + "\n", log_level="INFO")
    cell.found = found_index(log_records(recovered.stderr))
    warnings = [r for r in log_records(recovered.stderr) if r.get("level") != "info"]
    assert recovered.returncode == 0 and "Traceback" not in recovered.stderr, (
        f"{label} ask after the kill failed: {recovered.stderr}"
    )
    assert not warnings, f"{label} ask after the kill warned: {warnings}"
    answers = [json.loads(line) for line in recovered.stdout.splitlines()]
    clean = lab.clean_answers(number)
    wrong = differences(answers, clean)
    assert not wrong, f"{label} answers differ from a clean rebuild's:\n" + "\n".join(wrong)
    status, saved = lab.saved_status()
    assert status == "loaded", f"{label} the index left after recovery was {status}, not current"
    wrong = differences(saved, clean)
    assert not wrong, f"{label} the saved index answers differently:\n" + "\n".join(wrong)
    return cell


def found_index(records: list[dict[str, Any]]) -> str:
    """What an ask found on disk, from its info log: a current, stale or missing index."""
    for record in records:
        if record.get("message") == "index updated":
            counts = ", ".join(f"{record.get(k)} {k}" for k in ("added", "changed", "removed"))
            return f"a stale index ({counts})"
    if any(record.get("message") == "loaded index" for record in records):
        return "a current index"
    return "no usable index"


def _line(proc: subprocess.Popen[str], timeout: float) -> str:
    """One line of the process's output, or "" when none comes in ``timeout`` seconds."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


# --------------------------------------------------------------------- the matrix


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    for name in list(os.environ):
        if name.startswith("NEWSQUOTE_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name)
    made = Lab(tmp_path)
    yield made
    made.events.close()


def matrix(lab: Lab, command: str, kills: int) -> None:
    """Run ``kills`` cells of ``command`` and print one line per cell (see ``pytest -rP``)."""
    for number in range(1, kills + 1):
        cell = run_cell(lab, command, number)
        tail = f"; hidden leftovers {cell.leftovers}" if cell.leftovers else ""
        print(f"{cell.label()} ok: {cell.replies} reader replies, then {cell.found}{tail}")
    if not lab.events.working:
        print("inotify unavailable: delays counted from each command's start")


@pytest.mark.parametrize("command", ["index", "add", "remove", "live"])
def test_kill_9_never_changes_the_answers(lab: Lab, command: str) -> None:
    matrix(lab, command, KILLS)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["index", "add", "remove", "live"])
def test_kill_9_never_changes_the_answers_many_times(lab: Lab, command: str) -> None:
    matrix(lab, command, SLOW_KILLS)
