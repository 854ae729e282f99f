"""What is a person's secret in a request, and how a finding shows it without telling it.

A parameter is a secret's by the words of its name (:func:`secret_name`: a
password, a one-time code, a card number, a session, credentials). The learned
model keeps none of their values, and no finding quotes one: a signature or a
Sigma rule that matched in a secret shows it :func:`masked` (the injection's
punctuation and the spaces where they are, every other character ``*``, as
ModSecurity's ``sanitiseMatched`` hides a password in its audit log), and a
snippet cut from a query, a form, a JSON body or the header block has the
secrets in it masked first (:func:`mask_secrets`). Both keep the text's length,
so offsets into it hold. An attack sent in a password field still shows its
shape (``' ** '*'='*``); a citizen's password that looked like one is not
written into a detection every viewer can read.

>>> masked("Tajna<script>1")
'*****<******>*'
>>> mask_secrets("user=anna&password=x%27+or+1%3D1&lang=hr")
'user=anna&password=*%*******%***&lang=hr'
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import Final

_SECRET_WORDS: Final = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "passcode",
        "pass",
        "pwd",
        "pw",
        "secret",
        "otp",
        "pin",
        "cvv",
        "cvc",
        "csc",
        "apikey",
        "token",
        "jwt",
        "auth",
        "authorization",
        "session",
        "sessionid",
        "sessid",
        "sid",
        "jsessionid",
        "phpsessid",
        "credential",
        "credentials",
        "cred",
        "creds",
        "cardnumber",
        "ccnumber",
        "creditcard",
        "passwort",  # de
        "kennwort",
        "lozinka",  # hr, sr, bs
        "zaporka",
        "geslo",  # sl
        "heslo",  # cs, sk
        "haslo",  # pl
        "jelszo",  # hu
        "parola",  # it, ro
        "contrasena",  # es
        "senha",  # pt
    }
)
_SECRET_PAIRS: Final = frozenset(
    {
        ("card", "number"),
        ("cc", "number"),
        ("credit", "card"),
        ("api", "key"),
        ("private", "key"),
        ("security", "code"),
    }
)
_SECRET_ENDS: Final = ("pwd", "passwd", "password", "sid", "sessid", "token", "secret")
"""Endings that make a word a secret's (``oldpwd``, ``aldsid``, ``csrftoken``)."""
_WORDS: Final = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


@functools.lru_cache(maxsize=4096)  # names come from requests: an attacker's are endless
def secret_name(name: str) -> bool:
    """True for a parameter whose values are a person's secret (a password, a one-time code,
    a card number, a session, credentials), by the words of its name: the model never keeps
    such values, and a finding never quotes them.

    >>> [secret_name(n) for n in ("password", "newPassword", "card_number", "passenger")]
    [True, True, True, False]
    >>> secret_name("Authorization"), secret_name("X-Api-Key"), secret_name("lozinka")
    (True, True, True)
    >>> [secret_name(n) for n in ("oldpwd", "aldsid", "cc_number", "credentials", "Passwort")]
    [True, True, True, True, True]
    """
    words = [w.lower() for w in _WORDS.findall(name[:128])]
    return any(w in _SECRET_WORDS or w.endswith(_SECRET_ENDS) for w in words) or any(
        pair in _SECRET_PAIRS for pair in itertools.pairwise(words)
    )


_HIDDEN: Final = re.compile(r"""[^'"`<>{}\[\]();|$\\%&=/\s]""")
"""Every character but the punctuation injections need and white space."""


def masked(value: str) -> str:
    """A secret's value as a finding may show it: same length, the injection's punctuation
    and the spaces in place, every other character ``*``.

    >>> masked("x' or '1'='1"), masked("${jndi:ldap://e.vil/a}")
    ("*' ** '*'='*", '${**********//*****/*}')
    """
    return _HIDDEN.sub("*", value)


_FORM_PAIR: Final = re.compile(r"(?<![^\s?&;,])([^\s?&;,=]{1,128}+)=([^\s&;,]*+)")
"""``name=value`` in a query, a form or a cookie header (a name after a separator)."""
_JSON_PAIR: Final = re.compile(r'"([^"\\\n]{1,128}+)"\s*+:\s*+"((?:[^"\\\n]|\\.)*+)"')
"""``"name": "value"`` in a JSON body."""
_CREDENTIALS: Final = re.compile(r"(?im)^((?:proxy-)?authorization:[ \t]*(?:\S+[ \t]+)?)(.*)$")
"""An ``Authorization`` line of a header block: its credentials after the scheme."""


def mask_secrets(text: str) -> str:
    """``text`` (a query, a form, a cookie header, a JSON body, a header block, a request
    line) with the value of every secret's parameter and every credential :func:`masked`.

    >>> mask_secrets('{"login": "anna", "pin": "1234"}')
    '{"login": "anna", "pin": "****"}'
    >>> print(mask_secrets("Cookie: lang=hr; PHPSESSID=ab12\\nAuthorization: Basic YW5uYQ=="))
    Cookie: lang=hr; PHPSESSID=****
    Authorization: Basic ******==
    """
    if "=" in text:
        text = _FORM_PAIR.sub(_pair, text)
    if '"' in text:
        text = _JSON_PAIR.sub(_json_pair, text)
    if ":" in text:
        text = _CREDENTIALS.sub(lambda m: m.group(1) + masked(m.group(2)), text)
    return text


def _pair(match: re.Match[str]) -> str:
    name, value = match.groups()
    return f"{name}={masked(value)}" if secret_name(name) else match.group(0)


def _json_pair(match: re.Match[str]) -> str:
    if not secret_name(match.group(1)):
        return match.group(0)
    start, end = match.span(2)
    whole, at = match.group(0), match.start(0)
    return whole[: start - at] + masked(match.group(2)) + whole[end - at :]
