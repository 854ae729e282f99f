from __future__ import annotations

from collections.abc import Sequence

from citywatch.bus import LocalBus, Topic

NUMBERS: Topic[int] = Topic("numbers")


def test_batches_reach_every_subscriber_in_order_even_when_one_fails() -> None:
    bus = LocalBus()
    seen: list[tuple[str, list[int]]] = []

    def broken(items: Sequence[int]) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe(NUMBERS, lambda items: seen.append(("a", list(items))))
    bus.subscribe(NUMBERS, broken)
    bus.subscribe(NUMBERS, lambda items: seen.append(("b", list(items))))
    bus.publish(NUMBERS, [1, 2])
    bus.publish(NUMBERS, [])
    bus.publish(Topic[int]("other"), [3])
    assert seen == [("a", [1, 2]), ("b", [1, 2])]
    assert sum(bus.errors.values()) == 1
