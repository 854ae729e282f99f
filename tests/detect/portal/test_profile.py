from __future__ import annotations

import base64
import random
import re
import uuid
from urllib.parse import quote, urlencode

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citywatch.detect import DetectorRunner
from citywatch.detect.portal import profile as profile_module
from citywatch.detect.portal.hits import Hit
from citywatch.detect.portal.profile import PortalProfile, PortalProfileConfig
from citywatch.detect.portal.profile_model import (
    QUOTA_SLOTS,
    TOPS_KEPT,
    EndpointModel,
    ParamModel,
    Shape,
)
from citywatch.detect.portal.profile_rules import (
    NOT_SHOWN,
    ParamRule,
    _alphabet,
    _serial_top,
    _too_precise,
    both,
    compile_endpoint,
    compile_param,
)
from citywatch.detect.portal.profile_types import (
    COMPANIONS,
    FACT_CLASS,
    PATTERNS,
    TYPES,
    value_facts,
)
from citywatch.enrich import Enricher, Pseudonymiser
from citywatch.model import Detection, Event, HttpRequest

T0 = 1_773_475_200.0
FORM = (("Content-Type", "application/x-www-form-urlencoded"),)
JSON = (("Content-Type", "application/json"),)
GIVEN = ("Marija", "Õun", "Seán", "Jürgen", "Ana-Marija", "Zoë", "Đuro", "Ayşe", "John", "Li")
FAMILY = ("Horvat", "O'Brien", "Müller", "Kovačić", "D'Arcy", "Šimić", "Yıldız", "Novak", "Babić")
STREETS = ("Ilica", "O'Brien Square", "Savska cesta", "Müllerstraße", "Trg bana Jelačića")
NOTES = (
    "",
    "",
    "Refund for childcare costs, receipts attached.",
    "Correction of my {y} return; see letter ref. 2025/{n}.",
    "Povrat poreza – uzdržavani član obitelji.",
    "Home office expenses 50% (part-time).",
    "Student – first return; is 'rent' deductible?",
)
TEXTS = (
    "Please select a date for the bulky waste pickup.",
    "Street light at O'Brien Square is out <3 thanks!",
    "Cars park on the cycle lane. 1=1 is obvious to anyone.",
    "The drop-off point moved; select a district first.",
    "Die Straßenbeleuchtung ist seit Tagen defekt – bitte prüfen.",
    "Çöp kutusu taşıyor, lütfen boşaltın.",
    "Noise from the bar 'Kod Đure' until 3am; OR could the police check?",
)
SEARCH = ("park", "škola", "sport club", "knjižnica", "vrtić", "tenis", "pool", "museum", "gym")
ROLES = ("citizen", "business", "association")


def _iban(rng: random.Random) -> str:
    raw = "HR" + "".join(str(rng.randrange(10)) for _ in range(19))
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _tax(**fields: str) -> HttpRequest:
    form = {"year": "2025", "amount": "1250.00", "iban": "HR12 1001 0051 8630 0016 0"}
    form |= {"full_name": "Mark Test", "note": ""} | fields
    return HttpRequest(method="POST", uri="/tax/file", body=urlencode(form), headers=FORM)


def _benign(rng: random.Random) -> HttpRequest:
    roll = rng.random()
    if roll < 0.3:
        amount = rng.uniform(40, 4200)
        text = f"{amount:.2f}"
        if rng.random() < 0.08:  # a decimal comma, as written locally
            text = f"{amount:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
        note = rng.choice(NOTES).format(y=rng.randint(2015, 2024), n=rng.randint(1, 999))
        name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
        return _tax(amount=text, iban=_iban(rng), full_name=name, note=note)
    if roll < 0.55:
        page = rng.choice((1, 1, 1, 2, 3))
        return HttpRequest(
            method="GET", uri=f"/traffic/incidents?district={rng.randint(1, 12)}&page={page}"
        )
    if roll < 0.7:
        form = [
            ("category", rng.choice(("roads", "lighting", "waste", "noise"))),
            ("district", str(rng.randint(1, 12))),
            ("text", rng.choice(TEXTS) + rng.choice(("", f" Ref {rng.randint(1, 9999)}"))),
        ]
        if rng.random() < 0.5:
            form.append(("contact", f"user{rng.randrange(1000)}@mail.example"))
        return HttpRequest(method="POST", uri="/complaints", body=urlencode(form), headers=FORM)
    if roll < 0.8:
        form = [
            ("street", rng.choice(STREETS)),
            ("number", f"{rng.randint(1, 200)}{rng.choice(('', '', 'a'))}"),
            ("district", str(rng.randint(1, 12))),
            ("moved_on", f"2026-0{rng.randint(1, 4)}-{rng.randint(1, 28):02d}"),
        ]
        return HttpRequest(method="POST", uri="/address/change", body=urlencode(form), headers=FORM)
    if roll < 0.9:
        q = rng.choice(SEARCH) + rng.choice(
            ("", f" {rng.randint(1, 20)}", f" {rng.choice(FAMILY)}")
        )
        return HttpRequest(
            method="GET", uri=f"/api/v1/directory?role={rng.choice(ROLES)}&q={quote(q)}"
        )
    if roll < 0.93:
        doc = uuid.UUID(int=rng.getrandbits(128), version=4)
        return HttpRequest(method="GET", uri=f"/documents/{doc}/download")
    if roll < 0.95:
        return HttpRequest(
            method="GET", uri=f"/tax/returns/{rng.randint(2019, 2025)}-{rng.randrange(10**6):06d}"
        )
    body = msgspec.json.encode(
        {
            "category": rng.choice(("roads", "waste")),
            "district": rng.randint(1, 12),
            "text": rng.choice(TEXTS),
            "lat": round(45.8 + rng.random() / 10, 5) if rng.random() > 0.15 else None,
            "lon": round(15.9 + rng.random() / 10, 5),
        }
    ).decode()
    return HttpRequest(method="POST", uri="/api/v1/complaints", body=body, headers=JSON)


def _events(enricher: Enricher, seed: int, n: int, clients: int = 150) -> list[Event]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        c = rng.randrange(clients)
        event = Event(
            id=f"s{seed}-{i}",
            timestamp=T0 + seed * 100_000 + i,
            dataset="portal.http",
            source_ip=f"10.{seed}.{c // 200}.{c % 200 + 1}",
            payload=_benign(rng),
        )
        out.append(enricher(event))
    return out


ATTACKS = {
    "amount": (_tax(amount="99999999999999"), "portal.profile.range", "decimal"),
    "year": (_tax(year="1899"), "portal.profile.range", "1899"),
    "future": (_tax(year="2031"), "portal.profile.range", "the number 2031, out of range"),
    "house": (
        HttpRequest(
            method="POST",
            uri="/address/change",
            body="street=Ilica&number=100000&district=2&moved_on=2026-02-14",
            headers=FORM,
        ),
        "portal.profile.range",
        "its numbers between 1 and",
    ),
    "cents": (_tax(amount="0.0001"), "portal.profile.range", "with 4 decimal places"),
    "zero": (
        HttpRequest(method="GET", uri="/traffic/incidents?district=0&page=1"),
        "portal.profile.range",
        "the number 0, out of range",
    ),
    "moved": (
        HttpRequest(
            method="POST",
            uri="/address/change",
            body="street=Ilica&number=42&district=2&moved_on=1901-01-01",
            headers=FORM,
        ),
        "portal.profile.range",
        "the date 1901-01-01, out of range",
    ),
    "iban": (_tax(iban="HR12" + "1" * 196), "portal.profile.type", "200 chars"),
    # 200 nines were "not an integer", and a 20-digit number was told rounded by a float
    "long-number": (
        HttpRequest(method="GET", uri=f"/traffic/incidents?district={'9' * 200}&page=1"),
        "portal.profile.length",
        "got 200 chars; the number 9999",
    ),
    "exact-number": (
        HttpRequest(method="GET", uri="/traffic/incidents?district=12345678901234567890"),
        "portal.profile.range",
        "the number 12345678901234567890, out of range",
    ),
    "extra": (_tax(is_admin="1"), "portal.profile.unknown-param", "is_admin"),
    "district": (
        HttpRequest(method="GET", uri="/traffic/incidents?district=../../etc&page=1"),
        "portal.profile.chars",
        "slashes",
    ),
    "role": (
        HttpRequest(method="GET", uri="/api/v1/directory?role=admin&q=park"),
        "portal.profile.enum",
        "`admin`, a value never seen",
    ),
    "quotes": (_tax(amount="1250.00' OR '1'='1"), "portal.profile.chars", "quotes"),
    "record": (
        HttpRequest(method="GET", uri="/tax/returns/2024-0001OR1"),
        "portal.profile.chars",
        "letters",
    ),
    "epoch": (
        HttpRequest(method="GET", uri="/tax/returns/1970-000001"),
        "portal.profile.range",
        "1970 as its first number, out of range",
    ),
    "json": (
        HttpRequest(
            method="POST",
            uri="/api/v1/complaints",
            body='{"category":"roads","district":3,"text":"x","lat":45.8,"lon":15.9,"admin":true}',
            headers=JSON,
        ),
        "portal.profile.unknown-param",
        "admin",
    ),
}


