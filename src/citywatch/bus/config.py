"""Settings of the scale-out bus (``[bus]`` in ``citywatch.toml``; the URL is ``bus_url``)."""

from __future__ import annotations

import msgspec
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from citywatch.model import Event

EVENT_FIELDS = {f.encode_name: f.name for f in msgspec.structs.fields(Event)}
"""Event fields by their ECS names (``source.pseudonym`` → ``source_pseudonym``)."""


class BusConfig(BaseModel):
    """Names and limits of the NATS JetStream bus.

    ``subject_prefix`` and ``stream_prefix`` let several cities (or test runs)
    share one NATS server: the streams are ``<stream_prefix>_EVENTS``,
    ``_DETECTIONS`` and ``_DEAD``, the subjects ``<subject_prefix>.events.<dataset>``,
    ``<subject_prefix>.detections`` and ``<subject_prefix>.dead-letters``.
    With ``partitions`` above 1, event subjects end in the partition,
    ``<subject_prefix>.events.<dataset>.<partition>``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject_prefix: str = Field(
        "cw", pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$", description="first subject tokens"
    )
    stream_prefix: str = Field(
        "CITYWATCH", pattern=r"^[A-Za-z0-9_-]+$", description="first part of the stream names"
    )
    partitions: int = Field(
        1,
        ge=1,
        le=1024,
        description="events are split into this many partitions by partition_key (1: not split)",
    )
    partition_key: str = Field(
        "source.pseudonym",
        description="the event field (ECS name) whose value picks an event's partition",
    )
    key: SecretStr | None = Field(
        None,
        description="hex key sealing events on the bus, the same for every publisher and"
        " detector worker; default: bus.key in the data dir, created if absent",
    )
    duplicate_window_s: float = Field(
        600.0, gt=0, description="a message id published again within this time is dropped"
    )
    max_age_s: float = Field(
        86400.0,
        gt=0,
        description="messages older than this leave the streams, seconds (events keep"
        " client addresses for the detectors that block attackers: keep it short)",
    )
    batch: int = Field(500, gt=0, le=10_000, description="messages a worker fetches at once")
    ack_wait_s: float = Field(
        30.0, gt=0, description="a message fetched but not acked is redelivered after this"
    )
    max_unacked: int = Field(
        10_000, gt=0, description="messages a worker processes before it checkpoints and acks"
    )
    checkpoint_s: float = Field(
        5.0, gt=0, description="seconds between a worker's checkpoints (it acks at each)"
    )
    connect_timeout_s: float = Field(5.0, gt=0, description="seconds to reach the server")
    outage_s: float = Field(
        300.0,
        gt=0,
        description="how long a worker waits for a lost connection to come back, seconds,"
        " before it stops (it resumes from its checkpoint when started again)",
    )

    @field_validator("partition_key")
    @classmethod
    def _an_event_field(cls, key: str) -> str:
        if key not in EVENT_FIELDS:
            raise ValueError(f"not an event field (fields: {', '.join(EVENT_FIELDS)})")
        return key
