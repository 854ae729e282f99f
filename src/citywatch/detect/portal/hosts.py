"""The portal's own host names, learned from ``--learn`` traffic when not configured.

A request whose ``Host`` or ``X-Forwarded-Host`` names another site is how
password-reset and cache poisoning start (the portal builds a link from the
header). The signatures need the portal's names to see that; when
``site_hosts`` is not set they are learned: a name counts as the portal's
once :data:`MIN_CLIENTS` distinct clients sent it in the trusted traffic, so
one client cannot teach its own host.

>>> model = HostModel()
>>> [model.learn("Portal.Example:443", client) for client in (1, 2, 3)]
[False, False, True]
>>> model.learn("evil.example", 9)
False
>>> sorted(model.trusted())
['portal.example']
"""

from __future__ import annotations

from typing import Final

import msgspec

MIN_CLIENTS: Final = 3
"""Distinct clients that must have sent a host name before it is the portal's."""
MAX_HOSTS: Final = 64
"""Host names remembered while learning (a portal has a few; more is noise)."""


def host_name(value: str) -> str:
    """A Host header's name: lower case, without the port (IPv6 literals keep their brackets).

    >>> host_name(" Portal.Example:8443"), host_name("[2001:db8::1]:443")
    ('portal.example', '[2001:db8::1]')
    >>> host_name("portal.example:@evil.example")
    'portal.example:@evil.example'
    """
    host = value.strip().lower()
    if host.endswith("]"):
        return host
    if host.startswith("[") or host.count(":") == 1:
        name, _, port = host.rpartition(":")
        # "portal:@evil" is no port, nor "portal:¹" (a digit to isdigit)
        return name if (port.isascii() and port.isdigit()) or not port else host
    return host


class HostModel(msgspec.Struct):
    """Host names seen while learning, each with the first few distinct clients that sent it."""

    clients: dict[str, list[int]] = msgspec.field(default_factory=dict)

    def learn(self, value: str, client: int) -> bool:
        """Note ``client`` sending Host ``value``; True when this makes the name trusted."""
        name = host_name(value)
        seen = self.clients.get(name)
        if seen is None:
            if len(self.clients) >= MAX_HOSTS or not name:
                return False
            seen = self.clients[name] = []
        if len(seen) >= MIN_CLIENTS or client in seen:
            return False
        seen.append(client)
        return len(seen) == MIN_CLIENTS

    def trusted(self) -> frozenset[str]:
        """The names enough clients sent."""
        return frozenset(name for name, seen in self.clients.items() if len(seen) >= MIN_CLIENTS)
