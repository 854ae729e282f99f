"""What counts as an injection in a secret's field (part of :mod:`.signatures`).

A password manager makes 16 to 20 random characters from every ASCII symbol,
so a password holds a quote followed by ``#`` (a MySQL comment), a ``;`` or a
``|`` before two letters, a ``/`` and a ``?`` (a wildcard path) about once in
two hundred: that is chance, not syntax. In the field of a secret
(:func:`~citywatch.detect.portal.masking.secret_name`: a password, a token, a
session) the findings that a lone quote or shell character makes are kept
only with the structure of a real injection around it:

- a SQL string break-out (``sqli.quote-break``, ``sqli.probe``) when a SQL word
  is in the value (``x' or 1#``), when the break ends the value after a name or
  nothing (``admin'--``, ``admin')#``, ``'-- -``) or is an operator between two
  such (``'='``, ``x'-'x``);
- server-side template code opened with ``<%`` when it is closed (``<%`id`%>``);
- a command after a separator (``cmdi.command``) when it has arguments (a
  generated password has no spaces: ``;cat /etc/passwd``) or is a bare command
  ending the value after a name or nothing (``;id``, ``x|whoami``).

Other findings (a tautology, UNION, a substitution, Log4Shell...) need words or
syntax chance does not make, and stay as found.

>>> secret_findings((("sqli.quote-break", "g&'#}h:fy@ocvjs!ttrt"),), "g&'#}h:FY@oCvJs!tTrt")
()
>>> secret_findings((("sqli.quote-break", "admin'--"),), "admin'--")
(('sqli.quote-break', "admin'--"),)
"""

from __future__ import annotations

import re

from citywatch.detect.portal.catalog import Found
from citywatch.detect.portal.normalise import fold

_BREAK_KEYS = frozenset(("sqli.quote-break", "sqli.probe"))
_ENDING_BREAK = re.compile(
    r"[\w.@-]{0,64}+['\"][\s)]{0,8}+;?(?:\s{0,8}+(?:--|#|/\*)[\s-]{0,8}+|\s{0,8}+)"
    r"|(?P<name>[\w.@-]{0,64}+)(['\"])\s{0,8}+[-=+*/%^|&<>]{1,2}\s{0,8}+\2(?P<other>[\w.@-]{0,64}+)"
)
"""A break-out that ends the value after a name or nothing (``admin'--``, ``admin')#``,
``x';``), or an operator between two quotes, a name on one side or the same on both
(``'='``, ``admin'-'``, ``x'='x``)."""
_SQL_WORD = re.compile(
    r"(?:^|[\s'\"()])(?:or|and|xor|not|union|select|sleep|benchmark|waitfor|like|rlike|null"
    r"|true|false|from|where|limit|order|group|having|case|when|exec|drop|insert|update"
    r"|delete|concat|char|if|database|version|substring|ascii|extractvalue|updatexml)"
    r"(?=$|[\s'\"()])"
)
"""SQL words standing alone (a generated password's letters run into its punctuation: its
``If;`` is no word)."""
_BARE_COMMAND = re.compile(r"[\w.@-]{0,64}+[;&|`\n]{1,2}\s{0,8}+[a-z]{2,16}\s{0,8}+")
"""A command with no arguments that ends the value after a name or nothing (``x;id``)."""


def secret_findings(found: tuple[Found, ...], value: str) -> tuple[Found, ...]:
    """``found`` in a secret's field whose ``value`` is this, less what chance makes."""
    keep = tuple(item for item in found if _structured(item[0], item[1], value))
    return keep if len(keep) != len(found) else found


def _structured(key: str, text: str, value: str) -> bool:
    """Whether a finding ``key`` matching ``text`` in ``value`` has an injection's structure."""
    if key in _BREAK_KEYS:
        folded = fold(value)
        match = _ENDING_BREAK.fullmatch(folded)
        if match is not None:
            name, other = match.group("name", "other")
            return not name or not other or name == other
        return _SQL_WORD.search(folded) is not None
    if key == "cmdi.command":
        return any(c.isspace() for c in text.strip()) or (
            _BARE_COMMAND.fullmatch(fold(value)) is not None
        )
    if key.startswith("ssti.") and "<%" in text:  # ERB's <%`id`%> is closed
        return "%>" in value
    return True
