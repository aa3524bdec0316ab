"""The Discord worker process itself (``python -m bot run``) on the OpenSearch backend.

The genuine discord.py client in a real worker process talks to the stand-in Discord on
127.0.0.1 and to the real two-node cluster through ``proxy.py``, which can play a cluster
that is down. This is what an operator runs, end to end: the gateway stays up while the
cluster is away, users get one line, and answers come back by themselves.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.cluster.proxy import Faults, Proxy
from tests.discord.fake_discord import FakeDiscord
from tests.discord.worker_process import WorkerProcess

pytestmark = pytest.mark.cluster


async def _ask(fake: FakeDiscord, question: str) -> dict:
    interaction = await fake.slash("ask", {"question": question})
    return (await fake.response_to(interaction, timeout=20)).body["data"]


async def test_the_worker_keeps_its_gateway_while_the_cluster_is_down_and_answers_when_it_returns(
    opensearch_urls: list[str], tmp_path: Path
) -> None:
    async with FakeDiscord() as fake:
        with Proxy(opensearch_urls[0], Faults(down=True)) as proxy:
            async with WorkerProcess(
                fake,
                tmp_path,
                NEWSQUOTE_BACKEND="opensearch",
                NEWSQUOTE_OPENSEARCH_HOSTS=proxy.url,
                NEWSQUOTE_OPENSEARCH_INDEX="t-discord-worker",
                NEWSQUOTE_OPENSEARCH_TIMEOUT_SECONDS="2",
                NEWSQUOTE_WATCH_INTERVAL_SECONDS="0.2",
            ) as process:
                await process.log_line("discord ready", timeout=120)

                down = await _ask(fake, "what did China say?")
                assert not down.get("embeds"), down
                assert down["content"].startswith("The article index cannot be reached just now")
                assert "\n" not in down["content"] and "Traceback" not in down["content"]

                # the watcher meets the cluster down too before it returns, so its recovery is seen
                await process.log_line("corpus watch failed; will try again", timeout=30)
                proxy.faults.down = False  # the cluster returns; nothing is restarted
                async with asyncio.timeout(90):
                    while not (data := await _ask(fake, "what did China say?")).get("embeds"):
                        await asyncio.sleep(0.2)
                description = data["embeds"][0]["description"]
                assert "China supports Russia" in description
                assert "[China backs Russia after mutiny](https://news.example/world/china)" in (
                    description
                )
                assert len(fake.identifies) == 1  # one gateway session throughout: never restarted

                code, output = await process.terminate(timeout=20)
        assert code == 0, output
        assert "Traceback" not in output  # the watcher waits quietly: one warning, no stack
        assert output.count("corpus watch failed") <= 1
        assert await process.log_line("background step works again")
        assert not fake.problems(), "\n".join(fake.problems())
