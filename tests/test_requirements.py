"""Deployment the way Procfile hosts do it: a fresh venv from requirements.txt, then the Procfile."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.discord.conftest import TOKEN
from tests.discord.worker_process import write_corpus

# Building the venv downloads the dependencies from the package index, unless CI has
# already downloaded them into a wheelhouse (``CI_WHEELHOUSE``, see .ci/run).
INSTALL_TIMEOUT = 900


def install_command(python: Path) -> list[str]:
    """``pip install -r requirements.txt`` into the venv of ``python``, as cheap as honest.

    The venv is made without pip of its own (seeding one is a third of the cost) and
    this pip installs into it (``--python``); binary wheels are preferred and no
    bytecode is compiled ahead (a cache, made on first import instead). In CI the packages come from the wheelhouse CI downloaded from the
    index minutes before, so they are not all downloaded a second time; the only
    requirement given is still requirements.txt, and the project itself is built from
    the checkout's copy either way.
    """
    command = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    command += ["--prefer-binary", "--no-compile"]
    wheelhouse = os.environ.get("CI_WHEELHOUSE")
    if wheelhouse:
        command += ["--no-index", "--find-links", wheelhouse]
    return [*command, "-r", "requirements.txt"]


def procfile_worker() -> str:
    lines = (REPO / "Procfile").read_text(encoding="utf-8").splitlines()
    (command,) = [
        line.removeprefix("worker:").strip() for line in lines if line.startswith("worker:")
    ]
    return command


def test_requirements_install_the_project_with_its_discord_extra():
    lines = (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines()
    wanted = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert wanted == [".[discord]"]
    assert procfile_worker().endswith("python -m bot run")


def _fresh_checkout(target: Path) -> Path:
    """The project's files as a push sends them (git's, not ignored ones: no venv, no data)."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
            timeout=60,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


async def test_a_fresh_venv_from_requirements_alone_runs_the_procfile_worker(fake, tmp_path):
    app = _fresh_checkout(tmp_path / "app")
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSQUOTE_", "PYTHON"))}
    env.pop("DISCORD_TOKEN", None)
    env.pop("VIRTUAL_ENV", None)
    installed = await asyncio.to_thread(
        subprocess.run,
        install_command(venv / "bin" / "python"),
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]

    env |= {
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "DISCORD_TOKEN": TOKEN,
        "NEWSQUOTE_DISCORD_API_BASE": fake.api_base,
        "NEWSQUOTE_DISCORD_GATEWAY_URL": fake.gateway_url,
        "NEWSQUOTE_CORPUS_DIR": str(write_corpus(tmp_path / "articles")),
        "NEWSQUOTE_DATA_DIR": str(tmp_path / "data"),
        "NEWSQUOTE_GUILD_READY_TIMEOUT": "0.05",
        "NEWSQUOTE_LOG_FORMAT": "json",
    }
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        procfile_worker(),
        cwd=app,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    lines: list[str] = []
    try:
        async with asyncio.timeout(120):
            while True:
                raw = await process.stderr.readline()
                assert raw, "the worker exited early:\n" + "".join(lines)
                lines.append(raw.decode())
                if raw.startswith(b"{") and json.loads(raw)["message"] == "discord ready":
                    break
        interaction = await fake.slash("ask", {"question": "what did China say?"})
        data = (await fake.response_to(interaction, timeout=20)).body["data"]
        assert "China supports Russia" in data["embeds"][0]["description"]
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            code = await process.wait()
        assert code == 0, "".join(lines)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    # It ran the installed copy, not the checkout it was built from.
    assert (
        "site-packages"
        in subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import bot; print(bot.__file__)"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    )


@pytest.fixture
async def fake():
    from tests.discord.fake_discord import FakeDiscord

    async with FakeDiscord() as server:
        yield server
