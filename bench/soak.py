"""A soak: the real worker against the Discord stand-in, for minutes of mixed traffic.

    python bench/soak.py [--minutes 10] [--rate 3] [--seed 14] [--json PATH]

Starts the stand-in Discord of the tests (``tests/discord/fake_discord.py``, imported,
not copied) and ``python -m bot run`` as a child process on a corpus of its own: the
seed articles, the Discord tests' articles and generated wire stories. Then, for the
whole duration and at a bounded rate, it sends what users send (``/ask``, ``!ask``
and ``@newsquote`` questions that the articles answer, that they do not, malformed
and too long ones, clicks on answer buttons, ``/sources``, ``/help`` and ``/reload``),
channel chatter the bot must ignore, and it adds, edits and deletes article files under
the worker (some of them unreadable, some deleted before they settle) so that the
watcher keeps reloading.

What it measures, and when it fails (exit 1):

- **lost replies**: every request must get its reply within ``--reply-timeout``
  (30 s); a deferred interaction counts only once its follow-up arrives;
- **errors**: apologies ("something went wrong"), ERROR lines in the worker's log,
  duplicate replies, replies to chatter, payloads the stand-in refuses, a worker that
  does not exit 0 on SIGTERM;
- **task leak**: the worker logs its live asyncio tasks every second (the
  ``health_log_seconds`` setting); once traffic stops and the answer buttons have
  timed out, the count must come back to what it was before traffic;
- **memory**: the worker's and its scoring process's RSS (``/proc/PID/status``),
  sampled every few seconds; the growth over the second half (least-squares slope
  times that half's length) must stay under ``--max-growth-mb``: 5 MB, where
  ten-minute runs measured 1.2 to 2.5 MB and a leak of 5 kB per request would add
  4.5 MB more. The first half is warm-up: discord.py's cache of the last 1,000
  messages (full after about four minutes of questions and chatter), the answer
  views alive for one button timeout and the tokenizer's word caches fill.

Needs the ``dev`` extra (aiohttp serves the stand-in). Everything runs on 127.0.0.1
in a temporary folder, bounded in count (``rate * seconds`` requests, ``chatter_rate *
seconds`` messages, ``seconds / edit_every`` folder changes) and time.
``tests/discord/test_soak.py`` runs the same thing for 20 seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``tests`` importable
    sys.path.insert(0, str(ROOT))

from bot.discord.errors import APOLOGY  # noqa: E402
from tests.discord.fake_discord import Call, FakeDiscord  # noqa: E402
from tests.discord.worker_process import WorkerProcess, write_corpus  # noqa: E402

SEEDS = ROOT / "seeds"
SEED_QUESTIONS = ROOT / "bench" / "seed_questions.yaml"
MB = 1024.0

# ------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class Plan:
    """How long, how fast, and the limits the run is judged by."""

    seconds: float = 600.0
    rate: float = 3.0  # requests per second
    # Channel messages not for the bot, which it must ignore; they also fill discord.py's
    # cache of the last 1,000 messages within the first half, so it is full when measured.
    chatter_rate: float = 3.0
    edit_every: float = 2.0  # seconds between two changes to the corpus folder
    sample_every: float = 5.0  # seconds between two memory and task samples
    reply_timeout: float = 30.0
    button_timeout: float = 20.0  # the worker's button_timeout_seconds
    drain_timeout: float = 60.0  # after traffic and the button timeout: tasks back to baseline
    max_growth_mb: float = 5.0  # RSS growth allowed over the second half, per process
    seed: int = 14
    min_generated: int = 5  # generated articles kept in the folder: at least...
    max_generated: int = 30  # ...and at most (the corpus stays bounded, so memory may too)

    @property
    def requests(self) -> int:
        return int(self.seconds * self.rate)

    @property
    def edits(self) -> int:
        return int(self.seconds / self.edit_every)

    @property
    def chatter(self) -> int:
        return int(self.seconds * self.chatter_rate)


# ------------------------------------------------------------------ what users ask

# Who says what in the generated wire stories (made up; questions about them are
# answered while a story naming them is in the folder, declined otherwise).
SPEAKERS = [
    ("Alda Quist", "port director"),
    ("Bram Okafor", "union leader"),
    ("Celia Varga", "finance minister"),
    ("Dario Lind", "fire chief"),
    ("Esme Achebe", "school principal"),
    ("Farid Nakamura", "river warden"),
    ("Greta Holm", "hospital spokeswoman"),
    ("Hugo Mensah", "transport secretary"),
]
TOPICS = [
    "the bridge repairs",
    "the new ferry timetable",
    "the flood barrier",
    "next year's budget",
    "the hospital wing",
    "the rail strike",
]
PLACES = ["Kelmouth", "Ardan", "Lowford", "Pellis", "Stanmere"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]

ANSWERABLE = [
    "what did China say?",
    "what did the harbour master say?",
    "what did Morag Ferguson say?",
    "who met Qin Gang?",
    "what did Mayor Tom Reilly tell reporters?",
    "when will the harbour reopen?",
    "Hey, what did China say?",
]
UNANSWERABLE = [
    "what did Angela Merkel say?",
    "what is the capital of Peru?",
    "how many goals did the striker score?",
    "what did the zqxv blorft committee decide?",
]
# What else people write in a channel: no mention, no prefix, or another bot's command.
CHATTER = [
    "anyone watching the match tonight?",
    "lol",
    "what did China say?",
    "newsquote is quick today",
    "!weather Kelmouth",
    "!asking for a friend",
    "@here meeting moved to 3pm",
    "brb",
]
MALFORMED = ["???", "   ", "🙂", "what did say?", "!!!", "@everyone", "\u200b", "what", "<@&123>"]


def seed_questions() -> tuple[list[str], list[str]]:
    """The bundled evaluation's questions: (answered by the seeds, not answered)."""
    data = yaml.safe_load(SEED_QUESTIONS.read_text(encoding="utf-8"))
    answered = [q["question"] for q in data["questions"] if q["expect"] != "none"]
    declined = [q["question"] for q in data["questions"] if q["expect"] == "none"]
    return answered, declined


