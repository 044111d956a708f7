from datetime import timedelta

import pytest

from config.env import env_bool, env_duration, env_size, parse_duration, parse_size


def test_sizes_read_in_binary_units():
    assert parse_size("50MB") == 50 * 1024**2
    assert parse_size("8 M") == 8 * 1024**2
    assert parse_size("2GiB") == 2 * 1024**3
    assert parse_size("1234") == 1234


@pytest.mark.parametrize("raw", ["fifty", "5XB", "-3", ""])
def test_bad_sizes_are_refused_with_the_value(raw):
    with pytest.raises(ValueError, match="not a size"):
        parse_size(raw)


def test_durations():
    assert parse_duration("90") == timedelta(seconds=90)
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration("7d") == timedelta(days=7)
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")


def test_env_readers_name_the_variable(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ValueError, match="X_FLAG"):
        env_bool("X_FLAG")
    monkeypatch.setenv("X_SIZE", "lots")
    with pytest.raises(ValueError, match="X_SIZE"):
        env_size("X_SIZE", 1)
    monkeypatch.delenv("X_DURATION", raising=False)
    assert env_duration("X_DURATION", timedelta(hours=1)) == timedelta(hours=1)
