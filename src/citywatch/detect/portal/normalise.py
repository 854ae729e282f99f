"""Bounded, linear-time decoders that undo the encodings attacks hide behind.

Every function is pure and returns its input unchanged (the same object, no
allocation) when the input holds no character its decoding acts on, so the
common benign value costs one or two ``in`` tests. Every loop is bounded
(:data:`MAX_ROUNDS` rounds of URL decoding, two of HTML entities) and every
regex is a plain character class or literal alternation, so no input can make
them backtrack.

>>> url_decode("%2527%20OR%201%3D1--")
"' OR 1=1--"
>>> fold("ＳＥＬＥＣＴ")
'select'
>>> sql_compact("UN/**/ION SEL/**/ECT", join=True)
'union select'
>>> shell_normalise("c'a't${IFS}/etc/pa\\\\sswd")
'cat /etc/passwd'
>>> normalise_path("/a/./b//c/../d%2fe")
'/a/b/d/e'
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import unquote_to_bytes

MAX_ROUNDS = 3
"""Rounds of URL decoding before a value is taken as it is."""

# Anomaly flags of :func:`url_decode_flags` (a bit mask).
BAD_ESCAPE = 1
"""A ``%`` not followed by two hex digits in the raw value."""
MULTI_ENCODED = 2
"""Decoding once more changed the value: double (or deeper) encoding."""
OVERLONG_UTF8 = 4
"""An overlong UTF-8 sequence (``%c0%af`` for ``/``), decoded as the server of old did."""
BAD_UTF8 = 8
"""Bytes that are not UTF-8 (kept as Latin-1 characters)."""
NUL_BYTE = 16
"""A NUL character after decoding."""
PERCENT_U = 32
"""IIS-style ``%uXXXX`` escapes."""

_PCT_U = re.compile(r"%[uU]([0-9a-fA-F]{4})")
_BAD_PCT = re.compile(r"%(?![0-9a-fA-F]{2}|[uU][0-9a-fA-F]{4})")
_OVERLONG = re.compile("[\udcc0\udcc1][\udc80-\udcbf]|\udce0[\udc80-\udc9f][\udc80-\udcbf]")
_SURROGATE = re.compile("[\udc80-\udcff]")


def _u_escape(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)


def _overlong(match: re.Match[str]) -> str:
    raw = [ord(c) - 0xDC00 for c in match.group(0)]
    if len(raw) == 2:
        return chr(((raw[0] & 0x1F) << 6) | (raw[1] & 0x3F))
    return chr(((raw[1] & 0x3F) << 6) | (raw[2] & 0x3F))


def _latin1(match: re.Match[str]) -> str:
    return chr(ord(match.group(0)) - 0xDC00)


_ASCII_ESCAPES = {
    f"{hi}{lo}": chr(int(hi + lo, 16)) for hi in "01234567" for lo in "0123456789abcdefABCDEF"
}
"""``"27"`` → ``"'"``: the two hex digits of every ASCII escape, in either case."""


def _ascii_unquote(text: str) -> str | None:
    """``text`` with its escapes decoded if all are valid ASCII ones, else None (the common
    case, twice as fast as going through bytes)."""
    parts = text.split("%")
    out = [parts[0]]
    escape = _ASCII_ESCAPES.get
    for part in parts[1:]:
        char = escape(part[:2])
        if char is None:
            return None
        out.append(char)
        out.append(part[2:])
    return "".join(out)


def _decode_once(text: str) -> tuple[str, int]:
    flags = 0
    if "%u" not in text and "%U" not in text:
        plain = _ascii_unquote(text)
        if plain is not None:
            return plain, 0
    else:
        replaced = _PCT_U.sub(_u_escape, text)
        if replaced is not text and replaced != text:
            flags |= PERCENT_U
            text = replaced
        if "%" not in text:
            return text, flags
    raw = unquote_to_bytes(text)
    try:
        return raw.decode("utf-8"), flags
    except UnicodeDecodeError:
        pass
    out = raw.decode("utf-8", "surrogateescape")
    fixed = _OVERLONG.sub(_overlong, out)
    if fixed != out:
        flags |= OVERLONG_UTF8
    rest = _SURROGATE.sub(_latin1, fixed)
    if rest != fixed:
        flags |= BAD_UTF8
    return rest, flags


def url_decode_flags(text: str, *, plus: bool = False) -> tuple[str, int]:
    """URL-decode until stable (at most :data:`MAX_ROUNDS` rounds), with anomaly flags.

    ``plus`` decodes ``+`` as a space (query strings and forms; only in the
    first round, since a ``+`` that decoding produced is a literal plus).
    Invalid escapes are kept as they are; ``%uXXXX`` is decoded too.

    >>> url_decode_flags("%252e%252e%252f")
    ('../', 2)
    >>> url_decode_flags("50% off")
    ('50% off', 1)
    """
    if plus and "+" in text:
        text = text.replace("+", " ")
    if "%" not in text:
        return text, (NUL_BYTE if "\x00" in text else 0)
    flags = BAD_ESCAPE if _BAD_PCT.search(text) else 0
    for round_ in range(MAX_ROUNDS):
        decoded, more = _decode_once(text)
        if decoded == text:
            break
        flags |= more
        if round_:
            flags |= MULTI_ENCODED
        text = decoded
        if "%" not in text:
            break
    if "\x00" in text:
        flags |= NUL_BYTE
    return text, flags


def url_decode(text: str, *, plus: bool = False) -> str:
    """URL-decode until stable; see :func:`url_decode_flags`.

    >>> url_decode("a+b%2Bc", plus=True)
    'a b+c'
    >>> url_decode("%u003cscript%u003e")
    '<script>'
    """
    if "%" not in text and not (plus and "+" in text):
        return text
    return url_decode_flags(text, plus=plus)[0]


def html_decode(text: str) -> str:
    """Decode HTML character references (named, decimal, hex), at most twice.

    >>> html_decode("&amp;lt;script&#x3e;")
    '<script>'
    """
    if "&" not in text:
        return text
    for _ in range(2):
        decoded = html.unescape(text)
        if decoded == text or "&" not in decoded:
            return decoded
        text = decoded
    return text


_SLASHES = str.maketrans(
    {"\u2215": "/", "\u2044": "/", "\u29f8": "/", "\u2216": "\\", "\u29f9": "\\"}
)
"""Slash look-alikes NFKC leaves alone (division and fraction slash, big solidus), which
some servers map to ``/`` (best fit): ``..∕..∕etc∕passwd``."""


def fold(text: str) -> str:
    """Text for case-insensitive matching: NFKC (fullwidth → ASCII...), case folding, and
    slash look-alikes as slashes.

    >>> fold("Õun"), fold("ＵＮＩＯＮ"), fold("..∕etc")
    ('õun', 'union', '../etc')
    """
    if text.isascii():
        return text if text.islower() else text.lower()
    return unicodedata.normalize("NFKC", text).casefold().translate(_SLASHES)


_SQL_COMMENT = re.compile(r"/\*!?\d*|\*/|(?:--|#)[^\n]*")
_SPACE_RUN = re.compile(r"[\s\x0b\xa0]+")


def sql_compact(text: str, *, join: bool = False) -> str:
    """Lowercased SQL with comments removed and whitespace collapsed.

    Inline comments become a space, or nothing with ``join`` (so that
    ``SEL/**/ECT`` → ``select``); MySQL version comments keep their content
    (``/*!50000union*/`` → ``union``); ``--`` and ``#`` comments are dropped
    to the end of the line; any run of whitespace (tabs, newlines, NBSP)
    becomes one space.

    >>> sql_compact("1/*!50000UnIoN*/SeLeCt\\t1 -- rest")
    '1 union select 1 '
    """
    low = fold(text)
    if "/*" in low or "-" in low or "#" in low:
        low = _strip_sql_comments(low, "" if join else " ")
    if not low.isprintable() or "  " in low:
        low = _SPACE_RUN.sub(" ", low)
    return low


def _strip_sql_comments(text: str, repl: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = text.find("/*", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        out.append(repl)
        end = text.find("*/", j + 2)
        body = text[j + 2 : n if end < 0 else end]
        if body.startswith("!"):  # MySQL executes version comments: keep their content
            out.append(body[1:].lstrip("0123456789"))
            out.append(repl)
        i = n if end < 0 else end + 2
    joined = "".join(out)
    if "--" in joined or "#" in joined:
        joined = _SQL_COMMENT.sub(" ", joined)
    return joined


_IFS = re.compile(r"\$\{?ifs\}?(?:\$\d)?", re.IGNORECASE)
_EMPTY_EXPANSION = re.compile(r"\$[@*]|\$\{[^}\s]{0,20}:-?\}|\$\d")
_SHELL_QUOTES = str.maketrans("", "", "'\"\\^")


def shell_normalise(text: str) -> str:
    """Undo shell evasions: ``$IFS``/``${IFS}`` → space, quotes and backslashes inside words.

    >>> shell_normalise('w"h"o$@am\\\\i;ca\\'t\\' /e??/passwd')
    'whoami;cat /e??/passwd'
    """
    if "$" in text:
        text = _EMPTY_EXPANSION.sub("", _IFS.sub(" ", text))
    if "'" in text or '"' in text or "\\" in text or "^" in text:
        text = text.translate(_SHELL_QUOTES)
    return text


def normalise_path(path: str) -> str:
    """A URL path decoded and resolved: ``/./``, ``//``, ``..`` and encoded or back slashes.

    Case is kept; ``..`` never climbs above the root; a trailing slash is kept.

    >>> normalise_path("/static/..%5c..%5cwindows/win.ini")
    '/windows/win.ini'
    """
    decoded = url_decode(path)
    return resolve_dots(decoded)


def resolve_dots(decoded: str) -> str:
    """Resolve dot segments and repeated or back slashes in an already decoded path.

    >>> resolve_dots("a/b/../../../c/")
    '/c/'
    """
    if "\\" in decoded:
        decoded = decoded.replace("\\", "/")
    if "/." not in decoded and "//" not in decoded and decoded[:1] == "/" and decoded[:2] != "..":
        return decoded
    segments: list[str] = []
    for seg in decoded.split("/"):
        if not seg or seg == ".":
            continue
        if seg == ".." or seg.startswith("..;"):
            if segments:
                segments.pop()
            continue
        segments.append(seg)
    out = "/" + "/".join(segments)
    if decoded.endswith(("/", "/.", "/..")) and out != "/":
        out += "/"
    return out