def _attack(enricher: Enricher, name: str, ip: str = "203.0.113.9") -> Event:
    request = ATTACKS[name][0]
    event = Event(id=f"atk-{name}", timestamp=T0 + 10**6, dataset="portal.http", source_ip=ip)
    return enricher(msgspec.structs.replace(event, payload=request))


def _no_gate(event: Event) -> list[Hit]:
    return []


def _learned(enricher: Enricher, extra: list[Event] | None = None, **cfg: object) -> PortalProfile:
    detector = PortalProfile(PortalProfileConfig(**cfg), gate=_no_gate)
    events = _events(enricher, 1, 3000) + (extra or [])
    for event in sorted(events, key=lambda e: e.timestamp):
        detector.learn(event)
    return detector


@pytest.fixture(scope="module")
def enricher_m() -> Enricher:
    return Enricher(Pseudonymiser(b"test-key-" * 4))


@pytest.fixture(scope="module")
def profile(enricher_m: Enricher) -> PortalProfile:
    return _learned(enricher_m)


def test_learns_types_enumerations_and_ranges(profile: PortalProfile) -> None:
    summary = profile.describe()
    assert msgspec.json.decode(msgspec.json.encode(summary)) == summary, "JSON-able"
    params = {
        (e["method"], e["template"], p["name"]): p
        for e in summary["endpoints"]  # type: ignore[attr-defined]
        for p in e["params"]
    }
    tax = {name: p for (m, t, name), p in params.items() if t == "/tax/file"}
    assert tax["amount"]["type"] == "decimal"
    assert tax["year"]["type"] == "integer"
    assert tax["full_name"]["type"] == "alpha", "names with apostrophes and diacritics are letters"
    assert tax["note"]["type"] == "text"
    assert tax["iban"]["type"] == "alphanumeric"
    assert params["GET", "/api/v1/directory", "role"]["values"] == sorted(ROLES)
    assert params["GET", "/api/v1/directory", "q"]["type"] != "enumeration", "search is open"
    assert params["POST", "/address/change", "moved_on"]["type"] == "date"
    assert params["POST", "/complaints", "contact"]["type"] == "email"
    assert params["POST", "/api/v1/complaints", "lat"]["type"] == "decimal"
    low, high = tax["year"]["range"]
    assert low > 1900 and 2026 < high < 2100
    low_len, high_len = tax["amount"]["length"]
    assert 4 <= low_len <= high_len <= 8


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_tampering_is_flagged_with_an_explanation(
    profile: PortalProfile, enricher_m: Enricher, name: str
) -> None:
    _, rule, words = ATTACKS[name]
    hits = profile.inspect(_attack(enricher_m, name))
    assert [h.rule_id for h in hits] == [rule]
    hit = hits[0]
    assert hit.attack_class == "tampering"
    assert hit.technique == "T1190"
    assert hit.location.startswith("param:")
    assert words in hit.explanation
    assert "normally" in hit.explanation or "never takes" in hit.explanation


def test_explanation_reads_like_a_sentence(profile: PortalProfile, enricher_m: Enricher) -> None:
    hit = profile.inspect(_attack(enricher_m, "quotes"))[0]
    assert hit.explanation.startswith("parameter `amount` on POST /tax/file is normally a decimal")
    assert "got 18 chars with quotes" in hit.explanation
    zero = profile.inspect(_attack(enricher_m, "zero"))[0].explanation
    assert "is normally an integer" in zero
    assert "decimal places" not in zero, "an integer's places go without saying"
    assert hit.severity >= 60, "quotes in a number are worth more than a long number"


def _filed(enricher: Enricher, n: int, amount: str) -> Event:
    event = Event(id=f"filed-{n}", timestamp=T0 + 10**6 + n, dataset="portal.http")
    request = _tax(amount=amount, iban=_iban(random.Random(n)), full_name="Ivana O'Brien")
    return enricher(msgspec.structs.replace(event, source_ip=f"89.164.{n}.7", payload=request))


def test_large_returns_on_the_deadline_are_no_tampering(
    profile: PortalProfile, enricher_m: Enricher
) -> None:
    """Amounts were learned from 40 to 4,200; on the deadline 30 residents file 9,000 to
    48,000. The learned range plus its width (0 to about 8,300) called each one tampering;
    an amount spans orders of magnitude and is judged by them, so only absurd ones are."""
    rng = random.Random(14)
    large = [_filed(enricher_m, n, f"{rng.uniform(9000, 48000):.2f}") for n in range(30)]
    assert [profile.inspect(e) for e in large] == [[]] * 30
    absurd = {
        "999999.99": "2.4 orders of magnitude above the largest learned",
        "1000000000.00": "5.4 orders of magnitude above the largest learned",
        "0.00": "the number 0.00, zero where it never is, out of range",
        "0.50": "2.3 orders of magnitude below the smallest learned",
    }
    for n, (amount, words) in enumerate(absurd.items()):
        (hit,) = profile.inspect(_filed(enricher_m, 100 + n, amount))
        assert hit.rule_id == "portal.profile.range" and words in hit.explanation, amount
        assert "a quantity judged by magnitude" in hit.explanation
    (negative,) = profile.inspect(_filed(enricher_m, 200, "-4200.00"))
    assert negative.rule_id == "portal.profile.chars", "no amount was ever negative"
    # a coordinate (45.8 to 45.9) spans no magnitudes: judged by its width, 47.5 is out
    body = '{"category":"roads","district":3,"text":"x","lat":47.5,"lon":15.9}'
    request = HttpRequest(method="POST", uri="/api/v1/complaints", body=body, headers=JSON)
    event = Event(id="far", timestamp=T0 + 10**6, dataset="portal.http", source_ip="89.164.9.9")
    (far,) = profile.inspect(enricher_m(msgspec.structs.replace(event, payload=request)))
    assert far.rule_id == "portal.profile.range" and "magnitude" not in far.explanation


