from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from citywatch.app import city_tz
from citywatch.config import load_settings
from citywatch.errors import ConfigError


def test_precedence_defaults_file_env_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        'lateness_s = 10\ndata_dir = "from-file"\n[detectors.login-abuse]\nfailures = 4\n'
    )
    s = load_settings(cfg)
    assert s.lateness_s == 10 and s.data_dir == Path("from-file")
    assert s.detectors["login-abuse"] == {"failures": 4}
    monkeypatch.setenv("CITYWATCH_LATENESS_S", "20")
    assert load_settings(cfg).lateness_s == 20
    assert load_settings(cfg, lateness_s=30.0).lateness_s == 30
    assert load_settings(cfg, data_dir=None).data_dir == Path("from-file")


def test_default_store_url_follows_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(data_dir=tmp_path / "d")
    assert s.store == f"sqlite:///{tmp_path / 'd' / 'citywatch.db'}"
    assert load_settings(store_url="sqlite:///x.db").store == "sqlite:///x.db"


def test_bad_settings_fail_fast_naming_the_field(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("lateness_s = -1\nunknown_thing = 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert "lateness_s" in str(info.value) and "unknown_thing" in str(info.value)
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")


def test_a_broken_file_or_variable_is_a_config_error_naming_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # These were tracebacks (TOMLDecodeError, UnicodeDecodeError, SettingsError), and errors
    # from a variable or a flag were blamed on citywatch.toml.
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "c.toml"
    cfg.write_text('data_dir = "/tmp/x\n')
    with pytest.raises(ConfigError, match=r"c\.toml: not a valid TOML file: Illegal character"):
        load_settings(cfg)
    cfg.write_bytes(b'data_dir = "\xff"\n')
    with pytest.raises(ConfigError, match=r"c\.toml: not a valid TOML file"):
        load_settings(cfg)
    monkeypatch.setenv("CITYWATCH_DETECTORS", "{bad")
    with pytest.raises(ConfigError, match=r"^environment: .*detectors"):
        load_settings()
    monkeypatch.delenv("CITYWATCH_DETECTORS")
    monkeypatch.setenv("CITYWATCH_LATENESS_S", "abc")
    with pytest.raises(ConfigError, match=r"^environment \(CITYWATCH_LATENESS_S\): lateness_s"):
        load_settings()
    monkeypatch.delenv("CITYWATCH_LATENESS_S")
    with pytest.raises(ConfigError, match=r"^command line: bus_url: String should match"):
        load_settings(bus_url="http://foo")
    cfg.write_text("lateness_s = -1\n")
    with pytest.raises(ConfigError) as both:
        load_settings(cfg, bus_url="http://foo")
    assert set(str(both.value).split("; ")) == {
        f"{cfg}: lateness_s: Input should be greater than or equal to 0",
        "command line: bus_url: String should match pattern '^((nats|tls)://\\S+)?$'",
    }


def test_the_city_time_zone_is_a_setting_with_summer_time(tmp_path: Path) -> None:
    # Public alerts took the city's time from a demo map's fixed offset, else UTC: a real
    # deployment wrote UTC without a label, and summer time never.
    settings = load_settings(data_dir=tmp_path, tz="Europe/Zagreb")
    zone = city_tz(settings)
    summer, winter = (datetime(2026, m, 1, 12, tzinfo=UTC).astimezone(zone) for m in (7, 1))
    assert (summer.utcoffset(), winter.utcoffset()) == (timedelta(hours=2), timedelta(hours=1))
    assert city_tz(load_settings(data_dir=tmp_path)) is UTC, "no map, no setting: UTC"
    with pytest.raises(ConfigError, match="unknown time zone"):
        load_settings(data_dir=tmp_path, tz="Europe/Atlantis")
