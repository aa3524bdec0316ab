"""A small stand-in for Discord on 127.0.0.1, for driving the real discord.py client in tests.

It serves the REST routes the bot calls (login, gateway discovery, messages, interaction
callbacks, webhook follow-ups and edits, command sync) and a JSON gateway (HELLO,
IDENTIFY -> READY + GUILD_CREATE, heartbeats), and can push MESSAGE_CREATE and
INTERACTION_CREATE events as a user would cause them.

Everything the bot sends is recorded as a ``Call`` for the tests to assert on, and
every outgoing message is checked against Discord's size limits and for suppressed
mentions; a route it does not serve is recorded too. ``problems()`` lists all of it,
and the fixtures fail a test that leaves any.

Payload shapes follow Discord's API v10 as discord.py 2.7 reads them.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000
MESSAGE_CONTENT_INTENT = 1 << 15
EPHEMERAL = 1 << 6
ALL_PERMISSIONS = (1 << 41) - 1
# A member without any moderation rights: view channels, send messages, embed links,
# read message history, use application commands.
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 31)
ATTACHMENT_LIMIT = 10 * 1024 * 1024

# Discord's documented limits, checked on everything the bot sends (independently of
# bot/discord/formatting.py, which has its own copy).
LIMITS = {
    "content": 2000,
    "embeds": 10,
    "title": 256,
    "description": 4096,
    "fields": 25,
    "field.name": 256,
    "field.value": 1024,
    "footer.text": 2048,
    "author.name": 256,
    "embed.total": 6000,
    "rows": 5,
    "row.items": 5,
    "label": 80,
    "custom_id": 100,
}


@dataclass
class Call:
    """One request the bot made to the stand-in."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    auth: str | None = None
    at: float = field(default_factory=time.perf_counter)

    def __str__(self) -> str:
        query = "?" + "&".join(f"{k}={v}" for k, v in self.query.items()) if self.query else ""
        body = (
            "" if self.body is None else "\n" + json.dumps(self.body, indent=2, ensure_ascii=False)
        )
        return f"{self.method} {self.path}{query}{body}"


@dataclass
class Connection:
    """One gateway connection (one shard) from the client."""

    ws: web.WebSocketResponse
    shard: tuple[int, int] = (0, 1)
    intents: int = 0
    seq: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self.seq += 1
        await self.ws.send_str(json.dumps({"op": 0, "t": event, "s": self.seq, "d": data}))


def _now() -> str:
    return datetime.now(UTC).isoformat()


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


def limit_problems(body: dict[str, Any]) -> list[str]:
    """What in a message payload breaks Discord's limits or could ping someone."""
    problems: list[str] = []

    def over(name: str, value: str | None) -> int:
        size = len(value or "")
        if size > LIMITS[name]:
            problems.append(f"{name} is {size} characters (limit {LIMITS[name]})")
        return size

    over("content", body.get("content"))
    embeds = body.get("embeds") or []
    if len(embeds) > LIMITS["embeds"]:
        problems.append(f"{len(embeds)} embeds (limit {LIMITS['embeds']})")
    total = 0
    for embed in embeds:
        total += over("title", embed.get("title"))
        total += over("description", embed.get("description"))
        total += over("footer.text", (embed.get("footer") or {}).get("text"))
        total += over("author.name", (embed.get("author") or {}).get("name"))
        fields = embed.get("fields") or []
        if len(fields) > LIMITS["fields"]:
            problems.append(f"{len(fields)} fields (limit {LIMITS['fields']})")
        for item in fields:
            total += over("field.name", item.get("name"))
            total += over("field.value", item.get("value"))
    if total > LIMITS["embed.total"]:
        problems.append(f"embeds total {total} characters (limit {LIMITS['embed.total']})")
    rows = body.get("components") or []
    if len(rows) > LIMITS["rows"]:
        problems.append(f"{len(rows)} component rows (limit {LIMITS['rows']})")
    for row in rows:
        items = row.get("components") or []
        if len(items) > LIMITS["row.items"]:
            problems.append(f"{len(items)} buttons in a row (limit {LIMITS['row.items']})")
        for item in items:
            over("label", item.get("label"))
            over("custom_id", item.get("custom_id"))
    if body.get("content") or embeds:
        mentions = body.get("allowed_mentions")
        if (
            mentions is None
            or mentions.get("parse") != []
            or mentions.get("users")
            or mentions.get("roles")
            or mentions.get("replied_user")
        ):
            problems.append(f"mentions are not suppressed: allowed_mentions={mentions!r}")
    return problems


