"""Settings: defaults < ``citywatch.toml`` < ``CITYWATCH_*`` environment < CLI flags.

Loaded once by the shell (CLI, server) and passed down explicitly; stages
never read the environment themselves.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from citywatch.bus.config import BusConfig
from citywatch.correlate import CorrelatorConfig
from citywatch.enrich import EnrichConfig
from citywatch.errors import ConfigError
from citywatch.ingest.mqtt import MqttConfig
from citywatch.respond.playbook import RespondConfig
from citywatch.store.retention import RetentionConfig

DEFAULT_CONFIG = Path("citywatch.toml")


class ApiConfig(BaseModel):
    """Limits and lifetimes of the operations API (``[api]`` in ``citywatch.toml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tls: bool = Field(False, description="served over TLS: Secure cookies and HSTS")
    public_url: str = Field(
        "",
        pattern=r"^(https?://[^\s/?#@]+(/[^\s?#]*)?)?$",
        description="where citizens reach the server, e.g. https://alerts.city.example: the"
        " links of the public alert feed (its ids come from respond.cap_sender); empty:"
        " root-relative links (never from a request's Host header)",
    )
    max_body_bytes: int = Field(
        1 << 20, gt=0, description="largest request body, bytes (ingest excepted)"
    )
    max_ingest_bytes: int = Field(32 << 20, gt=0, description="largest ingest batch, bytes")
    rate_per_s: float = Field(50.0, gt=0, description="requests per second per token or session")
    burst: int = Field(200, gt=0, description="requests a token may send at once before limiting")
    login_rate_per_min: float = Field(
        10.0,
        gt=0,
        description="login attempts per minute per client (failed ones per user name: ten"
        " times as many, so that one address cannot lock an officer out)",
    )
    login_burst: int = Field(
        10, gt=0, description="login attempts at once per client (failed ones per name: ×10)"
    )
    session_ttl_s: int = Field(12 * 3600, gt=0, description="lifetime of a dashboard session")
    token_ttl_days: int = Field(90, gt=0, le=3650, description="default lifetime of an API token")
    sse_queue: int = Field(1000, gt=0, description="live updates buffered per stream client")
    sse_heartbeat_s: float = Field(15.0, gt=0, description="seconds between keep-alive comments")


class Settings(BaseSettings):
    """Everything a run needs to know, validated up front."""

    model_config = SettingsConfigDict(
        env_prefix="CITYWATCH_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    data_dir: Path = Field(Path("citywatch-data"), description="where the store and keys live")
    store_url: str | None = Field(
        None,
        description="storage URL, sqlite:///PATH or postgresql://…;"
        " default sqlite:///DATA_DIR/citywatch.db",
    )
    bus_url: str = Field(
        "",
        pattern=r"^((nats|tls)://\S+)?$",
        description="NATS JetStream bus of the scale-out mode, nats://HOST:PORT (tls://…);"
        " empty: the in-process bus of the embedded mode",
    )
    bus: BusConfig = Field(default_factory=BusConfig)
    pseudonym_key: SecretStr | None = Field(
        None, description="hex key for pseudonyms; default: created in the data dir"
    )
    lateness_s: float = Field(300.0, ge=0, description="allowed lateness of event time, seconds")
    max_ahead_s: float = Field(
        120.0,
        ge=0,
        description="how far an event may be timed ahead of this machine's clock, seconds;"
        " beyond it, a dead letter (keep it below lateness_s)",
    )
    tz: str = Field(
        "",
        description="the city's time zone (IANA, e.g. Europe/Zagreb): the times of public"
        " alerts and the dashboard, summer time included; empty: the city map's offset, else UTC",
    )
    city_map: Path | None = Field(
        None,
        description="the city's districts, a GeoJSON FeatureCollection (a name per district):"
        " the dashboard's map, the district a detection is placed in; default: the newest"
        " city.geojson under DATA_DIR/city/ (the demo's)",
    )
    enrich: EnrichConfig = Field(default_factory=EnrichConfig)
    correlate: CorrelatorConfig = Field(default_factory=CorrelatorConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    respond: RespondConfig = Field(default_factory=RespondConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    detectors: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-detector config, by detector name"
    )
    disabled: list[str] = Field(default_factory=list, description="detectors not to run")

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value:
            try:
                ZoneInfo(value)
            except (ValueError, ZoneInfoNotFoundError) as exc:
                raise ValueError(
                    f"unknown time zone {value!r} (IANA names: Europe/Zagreb)"
                ) from exc
        return value

    @property
    def store(self) -> str:
        """The storage URL in force."""
        return self.store_url or f"sqlite:///{self.data_dir / 'citywatch.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Settings from ``config`` (default ``./citywatch.toml`` if present), env and overrides.

    Raises :class:`ConfigError` naming every invalid setting.
    """
    path = config or DEFAULT_CONFIG
    if config is not None and not config.is_file():
        raise ConfigError("config file not found", where=str(config))

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return _FromFile(**clean)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not a valid TOML file: {exc}", where=str(path)) from exc
    except SettingsError as exc:  # a CITYWATCH_* variable that is not valid JSON
        raise ConfigError(str(exc), where="environment") from exc
    except ValidationError as exc:
        by_source: dict[str, list[str]] = {}
        for err in exc.errors():
            where = _source(err["loc"], clean, path)
            name = ".".join(str(p) for p in err["loc"])
            by_source.setdefault(where, []).append(f"{name}: {err['msg']}")
        where, problems = next(iter(by_source.items()))
        if len(by_source) > 1:  # each source named before its own problems
            problems = [f"{w}: {'; '.join(p)}" for w, p in by_source.items()]
            where = ""
        raise ConfigError("; ".join(problems), where=where or None) from exc


def _source(loc: tuple[int | str, ...], flags: dict[str, Any], path: Path) -> str:
    """Where the invalid setting at ``loc`` came from: a flag, a variable or the file."""
    top = str(loc[0]) if loc else ""
    if top in flags:
        return "command line"
    env = f"CITYWATCH_{top.upper()}"
    if env in os.environ or any(k.startswith(f"{env}__") for k in os.environ):
        return f"environment ({env})"
    return str(path)