CATEGORIES = {
    "answerable": 45,
    "generated": 20,
    "unanswerable": 15,
    "malformed": 10,
    "too long": 10,
}


class Questions:
    """Questions of each kind, drawn from one seeded generator; every kind once first."""

    def __init__(self, rng: random.Random, max_chars: int = 300) -> None:
        self.rng = rng
        self.max_chars = max_chars
        answered, declined = seed_questions()
        self.answerable = ANSWERABLE + answered
        self.unanswerable = UNANSWERABLE + declined
        self.owed = list(CATEGORIES)  # so that even a short run asks each kind

    def draw(self) -> tuple[str, str]:
        """A (category, question) pair: mostly answerable, some of every other kind."""
        rng = self.rng
        if self.owed:
            category = self.owed.pop(0)
        else:
            category = rng.choices(list(CATEGORIES), weights=list(CATEGORIES.values()))[0]
        if category == "answerable":
            return category, rng.choice(self.answerable)
        if category == "unanswerable":
            return category, rng.choice(self.unanswerable)
        if category == "malformed":
            return category, rng.choice(MALFORMED)
        if category == "too long":
            words = " ".join(rng.choice(TOPICS) for _ in range(40))
            return category, f"what did China say about {words}?"[: self.max_chars + 200]
        speaker, _ = rng.choice(SPEAKERS)
        return category, rng.choice(
            [
                f"what did {speaker} say?",
                f"what did {speaker} say about {rng.choice(TOPICS)}?",
                f"how many workers were on the site in {rng.choice(PLACES)}?",
            ]
        )


# ------------------------------------------------------------------ the folder


