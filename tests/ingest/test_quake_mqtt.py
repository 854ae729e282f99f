"""Phone triggers over MQTT, through the real Mosquitto broker, into a located quake."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable

import numpy as np

from citywatch.ingest.mqtt import MqttConfig, MqttSubscriber
from citywatch.live import LivePipeline
from citywatch.simulate.city import LAT, LON, build_city
from citywatch.simulate.quake.exposure import exposure_features
from citywatch.simulate.quake.physics import Quake, place_phones, quake_triggers

from .test_mqtt_broker import Recorder, broker, live, names, publish, wait_until

__all__ = ["broker", "live", "names"]  # the fixtures this module borrows


def test_triggers_published_on_mqtt_make_a_quake(
    broker: int, names: Callable[[str], str], live: LivePipeline
) -> None:
    rng = np.random.default_rng(8)
    city = build_city(5, residents=60)
    live.ingest(
        "exposure", "exposure", [json.dumps(f).encode() for f in exposure_features(city, rng)]
    )
    lon = LON - 12 / (111.195 * math.cos(math.radians(LAT)))
    quake = Quake("mqtt", 1_773_489_960.0, LAT + 0.05, lon, 10.0, 5.2)
    triggers = quake_triggers(quake, place_phones(city, rng), rng)
    topic = f"cw-test/{uuid.uuid4().hex[:8]}/quake/triggers"
    config = MqttConfig(
        port=broker, topics=(topic,), client_id=names("sub"), batch_s=0.05, format="phone-triggers"
    )
    sub = MqttSubscriber(config, Recorder(live))
    sub.start()
    assert sub.wait_connected(5), f"not subscribed: {sub.stats().last_error}"
    publish(broker, [(topic, json.dumps(t).encode()) for t in triggers])
    wait_until(lambda: sub.stats().messages == len(triggers), what=f"{len(triggers)} triggers")
    final = sub.stop()
    assert (final.accepted, final.dead_letters) == (len(triggers), 0)
    (detection,) = live.store.detections(detector="quake")
    q = detection.attributes["quake"]
    assert abs(q["magnitude"] - quake.magnitude) <= 0.5
    assert math.hypot(q["lat"] - quake.lat, (q["lon"] - quake.lon) * 0.7) * 111 <= 10
