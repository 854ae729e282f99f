from __future__ import annotations

from pathlib import Path

import pytest

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