def test_benign_traffic_and_look_alikes_pass(profile: PortalProfile, enricher_m: Enricher) -> None:
    fresh = _events(enricher_m, 2, 3000, clients=400)  # other people, other values
    flagged = [(e.payload, profile.inspect(e)) for e in fresh if profile.inspect(e)]
    assert flagged == []
    look_alikes = [
        _tax(full_name="Seán O'Brien", note="Student – first return; is 'rent' deductible?"),
        _tax(full_name="Õun Mari", amount="1.234,56"),
        _tax(amount="87.10", note="Correction of my 2019 return; see letter ref. 2025/7."),
        HttpRequest(
            method="POST",
            uri="/complaints",
            body=urlencode({"category": "waste", "district": "4", "text": TEXTS[3] + " <3"}),
            headers=FORM,
        ),
        HttpRequest(method="GET", uri="/api/v1/directory?role=business&q=sport+club+7"),
        HttpRequest(  # a float's repr: more places than ever learned, but the same number
            method="POST",
            uri="/api/v1/complaints",
            body='{"category":"roads","district":3,"text":"x","lat":45.815000000000005,"lon":15.9}',
            headers=JSON,
        ),
        HttpRequest(method="GET", uri="/traffic/incidents?district=12&page=3"),
        HttpRequest(  # location permission denied: the app sends no place, as it did before
            method="POST",
            uri="/api/v1/complaints",
            body='{"category":"roads","district":3,"text":"x","lat":null,"lon":15.9}',
            headers=JSON,
        ),
        HttpRequest(  # an appeal of a page or two (2,900 chars), past the learned
            method="POST",
            uri="/complaints",
            body=urlencode({"category": "waste", "district": "4", "text": " ".join(TEXTS * 8)}),
            headers=FORM,
        ),
        _tax(year="2024", note="A late return, for last year."),
        _tax(full_name="María del Carmen Núñez-García de la Torre y Villanueva"),
        HttpRequest(method="GET", uri="/tax/returns/2026-000001"),
        HttpRequest(method="GET", uri="/tax/returns/2025-1234567"),  # an id that grew, in range
        HttpRequest(  # a house number past the learned ones, but not absurdly far
            method="POST",
            uri="/address/change",
            body="street=Ilica&number=260b&district=2&moved_on=2026-02-14",
            headers=FORM,
        ),
        HttpRequest(
            method="POST",
            uri="/address/change",
            body="street=Ilica&number=310&district=2&moved_on=2026-02-14",
            headers=FORM,
        ),
        *(  # house numbers as people write them, learned as letters and digits alone
            HttpRequest(
                method="POST",
                uri="/address/change",
                body=urlencode({"street": "Ilica", "number": number, "district": "2"})
                + "&moved_on=2026-02-14",
                headers=FORM,
            )
            for number in ("12/II", "Flat 2, 14", "7 #3")
        ),
    ]
    for i, request in enumerate(look_alikes):
        event = Event(id=f"ok-{i}", timestamp=T0, dataset="portal.http", source_ip="10.9.9.9")
        event = enricher_m(msgspec.structs.replace(event, payload=request))
        assert profile.inspect(event) == [], request


def test_poisoned_learning_does_not_let_the_attacks_pass(enricher_m: Enricher) -> None:
    rng = random.Random(7)
    names = sorted(ATTACKS)
    poison = []
    for i in range(160):  # 5 % of what is learned, from three addresses
        event = Event(
            id=f"poison-{i}",
            timestamp=T0 + 100_000 + rng.random() * 3000,
            dataset="portal.http",
            source_ip=f"198.51.100.{i % 3}",
        )
        poison.append(enricher_m(msgspec.structs.replace(event, payload=ATTACKS[names[i % 8]][0])))
    detector = _learned(enricher_m, poison)
    for name in names:
        hits = detector.inspect(_attack(enricher_m, name))
        assert hits, f"{name} passes after poisoning"
    summary = msgspec.json.encode(detector.describe())
    assert b'"admin"' not in summary
    assert b"is_admin" not in summary


def test_signature_gate_keeps_a_flagged_client_out_of_learning(enricher_m: Enricher) -> None:
    bad = {"203.0.113.50", "203.0.113.51", "203.0.113.52", "203.0.113.53", "203.0.113.54"}

    def gate(event: Event) -> list[Hit]:
        request = event.payload
        assert isinstance(request, HttpRequest)
        if "%27" in request.body and event.source_ip in bad:
            return [
                Hit(
                    attack_class="sqli",
                    rule_id="x",
                    rule_name="x",
                    technique="T1190",
                    location="body",
                    snippet="'",
                    severity=50,
                    confidence=0.9,
                )
            ]
        return []

    detector = PortalProfile(gate=gate)
    events = _events(enricher_m, 1, 3000)
    for i, ip in enumerate(sorted(bad) * 10):  # first caught, then "clean" tampering
        request = _tax(amount="1' OR 1=1") if i < 5 else _tax(role="admin")
        event = Event(id=f"g-{i}", timestamp=T0 + 100_000 + i, dataset="portal.http", source_ip=ip)
        events.append(enricher_m(msgspec.structs.replace(event, payload=request)))
    for event in events:
        detector.learn(event)
    assert detector.model.skipped == 50
    assert len(detector.model.flagged) == 5
    tax = next(e for e in detector.describe()["endpoints"] if e["template"] == "/tax/file")  # type: ignore[attr-defined]
    assert "role" not in {p["name"] for p in tax["params"]}


def test_default_gate_is_the_web_attack_signatures(enricher_m: Enricher) -> None:
    """Five addresses are enough to teach the model, unless a signature caught them first."""
    events = _events(enricher_m, 1, 3000)
    for i in range(60):  # an injection from each, then clean-looking tampering
        name = "quotes" if i < 5 else ("role", "year")[i % 2]
        ip = f"198.51.100.{10 + i % 5}"
        event = Event(
            id=f"gate-{i}", timestamp=T0 + 150_000 + i, dataset="portal.http", source_ip=ip
        )
        events.append(enricher_m(msgspec.structs.replace(event, payload=ATTACKS[name][0])))
    gated, open_ = PortalProfile(), PortalProfile(gate=_no_gate)
    for event in events:
        gated.learn(event)
        open_.learn(event)
    assert gated.model.skipped == 60, "benign look-alikes pass the signatures and are learned"
    assert len(gated.model.flagged) == 5
    for name in ("role", "year"):
        assert gated.inspect(_attack(enricher_m, name)), name
    # five addresses of some 150 are under the share of clients that makes a value normal:
    # even without the gate, role=admin stays out of the enumeration
    assert open_.inspect(_attack(enricher_m, "role"))
    # 1899 from five of the endpoint's clients, each counted once, does not stretch the
    # bounds even without the gate: they come from the range that more clients reach
    gated_low, gated_high = _year_range(gated)
    assert gated_low <= 2025 <= gated_high
    assert _year_range(open_) == [gated_low, gated_high]


def _year_range(detector: PortalProfile) -> list[int]:
    endpoints = detector.describe()["endpoints"]
    tax = next(e for e in endpoints if e["template"] == "/tax/file")  # type: ignore[attr-defined]
    return next(p["range"] for p in tax["params"] if p["name"] == "year")  # type: ignore[no-any-return]


def test_model_snapshot_round_trips(profile: PortalProfile, enricher_m: Enricher) -> None:
    blob = profile.snapshot_model()
    restored = PortalProfile(gate=_no_gate)
    restored.restore_model(blob)
    assert restored.describe() == profile.describe()
    event = _attack(enricher_m, "role")
    assert restored.inspect(event) == profile.inspect(event)


def test_nothing_is_enforced_before_enough_clients(enricher_m: Enricher) -> None:
    detector = PortalProfile(gate=_no_gate)
    for event in _events(enricher_m, 1, 400, clients=3):
        detector.learn(event)
    assert detector.inspect(_attack(enricher_m, "role")) == []
    assert not any(e["enforced"] for e in detector.describe()["endpoints"])  # type: ignore[attr-defined]


def test_learning_window_at_the_start_of_a_live_stream(enricher_m: Enricher) -> None:
    detector = PortalProfile(PortalProfileConfig(learn_first_s=3000), gate=_no_gate)
    for event in _events(enricher_m, 1, 3000):  # one request a second: all inside the window
        assert detector.inspect(event) == []
    late = msgspec.structs.replace(_attack(enricher_m, "role"), timestamp=T0 + 200_000)
    assert [h.rule_id for h in detector.inspect(late)] == ["portal.profile.enum"]


def test_unknown_endpoints_only_when_asked(enricher_m: Enricher) -> None:
    hidden = HttpRequest(method="GET", uri="/admin/export?all=1", status=200)
    event = Event(id="hidden", timestamp=T0 + 10**6, dataset="portal.http", source_ip="203.0.113.7")
    event = enricher_m(msgspec.structs.replace(event, payload=hidden))
    assert _learned(enricher_m).inspect(event) == []
    detector = _learned(enricher_m, unknown_endpoints=True)
    hits = detector.inspect(event)
    assert [(h.rule_id, h.severity) for h in hits] == [("portal.profile.unknown-endpoint", 20)]
    missing = msgspec.structs.replace(hidden, status=404)
    assert detector.inspect(msgspec.structs.replace(event, payload=missing)) == []


