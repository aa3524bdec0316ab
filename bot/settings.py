"""The one settings class: defaults here, then ``config/settings.toml``, then env and ``.env``.

Built once in each entry point's ``main()`` and passed down, so importing the
package never needs a token or a file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from bot.core.answer.engine import AskOptions, EngineOptions
from bot.core.answer.passages import PassageOptions
from bot.core.answer.rank import RankOptions
from bot.core.feeds.options import FeedOptions
from bot.core.fetch.options import DEFAULT_USER_AGENT, FetchOptions
from bot.core.index.bm25 import Parameters
from bot.core.index.bundle import StoreOptions
from bot.core.ingest.options import IngestOptions
from bot.core.ingest.raw import MAX_ARTICLE_BYTES
from bot.core.options import CoreOptions
from bot.core.search.options import ClusterOptions

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "settings.toml"
CONFIG_ENV = "NEWSQUOTE_CONFIG"


T = TypeVar("T")


def config_file() -> Path:
    """The settings file in use: ``$NEWSQUOTE_CONFIG`` or the bundled ``config/settings.toml``."""
    return Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG))


class Settings(BaseSettings):
    """Everything an operator may tune; secrets are ``SecretStr`` and never printed."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSQUOTE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # Corpus and answering
    corpus_dir: Path = Field(default=PROJECT_ROOT / "seeds")
    aliases_file: Path | None = None
    top_k: int = Field(default=3, ge=1, le=25)
    min_coverage: float = Field(default=0.33, ge=0.0, le=1.0)
    # A question naming something no article mentions must cover this much to be answered.
    unknown_name_coverage: float = Field(default=0.5, ge=0.0, le=1.0)
    # "What did X call Y?" with no attribution of X that fits: look for the words as a fact.
    speech_fallback: bool = True
    # Fact questions: decline by the model fitted on SQuAD (bot/core/data/decline_model.json,
    # tools/fit_decline.py) instead of min_coverage alone. It declines far more questions about
    # things no article covers (SQuAD tune half, article-fold cross-validated: 72.6% against
    # 46.1% with min_coverage) for about 1.3 / 1.6 points of hit@1 / hit@3 there, and no
    # answerable seed question (README, Measured quality). Off: min_coverage decides alone.
    fitted_decline: bool = True
    # An article file over this size is skipped, and listed with the reason; a .html.gz
    # counts once unpacked. News text is rarely over 200 KB and a saved page a few MB;
    # preparing one file takes about 3 s per MB of text, so 8 MB is under half a minute.
    max_article_bytes: int = Field(default=MAX_ARTICLE_BYTES, ge=1)
    max_question_chars: int = Field(default=300, ge=10, le=4000)
    max_quote_sentences: int = Field(default=3, ge=1, le=8)
    bm25_k1: float = Field(default=1.0, gt=0)
    bm25_b: float = Field(default=0.75, ge=0, le=1)
    bm25_epsilon: float = Field(default=0.25, gt=0)
    speaker_weight: float = Field(default=1.0, ge=0)
    quote_weight: float = Field(default=0.3, ge=0)
    position_weight: float = Field(default=0.1, ge=0)
    paragraph_weight: float = Field(default=2.0, ge=0)
    answer_type_weight: float = Field(default=0.4, ge=0)
    # Fact questions only (not "what did X say?"): see Engine._fact_features and _completed.
    coverage_weight: float = Field(default=0.5, ge=0)
    local_weight: float = Field(default=1.0, ge=0)
    phrase_weight: float = Field(default=1.0, ge=0)
    # A question word's WordNet relative (agree/agreement) counts this much of the word itself.
    related_weight: float = Field(default=0.5, ge=0, le=1)
    # "What did X say about Y?" and its kin: how much the share of Y's words (by IDF) in and
    # beside a quote of X adds to its rank (0: only BM25 and the coverage floor weigh Y).
    topic_weight: float = Field(default=0.6, ge=0)
    extend_quotes: bool = True
    # A fact's quote takes in the sentences beside it while it stays this long (0: it does not).
    passage_chars: int = Field(default=400, ge=0, le=4000)

    watch_interval_seconds: float = Field(default=1.0, ge=0)  # 0: do not watch the folder
    # Processes that prepare articles when many are indexed at once; 0 means one per core.
    ingest_workers: int = Field(default=0, ge=0, le=64)
    # The saved index: one file per corpus folder under data_dir, loaded at start-up and kept
    # up to date with the folder. use_saved_index = false builds in memory every time.
    data_dir: Path = Field(default=PROJECT_ROOT / "data")
    use_saved_index: bool = True
    # Saved indexes kept in data_dir: those of deleted folders go at every save, then the least
    # recently used past this many (each --corpus folder ever asked has one).
    max_saved_indexes: int = Field(default=20, ge=1)

    # News in by itself (#17): pages fetched by `add URL`, feeds (RSS, Atom, sitemaps) polled
    # by the worker and the REPL. Fetched pages go to web/ in the corpus folder, the feed
    # state (ETags, last fetch, errors) to data_dir.
    feeds: list[str] = Field(default_factory=list)
    feed_interval_minutes: float = Field(default=15.0, ge=0)  # 0: only `feeds --poll` polls
    # New entries fetched per feed per poll (the rest wait for the next poll), and per
    # sitemap given to `add`.
    feed_max_new_per_poll: int = Field(default=50, ge=1, le=5000)
    # Retention of fetched articles (files a person put in the corpus are never deleted).
    max_articles: int = Field(default=0, ge=0)  # 0: no limit
    max_age_days: float = Field(default=0.0, ge=0)  # 0: no limit
    # Only for tests and closed networks: let fetches reach private and loopback addresses.
    fetch_allow_private: bool = False
    fetch_user_agent: str | None = None  # None: "newsquote/VERSION (...)"
    fetch_connect_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    fetch_timeout_seconds: float = Field(default=30.0, gt=0, le=600)  # a whole fetch
    fetch_max_redirects: int = Field(default=5, ge=0, le=20)
    fetch_host_interval_seconds: float = Field(default=1.0, ge=0, le=3600)  # 0: no rate limit

    # Where the index lives: "embedded" (the saved file above; no setup) or "opensearch" (a
    # cluster, for corpora or deployments one machine cannot hold; see README). Only the
    # opensearch_* settings below apply to the cluster; the ranking settings apply to both.
    backend: Literal["embedded", "opensearch"] = "embedded"
    # Every node the client may use (a list, or comma-separated in the environment).
    opensearch_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://127.0.0.1:9200"], min_length=1
    )
    opensearch_index: str = Field(default="newsquote", pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")
    opensearch_username: str | None = None
    opensearch_password: SecretStr | None = None
    opensearch_verify_certs: bool = True
    opensearch_ca_file: Path | None = None
    opensearch_timeout_seconds: float = Field(default=10.0, gt=0)
    # A full rebuild's new index: primaries spread the corpus, replicas survive a node's loss.
    opensearch_shards: int = Field(default=2, ge=1, le=1024)
    opensearch_replicas: int = Field(default=1, ge=0, le=16)
    # Per question: sentences (and half as many paragraphs) taken from the cluster by BM25;
    # the project's ranking runs on their paragraphs (see bot/core/search/searcher.py).
    # With the widened WordNet relatives re-weighing the embedded candidates, 60 agreed with
    # the embedded top 3 on 94% of 1M BBC questions, 100 on 97% (bench/results/opensearch.md).
    opensearch_candidates: int = Field(default=100, ge=10, le=10_000)

    # Logging
    log_level: str = "WARNING"
    log_format: str = Field(default="auto", pattern="^(json|text|auto)$")

    # Discord
    discord_token: SecretStr | None = Field(
        default=None, validation_alias="DISCORD_TOKEN", alias="DISCORD_TOKEN"
    )
    command_prefix: str = Field(default="!", min_length=1, max_length=5)
    allow_dms: bool = True
    allowed_channels: list[int] = Field(default_factory=list)
    cooldown_seconds: float = Field(default=5.0, ge=0)
    cooldown_rate: int = Field(default=3, ge=1)
    button_timeout_seconds: float = Field(default=300.0, gt=0)
    shard_count: int | None = Field(default=None, ge=1)
    shard_ids: list[int] | None = None
    guild_ready_timeout: float = Field(default=2.0, ge=0)
    # On SIGTERM, questions being answered get this long to finish; the rest are told the bot
    # is restarting. Keep it well inside the host's stop timeout (Docker: 10 s, Heroku: 30 s).
    shutdown_grace_seconds: float = Field(default=5.0, ge=0, le=60)
    # The worker logs a "health" line (live asyncio tasks and answer views, loop lag) at INFO
    # every this many seconds while it runs; 0: only the "stopped" line at the end.
    health_log_seconds: float = Field(default=0.0, ge=0)
    # Prefix commands (!ask) need Discord's privileged Message Content intent: switch it on in
    # the Developer Portal first, then here. Slash commands and mentions work without it.
    message_content_intent: bool = False
    # Testing only: point the client at a stand-in for Discord instead of discord.com.
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None

    @field_validator("opensearch_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: object) -> object:
        """A JSON list, or (what an environment variable holds) hosts separated by commas."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [host.strip() for host in text.split(",") if host.strip()]
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    def core_options(self) -> CoreOptions:
        """What the core reads, built once by a door: the core never sees ``Settings``."""
        return CoreOptions(
            corpus_dir=self.corpus_dir,
            watch_interval_seconds=self.watch_interval_seconds,
            engine=EngineOptions(
                ingest=IngestOptions(
                    self.aliases_file, self.ingest_workers, self.max_article_bytes
                ),
                bm25=Parameters(self.bm25_k1, self.bm25_b, self.bm25_epsilon),
                ask=_picked(AskOptions, self),
                rank=_picked(RankOptions, self),
                passages=_picked(PassageOptions, self),
            ),
            store=_picked(StoreOptions, self),
            fetch=FetchOptions(
                user_agent=self.fetch_user_agent or DEFAULT_USER_AGENT,
                connect_timeout=self.fetch_connect_timeout_seconds,
                total_timeout=self.fetch_timeout_seconds,
                max_bytes=self.max_article_bytes,  # a page is no larger than an article may be
                max_redirects=self.fetch_max_redirects,
                host_interval=self.fetch_host_interval_seconds,
                allow_private=self.fetch_allow_private,
            ),
            feeds=FeedOptions(
                feeds=tuple(dict.fromkeys(url.strip() for url in self.feeds if url.strip())),
                interval_seconds=self.feed_interval_minutes * 60.0,
                max_new_per_poll=self.feed_max_new_per_poll,
                max_articles=self.max_articles,
                max_age_days=self.max_age_days,
            ),
            cluster=self.cluster_options() if self.backend == "opensearch" else None,
        )

    def cluster_options(self) -> ClusterOptions:
        """The ``opensearch_*`` settings for the OpenSearch backend; the password stays secret."""
        return ClusterOptions(
            hosts=tuple(self.opensearch_hosts),
            index=self.opensearch_index,
            username=self.opensearch_username,
            password=self.opensearch_password,
            verify_certs=self.opensearch_verify_certs,
            ca_file=self.opensearch_ca_file,
            timeout=self.opensearch_timeout_seconds,
            shards=self.opensearch_shards,
            replicas=self.opensearch_replicas,
            candidates=self.opensearch_candidates,
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order of precedence: arguments, environment, ``.env``, the config file, defaults."""
        path = config_file()
        try:
            toml = TomlConfigSettingsSource(settings_cls, toml_file=path)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsFileError(f"config file {str(path)!r} is not valid TOML: {exc}") from exc
        except OSError as exc:
            raise SettingsFileError(
                f"config file {str(path)!r} cannot be read: {exc.strerror or exc}"
            ) from exc
        return (init_settings, env_settings, dotenv_settings, toml, file_secret_settings)


def _picked(kind: type[T], settings: Settings) -> T:
    """An options type whose fields are settings of the same names."""
    return kind(**{field.name: getattr(settings, field.name) for field in dataclasses.fields(kind)})


class SettingsFileError(ValueError):
    """A settings file that cannot be read at all; ``str(error)`` names it and says why."""


# Everything building ``Settings()`` raises for a value or file an operator got wrong.
SETTINGS_ERRORS = (ValidationError, SettingsError, SettingsFileError, UnicodeDecodeError, OSError)

_SOURCE_FIELD = re.compile(r'field "(?P<field>\w+)" from source "(?P<source>\w+)"')
_TYPE_WORDS: dict[object, str] = {
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    str: "text",
    Path: "a path",
    SecretStr: "text",
}
_SHOWN_CHARS = 60
_SECRET_FIELDS = frozenset({"discord_token", "opensearch_password"})  # values never echoed


def settings_problem(exc: Exception) -> str:
    """The one line an operator sees for any ``SETTINGS_ERRORS`` from ``Settings()``.

    pydantic's own messages name the field but not the variable or file it came from,
    and a list that is not JSON is a ``SettingsError`` with no value at all: this says
    where the value was set, what was expected, and what was found.
    """
    if isinstance(exc, SettingsFileError):
        return str(exc)
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        kind = str(first["type"])
        if kind.endswith(("_parsing", "_type")) or field not in Settings.model_fields:
            problem = f"expected {_expected(field)}"
        else:
            problem = str(first["msg"]).removeprefix("Value error, ")
        return _about(field, problem, first.get("input")) + more
    if isinstance(exc, SettingsError):
        match = _SOURCE_FIELD.search(str(exc))
        if match is not None and match["field"] in Settings.model_fields:
            return _about(match["field"], f"expected {_expected(match['field'])}", None)
        return f"settings: {exc}"
    if isinstance(exc, UnicodeDecodeError):  # the config file's are SettingsFileErrors
        return f"the {_env_file()} file is not UTF-8 text (byte {exc.start})"
    if isinstance(exc, OSError):
        return f"a settings file cannot be read: {exc.filename or ''}: {exc.strerror or exc}"
    return f"settings: {exc}"


def _about(field: str, problem: str, fallback: object) -> str:
    """``setting NAME: problem, got 'value'``, NAME being where the value was set."""
    name, value = _where(field)
    if value is None:
        value = fallback
    if field in _SECRET_FIELDS or value is None:
        return f"setting {name}: {problem}"
    shown = repr(value) if len(repr(value)) <= _SHOWN_CHARS else repr(value)[:_SHOWN_CHARS] + "..."
    return f"setting {name}: {problem}, got {shown}"


def _where(field: str) -> tuple[str, object]:
    """Where ``field`` was set (in order of precedence) and its raw value there."""
    info = Settings.model_fields.get(field)
    env = (info.validation_alias if info and isinstance(info.validation_alias, str) else None) or (
        f"NEWSQUOTE_{field.upper()}"
    )
    for label, values in (
        (env, os.environ),
        (f"{env} in {_env_file()}", _dotenv()),
    ):
        for key, value in values.items():
            if key.upper() == env:
                return label, value
    try:
        config = tomllib.loads(config_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    if field in config:
        return f"{field} in {config_file()}", config[field]
    return field, None


def _env_file() -> str:
    return str(Settings.model_config.get("env_file") or ".env")


def _dotenv() -> dict[str, str | None]:
    try:
        return dotenv_values(_env_file())
    except (OSError, ValueError):
        return {}


def _expected(field: str) -> str:
    """What a setting's type takes, in an operator's words."""
    info = Settings.model_fields.get(field)
    annotation = info.annotation if info is not None else None
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is list:
        if typing.get_args(annotation) == (str,):
            if any(isinstance(m, NoDecode) or m is NoDecode for m in info.metadata):
                return "URLs separated by commas, like http://10.0.0.1:9200,http://10.0.0.2:9200"
            return 'a JSON list of texts like ["https://example.org/feed.xml"]'
        return "a JSON list of whole numbers like [123, 456]"
    return _TYPE_WORDS.get(annotation, "another value")