class FakeDiscord:
    """The stand-in server: start it, point discord.py at ``api_base``/``gateway_url``, drive it."""

    def __init__(self, *, guilds: int = 1, recommended_shards: int = 1) -> None:
        self._last_id = 0
        self.app_id = self.new_id()
        self.bot_user = user_payload(self.app_id, "newsquote", bot=True)
        first = self.new_id()
        # A millisecond apart, so that with two shards the guilds land on different ones.
        self.guild_ids = [first + (i << 22) for i in range(guilds)]
        self._last_id = self.guild_ids[-1]
        self.channel_ids = {guild: self.new_id() for guild in self.guild_ids}
        self.recommended_shards = recommended_shards
        self.reject_token = False
        self.refuse_message_content = False  # as if the intent were off in the Developer Portal
        # What @everyone may do in the guilds (set before the bot connects); members have
        # no other roles, so for prefix commands this is every author's permissions.
        self.everyone_permissions = ALL_PERMISSIONS
        self.calls: list[Call] = []
        self.unserved: list[str] = []
        self.violations: list[str] = []
        self.identifies: list[dict[str, Any]] = []
        self.connections: list[Connection] = []
        self.messages: dict[int, dict[str, Any]] = {}
        self.interaction_messages: dict[str, int] = {}
        self._pushed: dict[str, dict[str, Any]] = {}
        self._token_channels: dict[str, int] = {}
        self._responses: dict[str, asyncio.Future[Call]] = {}
        self.pushed_at: dict[str, float] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Awaitable[Any]]]] = [
            ("GET", re.compile(r"/users/@me"), self._me),
            ("GET", re.compile(r"/oauth2/applications/@me"), self._application),
            ("GET", re.compile(r"/gateway"), self._gateway_info),
            ("GET", re.compile(r"/gateway/bot"), self._gateway_bot),
            ("POST", re.compile(r"/channels/(\d+)/messages"), self._create_message),
            ("PATCH", re.compile(r"/channels/(\d+)/messages/(\d+)"), self._edit_message),
            ("POST", re.compile(r"/channels/(\d+)/typing"), self._no_content),
            ("POST", re.compile(r"/interactions/(\d+)/([^/]+)/callback"), self._callback),
            ("GET", re.compile(r"/webhooks/(\d+)/([^/]+)/messages/@original"), self._original),
            (
                "PATCH",
                re.compile(r"/webhooks/(\d+)/([^/]+)/messages/@original"),
                self._edit_original,
            ),
            ("POST", re.compile(r"/webhooks/(\d+)/([^/]+)"), self._followup),
            ("PUT", re.compile(r"/applications/(\d+)/commands"), self._sync_commands),
            ("PUT", re.compile(r"/applications/(\d+)/guilds/(\d+)/commands"), self._sync_commands),
        ]

    # ------------------------------------------------------------------ lifecycle

    def new_id(self) -> int:
        """A snowflake for now: discord.py dates interactions (and their expiry) by their id."""
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last_id = max(self._last_id + 1, now)
        return self._last_id

    @property
    def guild_id(self) -> int:
        return self.guild_ids[0]

    @property
    def channel_id(self) -> int:
        return self.channel_ids[self.guild_id]

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self._websocket)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def close(self) -> None:
        for connection in list(self.connections):
            await connection.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def problems(self) -> list[str]:
        """Everything a test should fail on: unserved routes and unsafe or oversized payloads."""
        return [f"unserved: {route}" for route in self.unserved] + self.violations

    # ------------------------------------------------------------------ waiting

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[Call], bool], timeout: float = 5.0) -> Call:
        """The first recorded call matching ``predicate``, waiting for it if need be."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                while True:
                    for call in self.calls:
                        if predicate(call):
                            return call
                    await self._changed.wait()
        except TimeoutError:
            seen = "\n".join(f"  {c.method} {c.path}" for c in self.calls)
            raise AssertionError(
                f"no matching call within {timeout} s; received:\n{seen}"
            ) from None

    async def response_to(self, interaction: dict[str, Any], timeout: float = 5.0) -> Call:
        """The bot's (first) callback for ``interaction`` as pushed by ``slash`` or ``click``."""
        future = self._responses[interaction["id"]]
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            seen = "\n".join(f"  {c.method} {c.path}" for c in self.calls)
            raise AssertionError(f"interaction not answered in {timeout} s; got:\n{seen}") from None

    async def reply_to(self, message: dict[str, Any], timeout: float = 5.0) -> Call:
        """The bot's message in reply to a user's ``message`` (as pushed by ``say``)."""

        def replies(call: Call) -> bool:
            reference = (call.body or {}).get("message_reference") or {}
            return call.method == "POST" and str(reference.get("message_id")) == message["id"]

        return await self.wait_for(replies, timeout)

    async def wait_until_identified(self, shards: int = 1, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.identifies) >= shards)

    # ------------------------------------------------------------------ REST

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body = await request.json() if request.can_read_body else None
        call = Call(
            request.method, path, dict(request.query), body, request.headers.get("Authorization")
        )
        await self._record(call)
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if method == request.method and match:
                result = await handler(call, *match.groups())
                if result is None:
                    return web.Response(status=204)
                if isinstance(result, web.Response):
                    return result
                return _json(result)
        self.unserved.append(f"{request.method} {path}")
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    async def _me(self, call: Call) -> Any:
        if self.reject_token:
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        return self.bot_user

    async def _application(self, call: Call) -> dict[str, Any]:
        return {
            "id": str(self.app_id),
            "name": "newsquote",
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": user_payload(self.new_id(), "owner"),
            "verify_key": "0" * 64,
            "flags": 0,
            "team": None,
            "summary": "",
            "rpc_origins": [],
        }

    async def _gateway_info(self, call: Call) -> dict[str, Any]:
        return {"url": self.gateway_url}

    async def _gateway_bot(self, call: Call) -> dict[str, Any]:
        return {
            "url": self.gateway_url,
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 0,
                "max_concurrency": 1,
            },
        }

    async def _no_content(self, call: Call, *ids: str) -> None:
        return None

    def _check(self, call: Call, body: dict[str, Any]) -> None:
        self.violations.extend(f"{call.method} {call.path}: {p}" for p in limit_problems(body))

    def _message(
        self, channel_id: int, author: dict[str, Any], content: str, **fields: Any
    ) -> dict[str, Any]:
        """A message object as Discord sends it (for users' messages and the bot's alike)."""
        return {
            "id": str(self.new_id()),
            "channel_id": str(channel_id),
            "author": author,
            "content": content,
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            **fields,
        }

    def _bot_message(self, channel_id: int, body: dict[str, Any]) -> dict[str, Any]:
        message = self._message(
            channel_id,
            self.bot_user,
            body.get("content") or "",
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
            flags=body.get("flags") or 0,
        )
        self.messages[int(message["id"])] = message
        return message

    def _update(self, message_id: int, body: dict[str, Any]) -> dict[str, Any]:
        message = self.messages[message_id]
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key]
        message["edited_timestamp"] = _now()
        return message

    async def _create_message(self, call: Call, channel_id: str) -> dict[str, Any]:
        self._check(call, call.body)
        return self._bot_message(int(channel_id), call.body)

    async def _edit_message(self, call: Call, channel_id: str, message_id: str) -> dict[str, Any]:
        self._check(call, call.body)
        return self._update(int(message_id), call.body)

    async def _callback(self, call: Call, interaction_id: str, token: str) -> Any:
        future = self._responses[interaction_id]
        if future.done():
            self.violations.append(f"interaction {interaction_id} answered twice")
            return _json(
                {"message": "Interaction has already been acknowledged.", "code": 40060}, 400
            )
        future.set_result(call)
        kind = call.body["type"]
        data = call.body.get("data") or {}
        result: dict[str, Any] = {
            "interaction": {"id": interaction_id, "type": self._pushed[interaction_id]["type"]}
        }
        if kind == 4:  # CHANNEL_MESSAGE_WITH_SOURCE
            self._check(call, data)
            message = self._bot_message(self._pushed[interaction_id]["channel_id"], data)
        elif kind == 5:  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE ("thinking")
            message = self._bot_message(self._pushed[interaction_id]["channel_id"], data)
            result["interaction"]["response_message_loading"] = True
        elif kind == 7:  # UPDATE_MESSAGE (a button edits the message it is on)
            self._check(call, data)
            message = self._update(int(self._pushed[interaction_id]["message_id"]), data)
        else:
            return result
        self.interaction_messages[token] = int(message["id"])
        result["interaction"]["response_message_id"] = message["id"]
        result["interaction"]["response_message_ephemeral"] = bool(data.get("flags", 0) & EPHEMERAL)
        result["resource"] = {"type": kind, "message": message}
        return result

    async def _original(self, call: Call, app_id: str, token: str) -> dict[str, Any]:
        return self.messages[self.interaction_messages[token]]

    async def _edit_original(self, call: Call, app_id: str, token: str) -> dict[str, Any]:
        self._check(call, call.body)
        return self._update(self.interaction_messages[token], call.body)

    async def _followup(self, call: Call, app_id: str, token: str) -> dict[str, Any]:
        self._check(call, call.body)
        return self._bot_message(self._token_channels[token], call.body)

    async def _sync_commands(self, call: Call, app_id: str, guild_id: str | None = None) -> Any:
        return [
            {
                "type": 1,
                "options": [],
                **command,
                "id": str(self.new_id()),
                "application_id": str(self.app_id),
                "version": str(self.new_id()),
                "default_member_permissions": None,
                "nsfw": False,
                **({"guild_id": guild_id} if guild_id else {}),
            }
            for command in call.body
        ]

    # ------------------------------------------------------------------ gateway

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connection = Connection(ws)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for frame in ws:
            if frame.type is not WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            if payload["op"] == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif payload["op"] == 2:
                await self._identify(connection, payload["d"])
            elif payload["op"] not in (3, 4, 8):  # presence, voice, member requests: ignored
                self.unserved.append(f"gateway op {payload['op']}")
        if connection in self.connections:
            self.connections.remove(connection)
        return ws

    async def _identify(self, connection: Connection, data: dict[str, Any]) -> None:
        if self.refuse_message_content and data["intents"] & MESSAGE_CONTENT_INTENT:
            await connection.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        connection.shard = tuple(data.get("shard") or (0, 1))  # type: ignore[assignment]
        connection.intents = data["intents"]
        guilds = [
            g
            for g in self.guild_ids
            if self._shard_of(g, connection.shard[1]) == connection.shard[0]
        ]
        ready = {
            "v": 10,
            "user": self.bot_user,
            "session_id": f"session-{connection.shard[0]}",
            "resume_gateway_url": self.gateway_url,
            "guilds": [{"id": str(g), "unavailable": True} for g in guilds],
            "application": {"id": str(self.app_id), "flags": 0},
            "shard": list(connection.shard),
        }
        await connection.dispatch("READY", ready)
        for guild in guilds:
            await connection.dispatch("GUILD_CREATE", self._guild(guild))
        self.connections.append(connection)
        async with self._changed:
            self.identifies.append({k: v for k, v in data.items() if k != "token"})
            self._changed.notify_all()

    @staticmethod
    def _shard_of(guild_id: int, shards: int) -> int:
        return (guild_id >> 22) % shards

    def _guild(self, guild_id: int) -> dict[str, Any]:
        channel = self.channel_ids[guild_id]
        return {
            "id": str(guild_id),
            "name": "Newsroom",
            "unavailable": False,
            "owner_id": str(self.new_id()),
            "member_count": 2,
            "large": False,
            "joined_at": _now(),
            "features": [],
            "roles": [
                {
                    "id": str(guild_id),
                    "name": "@everyone",
                    "permissions": str(self.everyone_permissions),
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "channels": [
                {
                    "id": str(channel),
                    "type": 0,
                    "name": "news",
                    "position": 0,
                    "permission_overwrites": [],
                    "guild_id": str(guild_id),
                }
            ],
            "members": [self._member(self.bot_user)],
            "emojis": [],
            "stickers": [],
            "threads": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
        }

    @staticmethod
    def _member(user: dict[str, Any], permissions: int = ALL_PERMISSIONS) -> dict[str, Any]:
        """A guild member; ``permissions`` are their resolved ones, as interactions carry them."""
        return {
            "user": user,
            "roles": [],
            "joined_at": _now(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": str(permissions),
        }

    async def _push(self, event: str, data: dict[str, Any], guild_id: int | None) -> None:
        for connection in self.connections:
            shard, count = connection.shard
            if (self._shard_of(guild_id, count) if guild_id else 0) == shard:
                await connection.dispatch(event, _for_intents(event, data, connection, self.app_id))
                return
        raise AssertionError(f"no gateway connection takes guild {guild_id}")

    # ------------------------------------------------------------------ users acting

    def user(self, name: str = "reader", user_id: int | None = None) -> dict[str, Any]:
        return user_payload(user_id or self.new_id(), name)

    def _place(self, guild_id: int | None, channel_id: int | None) -> tuple[int | None, int]:
        """Guild and channel for an event: ``-1`` is the default guild, None a DM."""
        guild = self.guild_id if guild_id == -1 else guild_id
        channel = channel_id or (self.channel_ids.get(guild) if guild else None)
        return guild, channel or self.new_id()

    async def say(
        self,
        content: str,
        author: dict[str, Any] | None = None,
        *,
        mentions: list[dict[str, Any]] | None = None,
        guild_id: int | None = -1,
        channel_id: int | None = None,
    ) -> dict[str, Any]:
        """A user posts ``content``; ``guild_id=None`` makes it a DM."""
        author = author or self.user()
        guild, channel = self._place(guild_id, channel_id)
        message = self._message(channel, author, content, mentions=mentions or [])
        if guild:
            message["guild_id"] = str(guild)
            message["member"] = {k: v for k, v in self._member(author).items() if k != "user"}
        await self._push("MESSAGE_CREATE", message, guild)
        return message

    async def slash(
        self,
        name: str,
        options: dict[str, str] | None = None,
        user: dict[str, Any] | None = None,
        *,
        guild_id: int | None = -1,
        channel_id: int | None = None,
        permissions: int = ALL_PERMISSIONS,
        subcommand: str | None = None,
    ) -> dict[str, Any]:
        """A user runs ``/name [subcommand] option:value``; returns the pushed interaction.

        ``permissions`` are the user's in the channel (default: all, like an owner).
        """
        values = [{"name": k, "type": 3, "value": v} for k, v in (options or {}).items()]
        if subcommand is not None:
            values = [{"name": subcommand, "type": 1, "options": values}]
        data = {"id": str(self.new_id()), "name": name, "type": 1, "options": values}
        return await self._interact(2, data, user, guild_id, channel_id, permissions=permissions)

    async def click(
        self, message_id: int | str, custom_id: str, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A user clicks the button ``custom_id`` on the bot's message; returns the interaction."""
        message = self.messages[int(message_id)]
        channel = int(message["channel_id"])
        guild = next((g for g, c in self.channel_ids.items() if c == channel), None)
        data = {"custom_id": custom_id, "component_type": 2}
        extra = {"message": message, "message_id": message["id"]}
        return await self._interact(3, data, user, guild or None, channel, extra)

    async def _interact(
        self,
        kind: int,
        data: dict[str, Any],
        user: dict[str, Any] | None,
        guild_id: int | None,
        channel_id: int | None,
        extra: dict[str, Any] | None = None,
        permissions: int = ALL_PERMISSIONS,
    ) -> dict[str, Any]:
        user = user or self.user()
        guild, channel = self._place(guild_id, channel_id)
        interaction: dict[str, Any] = {
            "id": str(self.new_id()),
            "application_id": str(self.app_id),
            "type": kind,
            "token": f"token-{self.new_id()}",
            "version": 1,
            "data": data,
            "channel_id": str(channel),
            "app_permissions": str(ALL_PERMISSIONS),
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild or 0)},
            "attachment_size_limit": ATTACHMENT_LIMIT,
        }
        if guild:
            interaction |= {
                "guild_id": str(guild),
                "guild_locale": "en-US",
                "context": 0,
                "member": self._member(user, permissions),
                "channel": {
                    "id": str(channel),
                    "type": 0,
                    "name": "news",
                    "guild_id": str(guild),
                    "position": 0,
                    "permission_overwrites": [],
                },
            }
        else:
            interaction |= {
                "context": 1,
                "user": user,
                "channel": {"id": str(channel), "type": 1, "recipients": [user]},
            }
        if extra and "message" in extra:
            interaction["message"] = extra["message"]
        self._pushed[interaction["id"]] = {
            "type": kind,
            "channel_id": channel,
            "message_id": (extra or {}).get("message_id"),
        }
        self._token_channels[interaction["token"]] = channel
        self._responses[interaction["id"]] = asyncio.get_running_loop().create_future()
        self.pushed_at[interaction["id"]] = time.perf_counter()
        await self._push("INTERACTION_CREATE", interaction, guild)
        return interaction


def _json(payload: Any, status: int = 200) -> web.Response:
    """A JSON body with exactly ``application/json`` (discord.py ignores it with a charset)."""
    return web.Response(
        body=json.dumps(payload).encode(),
        status=status,
        headers={"Content-Type": "application/json"},
    )


def _for_intents(
    event: str, data: dict[str, Any], connection: Connection, bot_id: int
) -> dict[str, Any]:
    """What Discord sends without Message Content: no text unless it is a DM or mentions us."""
    if event != "MESSAGE_CREATE" or connection.intents & MESSAGE_CONTENT_INTENT:
        return data
    mentioned = any(int(u["id"]) == bot_id for u in data.get("mentions", []))
    if mentioned or "guild_id" not in data:
        return data
    return {**data, "content": "", "embeds": [], "attachments": [], "components": []}
