import pytest
from pydantic import ValidationError

from bot.settings import Settings


def test_defaults_come_from_code_and_the_config_file(settings):
    assert settings.top_k == 3
    assert settings.discord_token is None
    assert settings.corpus_dir.name == "seeds"


def test_environment_overrides_the_config_file(monkeypatch):
    monkeypatch.setenv("NEWSQUOTE_TOP_K", "7")
    assert Settings(_env_file=None).top_k == 7


def test_dotenv_file_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    env = tmp_path / ".env"
    env.write_text("DISCORD_TOKEN=abc.def.ghi\nNEWSQUOTE_COMMAND_PREFIX=?\n", encoding="utf-8")
    settings = Settings(_env_file=env)
    assert settings.discord_token.get_secret_value() == "abc.def.ghi"
    assert settings.command_prefix == "?"


def test_token_is_never_shown(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "super-secret-token")
    settings = Settings(_env_file=None)
    assert "super-secret-token" not in repr(settings)
    assert "super-secret-token" not in str(settings.model_dump())


def test_config_file_can_be_swapped(tmp_path, monkeypatch):
    config = tmp_path / "settings.toml"
    config.write_text("top_k = 9\n", encoding="utf-8")
    monkeypatch.setenv("NEWSQUOTE_CONFIG", str(config))
    assert Settings(_env_file=None).top_k == 9


def test_bad_values_are_rejected_with_the_setting_named(monkeypatch):
    monkeypatch.setenv("NEWSQUOTE_TOP_K", "0")
    with pytest.raises(ValidationError, match="top_k"):
        Settings(_env_file=None)
