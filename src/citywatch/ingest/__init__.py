"""Input adapters: one module per format, each registered by its format name."""

from citywatch.ingest.accesslog import AccessLogAdapter
from citywatch.ingest.base import MAX_RECORD_BYTES, Adapter, NoConfig
from citywatch.ingest.exposure import ExposureAdapter
from citywatch.ingest.feltreports import FeltReportsAdapter
from citywatch.ingest.gatecounts import GateCountsAdapter
from citywatch.ingest.httpjsonl import HttpJsonlAdapter
from citywatch.ingest.mastodon import MastodonAdapter
from citywatch.ingest.mqttjsonl import MqttJsonlAdapter
from citywatch.ingest.news import NewsFeedAdapter
from citywatch.ingest.phonetriggers import PhoneTriggersAdapter
from citywatch.ingest.posts import PostsJsonlAdapter
from citywatch.ingest.zeek import ZeekConnAdapter
from citywatch.ingest.zeekdns import ZeekDnsAdapter
from citywatch.ingest.zonecounts import ZoneCountsAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    AccessLogAdapter.name: AccessLogAdapter,
    HttpJsonlAdapter.name: HttpJsonlAdapter,
    MastodonAdapter.name: MastodonAdapter,
    MqttJsonlAdapter.name: MqttJsonlAdapter,
    NewsFeedAdapter.name: NewsFeedAdapter,
    PostsJsonlAdapter.name: PostsJsonlAdapter,
    ZeekConnAdapter.name: ZeekConnAdapter,
    ZeekDnsAdapter.name: ZeekDnsAdapter,
    ZoneCountsAdapter.name: ZoneCountsAdapter,
    GateCountsAdapter.name: GateCountsAdapter,
    PhoneTriggersAdapter.name: PhoneTriggersAdapter,
    FeltReportsAdapter.name: FeltReportsAdapter,
    ExposureAdapter.name: ExposureAdapter,
}
"""The built-in adapters by format name (entry points add more)."""

__all__ = [
    "ADAPTERS",
    "MAX_RECORD_BYTES",
    "AccessLogAdapter",
    "Adapter",
    "ExposureAdapter",
    "FeltReportsAdapter",
    "GateCountsAdapter",
    "HttpJsonlAdapter",
    "MastodonAdapter",
    "MqttJsonlAdapter",
    "NewsFeedAdapter",
    "NoConfig",
    "PhoneTriggersAdapter",
    "PostsJsonlAdapter",
    "ZeekConnAdapter",
    "ZeekDnsAdapter",
    "ZoneCountsAdapter",
]
