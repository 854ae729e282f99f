"""The enrichment stage: one event in, the same event with pseudonyms, action and H3 cell out."""

from __future__ import annotations

import h3
import msgspec
from pydantic import BaseModel, ConfigDict, Field

from citywatch.enrich.identity import login_account, request_path
from citywatch.enrich.pseudonym import Pseudonymiser
from citywatch.model import Event, GeoPoint, HttpRequest, Telemetry

_replace = msgspec.structs.replace


class EnrichConfig(BaseModel):
    """How requests are recognised and where events are placed on the map."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    h3_resolution: int = Field(9, ge=0, le=15, description="H3 resolution of event cells")
    login_paths: tuple[str, ...] = Field(
        ("/login", "/signin", "/auth/login", "/api/v1/auth/login", "/user/login"),
        description="request paths (POST) that are login attempts",
    )
    username_fields: tuple[str, ...] = Field(
        ("username", "user", "login", "email", "j_username"),
        description="form or JSON fields that carry the account name of a login",
    )


class Enricher:
    """Pseudonymises personal identifiers, marks logins and adds H3 cells.

    Raw account names never leave this stage; the client address is kept raw
    in memory (detections about an attacker need it to block it) and its
    pseudonym is what detectors key their state on.
    """

    def __init__(self, pseudonymiser: Pseudonymiser, config: EnrichConfig | None = None) -> None:
        self.config = config or EnrichConfig()
        self._pseudo = pseudonymiser
        self._login_paths = frozenset(self.config.login_paths)

    def __call__(self, event: Event) -> Event:
        pseudo = self._pseudo
        account = event.user_id
        payload = event.payload
        login = (
            payload.__class__ is HttpRequest
            and payload.method == "POST"
            and request_path(payload.uri) in self._login_paths
        )
        geo = event.geo
        if payload.__class__ is not Telemetry and not login and account is None and geo is None:
            ip = event.source_ip  # the common case, kept cheap
            return event if ip is None else _replace(event, source_pseudonym=pseudo("ip", ip))
        changes: dict[str, object] = {}
        if isinstance(payload, Telemetry) and payload.mac is not None:
            # a device MAC identifies its owner's device: only its pseudonym goes further
            changes["payload"] = _replace(payload, mac=pseudo("mac", payload.mac))
        if event.source_ip is not None:
            changes["source_pseudonym"] = pseudo("ip", event.source_ip)
        if login:
            changes["action"] = "login"
            account = login_account(payload, self.config.username_fields) or account  # type: ignore[arg-type]
        if account is not None:
            changes["user_id"] = pseudo("user", account)
        if geo is not None and geo.h3 is None:
            changes["geo"] = GeoPoint(
                lat=geo.lat,
                lon=geo.lon,
                h3=h3.latlng_to_cell(geo.lat, geo.lon, self.config.h3_resolution),
            )
        return _replace(event, **changes) if changes else event
