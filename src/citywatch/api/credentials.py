"""Passwords, API tokens and session ids: made with ``secrets``, kept only as hashes.

Passwords are hashed with scrypt (stdlib ``hashlib.scrypt``, N=2^14, r=8,
p=1, 16-byte salt) in a self-describing string; tokens and session ids are
256-bit random values kept as SHA-256 digests (their entropy makes a slow
hash unnecessary), so a copy of the store gives no working credential.

>>> stored = hash_password("correct horse battery")
>>> stored.startswith("scrypt$16384$8$1$")
True
>>> verify_password("correct horse battery", stored), verify_password("wrong", stored)
(True, False)
>>> token, token_id = new_token()
>>> token.startswith(f"cw_{token_id}_"), len(digest(token))
(True, 64)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 14, 8, 1
_MAXMEM = 64 << 20
_DUMMY = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` for ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=_MAXMEM, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; an empty or malformed hash never matches.

    Takes the same time whether or not ``stored`` is usable, so callers pass
    ``""`` for unknown users and timing does not tell who exists.
    """
    parts = (stored or _DUMMY).split("$")
    usable = bool(stored) and len(parts) == 6 and parts[0] == "scrypt"
    try:
        n, r, p = (int(x) for x in parts[1:4]) if usable else (SCRYPT_N, SCRYPT_R, SCRYPT_P)
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
        if n > 1 << 20 or r > 32 or p > 16:
            raise ValueError("cost too high")
        key = hashlib.scrypt(
            password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=len(expected)
        )
    except (ValueError, IndexError):
        return False
    return hmac.compare_digest(key, expected) and usable


def digest(secret: str) -> str:
    """The SHA-256 hex digest under which a token or session id is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A new API token and its public id: ``cw_<id>_<secret>``."""
    token_id = secrets.token_hex(6)
    return f"cw_{token_id}_{secrets.token_urlsafe(32)}", token_id


def new_secret() -> str:
    """A 256-bit random value for session ids and CSRF tokens."""
    return secrets.token_urlsafe(32)


def new_password() -> str:
    """A one-time password to print once (about 128 bits)."""
    return secrets.token_urlsafe(16)