def wire_story(number: int, rng: random.Random) -> str:
    """A generated article with front matter: quotes by a named speaker, a few facts."""
    speaker, role = rng.choice(SPEAKERS)
    topic, place, day = rng.choice(TOPICS), rng.choice(PLACES), rng.choice(DAYS)
    paragraphs = [
        f"{role.capitalize()} {speaker} spoke about {topic} in {place} on {day}.",
        f"“We will finish {topic} before the winter, and we will not ask for more money,” "
        f"{speaker} said.",
        f"The council said {rng.randint(12, 480)} workers were on the site in {place} this week.",
        f"Residents of {place} have waited {rng.randint(2, 30)} months for {topic}.",
        f"“Nobody in {place} should pay twice for {topic},” the {role} told reporters.",
        f"Permit KX-{number}-{rng.randint(100, 999)} was issued for the works on {day}.",
    ]
    for _ in range(rng.randint(0, 6)):
        other, other_role = rng.choice(SPEAKERS)
        paragraphs.append(
            f"{other_role.capitalize()} {other} said {rng.choice(TOPICS)} would cost "
            f"{rng.randint(1, 90)} million pounds."
        )
    front = (
        f"---\ntitle: {place} {topic.removeprefix('the ')} update {number}\n"
        f"publisher: Soak Wire\npublished: 2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}\n---\n"
    )
    return front + "\n\n".join(paragraphs) + "\n"


BAD_FILES: list[bytes] = [
    b"---\ntitle: Impossible date\npublished: 2023-02-30\n---\nThe body is fine.\n",
    b"---\ntitle: [unclosed\n---\nBroken front matter.\n",
    b"",
    b"\xff\xfe not UTF-8 \x80\x81\n",
]


CHANGES = {"add": 30, "edit": 35, "delete": 25, "unreadable": 5, "flash": 5}


class Folder:
    """Adds, edits and deletes generated articles under ``wire/``, keeping their count bounded."""

    def __init__(self, corpus: Path, plan: Plan, rng: random.Random) -> None:
        self.folder = corpus / "wire"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.plan = plan
        self.rng = rng
        self.live: list[Path] = []
        self.number = 0
        self.done: Counter[str] = Counter()
        self.owed = list(CHANGES)  # each kind of change once first

    def _new_path(self) -> Path:
        self.number += 1
        return self.folder / f"story-{self.number:05d}.md"

    def add(self) -> None:
        path = self._new_path()
        path.write_text(wire_story(self.number, self.rng), encoding="utf-8")
        self.live.append(path)

    async def change(self) -> None:
        """One change, of a kind that keeps the count between the plan's bounds."""
        rng = self.rng
        if len(self.live) < self.plan.min_generated:
            kind = "add"
        elif len(self.live) >= self.plan.max_generated:
            kind = "delete"
        elif self.owed:
            kind = self.owed.pop(0)
        else:
            kind = rng.choices(list(CHANGES), weights=list(CHANGES.values()))[0]
        if kind == "add":
            self.add()
        elif kind == "edit":
            path = rng.choice(self.live)
            path.write_text(wire_story(self.number, rng), encoding="utf-8")
        elif kind == "delete":
            path = self.live.pop(rng.randrange(len(self.live)))
            path.unlink()
        elif kind == "unreadable":  # stays until an edit mends it or a delete takes it
            path = self._new_path()
            path.write_bytes(rng.choice(BAD_FILES))
            self.live.append(path)
        else:  # "flash": gone again before it has settled (an editor's or a copier's file)
            path = self._new_path()
            path.write_text(wire_story(self.number, rng), encoding="utf-8")
            await asyncio.sleep(0.2)
            path.unlink()
        self.done[kind] += 1


