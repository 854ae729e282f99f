"""multipart/form-data bodies into parameters (part of :mod:`.bodies`).

Each part is a parameter named by its ``name``; a file's name is a parameter
``NAME.filename``. Where servers read one body differently, every reading is
inspected, and the ambiguity itself is noted:

- a ``Content-Type`` with two ``boundary`` parameters (``boundary=real;
  boundary=fake``): most servers split on the first, some on the last, so
  the parts under each declared boundary are parameters, and
  ``multipart-boundaries`` is noted;
- a ``Content-Disposition`` naming its file twice (``filename="shell.php";
  filename="a.jpg"``; servers differ on which one wins): each name is a
  parameter, so a script name is found in any of them (not noted as an anomaly
  of its own: its lower rule would stand in for the script file's); a name in
  RFC 5987 form (``filename*=UTF-8''shell.php``) or in single quotes (PHP reads
  ``filename='shell.php'``) is read as the server would;
- a file (a part with a file name) is its content as sent, marked as a file
  (:attr:`~citywatch.detect.portal.params.Param.file`): not URL-decoded, and
  its NUL bytes no anomaly (a photo or a DOCX is full of them);
- a part sent ``Content-Transfer-Encoding: base64``: its decoded text is a
  parameter too (bounded by the body's cap; a binary file is not decoded).

Malformed bodies are noted as ``bad-multipart``; more than :data:`MAX_PARTS`
parts as ``too-many-parts``.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from citywatch.detect.portal.params import Collector

MAX_PARTS = 64
"""Parts of a multipart body parsed (beyond: anomaly ``too-many-parts``)."""
MAX_BOUNDARIES = 4
"""Distinct boundaries of one ``Content-Type`` whose parts are read."""
MAX_BOUNDARY = 200
"""Characters of a boundary (RFC 2046 allows 70; longer is malformed)."""


def parse_multipart(body: str, content_type: str, acc: Collector) -> None:
    """Add the parts of a multipart ``body`` to ``acc``, under every boundary declared."""
    boundaries: list[str] = []
    for piece in content_type.split(";")[1:]:
        key, _, value = piece.strip().partition("=")
        if key.strip().lower() == "boundary":
            boundary = value.strip().strip('"')
            if boundary not in boundaries:
                boundaries.append(boundary)
    if len(boundaries) > 1:
        acc.note("multipart-boundaries")  # servers disagree on which one counts
    usable = [b for b in boundaries[:MAX_BOUNDARIES] if 0 < len(b) <= MAX_BOUNDARY]
    if not usable:
        acc.note("bad-multipart")
        acc.add("body", "body", body)
        return
    clean = [_parts(body, "--" + boundary, acc) for boundary in usable]
    if not any(clean):
        acc.note("bad-multipart")


def _parts(body: str, delimiter: str, acc: Collector) -> bool:
    """The parts of ``body`` between ``delimiter`` s into ``acc``; whether they were well formed."""
    chunks = body.split(delimiter, MAX_PARTS + 1)
    clean = len(chunks) >= 2 and chunks[-1].startswith("--")
    if len(chunks) > MAX_PARTS + 1:
        acc.note("too-many-parts")
    for chunk in chunks[1 : MAX_PARTS + 1]:
        if chunk.startswith("--"):
            break
        head, sep, content = chunk.lstrip("\r\n").partition("\r\n\r\n")
        if not sep:
            head, sep, content = chunk.lstrip("\n").partition("\n\n")
        if not sep:
            clean = False
            continue
        name, filenames, encoding = _part_head(head)
        for filename in filenames:
            acc.add("body", f"{name}.filename", filename)
        if content.endswith("\r\n"):
            content = content[:-2]
        elif content.endswith("\n"):
            content = content[:-1]
        if filenames:
            acc.file(name, content)
        else:
            acc.add("body", name, content)
        if encoding == "base64":
            decoded = _base64_text(content)
            if decoded is not None and decoded != content:
                acc.add("body", name, decoded)
    return clean


_DISPOSITION_PARAM = re.compile(
    r';\s*+([\w*-]{1,40})\s*+=\s*+("(?:[^"\\]|\\.){0,1024}"?|[^;]{0,1024})'
)
"""``; key=value`` of a Content-Disposition, a quoted value whole."""
_EXTENDED = re.compile(r"[\w!#$%&+^`{}~-]{0,40}'[\w-]{0,40}'")
"""The ``charset'language'`` prefix of an RFC 5987 value (``UTF-8''shell.php``)."""


def _part_head(head: str) -> tuple[str, list[str], str]:
    """The ``name``, every file name and the transfer encoding (lower-cased) of a part.

    Quoted values may hold ``;`` (``filename="a.jpg;curl x|sh;.jpg"`` is one file name).

    >>> _part_head('Content-Disposition: form-data; name="f"; filename="a.jpg;id;.jpg"')
    ('f', ['a.jpg;id;.jpg'], '')
    >>> _part_head("Content-Disposition: form-data; name=f; filename*=UTF-8''x%2Ephp")
    ('f', ['x%2Ephp'], '')
    >>> _part_head("content-disposition: form-data; name='f'; filename='x.php'")
    ('f', ['x.php'], '')
    """
    name, filenames, encoding = "", [], ""
    for line in head.splitlines():
        lower = line[:30].lower()
        if lower.startswith("content-disposition"):
            for match in _DISPOSITION_PARAM.finditer(line):
                key, value = match.group(1).lower(), match.group(2).rstrip()
                if value.startswith('"'):
                    value = value[1:-1] if len(value) > 1 and value.endswith('"') else value[1:]
                elif len(value) > 1 and value[0] == value[-1] == "'":
                    value = value[1:-1]  # PHP's parser takes single quotes too
                if key == "name":
                    name = value
                elif key == "filename":
                    filenames.append(value)
                elif key == "filename*":  # percent-encoded: decoded as a parameter
                    prefix = _EXTENDED.match(value)
                    filenames.append(value[prefix.end() :] if prefix else value)
        elif lower.startswith("content-transfer-encoding"):
            encoding = line.partition(":")[2].strip().lower()
    return name, filenames, encoding


def _base64_text(content: str) -> str | None:
    """A base64 part's content when it decodes to text (UTF-8, no control characters but
    white space); None when it is not base64 or is binary (a photo: its bytes read as
    text would look like anything, and no injection needs to be binary)."""
    try:
        text = base64.b64decode("".join(content.split()), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None
    if not text.isprintable() and _CONTROL.search(text):
        return None
    return text


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
