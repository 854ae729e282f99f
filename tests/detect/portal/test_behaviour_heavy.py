from __future__ import annotations

from collections import Counter

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from citywatch.detect.portal import behaviour_crowd as crowd
from citywatch.detect.portal import behaviour_heavy as heavy
from citywatch.detect.portal.behaviour_state import BehaviourState


def _check(counters: dict[str, int], truth: Counter[str], size: int, apart: int) -> None:
    """The bounds :mod:`.behaviour_heavy` promises of ``counters`` after the stream ``truth``
    counts: at most twice ``size`` counters, each a lower bound of its key's count, short by at
    most a (size + 1)-th of the stream, and by at most the requests of all but the ``apart``
    heaviest keys over size + 1 - apart."""
    assert len(counters) <= 2 * size
    total = sum(truth.values())
    rest = total - sum(n for _, n in truth.most_common(apart))
    for key, n in truth.items():
        kept = counters.get(key, 0)
        assert 0 <= kept <= n, key
        assert (n - kept) * (size + 1) <= total, key
        assert (n - kept) * (size + 1 - apart) <= rest, key


@given(
    st.lists(st.integers(0, 60), max_size=3000),
    st.integers(1, 12),
    st.integers(0, 12),
)
def test_counts_are_lower_bounds_within_the_bound_on_any_stream(
    stream: list[int], size: int, apart: int
) -> None:
    counters: dict[str, int] = {}
    for key in stream:
        counted = heavy.count(counters, str(key), size)
        assert counted == counters.get(str(key), 0)
    _check(counters, Counter(map(str, stream)), size, min(apart, size))


def test_the_bound_holds_when_new_keys_come_as_the_heavy_ones_are_counted() -> None:
    # adversarial: ten heavy keys, each a fourteenth of the stream, and between their rounds
    # new keys sent twice each, so that every purge lowers the heavy keys just counted by as
    # much as the new keys hold; past what the new keys sent over the seven counters left
    # them (17 - 10), nothing of the heavy keys is lost
    size, truth, counters = 16, Counter[str](), dict[str, int]()
    for r in range(500):
        for key in (*(f"heavy{h}" for h in range(10)), f"new{r}a", f"new{r}b"):
            truth[key] += 1
            heavy.count(counters, key, size)
        for key in (f"new{r}a", f"new{r}b"):
            truth[key] += 1
            heavy.count(counters, key, size)
    _check(counters, truth, size, 10)
    assert all(counters[f"heavy{h}"] >= 500 - 2000 // 7 for h in range(10))


def test_a_stream_of_new_keys_keeps_the_table_bounded() -> None:
    counters: dict[str, int] = {}
    for i in range(100_000):
        heavy.count(counters, f"k{i}", 64)
        assert len(counters) <= 128
    assert max(counters.values()) == 1


def test_merged_counters_are_lower_bounds_within_the_bound_and_bounded() -> None:
    size = 8
    a_stream = [f"a{i % 5}" if i % 3 else f"x{i}" for i in range(3000)]
    b_stream = [f"a{i % 7}" if i % 2 else f"y{i}" for i in range(2000)]
    a: dict[str, int] = {}
    b: dict[str, int] = {}
    for key in a_stream:
        heavy.count(a, key, size)
    for key in b_stream:
        heavy.count(b, key, size)
    a_before, b_before = dict(a), dict(b)
    both = heavy.merged(a, b, size)
    _check(both, Counter(a_stream + b_stream), size, 7)
    assert (a, b) == (a_before, b_before), "the parts are left as they were"


def test_a_tally_of_an_older_checkpoint_knows_its_heaviest_source() -> None:
    # a checkpoint from before ``heaviest``: the sources' counters alone
    tally = crowd.Tally()
    for i in range(3000):
        crowd.add(tally, "bot" if i % 3 else f"resident{i}", "/search", 200)
    old = msgspec.to_builtins(tally)
    del old["heaviest"]
    blob = msgspec.msgpack.encode({"tally": old})
    restored = msgspec.msgpack.decode(blob, type=BehaviourState).tally
    assert restored is not None and restored.heaviest == tally.heaviest == 2000
    assert crowd.one_client(restored)
    assert crowd.evidence(restored, "bot", "/alerts")
    for _ in range(10):
        crowd.add(restored, "bot", "/search", 200)
    assert restored.heaviest == 2010
