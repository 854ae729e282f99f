"""Events on the bus are sealed (AES-256-GCM): the server keeps them, it cannot read them.

An enriched event still holds what the detectors need and nobody else
should see: raw client addresses (to block an attacker), whole HTTP requests
(a login's body with its password, cookies, tokens). The embedded mode keeps
events in memory only; on the bus they rest on the server's disk for
``bus.max_age_s``, readable by any NATS user with access to the stream. So a
publisher seals each event with ``bus.key`` (hex, 16 bytes or more), with its subject
as associated data, and only the detector workers, which hold the same key,
open them. Detections are not sealed; the raw record of a dead letter is, in
the store, with a key of its own derived from the same one (a login's body
may be what could not be read; see :mod:`citywatch.store.sql`).

Each message names the key that sealed it (``Citywatch-Key``, a digest of
the key), so a worker with another key stops and says so instead of
discarding the stream as unreadable.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_HEADER = "Citywatch-Key"
_NONCE = 12


class SealError(ValueError):
    """A sealed message cannot be opened: it was changed, or it is not sealed at all."""


class Sealer:
    """Seals and opens messages with one key.

    >>> sealer = Sealer(bytes(32))
    >>> sealer.open(sealer.seal(b"event", b"cw.events.a.b"), b"cw.events.a.b")
    b'event'
    >>> sealer.open(sealer.seal(b"event", b"cw.events.a.b"), b"cw.events.c.d")
    Traceback (most recent call last):
    ...
    citywatch.bus.seal.SealError: it was changed, or sealed with another key
    """

    def __init__(self, key: bytes, purpose: bytes = b"cw-bus-seal") -> None:
        """``purpose`` (at most 16 bytes) derives a key of its own from ``key``: what one
        purpose sealed, another cannot open."""
        self._aead = AESGCM(hashlib.blake2b(key, digest_size=32, person=purpose).digest())
        self.key_id = hashlib.blake2b(key, digest_size=6, person=b"cw-bus-key").hexdigest()
        """Names the key without giving it away."""

    def seal(self, payload: bytes, context: bytes) -> bytes:
        """``payload`` encrypted and authenticated, bound to ``context`` (the subject)."""
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, payload, context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """What :meth:`seal` sealed with this key and ``context``; raises :class:`SealError`."""
        if len(sealed) < _NONCE + 16:
            raise SealError("too short to be sealed")
        try:
            return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], context)
        except InvalidTag:
            raise SealError("it was changed, or sealed with another key") from None
