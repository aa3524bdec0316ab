"""The one settings class: defaults here, then ``config/settings.toml``, then env and ``.env``.

Built once in each entry point's ``main()`` and passed down, so importing the
package never needs a token or a file.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.core.corpus import MAX_ARTICLE_BYTES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "settings.toml"
CONFIG_ENV = "NEWSQUOTE_CONFIG"


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
    # Prefix commands (!ask) need Discord's privileged Message Content intent: switch it on in
    # the Developer Portal first, then here. Slash commands and mentions work without it.
    message_content_intent: bool = False
    # Testing only: point the client at a stand-in for Discord instead of discord.com.
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"log_level {value!r} is not one of DEBUG, INFO, WARNING, ERROR")
        return level

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
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return (init_settings, env_settings, dotenv_settings, toml, file_secret_settings)
