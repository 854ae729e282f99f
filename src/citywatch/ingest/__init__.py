"""Input adapters: one module per format, each registered by its format name."""

from citywatch.ingest.accesslog import AccessLogAdapter
from citywatch.ingest.base import MAX_RECORD_BYTES, Adapter, NoConfig
from citywatch.ingest.httpjsonl import HttpJsonlAdapter
from citywatch.ingest.zeek import ZeekConnAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    AccessLogAdapter.name: AccessLogAdapter,
    HttpJsonlAdapter.name: HttpJsonlAdapter,
    ZeekConnAdapter.name: ZeekConnAdapter,
}
"""The built-in adapters by format name (entry points add more)."""

__all__ = [
    "ADAPTERS",
    "MAX_RECORD_BYTES",
    "AccessLogAdapter",
    "Adapter",
    "HttpJsonlAdapter",
    "NoConfig",
    "ZeekConnAdapter",
]
