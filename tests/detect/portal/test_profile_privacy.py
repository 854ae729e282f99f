"""The learned portal model keeps no citizen's secret nor one person's value readable, and its
findings never quote a secret (a review found every learned password in the store, and a
password sent twice quoted in a detection every viewer could read)."""

from __future__ import annotations

import random
from urllib.parse import urlencode

import msgspec
import pytest

from citywatch.detect.portal.masking import secret_name
from citywatch.detect.portal.profile import PortalProfile, PortalProfileConfig
from citywatch.detect.portal.profile_model import (
    EndpointModel,
    Fact,
    ParamModel,
    ProfileModel,
)
from citywatch.detect.portal.profile_rules import NOT_SHOWN
from citywatch.enrich import Enricher, Pseudonymiser
from citywatch.model import Event, HttpRequest

T0 = 1_773_475_200.0
FORM = (("Content-Type", "application/x-www-form-urlencoded"),)
LANGS = ("hr", "en", "de", "it")


def _login(i: int, rng: random.Random) -> tuple[str, str, dict[str, str]]:
    email = f"citizen.{i}.{rng.randrange(10**6)}@mail.example"
    password = f"Tajna{rng.randrange(10**6)}!{i}"
    otp = f"{rng.randrange(10**6):06d}"
    return (
        email,
        password,
        {"username": email, "password": password, "otp": otp, "lang": rng.choice(LANGS)},
    )


def _event(
    enricher: Enricher, i: int, client: int, form: dict[str, str] | list[tuple[str, str]]
) -> Event:
    event = Event(
        id=f"l{i}",
        timestamp=T0 + i,
        dataset="portal.http",
        source_ip=f"10.9.{client // 200}.{client % 200 + 1}",
        payload=HttpRequest(method="POST", uri="/login", body=urlencode(form), headers=FORM),
    )
    return enricher(event)


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher(Pseudonymiser(b"privacy-key-" * 3))


@pytest.fixture(scope="module")
def learned(enricher: Enricher) -> tuple[PortalProfile, list[str]]:
    rng = random.Random(5)
    detector = PortalProfile(PortalProfileConfig(), gate=lambda _event: [])
    secrets: list[str] = []
    for i in range(600):
        email, password, form = _login(i, rng)
        secrets += [email, password]
        detector.learn(_event(enricher, i, i % 300, form))
    return detector, secrets


def test_the_learned_model_keeps_no_password_and_no_one_persons_value(
    learned: tuple[PortalProfile, list[str]],
) -> None:
    detector, secrets = learned
    blob = detector.snapshot_model()
    assert [s for s in secrets if s.encode() in blob] == []
    # what many citizens chose stays readable: the language is an enumeration
    params = {
        p["name"]: p
        for e in detector.describe()["endpoints"]  # type: ignore[attr-defined]
        for p in e["params"]
    }
    assert params["lang"]["type"] == "enumeration"
    assert sorted(params["lang"]["values"]) == sorted(LANGS)
    assert params["otp"]["enforced"] and params["otp"]["type"] == "integer"


def test_a_finding_on_a_secret_never_quotes_it(
    learned: tuple[PortalProfile, list[str]], enricher: Enricher
) -> None:
    detector, _ = learned
    twice = [("username", "ana@mail.example"), ("password", "x"), ("password", "Second-Secret-99")]
    odd = {"username": "ana@mail.example", "password": "x", "otp": "4711' OR 1=1", "lang": "hr"}
    unknown = {"username": "ana@mail.example", "password": "Tajna1!", "lang": "hr", "pin": "4711"}
    for form, secret in ((twice, "Second-Secret-99"), (odd, "4711"), (unknown, "4711")):
        hits = detector.inspect(_event(enricher, 10**6, 7, form))
        assert hits, form
        for hit in hits:
            assert secret not in hit.snippet and secret not in hit.explanation, hit
            assert NOT_SHOWN in hit.explanation
    (quoted,) = detector.inspect(_event(enricher, 10**6, 7, odd))
    assert "quotes" in quoted.explanation  # what an injection needs is still told


def test_a_finding_on_a_persons_value_names_the_parameter_not_the_value(
    learned: tuple[PortalProfile, list[str]], enricher: Enricher
) -> None:
    # An unknown parameter's finding quoted `iban=HR12…` in its summary, snippet and
    # explanation, and its samples quoted a citizen's e-mail and name: the MISP export and a
    # viewer's API token read them all.
    detector, _ = learned
    base = {"username": "ana@mail.example", "password": "Tajna1!", "lang": "hr"}
    extra = {
        "iban": "HR1210010051863000160",
        "e_mail": "ana.horvat@example.hr",
        "full_name": "Ana Horvat",
        "ref": "+385 91 234 5678",
    }
    for name, value in extra.items():
        hits = detector.inspect(_event(enricher, 10**6, 7, {**base, name: value}))
        assert [h.rule_id for h in hits] == ["portal.profile.unknown-param"], (name, hits)
        (hit,) = hits
        assert f"`{name}`" in hit.explanation and name in hit.snippet
        for part in value.split():
            assert part not in hit.snippet and part not in hit.explanation, hit
    (debug,) = detector.inspect(_event(enricher, 10**6, 7, {**base, "debug": "true"}))
    assert "`debug=true`" in debug.explanation  # no person's: what was sent is told


def test_a_model_saved_before_values_were_hidden_is_sealed_when_restored() -> None:
    one = Fact(count=1, clients=[1])
    many = Fact(count=40, clients=[1, 2, 3, 4, 5])
    contact = ParamModel(location="body", name="contact", values={"ana@mail.example": one})
    contact.values["roads"] = many
    password = ParamModel(location="body", name="password", values={"Tajna1!": many})
    endpoint = EndpointModel(method="POST", template="/login")
    endpoint.params = {"body:contact": contact, "body:password": password}
    blob = msgspec.msgpack.encode(ProfileModel(endpoints={"POST /login": endpoint}))
    restored = PortalProfile(gate=lambda _event: [])
    restored.restore_model(blob)
    saved = restored.snapshot_model()
    assert b"ana@mail.example" not in saved and b"Tajna1!" not in saved
    assert b"roads" in saved


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("newPassword", True),
        ("user[password]", True),
        ("card_number", True),
        ("x-api-key", True),
        ("PHPSESSID", True),
        ("otp", True),
        ("oldpwd", True),
        ("aldsid", True),  # the portal's session cookie
        ("credentials", True),
        ("cc_number", True),
        ("creditCard", True),
        ("Passwort", True),
        ("lozinka", True),
        ("novaLozinka", True),
        ("passenger", False),
        ("passport_no", False),
        ("username", False),
        ("shipping", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert secret_name(name) is secret
