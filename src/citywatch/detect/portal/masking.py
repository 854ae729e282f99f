"""What is a person's secret or data in a request, and how a finding shows it without telling it.

A parameter is a secret's by the words of its name (:func:`secret_name`: a
password, a one-time code, a card number, a session, credentials). The learned
model keeps none of their values, and no finding quotes one: a signature or a
Sigma rule that matched in a secret shows it :func:`masked` (the injection's
punctuation and the spaces where they are, every other character ``*``, as
ModSecurity's ``sanitiseMatched`` hides a password in its audit log), and a
snippet cut from a query, a form, a JSON body or the header block has the
secrets in it masked first (:func:`mask_private`). Both keep the text's length,
so offsets into it hold. An attack sent in a password field still shows its
shape (``' ** '*'='*``); a citizen's password that looked like one is not
written into a detection every viewer can read.

A person's data is the other thing a finding does not repeat: a parameter
named for a person (a name, an e-mail, a phone, an address, an IBAN, a
national id, a birth date: :func:`personal_name`) or a value shaped like one
(an e-mail address, an IBAN, an international phone number:
:func:`personal_value`). Its value is quoted :func:`masked` by the learned
model (whose findings are about form, not content), and in a snippet cut
from a query, a form or a JSON body it is masked beside the match
(:func:`mask_private`), though not where the match is: an injection sent in
a name field is the attack, and the analyst reads it.

>>> masked("Tajna<script>1")
'*****<******>*'
>>> mask_private("user=anna&password=x%27+or+1%3D1&lang=hr")
'user=anna&password=*%*******%***&lang=hr'
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import Final
from urllib.parse import unquote_plus

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


_PERSONAL_WORDS: Final = frozenset(
    {
        "name",
        "names",
        "firstname",
        "lastname",
        "surname",
        "fullname",
        "forename",
        "givenname",
        "familyname",
        "maidenname",
        "ime",  # hr, sr, bs, sl
        "prezime",
        "nimi",  # et, fi
        "eesnimi",
        "perenimi",
        "perekonnanimi",
        "vorname",  # de
        "nachname",
        "familienname",
        "nombre",  # es
        "apellido",
        "apellidos",
        "nom",  # fr
        "prenom",
        "cognome",  # it
        "email",
        "mail",
        "emailaddress",
        "phone",
        "telephone",
        "tel",
        "mobile",
        "gsm",
        "msisdn",
        "fax",
        "contact",
        "iban",
        "address",
        "addr",
        "street",
        "ulica",  # hr
        "adresa",
        "adresse",  # de, fr
        "anschrift",
        "strasse",
        "calle",  # es
        "direccion",
        "aadress",  # et
        "tanav",
        "oib",  # hr personal id number
        "jmbg",
        "ssn",
        "isikukood",  # et
        "dni",  # es
        "nie",
        "nif",
        "pesel",  # pl
        "personnummer",
        "birth",
        "birthday",
        "birthdate",
        "dob",
        "passport",
        "idcard",
    }
)
_PERSONAL_PAIRS: Final = frozenset(
    {
        ("account", "number"),
        ("personal", "id"),
        ("national", "id"),
        ("social", "security"),
        ("tax", "id"),
        ("tax", "number"),
        ("id", "number"),
    }
)
_THING_NAMES: Final = frozenset(
    {"file", "host", "domain", "server", "app", "class", "field", "param", "column", "table"}
    | {"key", "event", "bucket", "category", "service", "device", "layer", "dataset", "role"}
)
"""Words before ``name`` that make it a thing's name, not a person's (``file_name``)."""


@functools.lru_cache(maxsize=4096)  # names come from requests: an attacker's are endless
def personal_name(name: str) -> bool:
    """True for a parameter whose values are a person's data (a name, an e-mail, a phone, an
    address, an IBAN, a national id, a birth date), by the words of its name.

    >>> [personal_name(n) for n in ("full_name", "email", "iban", "prezime", "date_of_birth")]
    [True, True, True, True, True]
    >>> [personal_name(n) for n in ("file_name", "district", "amount", "category", "lang")]
    [False, False, False, False, False]
    """
    words = [w.lower() for w in _WORDS.findall(name[:128])]
    for i, word in enumerate(words):
        if word in _PERSONAL_WORDS and not (word == "name" and i and words[i - 1] in _THING_NAMES):
            return True
    return any(pair in _PERSONAL_PAIRS for pair in itertools.pairwise(words))


_PERSONAL_VALUE: Final = re.compile(
    r"[\w.%+'-]{1,64}+@[\w-]{1,63}+(?:\.[\w-]{1,63}+){1,8}+"  # an e-mail address
    r"|[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}+"  # an IBAN
    r"|\+[0-9](?:[ ./()-]?+[0-9]){7,16}+",  # an international phone number
)


def personal_value(value: str) -> bool:
    """True for a value shaped like a person's data, whatever its parameter's name: an e-mail
    address, an IBAN or an international phone number, all of it.

    >>> [personal_value(v) for v in ("ana.horvat@example.hr", "HR1210010051863000160")]
    [True, True]
    >>> personal_value("+385 1 2345 678"), personal_value("+385 1")
    (True, False)
    >>> [personal_value(v) for v in ("2025", "income", "x' or 1=1", "a@b")]
    [False, False, False, False]
    """
    return len(value) <= 256 and _PERSONAL_VALUE.fullmatch(value.strip()) is not None


def private(name: str, value: str) -> bool:
    """True when ``value`` of the parameter ``name`` is a secret or a person's data."""
    return secret_name(name) or personal_name(name) or personal_value(value)


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


def mask_private(text: str, keep: tuple[int, int] = (0, 0)) -> str:
    """``text`` (a query, a form, a cookie header, a JSON body, a header block, a request
    line) with the value of every secret's parameter and every credential :func:`masked`,
    and every person's value too but one that overlaps ``keep`` (the span of a match: the
    attack is shown, the citizen's data beside it is not).

    >>> mask_private('{"login": "anna", "pin": "1234"}')
    '{"login": "anna", "pin": "****"}'
    >>> print(mask_private("Cookie: lang=hr; PHPSESSID=ab12\\nAuthorization: Basic YW5uYQ=="))
    Cookie: lang=hr; PHPSESSID=****
    Authorization: Basic ******==
    >>> mask_private("iban=HR1210010051863000160&note=<script>&name=Ana+Horvat", (37, 45))
    'iban=*********************&note=<script>&name=**********'
    >>> mask_private("name=x'+union+select+1--&lang=hr", (7, 19))
    "name=x'+union+select+1--&lang=hr"
    """
    start, end = keep

    def pair(match: re.Match[str]) -> str:
        name, value = match.groups()
        if secret_name(name) or (
            (personal_name(name) or personal_value(unquote_plus(value)))
            and not (match.start(2) < end and start < match.end(2))
        ):
            return f"{name}={masked(value)}"
        return match.group(0)

    def json_pair(match: re.Match[str]) -> str:
        name, value = match.groups()
        if not secret_name(name) and (
            not (personal_name(name) or personal_value(value))
            or (match.start(2) < end and start < match.end(2))
        ):
            return match.group(0)
        at, (left, right) = match.start(0), match.span(2)
        whole = match.group(0)
        return whole[: left - at] + masked(value) + whole[right - at :]

    if "=" in text:
        text = _FORM_PAIR.sub(pair, text)
    if '"' in text:
        text = _JSON_PAIR.sub(json_pair, text)
    if ":" in text:
        text = _CREDENTIALS.sub(lambda m: m.group(1) + masked(m.group(2)), text)
    return text
