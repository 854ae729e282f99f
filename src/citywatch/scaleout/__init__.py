"""The scale-out mode's roles on the NATS JetStream bus: publish, detect, correlate.

See :mod:`citywatch.bus.jetstream` for how the work is split. This package
composes the stages (like :mod:`citywatch.app` does for the embedded mode);
``citywatch analyse --bus`` and ``citywatch worker`` call it.
"""

from citywatch.scaleout.consume import ConsumerStats
from citywatch.scaleout.publish import Published, publish
from citywatch.scaleout.worker import run_worker

__all__ = ["ConsumerStats", "Published", "publish", "run_worker"]
