"""A body in UTF-16 or UTF-7 as the text its parser reads (part of :mod:`.bodies`).

XML parsers honour a byte-order mark and the ``encoding`` of the XML declaration, so
``<!DOCTYPE`` may travel as ``\\x00<\\x00!...`` (UTF-16) or as ``+ADwAIQ-DOCTYPE`` (UTF-7):
bytes in which no signature finds ``<!ENTITY``. :func:`decoded_body` gives the text that
parser reads, so a body is inspected as the server understands it. UTF-16 is a legitimate
XML encoding; UTF-7 is not one a browser or a real client sends (HTML5 forbids it): it is
noted by the caller as an evasion in itself.

A body here is a ``str`` whose characters stand for the bytes received (an access log or a
proxy writes undecodable bytes one character each), so its characters are taken back to
bytes one for one (``latin-1``, anything wider as ``?``) before the real decoding; the work
is bounded by the body's own cap (:data:`~citywatch.detect.portal.bodies.MAX_BODY`).
"""

from __future__ import annotations

import re

_UTF16_PROBE = 64
"""Leading characters that must all be 2-byte ASCII for a body to be read as UTF-16."""
_BOMS = frozenset("\xfe\xff\ufeff\ufffd")
"""Characters a UTF-16 byte-order mark arrives as (its bytes, decoded or replaced)."""
_XML_UTF7 = re.compile(r"\s{0,64}+<\?xml\b[^>]{0,200}?\bencoding\s*+=\s*+[\"']?utf-?7\b", re.I)
_UTF7_BOM = ("+/v8", "+/v9", "+/v+", "+/v/")


def decoded_body(body: str, charset: str) -> tuple[str, str] | None:
    """``body`` as text and the codec that read it, when it is UTF-16 (a byte-order mark or
    NUL bytes in every other place, holding XML or JSON) or UTF-7 (declared by the
    ``Content-Type`` ``charset``, a UTF-7 byte-order mark or the XML declaration); else None.

    >>> decoded_body('<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE x+AD4-', "")
    ('<?xml version="1.0" encoding="UTF-7"?><!DOCTYPE x>', 'utf-7')
    >>> decoded_body("\\x00<\\x00a\\x00/\\x00>", "")
    ('<a/>', 'utf-16-be')
    >>> decoded_body("<a>+ADw-</a>", "") is None, decoded_body("Grüße +1", "utf-8") is None
    (True, True)
    """
    if "\x00" in body[:4]:
        return _utf16(body)
    if (
        charset in ("utf-7", "utf7")
        or (body[:1] == "+" and body.startswith(_UTF7_BOM))
        or (body[:320].lstrip()[:5] == "<?xml" and _XML_UTF7.match(body) is not None)
    ):
        return _text(_bytes(body).decode("utf-7", "replace")).removeprefix("\ufeff"), "utf-7"
    return None


def _utf16(body: str) -> tuple[str, str] | None:
    """A body in UTF-16 (either order, with or without a byte-order mark), when its first
    characters are ASCII and it opens like XML or JSON; else None."""
    text = body[2:] if body[0] in _BOMS and body[1:2] in _BOMS else body
    if text[:1] == "\x00":
        codec, high = "utf-16-be", text[0:_UTF16_PROBE:2]
    elif text[1:2] == "\x00":
        codec, high = "utf-16-le", text[1:_UTF16_PROBE:2]
    else:
        return None
    if high.strip("\x00"):
        return None  # not 2-byte ASCII throughout its start: binary, left as it is
    decoded = _text(_bytes(text[: len(text) // 2 * 2]).decode(codec, "replace"))
    if decoded.lstrip()[:1] not in ("<", "{", "["):
        return None
    return decoded, codec


def _bytes(text: str) -> bytes:
    return text.encode("latin-1", "replace")


def _text(decoded: str) -> str:
    """``decoded`` without lone surrogates (UTF-7 may encode one; no check can read them)."""
    if decoded.isascii():
        return decoded
    return decoded.encode("utf-8", "replace").decode("utf-8")


def charset_of(content_type: str) -> str:
    """The ``charset`` parameter of a ``Content-Type``, lower-cased (``""`` without one).

    >>> charset_of('text/xml; Charset="UTF-7"'), charset_of("text/xml")
    ('utf-7', '')
    """
    for piece in content_type.split(";")[1:]:
        key, _, value = piece.strip().partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'").lower()
    return ""
