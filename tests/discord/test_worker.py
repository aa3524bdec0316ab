"""The worker as an operator runs it: ``python -m bot run`` / ``sync``, tokens and signals."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys

import pytest

from bot.cli.main import build_parser
from bot.core.corpus.service import Articles
from bot.core.errors import UserError
from bot.discord import worker
from bot.discord.client import restore_endpoints, use_endpoints
from bot.discord.scoring import ThreadScorer
from tests.discord.conftest import TOKEN, make_settings
from tests.discord.test_cog import DAM
from tests.discord.worker_process import WorkerProcess, clean_env


def parser() -> argparse.ArgumentParser:
    return build_parser()


def test_run_and_sync_are_registered_with_their_options():
    args = parser().parse_args(["sync", "--guild", "123"])
    assert args.guild == 123 and args.func.__name__ == "cmd_sync"
    assert parser().parse_args(["sync"]).guild is None
    assert parser().parse_args(["run"]).func.__name__ == "cmd_run"
    assert parser().parse_args(["run"]).corpus is None
    assert parser().parse_args(["run", "--corpus", "elsewhere"]).corpus == "elsewhere"


@pytest.mark.parametrize("command", ["run", "sync"])
def test_no_token_is_a_one_line_error(command):
    args = parser().parse_args([command])
    with pytest.raises(UserError, match=r"^DISCORD_TOKEN is not set") as raised:
        args.func(args, make_settings(discord_token=None))
    assert "\n" not in str(raised.value)


def test_python_m_bot_run_without_a_token_exits_at_once(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: DISCORD_TOKEN is not set: put it in the environment or in .env "
        "(see the README, 'Run it on Discord')."
    ]


@pytest.mark.parametrize("guild", [None, 4242])
async def test_sync_registers_the_commands_explicitly(fake, guild, capsys):
    settings = make_settings(discord_api_base=fake.api_base)
    args = parser().parse_args(["sync", *(["--guild", str(guild)] if guild else [])])
    old = use_endpoints(None, None)
    try:
        code = await asyncio.to_thread(args.func, args, settings)
    finally:
        restore_endpoints(old)
    assert code == 0
    where = f"/guilds/{guild}/commands" if guild else f"/applications/{fake.app_id}/commands"
    call = await fake.wait_for(lambda c: c.method == "PUT" and c.path.endswith(where))
    assert call.auth == f"Bot {TOKEN}"
    commands = {c["name"]: c for c in call.body}
    assert sorted(commands) == ["ask", "help", "reload", "sources"]
    assert int(commands["reload"]["default_member_permissions"]) == 1 << 5  # Manage Server
    assert commands["ask"]["default_member_permissions"] is None
    option = commands["ask"]["options"][0]
    assert (option["name"], option["type"], option["required"]) == ("question", 3, True)
    assert len(commands["ask"]["description"]) <= 100
    out = capsys.readouterr().out
    assert out.startswith("Synced 4 command(s)") and TOKEN not in out
    assert not [c for c in fake.calls if c.path.startswith("/gateway")]  # no gateway session


@pytest.mark.parametrize(
    ("refusal", "overrides", "message"),
    [
        ("reject_token", {}, "rejected DISCORD_TOKEN"),
        ("refuse_message_content", {"message_content_intent": True}, "Message Content intent"),
    ],
)
async def test_discord_refusals_are_one_line_startup_errors(
    fake, engine, refusal, overrides, message
):
    setattr(fake, refusal, True)
    settings = make_settings(**overrides)
    old = use_endpoints(fake.api_base, fake.gateway_url)
    scorer = ThreadScorer(Articles.fixed(engine))
    try:
        with pytest.raises(worker.StartupError, match=message) as raised:
            await worker.serve(scorer, settings, TOKEN, asyncio.Event())
    finally:
        restore_endpoints(old)
        await scorer.close()
    assert "\n" not in str(raised.value)


async def test_worker_process_answers_follows_its_folder_and_stops_cleanly_on_sigterm(
    fake, tmp_path
):
    async with WorkerProcess(fake, tmp_path, NEWSQUOTE_WATCH_INTERVAL_SECONDS="0.05") as process:
        ready = await process.log_line("discord ready")
        assert ready["user"] == "newsquote" and ready["guilds"] == 1
        assert ready["articles"] == 3 and ready["sentences"] > 15

        interaction = await fake.slash("ask", {"question": "what did China say?"})
        data = (await fake.response_to(interaction, timeout=10)).body["data"]
        description = data["embeds"][0]["description"]
        assert "China supports Russia" in description
        assert "[China backs Russia after mutiny](https://news.example/world/china)" in description

        # A file dropped into the folder is answered from without /reload or a restart.
        (tmp_path / "articles" / "dam.md").write_text(DAM, encoding="utf-8")
        async with asyncio.timeout(10):
            while True:
                interaction = await fake.slash("ask", {"question": "what did Ruth Moyo say?"})
                data = (await fake.response_to(interaction, timeout=10)).body["data"]
                if data.get("embeds"):
                    break
                await asyncio.sleep(0.05)
        assert "lower the reservoir" in data["embeds"][0]["description"]

        code, output = await process.terminate(timeout=10)
    assert code == 0, output
    assert TOKEN not in output
    assert await process.log_line("stopped")
    assert "could not stop the corpus watcher" not in output
    await asyncio.sleep(0.05)
    assert not fake.connections, "the gateway connection was not closed"


async def test_run_answers_from_the_corpus_folder_given_on_the_command_line(fake, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "dam.md").write_text(DAM, encoding="utf-8")
    async with WorkerProcess(fake, tmp_path, args=["--corpus", str(other)]) as process:
        ready = await process.log_line("discord ready")
        assert ready["articles"] == 1  # not the three of the corpus_dir setting
        interaction = await fake.slash("ask", {"question": "what did Ruth Moyo say?"})
        data = (await fake.response_to(interaction, timeout=10)).body["data"]
        assert "lower the reservoir" in data["embeds"][0]["description"]
        code, output = await process.terminate(timeout=10)
    assert code == 0, output
