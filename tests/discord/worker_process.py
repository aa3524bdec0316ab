"""``python -m bot run`` as a real subprocess, pointed at a stand-in Discord through its settings."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.discord.conftest import CHINA, HARBOUR, SPEECH, TOKEN
from tests.discord.fake_discord import FakeDiscord

REPO = Path(__file__).resolve().parents[2]
ARTICLES = {
    "china.md": ("China backs Russia after mutiny", "https://news.example/world/china", CHINA),
    "harbour.md": ("Harbour closed by storm", None, HARBOUR),
    "keeper.md": ("Lighthouse keeper retires", None, SPEECH),
}


def write_corpus(folder: Path) -> Path:
    """The test articles as files with front matter, as an operator would keep them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (title, url, body) in ARTICLES.items():
        front = f'---\ntitle: "{title}"\npublisher: "The Daily Wire Service"\n'
        front += f'url: "{url}"\npublished: 2023-06-25\n---\n' if url else "---\n"
        (folder / name).write_text(front + body, encoding="utf-8")
    return folder


def clean_env(**extra: str) -> dict[str, str]:
    """The parent's environment without any operator settings, plus ``extra``."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NEWSQUOTE_") and k != "DISCORD_TOKEN"
    }
    return {**base, "PYTHONPATH": str(REPO), **extra}


class WorkerProcess:
    """One ``python -m bot run`` child with JSON logs on stderr, read as they come."""

    def __init__(
        self,
        fake: FakeDiscord,
        workdir: Path,
        args: Sequence[str] = (),
        *,
        corpus: Path | None = None,
        **settings: str,
    ) -> None:
        """``args`` follow ``python -m bot run``; ``corpus``: the articles folder to serve
        (default: the test articles, written anew)."""
        self.env = clean_env(
            DISCORD_TOKEN=TOKEN,
            NEWSQUOTE_DISCORD_API_BASE=fake.api_base,
            NEWSQUOTE_DISCORD_GATEWAY_URL=fake.gateway_url,
            NEWSQUOTE_CORPUS_DIR=str(corpus or write_corpus(workdir / "articles")),
            NEWSQUOTE_GUILD_READY_TIMEOUT="0.05",
            NEWSQUOTE_DATA_DIR=str(workdir / "data"),
            NEWSQUOTE_LOG_LEVEL="INFO",
            NEWSQUOTE_LOG_FORMAT="json",
            **settings,
        )
        self.workdir = workdir
        self.args = tuple(args)  # after ``python -m bot run``
        self.lines: list[str] = []
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> WorkerProcess:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            *self.args,
            cwd=self.workdir,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def log_line(self, message: str, timeout: float = 60) -> dict[str, Any]:
        """The first JSON log record with this ``message``, waiting for it."""
        assert self.process is not None and self.process.stderr is not None
        async with asyncio.timeout(timeout):
            while True:
                for line in self.lines:
                    if line.startswith("{") and json.loads(line)["message"] == message:
                        return json.loads(line)
                raw = await self.process.stderr.readline()
                assert raw, "worker exited early:\n" + "".join(self.lines)
                self.lines.append(raw.decode())

    async def terminate(self, timeout: float = 10) -> tuple[int, str]:
        """SIGTERM, then the exit code and everything it wrote (within ``timeout``)."""
        assert self.process is not None and self.process.stderr and self.process.stdout
        self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(timeout):
            code = await self.process.wait()
        self.lines.extend((await self.process.stderr.read()).decode().splitlines(keepends=True))
        output = "".join(self.lines) + (await self.process.stdout.read()).decode()
        return code, output