def test_hits_merge_into_one_detection_per_client(
    profile: PortalProfile, enricher_m: Enricher
) -> None:
    errors: list[Exception] = []
    runner = DetectorRunner(profile, lambda n, e, x: errors.append(x))
    out: list[Detection] = []
    for i, name in enumerate(sorted(ATTACKS)):
        event = msgspec.structs.replace(_attack(enricher_m, name), id=f"m-{i}")
        runner.process(msgspec.structs.replace(event, timestamp=T0 + 10**6 + i), out)
    runner.flush(out)
    assert not errors
    final = {d.id: d for d in out}
    assert len(final) == 1
    detection = next(iter(final.values()))
    assert detection.detector == "portal-profile"
    assert "attack.T1190" in detection.tags
    assert len(detection.evidence) == len(ATTACKS)
    assert detection.entity["source.ip"] == "203.0.113.9"
    assert "normally" in detection.summary or "never takes" in detection.summary


# --- fast checks equal what they replace ----------------------------------------------------------

_FACTS = st.sets(
    st.sampled_from(
        ["digit", "letter", "space", "ws", "control", "uletter", "usymbol", "'", "-", ".", "@", "]"]
    )
)
_VALUES = st.text(
    st.one_of(st.characters(max_codepoint=0x7F), st.sampled_from("ÕüßİŠ€😀\u200b\x85"))
)


def _two_patterns(
    rule: ParamRule, facts: set[str]
) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    """The ASCII and non-ASCII patterns the one character pattern replaced (the reference)."""
    if rule.kind == "text":
        return rule.chars_re, rule.chars_re
    ascii_facts = sorted(facts - {"uletter", "usymbol"})
    parts = [FACT_CLASS[f] if f in FACT_CLASS else re.escape(f) for f in ascii_facts]
    cls = "".join(parts + [re.escape(c) for c in COMPANIONS.get(rule.kind, "")])
    ascii_re = re.compile(f"[{cls}]*+" if cls else "")
    if "usymbol" in facts:
        return ascii_re, re.compile(f"[{cls}\\x80-\\U0010ffff]*+")
    if "uletter" in facts:
        ascii_part = f"[{cls}]|" if cls else ""
        return ascii_re, re.compile(f"(?:{ascii_part}[^\\W\\d_\\x00-\\x7f])*+")
    return ascii_re, None


@settings(max_examples=500, deadline=None)
@given(kind=st.sampled_from(TYPES), facts=_FACTS, value=_VALUES)
def test_one_character_pattern_equals_the_ascii_and_other_ones(
    kind: str, facts: set[str], value: str
) -> None:
    rule = ParamRule("query", "p")
    rule.kind = kind
    _alphabet(rule, facts)
    ascii_re, uni_re = _two_patterns(rule, facts)
    pattern = ascii_re if value.isascii() else uni_re
    expected = pattern is not None and pattern.fullmatch(value) is not None
    assert (rule.chars_re.fullmatch(value) is not None) == expected


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(TYPES), facts=_FACTS)
def test_an_ascii_character_is_admitted_only_by_its_own_fact_or_the_types_companions(
    kind: str, facts: set[str]
) -> None:
    """Learned non-ASCII letters (``uletter``) admit no ASCII ``u``, ``l``, ``e``..."""
    rule = ParamRule("query", "p")
    rule.kind = kind
    _alphabet(rule, facts)
    for c in map(chr, range(128)):
        if kind == "text":  # free text refuses control characters unless they were learned
            admitted = "control" in facts or value_facts(c) != {"control"}
        else:
            admitted = value_facts(c) <= facts or c in COMPANIONS.get(kind, "")
        assert (rule.chars_re.fullmatch(c) is not None) == admitted, repr(c)


@settings(max_examples=500, deadline=None)
@given(kind=st.sampled_from(TYPES), facts=_FACTS, value=_VALUES)
def test_the_characters_found_bad_are_those_the_alphabet_refuses(
    kind: str, facts: set[str], value: str
) -> None:
    rule = ParamRule("query", "p")
    rule.kind = kind
    _alphabet(rule, facts)
    bad = {c for c in set(value) if rule.chars_re.fullmatch(c) is None}
    assert set(value).difference(rule.char_re.findall(value)) == bad


@settings(max_examples=500, deadline=None)
@given(
    kind=st.sampled_from(sorted(PATTERNS)),
    facts=_FACTS,
    value=st.one_of(_VALUES, st.sampled_from(["12", "-3", "4.5", "2026-03-14", "a@b.hr"])),
)
def test_one_value_pattern_equals_the_character_and_type_ones(
    kind: str, facts: set[str], value: str
) -> None:
    rule = ParamRule("query", "p")
    rule.kind = kind
    _alphabet(rule, facts)
    type_re = PATTERNS[kind]
    expected = rule.chars_re.fullmatch(value) is not None and type_re.fullmatch(value) is not None
    assert (both(rule.chars_re, type_re).fullmatch(value) is not None) == expected


@settings(max_examples=300, deadline=None)
@given(value=st.from_regex(PATTERNS["integer"], fullmatch=True), places=st.integers(0, 20))
def test_an_integer_is_never_too_precise(value: str, places: int) -> None:
    """Why :meth:`ParamRule.check` skips the decimal places of an integer parameter."""
    assert not _too_precise(value, float(value), places)


def _param_rules(detector: PortalProfile) -> list[ParamRule]:
    return [
        rule
        for methods in detector._rules.values()
        for endpoint in methods.values()
        for by_name in endpoint.params.values()
        for rule in by_name.values()
    ]


def _forget(detector: PortalProfile) -> None:
    for rule in _param_rules(detector):
        rule.passed.clear()


_QUERY_VALUES = st.one_of(
    st.sampled_from(["1", "2", "12", "0", "-1", "1.5", "roads", "", "3'", "99999"]), _VALUES
)


