"""Input adapters: one module per format, each registered by its format name."""

from citywatch.ingest.accesslog import AccessLogAdapter
from citywatch.ingest.base import MAX_RECORD_BYTES, Adapter, NoConfig
from citywatch.ingest.httpjsonl import HttpJsonlAdapter
from citywatch.ingest.mastodon import MastodonAdapter
from citywatch.ingest.mqttjsonl import MqttJsonlAdapter
from citywatch.ingest.news import NewsFeedAdapter
from citywatch.ingest.posts import PostsJsonlAdapter
from citywatch.ingest.zeek import ZeekConnAdapter
from citywatch.ingest.zeekdns import ZeekDnsAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    AccessLogAdapter.name: AccessLogAdapter,
    HttpJsonlAdapter.name: HttpJsonlAdapter,
    MastodonAdapter.name: MastodonAdapter,
    MqttJsonlAdapter.name: MqttJsonlAdapter,
    NewsFeedAdapter.name: NewsFeedAdapter,
    PostsJsonlAdapter.name: PostsJsonlAdapter,
    ZeekConnAdapter.name: ZeekConnAdapter,
    ZeekDnsAdapter.name: ZeekDnsAdapter,
}
"""The built-in adapters by format name (entry points add more)."""

__all__ = [
    "ADAPTERS",
    "MAX_RECORD_BYTES",
    "AccessLogAdapter",
    "Adapter",
    "HttpJsonlAdapter",
    "MastodonAdapter",
    "MqttJsonlAdapter",
    "NewsFeedAdapter",
    "NoConfig",
    "PostsJsonlAdapter",
    "ZeekConnAdapter",
    "ZeekDnsAdapter",
]
