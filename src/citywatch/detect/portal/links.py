"""People's browsers a link planted on a page sent to an attack, told from an attacker's
own addresses.

A forum post's ``<img>`` or a phishing mail's link pointing at the portal with an attack
in its address makes every resident who opens it send the attack once. The signature
detectors mark each such detection (``attributes.portal.referrer``, see
:func:`~citywatch.detect.portal.hits.linked_from`); which of an incident's addresses are
then a crowd of followers is decided here, once, for both who act on it: the respond
stage, whose block lists and partner intel leave them out, and the correlator, whose
incident says first not to block them. The two must agree: an analyst who reads "block
the flagged clients" and nothing else blocks by hand what the block step spared.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Final, Generic, TypeVar

LINKED_REQUESTS: Final = 2
"""Flagged requests, at most, of a client that followed a link to them: a browser opening a
page (or an image) that a link or a planted ``<img>`` points at sends the request once, a
reload twice; an attacker's own tool sends many."""
LINK_CROWD: Final = 5
"""Addresses that each sent the same attack once or twice, by a link on the same page,
before they are taken for people's browsers that followed it."""

Link = tuple[str, str]
"""A link followed: (the host of the page it is on, the attack it sent: the snippet)."""

K = TypeVar("K", bound=Hashable)


def followed(attributes: Mapping[str, object]) -> tuple[Link, ...]:
    """The links a detection says its client followed (``attributes.<silo>.referrer`` beside
    its ``snippet``), in order; none for a detection of a client's own requests.

    >>> followed({"portal": {"referrer": "forum.example.net", "snippet": "${jndi:x}"}})
    (('forum.example.net', '${jndi:x}'),)
    >>> followed({"portal": {"snippet": "${jndi:x}", "requests": 11}})
    ()
    """
    found: tuple[Link, ...] = ()
    for attrs in attributes.values():
        if not isinstance(attrs, dict) or not (via := attrs.get("referrer")):
            continue  # the common case: requests of the client's own
        if isinstance(via, str) and isinstance(snippet := attrs.get("snippet"), str):
            found += ((via, snippet),)
    return found


class Crowds(Generic[K]):
    """The followers among an incident's addresses, kept up to date as its detections come
    (:meth:`add` each, once).

    Followers are :data:`LINK_CROWD` or more addresses that each sent the same attack once
    or twice, every time as a GET from the same page. Blocking them locks residents out and
    shares their addresses with partners as attackers', on the schedule of whoever planted
    the link (analyst review: 30 residents behind one forum post's Log4Shell link). An
    attacker who sends an attack once from each of many addresses, with a Referer he makes
    up, is spared too: blocking an address after its one request stops nothing of his. But
    an address with any other detection (fifty injections beside its one "followed" link)
    is no follower, nor counted as one: a made-up Referer on one request must not spare the
    rest.

    >>> crowds: Crowds[str] = Crowds()
    >>> for n in range(5):
    ...     crowds.add(f"192.0.2.{n}", (("forum.example.net", "${jndi:x}"),))
    >>> crowds.followers()["192.0.2.4"]
    'a browser sent by a link on forum.example.net, as 4 other addresses were'
    >>> crowds.add("192.0.2.4", ())  # its own injections too
    >>> crowds.followers()
    {}
    """

    __slots__ = ("attacking", "crowds")

    def __init__(self) -> None:
        self.crowds: dict[Link, dict[K, None]] = {}
        """Link → the addresses that followed it (an ordered set)."""
        self.attacking: set[K] = set()
        """Addresses with a detection of their own requests."""

    def add(self, address: K, links: tuple[Link, ...]) -> None:
        """Count one detection of ``address``: the links it followed (:func:`followed`), or,
        if none, an attack of its own."""
        if not links:
            self.attacking.add(address)
        for link in links:
            crowd = self.crowds.get(link)
            if crowd is None:
                self.crowds[link] = {address: None}
            else:
                crowd[address] = None

    def followers(self) -> dict[K, str]:
        """The followers, each with why, by link in first-seen order."""
        found: dict[K, str] = {}
        attacking = self.attacking
        for (via, _), ips in self.crowds.items():
            followers = [ip for ip in ips if ip not in attacking]
            if len(followers) >= LINK_CROWD:
                why = (
                    f"a browser sent by a link on {via}, as {len(followers) - 1} other "
                    "addresses were"
                )
                found.update(dict.fromkeys(followers, why))
        return found