def make_corpus(folder: Path, plan: Plan, rng: random.Random) -> Folder:
    """The seeds, the Discord tests' three articles and a first batch of wire stories."""
    write_corpus(folder / "tests")
    shutil.copytree(SEEDS, folder / "seeds")
    wire = Folder(folder, plan, rng)
    for _ in range((plan.min_generated + plan.max_generated) // 2):
        wire.add()
    return wire


# ------------------------------------------------------------------ replies


@dataclass
class Request:
    """One thing a user did, and the bot's reply to it."""

    kind: str  # slash, mention, prefix, click, sources, help, reload
    category: str
    sent: float
    user: dict[str, Any]
    replied: float | None = None
    deferred: bool = False
    outcome: str = ""  # embed, line, apology


_CALLBACK = re.compile(r"/interactions/(\d+)/([^/]+)/callback")
_WEBHOOK = re.compile(r"/webhooks/\d+/([^/]+)(?:/messages/@original)?")


def outcome_of(payload: dict[str, Any]) -> str:
    """What a reply is: answers in embeds, a one-line message, or the bot's apology."""
    if payload.get("embeds"):
        return "embed"
    return "apology" if payload.get("content") == APOLOGY else "line"


class Replies:
    """Matches every call the bot makes to the request it answers, reading calls in order.

    A cursor over the stand-in's record of calls, so each call is looked at once
    (waiting on each request with the stand-in's ``wait_for`` would rescan them all).
    """

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.cursor = 0
        self.requests: list[Request] = []
        self.by_interaction: dict[str, Request] = {}
        self.by_token: dict[str, Request] = {}
        self.by_message: dict[str, Request] = {}
        self.answered: deque[tuple[int, dict[str, Any]]] = deque(maxlen=40)
        self.duplicates: list[str] = []
        # Replies seen before their request was recorded (the push had not returned yet).
        self.orphans: list[Call] = []
        self.chatter: set[str] = set()
        self.unwanted: list[str] = []  # replies to chatter

    def interaction(self, request: Request, interaction: dict[str, Any]) -> None:
        self.requests.append(request)
        self.by_interaction[interaction["id"]] = request
        self.by_token[interaction["token"]] = request

    def message(self, request: Request, message: dict[str, Any]) -> None:
        self.requests.append(request)
        self.by_message[message["id"]] = request

    def pending(self) -> list[Request]:
        return [r for r in self.requests if r.replied is None]

    def collect(self) -> None:
        """Take in the calls made since the last look, and those that came too early."""
        orphans, self.orphans = self.orphans, []
        for call in orphans:
            self._take(call)
        calls = self.fake.calls
        while self.cursor < len(calls):
            self._take(calls[self.cursor])
            self.cursor += 1

    def _done(self, request: Request, call: Call, payload: dict[str, Any], what: str) -> None:
        if request.replied is not None:
            self.duplicates.append(f"{request.kind} answered twice: {what}")
            return
        request.replied = call.at
        request.outcome = outcome_of(payload)

    def _take(self, call: Call) -> None:
        body = call.body if isinstance(call.body, dict) else {}
        if call.method == "POST" and (match := _CALLBACK.fullmatch(call.path)):
            request = self.by_interaction.get(match[1])
            if request is None:
                self.orphans.append(call)
                return
            if body.get("type") in (5, 6):  # "thinking…": the answer follows on the webhook
                request.deferred = True
                return
            self._done(request, call, body.get("data") or {}, call.path)
            message = self.fake.interaction_messages.get(match[2])
            if request.kind == "slash" and request.outcome == "embed" and message:
                self.answered.append((message, request.user))
        elif call.method in ("POST", "PATCH") and (match := _WEBHOOK.fullmatch(call.path)):
            request = self.by_token.get(match[1])
            # A PATCH of an answered one is its buttons being disabled on timeout.
            if request is not None and request.deferred and request.replied is None:
                self._done(request, call, body, call.path)
        elif call.method == "POST" and call.path.endswith("/messages"):
            reference = body.get("message_reference") or {}
            replied_to = str(reference.get("message_id"))
            request = self.by_message.get(replied_to)
            if replied_to in self.chatter:
                self.unwanted.append(f"replied to chatter: {body.get('content')!r}")
            elif request is not None:
                self._done(request, call, body, f"message {reference.get('message_id')}")
            elif reference:
                self.orphans.append(call)


# ------------------------------------------------------------------ the worker


def rss_kb(pid: int) -> int:
    """Resident memory of a process in kB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match[1]) if match else 0


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (the scoring process, and multiprocessing's helper)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


@dataclass
class Sample:
    """One look at the worker: seconds since traffic began, RSS in MB, live tasks and views."""

    at: float
    worker_mb: float
    scoring_mb: float
    tasks: int
    views: int


class WorkerLog:
    """Reads the worker's JSON log lines as they come (a full pipe would stall it)."""

    def __init__(self, worker: WorkerProcess) -> None:
        self.worker = worker
        self.health: dict[str, Any] = {}
        self.healths = 0
        self.errors: list[str] = []
        self.tracebacks: list[str] = []
        self.raw: list[str] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _read(self) -> None:
        process = self.worker.process
        assert process is not None and process.stderr is not None
        while raw := await process.stderr.readline():
            line = raw.decode(errors="replace")
            self.worker.lines.append(line)
            self.take(line)

    def take(self, line: str) -> None:
        """Note a health line, an error line, or text that is not a log record at all."""
        if not line.startswith("{"):
            if line.strip():
                self.raw.append(line.rstrip())
            return
        record = json.loads(line)
        if record.get("message") == "health":
            self.health = record
            self.healths += 1
        elif record.get("level") in ("error", "critical"):
            trace = str(record.get("traceback") or "").strip()
            cause = f" ({trace.splitlines()[-1]})" if trace else ""
            self.errors.append(f"{record.get('logger')}: {record.get('message')}{cause}")
            if trace:
                self.tracebacks.append(trace)

    async def next_health(self, timeout: float = 10.0) -> dict[str, Any]:
        """The first health line logged from now on."""
        seen = self.healths
        async with asyncio.timeout(timeout):
            while self.healths == seen:
                await asyncio.sleep(0.05)
        return self.health


# ------------------------------------------------------------------ the figures


@dataclass
class Figures:
    """What a soak measured; ``failures`` says which limits it broke."""

    seconds: float
    rate: float
    sent: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    replies: int = 0
    lost: list[str] = field(default_factory=list)
    deferred: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)  # of the worker's ERROR lines
    folder_changes: Counter[str] = field(default_factory=Counter)
    chatter: int = 0
    articles_at_start: int = 0
    samples: list[Sample] = field(default_factory=list)
    tasks_baseline: int = 0
    tasks_after: int | None = None
    views_after: int | None = None
    drained_in_s: float | None = None
    exit_code: int | None = None
    stopped: dict[str, Any] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(self.sent.values())

    def memory(self, name: str) -> dict[str, float]:
        """RSS first/last/max and, over the second half, the slope and the growth it makes."""
        values = [(s.at, getattr(s, f"{name}_mb")) for s in self.samples]
        if not values:
            return {}
        half = [(t, v) for t, v in values if t >= values[-1][0] / 2]
        slope = _slope(half) * 60.0 if len(half) >= 2 else 0.0
        span = (half[-1][0] - half[0][0]) / 60.0 if half else 0.0
        return {
            "first": values[0][1],
            "last": values[-1][1],
            "max": max(v for _, v in values),
            "slope_mb_per_min": slope,
            "growth_mb": slope * span,
        }

    def tasks(self) -> dict[str, int]:
        counts = [s.tasks for s in self.samples] or [0]
        return {"first": counts[0], "last": counts[-1], "max": max(counts)}

    def failures(self, plan: Plan) -> list[str]:
        """Every limit broken, in words; empty when the soak passed."""
        found = []
        if self.lost:
            found.append(f"{len(self.lost)} lost replies (none within {plan.reply_timeout:.0f} s)")
        if self.errors:
            found.append(f"{len(self.errors)} errors")
        if self.tasks_after is None or self.tasks_after > self.tasks_baseline:
            found.append(
                f"tasks did not come back to {self.tasks_baseline} after traffic "
                f"(still {self.tasks_after})"
            )
        for name in ("worker", "scoring"):
            growth = self.memory(name).get("growth_mb", 0.0)
            if growth > plan.max_growth_mb:
                found.append(
                    f"{name} RSS grew {growth:.1f} MB over the second half "
                    f"(limit {plan.max_growth_mb:.0f} MB)"
                )
        return found

    def report(self, plan: Plan) -> str:
        """The printed figures."""
        lines = [
            f"soak: {self.seconds / 60:.1f} min at {self.rate:g} requests/s "
            f"(seed {plan.seed}), corpus {self.articles_at_start} articles at start",
            f"requests sent: {self.requests} ({_counts(self.sent)})",
            f"  questions: {_counts(self.categories)}",
            f"replies received: {self.replies} ({_counts(self.outcomes)}; "
            f"{self.deferred} deferred first)",
            f"lost replies: {len(self.lost)}",
            f"chatter (messages not for the bot, to be ignored): {self.chatter}",
            f"errors: {len(self.errors)}",
            f"latency ms: p50 {self.latency_ms.get('p50', 0):.0f}, "
            f"p95 {self.latency_ms.get('p95', 0):.0f}, max {self.latency_ms.get('max', 0):.0f}",
            f"folder changes: {sum(self.folder_changes.values())} "
            f"({_counts(self.folder_changes)}); /reload: {self.sent['reload']}",
        ]
        lines += [f"  lost: {item}" for item in self.lost[:10]]
        lines += [f"  error: {item}" for item in self.errors[:10]]
        for name, label in (("worker", "worker (discord)"), ("scoring", "scoring process")):
            m = self.memory(name)
            if m:
                lines.append(
                    f"RSS {label} MB: first {m['first']:.1f}, last {m['last']:.1f}, "
                    f"max {m['max']:.1f}; second half {m['slope_mb_per_min']:+.3f} MB/min "
                    f"= {m['growth_mb']:+.1f} MB (limit {plan.max_growth_mb:g})"
                )
        t = self.tasks()
        views = max((s.views for s in self.samples), default=0)
        drained = f"{self.drained_in_s:.0f} s" if self.drained_in_s is not None else "never"
        lines.append(
            f"asyncio tasks: before traffic {self.tasks_baseline}; during first {t['first']}, "
            f"last {t['last']}, max {t['max']} (live answer views max {views}); "
            f"after traffic {self.tasks_after} (back in {drained} after the last request)"
        )
        if self.stopped:
            lines.append(
                f"worker stopped with exit code {self.exit_code}; loop lag max "
                f"{self.stopped.get('loop_lag_max_ms')} ms, its own "
                f"{self.stopped.get('loop_lag_own_max_ms')} ms, p99 "
                f"{self.stopped.get('loop_lag_p99_ms')} ms"
            )
        return "\n".join(lines)

    def as_json(self, plan: Plan) -> dict[str, Any]:
        return {
            "plan": asdict(plan),
            "requests": self.requests,
            "sent": dict(self.sent),
            "categories": dict(self.categories),
            "replies": self.replies,
            "outcomes": dict(self.outcomes),
            "lost": self.lost,
            "errors": self.errors,
            "tracebacks": self.tracebacks,
            "deferred": self.deferred,
            "latency_ms": self.latency_ms,
            "folder_changes": dict(self.folder_changes),
            "chatter": self.chatter,
            "memory_mb": {name: self.memory(name) for name in ("worker", "scoring")},
            "tasks": {
                **self.tasks(),
                "baseline": self.tasks_baseline,
                "after": self.tasks_after,
                "drained_in_s": self.drained_in_s,
            },
            "exit_code": self.exit_code,
            "stopped": self.stopped,
            "samples": [asdict(s) for s in self.samples],
            "failures": self.failures(plan),
        }


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {value}" for key, value in counter.most_common())


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)] if ordered else 0.0


