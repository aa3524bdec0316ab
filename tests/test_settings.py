import os

import pytest
from pydantic import ValidationError

from bot.cli.main import main
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


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No NEWSQUOTE_ variables, no .env and the bundled config: each test sets its one bad value."""
    for name in list(os.environ):
        if name.startswith("NEWSQUOTE_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _main_error(capsys) -> str:
    code = main(["ask", "--corpus", "nowhere", "hi"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


@pytest.mark.parametrize(
    "name, value, expected",
    [
        (
            "NEWSQUOTE_ALLOWED_CHANNELS",
            "notjson",
            "error: setting NEWSQUOTE_ALLOWED_CHANNELS: expected a JSON list of whole numbers "
            "like [123, 456], got 'notjson'",
        ),
        ("NEWSQUOTE_SHARD_IDS", "[1,", "setting NEWSQUOTE_SHARD_IDS: expected a JSON list"),
        ("NEWSQUOTE_ALLOWED_CHANNELS", '["x"]', "setting NEWSQUOTE_ALLOWED_CHANNELS: expected"),
        (
            "NEWSQUOTE_TOP_K",
            "three",
            "setting NEWSQUOTE_TOP_K: expected a whole number, got 'three'",
        ),
        ("NEWSQUOTE_TOP_K", "0", "setting NEWSQUOTE_TOP_K: Input should be greater than or equal"),
        ("NEWSQUOTE_ALLOW_DMS", "maybe", "setting NEWSQUOTE_ALLOW_DMS: expected true or false"),
        ("NEWSQUOTE_LOG_LEVEL", "loud", "setting NEWSQUOTE_LOG_LEVEL: expected one of DEBUG"),
    ],
)
def test_a_bad_environment_value_is_one_line_naming_the_variable(
    clean_env, monkeypatch, capsys, name, value, expected
):
    monkeypatch.setenv(name, value)
    assert expected in _main_error(capsys)


@pytest.mark.parametrize(
    "toml, expected",
    [
        ("top_k = \n", "is not valid TOML: Invalid value (at line 1"),
        ('top_k = "x"\n', "setting top_k in {config}: expected a whole number, got 'x'"),
        ('allowed_channels = "notjson"\n', "setting allowed_channels in {config}: expected a JSON"),
        (b'top_k = "\xff"\n', "is not valid TOML"),
    ],
)
def test_a_bad_config_file_is_one_line_naming_the_file(
    clean_env, monkeypatch, capsys, toml, expected
):
    config = clean_env / "settings.toml"
    config.write_bytes(toml if isinstance(toml, bytes) else toml.encode())
    monkeypatch.setenv("NEWSQUOTE_CONFIG", str(config))
    assert expected.format(config=config) in _main_error(capsys)


@pytest.mark.parametrize(
    "dotenv, expected",
    [
        (b"NEWSQUOTE_TOP_K=x\n", "setting NEWSQUOTE_TOP_K in .env: expected a whole number"),
        (b"NEWSQUOTE_SHARD_IDS=1,2\n", "setting NEWSQUOTE_SHARD_IDS in .env: expected a JSON"),
        (b"\xff\xfe=1\n", "the .env file is not UTF-8 text"),
    ],
)
def test_a_bad_dotenv_value_is_one_line(clean_env, capsys, dotenv, expected):
    (clean_env / ".env").write_bytes(dotenv)
    assert expected in _main_error(capsys)
