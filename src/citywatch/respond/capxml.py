"""CAP 1.2 XML: write an :class:`~citywatch.model.Alert`, validate a document, read one back.

:func:`to_xml` writes the elements in the exact order of the official OASIS
schema (shipped in ``schemas/CAP-v1.2.xsd``); :func:`validate` checks a
document against that schema and a few rules of the CAP 1.2 text the schema
cannot express (polygon and circle syntax, Update/Cancel references);
:func:`parse` reads a valid document back into an ``Alert``.

Times are written as ``YYYY-MM-DDThh:mm:ss+hh:mm``: the schema's pattern
admits no fractional seconds and no ``Z``, and CAP 1.2 §3.3.2 writes UTC as
``-00:00``. Untrusted documents are parsed without DTDs, entity expansion or
network access, and refused above :data:`MAX_BYTES`.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Final

import msgspec
from lxml import etree

from citywatch.model.alert import Alert, AlertArea, AlertInfo
from citywatch.respond.errors import CapError

CAP_NS: Final = "urn:oasis:names:tc:emergency:cap:1.2"
MAX_BYTES: Final = 1_000_000
_NS: Final = f"{{{CAP_NS}}}"
_PAIR: Final = r"-?\d{1,3}(?:\.\d+)?,-?\d{1,3}(?:\.\d+)?"
_POLYGON: Final = re.compile(rf"{_PAIR}(?:\s+{_PAIR}){{3,}}")
_CIRCLE: Final = re.compile(rf"{_PAIR}\s+\d+(?:\.\d+)?")
_REFERENCE: Final = re.compile(r"[^\s,<&]+,[^\s,<&]+,[^\s,<&]+")


@cache
def schema() -> etree.XMLSchema:
    """The official CAP 1.2 XML schema, loaded once from the package data."""
    data = resources.files("citywatch.respond").joinpath("schemas/CAP-v1.2.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(data, _parser()))


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def cap_time(value: datetime) -> str:
    """A CAP date-time: whole seconds and a numeric offset, UTC as ``-00:00``.

    >>> from datetime import UTC, timedelta, timezone
    >>> cap_time(datetime(2026, 3, 14, 9, 30, 5, 250000, tzinfo=timezone(timedelta(hours=1))))
    '2026-03-14T09:30:05+01:00'
    >>> cap_time(datetime(2026, 3, 14, 8, 30, tzinfo=UTC))
    '2026-03-14T08:30:00-00:00'
    """
    offset = value.utcoffset()
    if offset is None:
        raise CapError("CAP times need a UTC offset", problems=[value.isoformat()])
    text = value.replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if not offset else text


def _num(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _sub(parent: etree._Element, name: str, text: str | None) -> None:
    if text is not None:
        etree.SubElement(parent, _NS + name).text = text


def _pairs(parent: etree._Element, name: str, pairs: list[tuple[str, str]]) -> None:
    for value_name, value in pairs:
        el = etree.SubElement(parent, _NS + name)
        _sub(el, "valueName", value_name)
        _sub(el, "value", value)


def _area(parent: etree._Element, area: AlertArea) -> None:
    el = etree.SubElement(parent, _NS + "area")
    _sub(el, "areaDesc", area.area_desc)
    for ring in area.polygons:
        _sub(el, "polygon", " ".join(f"{_num(lat)},{_num(lon)}" for lat, lon in ring))
    for c in area.circles:
        _sub(el, "circle", f"{_num(c.lat)},{_num(c.lon)} {_num(c.radius_km)}")
    _pairs(el, "geocode", area.geocodes)
    _sub(el, "altitude", None if area.altitude is None else _num(area.altitude))
    _sub(el, "ceiling", None if area.ceiling is None else _num(area.ceiling))


def _info(parent: etree._Element, info: AlertInfo) -> None:
    el = etree.SubElement(parent, _NS + "info")
    _sub(el, "language", info.language)
    for category in info.categories:
        _sub(el, "category", category)
    _sub(el, "event", info.event)
    for response in info.response_types:
        _sub(el, "responseType", response)
    for name in ("urgency", "severity", "certainty", "audience"):
        _sub(el, name, getattr(info, name))
    _pairs(el, "eventCode", info.event_codes)
    for name in ("effective", "onset", "expires"):
        value = getattr(info, name)
        _sub(el, name, None if value is None else cap_time(value))
    _sub(el, "senderName", info.sender_name)
    for name in ("headline", "description", "instruction", "web", "contact"):
        _sub(el, name, getattr(info, name))
    _pairs(el, "parameter", info.parameters)
    for r in info.resources:
        res = etree.SubElement(el, _NS + "resource")
        _sub(res, "resourceDesc", r.resource_desc)
        _sub(res, "mimeType", r.mime_type)
        _sub(res, "size", None if r.size is None else str(r.size))
        _sub(res, "uri", r.uri)
        _sub(res, "derefUri", r.deref_uri)
        _sub(res, "digest", r.digest)
    for area in info.areas:
        _area(el, area)


def to_element(alert: Alert) -> etree._Element:
    """The CAP ``alert`` element of an alert (for signing or embedding)."""
    root = etree.Element(_NS + "alert", nsmap={None: CAP_NS})
    _sub(root, "identifier", alert.identifier)
    _sub(root, "sender", alert.sender)
    _sub(root, "sent", cap_time(alert.sent))
    _sub(root, "status", alert.status)
    _sub(root, "msgType", alert.msg_type)
    _sub(root, "source", alert.source)
    _sub(root, "scope", alert.scope)
    _sub(root, "restriction", alert.restriction)
    _sub(root, "addresses", alert.addresses)
    for code in alert.codes:
        _sub(root, "code", code)
    _sub(root, "note", alert.note)
    refs = " ".join(f"{r.sender},{r.identifier},{cap_time(r.sent)}" for r in alert.references)
    _sub(root, "references", refs or None)
    _sub(root, "incidents", " ".join(alert.incidents) or None)
    for info in alert.infos:
        _info(root, info)
    return root


def to_xml(alert: Alert) -> bytes:
    """The alert as a CAP 1.2 document (UTF-8, with an XML declaration)."""
    return etree.tostring(
        to_element(alert), xml_declaration=True, encoding="UTF-8", pretty_print=True
    )


def _load(xml: bytes) -> tuple[etree._Element | None, list[str]]:
    if len(xml) > MAX_BYTES:
        return None, [f"document is {len(xml)} bytes, more than the {MAX_BYTES} accepted"]
    try:
        tree = etree.ElementTree(etree.fromstring(xml, _parser()))
    except etree.XMLSyntaxError as exc:
        return None, [f"not well-formed XML: {exc}"]
    if tree.docinfo.doctype:
        return None, ["a document type declaration is not allowed in a CAP message"]
    return tree.getroot(), []


def _spec_problems(root: etree._Element) -> list[str]:
    """CAP 1.2 rules the XSD leaves to the text (§3.2.1, §3.2.4)."""
    problems: list[str] = []
    for el in root.iter(_NS + "polygon"):
        text = (el.text or "").strip()
        points = text.split()
        if not _POLYGON.fullmatch(text) or points[0] != points[-1]:
            problems.append(
                f"line {el.sourceline}: polygon must be 4+ 'lat,lon' pairs, first = last"
            )
    for el in root.iter(_NS + "circle"):
        if not _CIRCLE.fullmatch((el.text or "").strip()):
            problems.append(f"line {el.sourceline}: circle must be 'lat,lon radius'")
    kind = root.findtext(_NS + "msgType")
    refs = (root.findtext(_NS + "references") or "").split()
    if kind in ("Update", "Cancel") and not refs:
        problems.append(f"a {kind} message must reference the earlier message(s)")
    problems.extend(
        f"references entry {r!r:.60} is not 'sender,identifier,sent'"
        for r in refs
        if not _REFERENCE.fullmatch(r)
    )
    return problems


def validate(xml: bytes) -> list[str]:
    """Every problem found in a CAP document; empty when it is valid CAP 1.2.

    >>> validate(b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'/>")[0][:60]
    "line 1: Element '{urn:oasis:names:tc:emergency:cap:1.2}alert"
    """
    root, problems = _load(xml)
    if root is None:
        return problems
    xsd = schema()
    if not xsd.validate(root):
        return [f"line {e.line}: {e.message}" for e in xsd.error_log]
    return _spec_problems(root)


def _pairs_of(el: etree._Element, name: str) -> list[tuple[str, str]]:
    return [
        (p.findtext(_NS + "valueName") or "", p.findtext(_NS + "value") or "")
        for p in el.findall(_NS + name)
    ]


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.strip())


def _area_of(el: etree._Element) -> dict[str, Any]:
    def pair(text: str) -> tuple[float, float]:
        lat, _, lon = text.partition(",")
        return float(lat), float(lon)

    circles = []
    for c in el.findall(_NS + "circle"):
        centre, _, radius = (c.text or "").strip().partition(" ")
        lat, lon = pair(centre)
        circles.append({"lat": lat, "lon": lon, "radius_km": float(radius)})
    altitude, ceiling = el.findtext(_NS + "altitude"), el.findtext(_NS + "ceiling")
    return {
        "area_desc": el.findtext(_NS + "areaDesc") or "",
        "polygons": [
            [pair(p) for p in (x.text or "").split()] for x in el.findall(_NS + "polygon")
        ],
        "circles": circles,
        "geocodes": _pairs_of(el, "geocode"),
        "altitude": None if altitude is None else float(altitude),
        "ceiling": None if ceiling is None else float(ceiling),
    }


def _info_of(el: etree._Element) -> dict[str, Any]:
    text = el.findtext
    resources_ = []
    for r in el.findall(_NS + "resource"):
        size = r.findtext(_NS + "size")
        resources_.append(
            {
                "resource_desc": r.findtext(_NS + "resourceDesc") or "",
                "mime_type": r.findtext(_NS + "mimeType") or "",
                "size": None if size is None else int(size),
                "uri": r.findtext(_NS + "uri"),
                "deref_uri": r.findtext(_NS + "derefUri"),
                "digest": r.findtext(_NS + "digest"),
            }
        )
    return {
        "language": text(_NS + "language") or "en-US",
        "categories": [c.text for c in el.findall(_NS + "category")],
        "event": text(_NS + "event") or "",
        "response_types": [r.text for r in el.findall(_NS + "responseType")],
        "urgency": text(_NS + "urgency"),
        "severity": text(_NS + "severity"),
        "certainty": text(_NS + "certainty"),
        "audience": text(_NS + "audience"),
        "event_codes": _pairs_of(el, "eventCode"),
        "effective": _time(text(_NS + "effective")),
        "onset": _time(text(_NS + "onset")),
        "expires": _time(text(_NS + "expires")),
        "sender_name": text(_NS + "senderName"),
        "headline": text(_NS + "headline"),
        "description": text(_NS + "description"),
        "instruction": text(_NS + "instruction"),
        "web": text(_NS + "web"),
        "contact": text(_NS + "contact"),
        "parameters": _pairs_of(el, "parameter"),
        "resources": resources_,
        "areas": [_area_of(a) for a in el.findall(_NS + "area")],
    }


def parse(xml: bytes, *, check: bool = True) -> Alert:
    """An alert read from a CAP 1.2 document; :class:`CapError` if it is not valid.

    ``check=False`` skips the schema (for documents already validated).
    Approval fields are not part of CAP: the result has no drafter or approver.
    """
    root, problems = _load(xml)
    if root is not None and check:
        problems = validate(xml)
    if root is None or problems:
        raise CapError("invalid CAP 1.2 document", problems=problems)
    try:
        return msgspec.convert(_fields(root), Alert)
    except (msgspec.ValidationError, ValueError) as exc:
        raise CapError("CAP document does not make a valid alert", problems=[str(exc)]) from exc


def _fields(root: etree._Element) -> dict[str, Any]:
    text = root.findtext
    refs = []
    for triple in (text(_NS + "references") or "").split():
        sender, identifier, sent = triple.split(",", 2)
        refs.append({"sender": sender, "identifier": identifier, "sent": _time(sent)})
    return {
        "identifier": text(_NS + "identifier"),
        "sender": text(_NS + "sender"),
        "sent": _time(text(_NS + "sent")),
        "status": text(_NS + "status"),
        "msg_type": text(_NS + "msgType"),
        "scope": text(_NS + "scope"),
        "source": text(_NS + "source"),
        "restriction": text(_NS + "restriction"),
        "addresses": text(_NS + "addresses"),
        "codes": [c.text or "" for c in root.findall(_NS + "code")],
        "note": text(_NS + "note"),
        "references": refs,
        "incidents": (text(_NS + "incidents") or "").split(),
        "infos": [_info_of(i) for i in root.findall(_NS + "info")],
    }