# ------------------------------------------------------------------ the run


KINDS = {
    "slash": 45,
    "mention": 17,
    "prefix": 17,
    "click": 12,
    "sources": 3,
    "help": 2,
    "reload": 4,
}


class Traffic:
    """Sends what users send, one request at a time, each recorded for its reply."""

    def __init__(self, fake: FakeDiscord, replies: Replies, rng: random.Random) -> None:
        self.fake = fake
        self.replies = replies
        self.rng = rng
        self.questions = Questions(rng)
        self.users = [fake.user(f"reader{i}") for i in range(30)]
        self.manager = fake.user("editor")
        self.mention = f"<@{fake.app_id}>"
        self.owed = list(KINDS)  # each kind once first (a click once an answer has buttons)
        self.chatter_rng = random.Random(rng.getrandbits(32))

    async def send(self) -> None:
        rng, fake = self.rng, self.fake
        sent = time.perf_counter()
        kind = self.owed[0] if self.owed else rng.choices(list(KINDS), list(KINDS.values()))[0]
        user = rng.choice(self.users)
        if kind == "click" and not await self._click(user, sent):
            kind = "slash"
        if kind in self.owed:
            self.owed.remove(kind)
        if kind in ("sources", "help", "reload"):
            who = self.manager if kind == "reload" else user
            interaction = await fake.slash(kind, user=who)
            self.replies.interaction(Request(kind, "-", sent, who), interaction)
        elif kind == "slash":
            category, question = self.questions.draw()
            in_dm = rng.random() < 0.05
            interaction = await fake.slash(
                "ask", {"question": question}, user, guild_id=None if in_dm else -1
            )
            self.replies.interaction(Request(kind, category, sent, user), interaction)
        elif kind in ("mention", "prefix"):
            category, question = self.questions.draw()
            if kind == "mention":
                content = f"{self.mention} {question}"
                message = await fake.say(content, user, mentions=[fake.bot_user])
            else:
                content = "!ask" if category == "malformed" else f"!ask {question}"
                message = await fake.say(content, user)
            self.replies.message(Request(kind, category, sent, user), message)

    async def chat(self) -> None:
        """A message for the channel, not for the bot: it must not answer."""
        rng = self.chatter_rng
        message = await self.fake.say(rng.choice(CHATTER), rng.choice(self.users))
        self.replies.chatter.add(message["id"])

    async def _click(self, user: dict[str, Any], sent: float) -> bool:
        """Click a live button under a recent answer; False when no answer has live buttons."""
        for message_id, asker in reversed(self.replies.answered):
            message = self.fake.messages.get(message_id) or {}
            buttons = [
                item["custom_id"]
                for row in message.get("components") or []
                for item in row.get("components") or []
                if not item.get("disabled")
            ]
            if not buttons:
                continue
            custom_id = self.rng.choice(buttons)
            clicker = asker if ":more:" in custom_id else user
            interaction = await self.fake.click(message_id, custom_id, clicker)
            category = custom_id.split(":")[2]
            self.replies.interaction(Request("click", category, sent, clicker), interaction)
            return True
        return False


