"""Heavy hitters in bounded memory: the keys (a flood's sources, paths, URLs) that take most
of a stream, each counted at least, never more, than it was sent.

Misra-Gries counters lowered in batches, as the mergeable summaries of Agarwal et al. (2012)
and DataSketches' frequent-items sketch run them: a table of at most twice ``size`` counters,
a plain dict of key to count. A key counted already, or one that finds room, costs one dict
update. A new key that finds the table full lowers every counter by the (size + 1)-th highest
count and drops those left at nothing, the new key among them: at most ``size`` remain, so the
next purge is ``size`` new keys away, and its O(size) work is O(1) a key. Misra-Gries' own
rule lowers every counter by one for each new key that finds the table full: a pass over the
whole table for each new key, for as long as the counters stay above one (with a thousand
bots counted, a pass over thousands for every new source), where one pass here lowers by as
much at once. Space-Saving with its bucket list updates in O(1) too, but moves a key between
buckets on every request, and its counts are upper bounds: a lower bound, which naming an
address to rate-limit asks for, needs an error kept beside each.

The bounds: a purge that lowers by c lowers size + 1 counters or more by c each (those at the
(size + 1)-th highest or above), taking (size + 1) c or more from the counts, which never sum
past the N requests counted: all purges together lower a key by at most N / (size + 1). At
most j of those counters are the j heaviest keys' (a flood's bots), so the purges take
(size + 1 - j) c or more from the other keys' counts, which never sum past R, the requests of
all but the j heaviest: a key is short by at most R / (size + 1 - j) too. A count is lowered,
never raised: a lower bound of what the key sent.

>>> counters: dict[str, int] = {}
>>> for i in range(60_000):  # 300 bots, 100 requests each, between 30,000 residents' one
...     _ = count(counters, f"bot{i // 2 % 300}" if i % 2 else f"resident{i}", 2048)
>>> len(counters) <= 4096, min(counters[f"bot{b}"] for b in range(300))  # >= 100 - 30000/1749
(True, 93)
"""

from __future__ import annotations


def count(counters: dict[str, int], key: str, size: int) -> int:
    """Count ``key`` in ``counters`` (at most twice ``size``): its count now, or 0 when it
    found the table full, and every counter was lowered (a caller keeping their highest
    works it out again)."""
    n = counters.get(key, 0) + 1
    if n > 1 or len(counters) < 2 * size:
        counters[key] = n
        return n
    _lower(counters, size)  # the new key's 1 is at or below the lowering: it goes too
    return 0


def merged(a: dict[str, int], b: dict[str, int], size: int) -> dict[str, int]:
    """The counters of both streams as one, within the same bounds (at most twice ``size``,
    short by at most their requests together over size + 1)."""
    out = dict(a)
    for key, n in b.items():
        out[key] = out.get(key, 0) + n
    if len(out) > 2 * size:
        _lower(out, size)
    return out


def _lower(counters: dict[str, int], size: int) -> None:
    """Lower every counter by the (size + 1)-th highest (there are more), dropping those left
    at nothing: at most ``size`` remain."""
    by = sorted(counters.values(), reverse=True)[size]
    kept = {key: n - by for key, n in counters.items() if n > by}
    counters.clear()
    counters.update(kept)