@settings(max_examples=80, deadline=None)
@given(
    picks=st.lists(
        st.one_of(
            st.integers(0, 99),
            st.sampled_from(sorted(ATTACKS)),
            st.tuples(_QUERY_VALUES, _QUERY_VALUES),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_remembered_parameters_change_no_finding(
    profile: PortalProfile,
    enricher_m: Enricher,
    picks: list[int | str | tuple[str, str]],
) -> None:
    """Whatever values the rules remember having passed, a request gets the hits it gets anew."""
    benign = _events(enricher_m, 9, 100)
    for pick in picks:
        if isinstance(pick, int):
            event = benign[pick]
        elif isinstance(pick, str):
            event = _attack(enricher_m, pick)
        else:
            request = HttpRequest(
                method="GET",
                uri=f"/traffic/incidents?district={quote(pick[0])}&page={quote(pick[1])}",
            )
            event = msgspec.structs.replace(benign[0], payload=request)
        remembered = profile.inspect(event)
        _forget(profile)
        assert remembered == profile.inspect(event)
        assert remembered == profile.inspect(event), "and again, remembering"


def test_remembered_parameters_are_bounded(
    enricher_m: Enricher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profile_module, "_REMEMBER", 5)
    detector = _learned(enricher_m)
    fresh = _learned(enricher_m)
    for event in _events(enricher_m, 11, 300):
        assert detector.inspect(event) == fresh.inspect(event)
        _forget(fresh)
        remembered = sum(len(rule.passed) for rule in _param_rules(detector))
        assert remembered == detector._remembered <= 5
    assert remembered > 0


def test_whole_numbers_are_counted_exactly_until_they_are_many() -> None:
    """A year is bounded to units; ids by the thousand fall back to the number buckets."""
    cfg = PortalProfileConfig()
    year, record = ParamModel(location="body", name="year"), ParamModel(location="query", name="id")
    for i in range(3000):
        client = i % 300
        year.learn(str(2024 + i % 2), client, 100, cfg.value_clients)
        record.learn(str(1 + i * 7), client, 100, cfg.value_clients)
    assert year.wholes == {2024: 1500, 2025: 1500}
    assert record.wholes_overflow and not record.wholes
    years, records = compile_param(year, cfg), compile_param(record, cfg)
    assert (years.num_lo, years.num_hi) == (2022, 2027)
    assert not years.check("2031") and years.check("2026")
    assert records.num_lo is not None and records.num_lo <= 1 and records.num_hi >= 20_994
    assert records.check("15000") and not records.check("9000000")


def test_a_fixed_format_is_bounded_per_digit_group() -> None:
    """Record numbers ``2023-004211``: the year group is bounded, the serial by its width."""
    cfg = PortalProfileConfig()
    model = ParamModel(location="path", name="{id}")
    for i in range(600):
        model.learn(f"{2023 + i % 3}-{i * 37 % 5000:06d}", i % 200, 100, cfg.value_clients)
    model.learn("2024-12345", 7, 100, cfg.value_clients)
    # a shape one client sent is no habit: every value keeps the learned one
    assert compile_param(model, cfg).form == "9999-999999"
    for client in range(cfg.value_clients):  # a few of other shapes are allowed
        model.learn("2024-12345", client, 100, cfg.value_clients)
    rule = compile_param(model, cfg)
    assert rule.form is None
    assert rule.shape == "9999-999999"
    assert rule.groups[0] == (2021, 2027)
    assert rule.check("2024-000815") and rule.check("2026-009000") and rule.check("1970-12345")
    assert not rule.check("1970-000001")
    assert rule.explain("1970-000001").got == "1970 as its first number, out of range"
    assert "shaped `9999-999999` (first number 2021–2027" in rule.normally()
    digit = ParamModel(location="query", name="page")
    for i in range(600):
        digit.learn(str(i % 9 + 1), i % 200, 100, cfg.value_clients)
    assert compile_param(digit, cfg).normally().startswith("an integer of 1 char "), "not chars"
    for i in range(40):  # no fixed format once a twentieth of the values have other shapes
        model.learn(f"R{i}", i, 100, cfg.value_clients)
    assert compile_param(model, cfg).shape is None


def _records(poison: int = 0) -> ParamModel:
    """Record numbers ``2023-004211`` of 200 clients, serials up to about 5,000; and
    ``poison`` clients that each sent ``2024-999999`` ten times."""
    cfg = PortalProfileConfig()
    model = ParamModel(location="path", name="{id}")
    for i in range(600):
        model.learn(f"{2023 + i % 3}-{i * 37 % 5000:06d}", i % 200, 100, cfg.value_clients)
    for i in range(10 * poison):
        model.learn("2024-999999", 1000 + i % poison, 100, cfg.value_clients)
    return model


def test_a_serial_far_past_any_issued_one_is_out_of_range_even_when_it_grew() -> None:
    """``2024-9999999`` where serials reach about 5,000 is an id probe, not a record: a serial
    no closed set bounds is held to two orders of magnitude above the highest that enough
    clients sent; and a value whose runs grew is still judged group by group."""
    cfg = PortalProfileConfig()
    rule = compile_param(_records(), cfg)
    assert rule.shape == "9999-999999" and rule.groups[1] is not None
    assert not rule.check("2024-9999999")
    assert rule.explain("2024-9999999").got == "9999999 as its second number, out of range"
    assert not rule.check("1970-0000001"), "an id that grew keeps its year checked"
    assert "second number 0–" in rule.normally()
    # look-alikes: serials issued since, past the learned width but not absurdly far
    for issued in ("2025-004999", "2025-0012345", "2026-104000"):
        assert rule.check(issued), issued
    # four clients sending one ten times each do not raise the bound
    assert not rule.check("2024-999999")
    assert not compile_param(_records(poison=4), cfg).check("2024-999999")
    old = msgspec.msgpack.decode(msgspec.msgpack.encode(_records()), type=ParamModel)
    for shape in old.shapes.values():
        shape.tops.clear()  # a model learned before serials were bounded
    assert compile_param(old, cfg).check("2024-9999999")


def _form(uri: str, body: str) -> HttpRequest:
    return HttpRequest(method="POST", uri=uri, body=body, headers=FORM)


ROUND_TWO = {
    # held-out tampering that the first model let pass
    "empty": (_tax(full_name=""), "portal.profile.length", "got an empty value"),
    "invisible": (
        _tax(full_name="\u200b\u200b\u200b"),
        "portal.profile.length",
        "got 3 invisible characters and nothing else",
    ),
    "polluted": (
        HttpRequest(method="GET", uri="/traffic/incidents?district=2&district=11&page=1"),
        "portal.profile.repeated",
        "got it twice, `2` then `11`",
    ),
    "february": (
        _form("/address/change", "street=Ilica&number=42&district=2&moved_on=2026-02-31"),
        "portal.profile.range",
        "`2026-02-31`, a date no calendar has",
    ),
    "negative": (
        _form("/address/change", "street=Ilica&number=-5&district=2&moved_on=2026-02-14"),
        "portal.profile.range",
        "the number -5, out of range",
    ),
    "json-type": (
        HttpRequest(
            method="POST",
            uri="/api/v1/complaints",
            body='{"category":"roads","district":"5","text":"x","lat":45.8,"lon":15.9}',
            headers=JSON,
        ),
        "portal.profile.type",
        "is normally a number in JSON; got a string `5`",
    ),
    "json-null": (
        HttpRequest(
            method="POST",
            uri="/api/v1/complaints",
            body='{"category":null,"district":5,"text":"x","lat":45.8,"lon":15.9}',
            headers=JSON,
        ),
        "portal.profile.type",
        "is normally a string in JSON; got null",
    ),
    "id-kind": (
        HttpRequest(method="GET", uri="/documents/4410/download"),
        "portal.profile.type",
        "GET /documents/{uuid}/download takes ids of that kind in its path",
    ),
}


ROUND_THREE = {
    # held-out tampering (the fourth red-team round, tp4-*) that the second model let pass
    "homoglyph": (
        _tax(full_name="Ana K\u03bfva\u010di\u0107"),
        "portal.profile.chars",
        "`*ο**č*ć`, one word in Greek and Latin letters",  # a person's name: masked
    ),
    "full-width": (
        _tax(year="\uff12\uff10\uff12\uff15"),
        "portal.profile.chars",
        "compatibility characters (full-width, superscript) that read as `2025`",
    ),
    "full-width-path": (
        HttpRequest(
            method="GET", uri="/tax/returns/2024-" + quote("\uff10\uff10\uff11\uff18\uff16\uff13")
        ),
        "portal.profile.chars",
        "compatibility characters (full-width, superscript) that read as `2024-001863`",
    ),
    "iban-form": (
        _tax(iban="HRAB 1001 0051 8630 0016 0"),
        "portal.profile.type",
        "not of an IBAN's form",
    ),
    "swapped": (
        HttpRequest(method="GET", uri="/tax/returns/001863-2024"),
        "portal.profile.type",
        "`001863-2024`, shaped `999999-9999`",
    ),
    "shorter": (
        HttpRequest(method="GET", uri="/tax/returns/2024-01863"),
        "portal.profile.type",
        "shaped `9999-99999`",
    ),
    "body-kind": (
        HttpRequest(
            method="POST",
            uri="/tax/file",
            body='{"year":"2025","amount":"1250.00","full_name":"Mark Test"}',
            headers=JSON,
        ),
        "portal.profile.body",
        "normally takes a body of `application/x-www-form-urlencoded`; got `application/json`",
    ),
    "no-body": (
        HttpRequest(method="POST", uri="/api/v1/complaints", headers=JSON),
        "portal.profile.body",
        "normally takes a body of `application/json`; got none",
    ),
    "method": (
        HttpRequest(method="PUT", uri="/tax/file", body="year=2025", headers=FORM),
        "portal.profile.method",
        "/tax/file is normally requested with POST; got PUT",
    ),
}


HELD_OUT = ROUND_TWO | ROUND_THREE


@pytest.mark.parametrize("name", sorted(HELD_OUT))
def test_held_out_tampering_is_flagged_with_an_explanation(
    profile: PortalProfile, enricher_m: Enricher, name: str
) -> None:
    request, rule, words = HELD_OUT[name]
    event = Event(id=f"held-{name}", timestamp=T0 + 10**6, dataset="portal.http", source_ip="x")
    hits = profile.inspect(enricher_m(msgspec.structs.replace(event, payload=request)))
    assert [h.rule_id for h in hits] == [rule], hits
    assert words in hits[0].explanation, hits[0].explanation


def test_an_access_logs_request_is_not_blamed_for_the_body_it_cannot_show(
    profile: PortalProfile, enricher_m: Enricher
) -> None:
    # Learned from full requests, then run on access logs: every logged POST was flagged
    # "normally takes a body of `application/json`; got none" (390 of them on the city's).
    logged = HttpRequest(method="POST", uri="/api/v1/complaints", user_agent="Mozilla/5.0")
    event = Event(id="logged", timestamp=T0 + 10**6, dataset="portal.http", payload=logged)
    assert profile.inspect(enricher_m(event)) == []


def test_what_the_learned_traffic_did_stays_allowed(
    profile: PortalProfile, enricher_m: Enricher
) -> None:
    """A note left empty, a parameter sent twice with one value: both seen while learning
    or harmless; and a model learned before empties and repeats were counted enforces neither."""
    for request in (
        _tax(note=""),
        HttpRequest(method="GET", uri="/traffic/incidents?district=2&district=2&page=1"),
        HttpRequest(method="GET", uri="/tax/returns/2024-0018631"),  # ids grow
        HttpRequest(method="HEAD", uri="/tax/file"),  # a monitor asks
        _tax(full_name="Дмитрий Ivanov"),  # two scripts, each word in one
        _tax(iban="HR99 1001 0051 8630 0016 0"),  # a typo in the check digits: the portal's
    ):
        event = Event(id="ok", timestamp=T0 + 10**6, dataset="portal.http", payload=request)
        assert profile.inspect(enricher_m(event)) == [], request
    old = msgspec.msgpack.decode(
        msgspec.msgpack.encode({"location": "body", "name": "full_name"}), type=ParamModel
    )
    assert (old.empty, old.repeats, old.ibans) == (-1, -1, -1)
    cfg = PortalProfileConfig()
    for i in range(300):
        old.learn(f"Name {i % 40}", i % 120, 100, cfg.value_clients)
    rule = compile_param(old, cfg)
    assert rule.enforced and not rule.required and not rule.single and not rule.iban


def test_a_date_no_calendar_has_is_out_of_range_but_other_date_forms_are_not() -> None:
    cfg = PortalProfileConfig()
    model = ParamModel(location="body", name="moved_on", empty=0, repeats=0)
    for i in range(400):
        model.learn(f"2026-0{1 + i % 4}-{1 + i % 28:02d}", i % 150, 100, cfg.value_clients)
    for i in range(12):  # a few clients write dates the local way
        model.learn(f"{1 + i:02d}.03.2026", 200 + i, 100, cfg.value_clients)
    rule = compile_param(model, cfg)
    assert rule.kind == "date" and rule.required
    assert rule.check("2026-02-28") and rule.check("14.03.2026")
    assert not rule.check("2026-02-31") and not rule.check("")
    assert rule.explain("2026-02-31").got == "`2026-02-31`, a date no calendar has"


def test_body_kinds_are_held_only_when_enough_clients_sent_them() -> None:
    cfg = PortalProfileConfig()
    endpoint = EndpointModel(method="POST", template="/x", seen=200, clients=list(range(50)))
    for i in range(200):  # a body of one kind, but from too few clients to be the rule
        endpoint.body("application/json", i % (cfg.value_clients - 1), 50)
    assert compile_endpoint(endpoint, cfg).media is None
    for i in range(200):
        endpoint.body("", i, 50)  # and none, from many: what the endpoint holds to
    assert compile_endpoint(endpoint, cfg).media == frozenset({""})


def test_look_alike_letters_count_in_names_and_handles_not_in_prose() -> None:
    cfg = PortalProfileConfig()
    handle = ParamModel(location="body", name="username", empty=0, repeats=0, ibans=0)
    prose = ParamModel(location="body", name="text", empty=0, repeats=0, ibans=0)
    for i in range(300):
        handle.learn(f"user{i}@mail.example" if i % 2 else f"ana.k{i}", i % 120, 100, 5)
        prose.learn(TEXTS[i % len(TEXTS)] * 2, i % 120, 100, 5)
    names, texts = compile_param(handle, cfg), compile_param(prose, cfg)
    assert names.kind == texts.kind == "text"
    homoglyph = "\u0430na.k12"  # a Cyrillic а
    assert not names.check(homoglyph)
    assert "one word in Cyrillic and Latin letters" in names.explain(homoglyph).got
    assert texts.check(f"Please fix the {homoglyph} street light, thanks")


def _session(rng: random.Random, request: HttpRequest, client: int) -> HttpRequest:
    """``request`` as a browser or the app sends it: a session cookie (a random token, one
    per client), a preference and, to the app's API, a Bearer token."""
    token = base64.urlsafe_b64encode(random.Random(client).randbytes(16)).decode().rstrip("=")
    headers = [*request.headers, ("Cookie", f"lang={rng.choice(('hr', 'en'))}; sid={token}")]
    if request.uri.startswith("/api/"):
        headers.append(("Authorization", f"Bearer {rng.getrandbits(128):032x}"))
    return msgspec.structs.replace(request, headers=tuple(headers))


def _session_events(enricher: Enricher, n: int) -> list[Event]:
    rng = random.Random(5)
    out = []
    for i in range(n):
        c = rng.randrange(150)
        event = Event(
            id=f"c-{i}",
            timestamp=T0 + i,
            dataset="portal.http",
            source_ip=f"10.5.{c // 200}.{c % 200 + 1}",
            payload=_session(rng, _benign(rng), c),
        )
        out.append(enricher(event))
    return out


@pytest.fixture(scope="module")
def sessions(enricher_m: Enricher) -> PortalProfile:
    detector = PortalProfile(gate=_no_gate)
    for event in _session_events(enricher_m, 3000):
        detector.learn(event)
    return detector


def _sent(enricher: Enricher, uri: str, *headers: tuple[str, str]) -> Event:
    event = Event(id="x", timestamp=T0 + 10**6, dataset="portal.http", source_ip="203.0.113.5")
    return enricher(
        msgspec.structs.replace(event, payload=HttpRequest(method="GET", uri=uri, headers=headers))
    )


_DIRECTORY = "/api/v1/directory?role=citizen&q=park"
_SID = ("Cookie", "lang=en; sid=" + "Ab3_d-Fg5hIjKlMn0pQrSt")


def test_credentials_of_a_scheme_the_endpoint_never_takes_are_flagged(
    sessions: PortalProfile, enricher_m: Enricher
) -> None:
    basic = ("Authorization", "Basic a2F0YXJpbmE6Y2hvY29sYXRlNTgh")
    hits = sessions.inspect(_sent(enricher_m, _DIRECTORY, _SID, basic))
    assert [(h.rule_id, h.location, h.snippet) for h in hits] == [
        ("portal.profile.auth", "header:Authorization", "basic")
    ]
    assert hits[0].explanation == (
        "GET /api/v1/directory normally takes Bearer credentials; got Basic"
    )
    bare = ("Authorization", "a2F0YXJpbmE6Y2hvY29sYXRlNTgh")
    assert (
        "got a bare token" in sessions.inspect(_sent(enricher_m, _DIRECTORY, bare))[0].explanation
    )
    # the scheme it takes, or none at all (the portal refuses that), is no tampering
    assert (
        sessions.inspect(_sent(enricher_m, _DIRECTORY, _SID, ("authorization", "bearer x1"))) == []
    )
    assert sessions.inspect(_sent(enricher_m, _DIRECTORY, _SID)) == []
    # nor is a credential on an endpoint that never took any (the web pages use the session)
    assert sessions.inspect(_sent(enricher_m, "/traffic/incidents?district=3&page=1", basic)) == []
    described = {e["template"]: e for e in sessions.describe()["endpoints"]}  # type: ignore[attr-defined]
    assert described["/api/v1/directory"]["credentials"] == ["bearer"]
    assert described["/traffic/incidents"]["credentials"] is None


def test_the_portals_token_cookies_are_held_to_their_form_and_no_other_cookie_is(
    sessions: PortalProfile, enricher_m: Enricher
) -> None:
    page = "/traffic/incidents?district=3&page=1"
    hits = sessions.inspect(_sent(enricher_m, page, ("Cookie", "lang=hr; sid=1")))
    # a session id is a secret: a finding never shows it (a viewer could take the session)
    assert [(h.rule_id, h.location, h.snippet) for h in hits] == [
        ("portal.profile.cookie", "cookie:sid", NOT_SHOWN)
    ]
    assert hits[0].explanation.startswith(
        "cookie `sid` (the portal's own) is normally a token of 22 chars; "
        "got 1 char, where it always has 22 (a secret's value: not shown)"
    )
    longer = sessions.inspect(_sent(enricher_m, page, ("Cookie", "sid=" + "Ab3dFg5h" * 4)))
    assert [h.rule_id for h in longer] == ["portal.profile.cookie"]
    quoted = sessions.inspect(_sent(enricher_m, page, ("Cookie", "sid=Ab3_d-Fg5hIjKl'n0pQrSt")))
    assert "quotes" in quoted[0].explanation
    # a new session of the same form (with or without a digit: random), a preference never
    # seen, a tracker's cookie: all normal
    assert sessions.inspect(_sent(enricher_m, page, _SID)) == []
    digitless = ("Cookie", "sid=AbcdEf_hIjKlMnoPqrStuv")
    assert sessions.inspect(_sent(enricher_m, page, digitless)) == []
    assert sessions.inspect(_sent(enricher_m, page, ("Cookie", "lang=de; sid=x"[:8]))) == []
    tracker = ("Cookie", "_ga=GA1.2.1234567.1700000000; consent=eyJhIjp0cnVlfQ")
    assert sessions.inspect(_sent(enricher_m, page, tracker)) == []
    cookies = sessions.describe()["cookies"]
    assert [(c["name"], c["type"], c["fixed_length"]) for c in cookies] == [("sid", "token", 22)]  # type: ignore[index]
    # a session ended: the server's Set-Cookie left it empty or "deleted" (was "Session
    # tampering" after every logout)
    for ended in ("sid=", "sid=deleted"):
        assert sessions.inspect(_sent(enricher_m, page, ("Cookie", ended))) == []


def test_a_campaign_or_an_ad_click_adds_no_unknown_parameter(
    sessions: PortalProfile, enricher_m: Enricher
) -> None:
    # A newsletter's link (?utm_source=...) or an ad click (?fbclid=...) was "Parameter
    # tampering: unknown parameter", T1190.
    page = "/traffic/incidents?district=3&page=1"
    for extra in (
        "utm_source=newsletter&utm_campaign=tax-2025",
        "fbclid=IwAR2x9",
        "gclid=Cj0K",
        "mtm_campaign=tax&mtm_source=newsletter",  # Matomo, as many EU cities run it
        "pk_campaign=tax&pk_kwd=deadline",
        "_hsenc=p2ANqtz&_hsmi=281562",  # HubSpot sends both
        "igsh=MXRqbnE",  # Instagram's current share id
    ):
        assert sessions.inspect(_sent(enricher_m, f"{page}&{extra}", _SID)) == [], extra
    (hit,) = sessions.inspect(_sent(enricher_m, f"{page}&debug=1", _SID))
    assert hit.rule_id == "portal.profile.unknown-param"


def test_a_model_learned_before_cookies_and_credentials_checks_nothing_of_them(
    sessions: PortalProfile, enricher_m: Enricher
) -> None:
    old = msgspec.msgpack.decode(sessions.snapshot_own())  # saved alone, as releases before did
    del old["cookies"]
    for endpoint in old["endpoints"].values():
        del endpoint["auth"]
    restored = PortalProfile(gate=_no_gate)
    restored.restore_model(msgspec.msgpack.encode(old))
    basic = ("Authorization", "Basic a2F0YXJpbmE6Y2hvY29sYXRlNTgh")
    assert restored.inspect(_sent(enricher_m, _DIRECTORY, ("Cookie", "sid=1"), basic)) == []
    assert sessions.inspect(_sent(enricher_m, _DIRECTORY, ("Cookie", "sid=1"), basic)) != []


def test_a_choice_several_clients_sent_keeps_a_small_enumeration_open() -> None:
    cfg = PortalProfileConfig()
    choices = ("roads", "lighting", "waste", "noise", "transport", "web")

    def learned(extra: list[tuple[str, int]]) -> ParamRule:
        model = ParamModel(location="body", name="category", empty=0, repeats=0, ibans=0)
        for i in range(36):
            model.learn(choices[i % 6], i, 3, cfg.value_clients)
        for value, client in extra:
            model.learn(value, client, 3, cfg.value_clients)
        return compile_param(model, cfg)

    # four residents, once each: a real category the sample holds too few times to trust
    assert learned([("parking", 100 + i) for i in range(4)]).enum is None
    # one client, three times: no evidence either way, and the set stays closed without it
    closed = learned([("admin", 200)] * 3)
    assert closed.enum == frozenset(choices) and not closed.check("admin")


def test_a_decimal_comma_is_part_of_a_decimal_learned_with_points_only() -> None:
    cfg = PortalProfileConfig()
    model = ParamModel(location="body", name="amount", empty=0, repeats=0, ibans=0)
    for i in range(300):
        model.learn(f"{40 + i * 13.37:.2f}", i % 120, 3, cfg.value_clients)
    rule = compile_param(model, cfg)
    assert rule.kind == "decimal"
    assert rule.check("1250.00") and rule.check("1250,00"), "how many citizens write it"
    assert not rule.check("1250;00") and not rule.check("1250'00")


def test_an_id_the_portal_issues_in_lower_case_is_flagged_in_upper_case() -> None:
    cfg = PortalProfileConfig()
    rng = random.Random(4)

    def learned(upper_too: bool, counted: bool = True) -> ParamRule:
        model = ParamModel(
            location="path", name="{uuid}", empty=0, repeats=0, ibans=0, upper=0 if counted else -1
        )
        for i in range(200):
            value = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            model.learn(value.upper() if upper_too and i % 3 == 0 else value, i % 90, 3, 5)
        return compile_param(model, cfg)

    shouted = "9464C5F7-E872-4E64-8AF3-C0D2F36EE23F"
    rule = learned(upper_too=False)
    assert rule.kind == "uuid" and not rule.check(shouted) and rule.check(shouted.lower())
    assert rule.explain(shouted).got.endswith("in upper case where it always is in lower case")
    assert learned(upper_too=True).check(shouted), "an app that writes them in upper case"
    assert learned(upper_too=False, counted=False).check(shouted), "a model from before"


def test_a_number_never_written_with_leading_zeros_is_flagged_with_them() -> None:
    cfg = PortalProfileConfig()

    def learned(zeros_too: bool, counted: bool = True) -> ParamRule:
        model = ParamModel(
            location="body",
            name="district",
            empty=0,
            repeats=0,
            ibans=0,
            upper=0,
            leading_zeros=0 if counted else -1,
        )
        for i in range(200):
            district = i % 15 + 1
            written = f"{district:02d}" if zeros_too and i % 4 == 0 else str(district)
            model.learn(written, i % 90, 3, cfg.value_clients)
        return compile_param(model, cfg)

    rule = learned(zeros_too=False)
    assert rule.kind == "integer" and rule.check("7") and rule.check("15")
    assert not rule.check("0007") and not rule.check("07")
    assert rule.explain("0007").got == "`0007`, a number written with leading zeros"
    assert rule.describe()["no_leading_zeros"] is True
    assert learned(zeros_too=True).check("07"), "a form that pads its numbers"
    assert learned(zeros_too=False, counted=False).check("0007"), "a model from before"


def test_a_name_takes_the_punctuation_of_names_learned_or_not() -> None:
    cfg = PortalProfileConfig()
    rng = random.Random(5)
    model = ParamModel(location="body", name="street", empty=0, repeats=0, ibans=0, upper=0)
    for i in range(300):
        name = "".join(rng.choice("aeioubcdfgklmnprstvzčšž") for _ in range(rng.randint(4, 9)))
        model.learn(f"{name.title()} {rng.choice(('ulica', 'trg', 'cesta'))}", i % 120, 3, 5)
    rule = compile_param(model, cfg)
    assert rule.kind == "alpha" and rule.enum is None
    for written in ("Жарко Шћепановић / Žarko Šćepanović trg", "Trg bana J. Jelačića", "O'Brien"):
        assert rule.check(written), written
    assert not rule.check("Ilica 1; stan 3") and not rule.check('Ilica"')


def test_an_id_no_pattern_collapses_is_still_the_learned_endpoints(
    profile: PortalProfile, enricher_m: Enricher
) -> None:
    # /permits/<200 letters> and /permits/12ab made endpoints of their own, never learned, so
    # tampering with an id in letters went unseen (unknown endpoints are not flagged by default)
    def hits(uri: str) -> list[Hit]:
        event = Event(id="i", timestamp=T0 + 10**6, dataset="portal.http", source_ip="10.9.9.9")
        request = HttpRequest(method="GET", uri=uri, status=200)
        return profile.inspect(enricher_m(msgspec.structs.replace(event, payload=request)))

    for uri in ("/tax/returns/" + "A" * 200, "/tax/returns/12ab"):
        found = hits(uri)
        assert [h.rule_id for h in found] == ["portal.profile.type"], uri
        assert "GET /tax/returns/{id} takes ids of that kind" in found[0].explanation
    assert hits("/tax/returns/summary") == []  # a page of its own name, not an id


def _group_poison(enricher: Enricher, clients: int, times: int) -> list[Event]:
    """What a small group of addresses teaches together (the red team's poisoning): a huge
    amount, a year long past, an extra ``is_admin``, district 0 sent twice."""
    taught = (
        _tax(amount="99999999999999", is_admin="1"),
        _tax(year="1899", amount="150000.00", is_admin="1"),
        HttpRequest(method="GET", uri="/traffic/incidents?district=0&page=1&district=1"),
        HttpRequest(method="GET", uri="/traffic/incidents?district=99&page=1&district=1"),
    )
    out = []
    for c in range(clients):
        for i in range(times):
            event = Event(
                id=f"group-{c}-{i}",
                timestamp=T0 + 100_000 + c * 50 + i,
                dataset="portal.http",
                source_ip=f"198.51.100.{c + 1}",
            )
            out.append(enricher(msgspec.structs.replace(event, payload=taught[i % len(taught)])))
    return out


GROUP_TAMPERING = {
    "amount": _tax(amount="99999999999999"),
    "amount-2m": _tax(amount="2000000.00"),
    "amount-150k": _tax(amount="150000.00"),
    "year": _tax(year="1899"),
    "year-2011": _tax(year="2011"),
    "extra": _tax(is_admin="1"),
    "zero": HttpRequest(method="GET", uri="/traffic/incidents?district=0&page=1"),
    "twice": HttpRequest(method="GET", uri="/traffic/incidents?district=5&page=3&district=1"),
}


def _group_learned(enricher: Enricher, **cfg: object) -> PortalProfile:
    detector = PortalProfile(PortalProfileConfig(**cfg), gate=_no_gate)
    events = _events(enricher, 1, 6000, clients=400) + _group_poison(enricher, 12, 10)
    for event in sorted(events, key=lambda e: e.timestamp):
        detector.learn(event)
    return detector


@pytest.fixture(scope="module")
def grouped(enricher_m: Enricher) -> PortalProfile:
    return _group_learned(enricher_m)


@pytest.mark.parametrize("name", sorted(GROUP_TAMPERING))
def test_a_small_group_of_clients_teaches_no_tampering(
    grouped: PortalProfile, enricher_m: Enricher, name: str
) -> None:
    """Twelve addresses of some 400 (more than ``value_clients``, under ``client_share``),
    each sending its poison ten times, stretch no bound and make no fact normal."""
    event = Event(id=f"later-{name}", timestamp=T0 + 10**6, dataset="portal.http")
    event = enricher_m(
        msgspec.structs.replace(event, source_ip="203.0.113.77", payload=GROUP_TAMPERING[name])
    )
    assert grouped.inspect(event), f"{name} passes after a group taught it"


def test_a_small_group_is_what_the_share_of_clients_stops(enricher_m: Enricher) -> None:
    """The same group taught the model when any five clients made a fact normal."""
    lax = _group_learned(enricher_m, client_share=0.0)
    event = Event(id="later", timestamp=T0 + 10**6, dataset="portal.http")
    event = enricher_m(
        msgspec.structs.replace(event, source_ip="203.0.113.77", payload=GROUP_TAMPERING["extra"])
    )
    assert not lax.inspect(event)


def test_the_range_is_a_quantile_over_clients_each_counted_once(grouped: PortalProfile) -> None:
    tax = next(e for e in grouped.describe()["endpoints"] if e["template"] == "/tax/file")  # type: ignore[attr-defined]
    params = {p["name"]: p for p in tax["params"]}
    assert "is_admin" not in params
    low, high = params["year"]["range"]
    assert 1899 < low <= 2025 <= high < 2031
    assert params["amount"]["range"][1] < 150_000


def test_an_optional_field_a_minority_uses_stays_known(enricher_m: Enricher) -> None:
    """A phone number one in eight filers adds is a minority's habit, not an unknown one."""
    rng = random.Random(3)
    extra = []
    for c in range(0, 400, 8):
        event = Event(
            id=f"phone-{c}",
            timestamp=T0 + 200_000 + c,
            dataset="portal.http",
            source_ip=f"10.1.{c // 200}.{c % 200 + 1}",
        )
        request = _tax(phone=f"+385 91 {rng.randrange(10**6):06d}", note="Zovite me poslijepodne")
        extra.append(enricher_m(msgspec.structs.replace(event, payload=request)))
    detector = PortalProfile(gate=_no_gate)
    for event in _events(enricher_m, 1, 6000, clients=400) + extra:
        detector.learn(event)
    later = Event(id="later-phone", timestamp=T0 + 10**6, dataset="portal.http")
    later = enricher_m(
        msgspec.structs.replace(
            later, source_ip="203.0.113.78", payload=_tax(phone="+385 91 765432")
        )
    )
    assert not detector.inspect(later)


def test_a_learned_value_with_a_huge_digit_run_saves_and_loads() -> None:
    # A value of 48 characters or fewer with a run of 20 or more digits ("2024-" and thirty
    # nines) made a digit group's number past 64 bits: saving the learned model raised
    # OverflowError and stopped the learning job (helper h2). Such a group is no closed set.
    cfg = PortalProfileConfig()
    model = ParamModel(location="query", name="ref", empty=0, repeats=0, ibans=0)
    for i in range(40):
        model.learn(f"2024-{i:07d}", i, 3, cfg.value_clients)
    model.learn("2024-" + "9" * 30, 99, 3, cfg.value_clients)
    endpoint = EndpointModel(method="GET", template="/x", params={"ref": model})
    blob = msgspec.msgpack.encode(endpoint)
    assert msgspec.msgpack.decode(blob, type=EndpointModel).params["ref"].name == "ref"


def test_a_serial_group_keeps_few_highs_and_bounds_as_all_would() -> None:
    # Each digit group kept every quota slot's highest (4,096): 96 KB of a saved model per
    # shape of a busy portal's record number (review h4). The 127 highest bound it the same.
    rng = random.Random(5)
    shape = Shape(groups=[{}, {}], tops=[{}, {}])
    every: dict[int, int] = {}
    for _ in range(20000):
        client, serial = rng.randrange(50000), rng.randrange(1, 400000)
        shape.add(f"2025-{serial:06d}", client, 5)
        slot = client % QUOTA_SLOTS
        every[slot] = max(every.get(slot, 0), serial)
    assert len(shape.tops[1]) == TOPS_KEPT
    for keep in (5, 12, 64):
        assert _serial_top(shape.tops[1], keep) == _serial_top(every, keep)