async def _every(seconds: float, action: Callable[[], None], stop: asyncio.Event) -> None:
    """Call ``action`` every ``seconds`` until ``stop`` is set."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await stop.wait()
        if not stop.is_set():
            action()


async def run_soak(plan: Plan, fake: FakeDiscord, workdir: Path) -> Figures:
    """The whole soak against a started stand-in; the figures, judged by ``failures``."""
    figures = Figures(plan.seconds, plan.rate)
    corpus = workdir / "articles"
    wire = make_corpus(corpus, plan, random.Random(plan.seed + 1))
    settings = {
        "NEWSQUOTE_MESSAGE_CONTENT_INTENT": "true",
        "NEWSQUOTE_HEALTH_LOG_SECONDS": "1",
        "NEWSQUOTE_BUTTON_TIMEOUT_SECONDS": str(plan.button_timeout),
        "NEWSQUOTE_WATCH_INTERVAL_SECONDS": "1",
    }
    replies = Replies(fake)
    traffic = Traffic(fake, replies, random.Random(plan.seed))
    async with WorkerProcess(fake, workdir, corpus=corpus, **settings) as worker:
        ready = await worker.log_line("discord ready", timeout=120)
        figures.articles_at_start = ready["articles"]
        assert worker.process is not None
        pid = worker.process.pid
        log = WorkerLog(worker)
        log.start()
        try:
            await log.next_health()
            figures.tasks_baseline = (await log.next_health())["tasks"]
            started = time.perf_counter()

            def sample() -> None:
                health = log.health
                figures.samples.append(
                    Sample(
                        round(time.perf_counter() - started, 1),
                        rss_kb(pid) / MB,
                        sum(rss_kb(child) for child in children_of(pid)) / MB,
                        int(health.get("tasks", 0)),
                        int(health.get("answer_views", 0)),
                    )
                )

            stop = asyncio.Event()
            sample()
            background = [
                asyncio.create_task(_every(plan.sample_every, sample, stop)),
                asyncio.create_task(_every(0.05, replies.collect, stop)),
            ]
            await asyncio.gather(
                _paced(plan.requests, plan.rate, started, traffic.send),
                _paced(plan.edits, 1 / plan.edit_every, started, wire.change),
                _paced(plan.chatter, plan.chatter_rate, started, traffic.chat),
            )
            last_request = time.perf_counter()
            sample()
            # Every reply, or the time for one; then the buttons time out and tasks end.
            while replies.pending() and time.perf_counter() - last_request < plan.reply_timeout:
                await asyncio.sleep(0.1)
            deadline = last_request + plan.button_timeout + plan.drain_timeout
            while time.perf_counter() < deadline:
                try:
                    health = await log.next_health()
                except TimeoutError:
                    figures.errors.append("the worker logged no health line for 10 s")
                    break
                if health["tasks"] <= figures.tasks_baseline and not health["answer_views"]:
                    figures.drained_in_s = time.perf_counter() - last_request
                    break
            figures.tasks_after = log.health.get("tasks")
            figures.views_after = log.health.get("answer_views")
            stop.set()
            await asyncio.gather(*background)
            replies.collect()
        finally:
            await log.stop()
        logged = len(worker.lines)
        figures.exit_code, _ = await worker.terminate(timeout=30)
        for line in worker.lines[logged:]:  # what it logged while stopping
            log.take(line)
        with contextlib.suppress(AssertionError, TimeoutError):
            figures.stopped = await worker.log_line("stopped", timeout=1)
    _tally(figures, replies, wire, log, fake, plan)
    return figures


async def _paced(
    count: int, rate: float, started: float, action: Callable[[], Awaitable[None]]
) -> None:
    """``count`` calls of ``action``, the i-th at ``started + i / rate`` (never faster)."""
    for i in range(count):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await action()


def _tally(
    figures: Figures,
    replies: Replies,
    wire: Folder,
    log: WorkerLog,
    fake: FakeDiscord,
    plan: Plan,
) -> None:
    """Count what was sent and answered, and gather every error seen anywhere."""
    latencies = []
    for request in replies.requests:
        figures.sent[request.kind] += 1
        if request.kind in ("slash", "mention", "prefix"):
            figures.categories[request.category] += 1
        figures.deferred += request.deferred
        waited = None if request.replied is None else request.replied - request.sent
        if waited is None or waited > plan.reply_timeout:
            said = "no reply" if waited is None else f"replied after {waited:.1f} s"
            figures.lost.append(f"{request.kind} ({request.category}): {said}")
            continue
        figures.replies += 1
        figures.outcomes[request.outcome] += 1
        latencies.append(waited * 1000)
    figures.latency_ms = {
        "p50": _percentile(latencies, 0.5),
        "p95": _percentile(latencies, 0.95),
        "max": max(latencies, default=0.0),
    }
    figures.folder_changes = wire.done
    figures.errors += [f"apology to a {r.kind}" for r in replies.requests if r.outcome == "apology"]
    figures.errors += replies.duplicates + replies.unwanted
    figures.chatter = len(replies.chatter)
    figures.errors += [
        f"a reply to no request: {call.method} {call.path}" for call in replies.orphans
    ]
    figures.errors += [f"worker log: {e}" for e in log.errors]
    figures.tracebacks = log.tracebacks
    figures.errors += [f"worker stderr: {line}" for line in log.raw[:20]]
    figures.errors += [f"stand-in: {p}" for p in fake.problems()]
    if figures.exit_code != 0:
        figures.errors.append(f"worker exit code {figures.exit_code} after SIGTERM")


# ------------------------------------------------------------------ command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=Plan.rate, help="requests per second")
    parser.add_argument("--edit-every", type=float, default=Plan.edit_every, help="seconds")
    parser.add_argument(
        "--chatter-rate", type=float, default=Plan.chatter_rate, help="messages per second"
    )
    parser.add_argument("--seed", type=int, default=Plan.seed)
    parser.add_argument("--max-growth-mb", type=float, default=Plan.max_growth_mb)
    parser.add_argument("--json", type=Path, help="write the figures and samples here")
    args = parser.parse_args(argv)
    plan = Plan(
        seconds=args.minutes * 60,
        rate=args.rate,
        edit_every=args.edit_every,
        chatter_rate=args.chatter_rate,
        seed=args.seed,
        max_growth_mb=args.max_growth_mb,
    )
    print(
        f"soak: {plan.requests} requests, {plan.chatter} chatter messages and "
        f"{plan.edits} folder changes over "
        f"{args.minutes:g} min; figures at the end",
        flush=True,
    )

    async def go() -> Figures:
        with tempfile.TemporaryDirectory(prefix="newsquote-soak-") as workdir:
            async with FakeDiscord() as fake:
                return await run_soak(plan, fake, Path(workdir))

    figures = asyncio.run(go())
    print(figures.report(plan))
    failures = figures.failures(plan)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures.as_json(plan), indent=1) + "\n")
    print("FAIL: " + "; ".join(failures) if failures else "PASS")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
