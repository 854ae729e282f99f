"""Paths: decoded, resolved and templated once per distinct path (part of :mod:`.request`).

The template collapses ids so that a detector can key on the endpoint:
``/tax/returns/123`` and ``/tax/returns/456`` are both ``/tax/returns/{id}``,
and so are record numbers made of digit groups (``/tax/returns/2024-000123``):
left whole, every record would be an endpoint of its own, never learned.
"""

from __future__ import annotations

import re
import unicodedata

from citywatch.detect.portal.normalise import resolve_dots, url_decode_flags

MAX_PATH = 4096
"""Characters of a path decoded and normalised (beyond: anomaly ``uri-too-long``)."""
PATH_TOO_LONG = 1 << 10
"""Flag: the path was cut at :data:`MAX_PATH` (beside the decoding flags of normalise)."""

_FORMS: dict[str, tuple[str, str, str, int]] = {}
"""Forms of recent paths (cleared when full: paths repeat, ids aside)."""
_FORMS_SIZE = 8192


def path_forms(path: str) -> tuple[str, str, str, int]:
    """``(decoded, normalised, template, flags)`` of a raw path, from a bounded cache.

    >>> path_forms("/a/%2e%2e/tax/returns/7")
    ('/a/../tax/returns/7', '/tax/returns/7', '/tax/returns/{id}', 0)
    """
    forms = _FORMS.get(path)
    if forms is not None:
        return forms
    raw = path if len(path) <= MAX_PATH else path[:MAX_PATH]
    if "%" in raw or "\x00" in raw:
        decoded, flags = url_decode_flags(raw)
    else:
        decoded, flags = raw, 0
    if raw is not path:
        flags |= PATH_TOO_LONG
    if not decoded.isascii():
        decoded = unicodedata.normalize("NFKC", decoded)
    norm = resolve_dots(decoded)
    forms = (decoded, norm, path_template(norm), flags)
    if len(_FORMS) >= _FORMS_SIZE:
        _FORMS.clear()
    _FORMS[path] = forms
    return forms


def path_template(path: str) -> str:
    """The endpoint of a (normalised) path, with ids collapsed.

    Numeric segments and record numbers (3+ digits making at least half of
    the segment, as in ``2024-000123`` or ``INV-20931``) become ``{id}``,
    UUIDs ``{uuid}``, long hex or base64-like tokens (mixed case, or digits
    in a quarter of 20+ characters) ``{token}``.

    >>> path_template("/tax/returns/123/files/0f8fad5b-d9cb-469f-a165-70867728950e")
    '/tax/returns/{id}/files/{uuid}'
    >>> path_template("/tax/returns/2024-000123")
    '/tax/returns/{id}'
    >>> path_template("/reset/eyJhbGciOiJIUzI1NiJ9abc123/confirm")
    '/reset/{token}/confirm'
    """
    if _DIGIT.search(path) is None:
        return path
    return _ID_SEGMENT.sub(_collapse, path)


_DIGIT = re.compile(r"[0-9]")
_ID_SEGMENT = re.compile(r"(?<=/)[A-Za-z_=+~-]*+[0-9][A-Za-z0-9_=+~-]*+(?=/|$)")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"[0-9a-fA-F]{16,}")


def _collapse(match: re.Match[str]) -> str:
    seg = match.group(0)
    if seg.isdigit():
        return "{id}"
    if len(seg) == 36 and _UUID.fullmatch(seg):
        return "{uuid}"
    if _HEX.fullmatch(seg):
        return "{token}"
    digits = sum(c.isdigit() for c in seg)
    if digits >= 3 and 2 * digits >= len(seg) and "=" not in seg and "+" not in seg:
        return "{id}"
    if len(seg) < 20:
        return seg
    if not seg.islower() and not seg.isupper():  # mixed case: base64-like
        return "{token}"
    if "-" not in seg and digits * 4 >= len(seg):
        return "{token}"
    return seg
