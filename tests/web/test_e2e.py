"""End to end in real headless Chromium: log in, see the demo's incidents, publish an alert.

One officer drafts a public alert from a demo incident; a second officer
approves and publishes it; a citizen (no login) sees it in the public feed.
Every page is screenshotted into ``test-artifacts/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.web.conftest import ARTIFACTS, CHROMIUM, PASSWORD, DemoServer
from tests.web.test_pages import SILO_DETECTIONS

from citywatch.store import open_store

pytestmark = pytest.mark.slow
PAGES = ("/", "/portal", "/iot", "/venue", "/quake", "/social", "/alerts")
DRAWN = {
    "/iot": "path.marker-devices",
    "/venue": "path.marker-zones",
    "/social": "path.marker-events",
}
"""What each silo page draws on its map for the detections the test adds."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium)")
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def log_in(browser: Browser, server: DemoServer, name: str, password: str) -> Page:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server.url}/")
    expect(page).to_have_url(f"{server.url}/login?next=/")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{server.url}/")
    page.errors = errors  # type: ignore[attr-defined]
    return page


def test_officers_publish_an_alert_for_a_demo_incident_that_citizens_see(
    browser: Browser, demo_server: DemoServer
) -> None:
    demo_server.add_user("olga", ["alert-officer", "analyst"])
    demo_server.add_user("ben", ["alert-officer"])
    incidents = httpx.get(f"{demo_server.url}/api/v1/incidents").status_code
    assert incidents == 401  # nothing without credentials

    open_incidents = demo_server.open_incidents()
    assert open_incidents >= 1
    page = log_in(browser, demo_server, "olga", PASSWORD)
    the_map = page.locator("#map")
    expect(the_map).to_have_attribute("data-features", str(open_incidents))
    markers = page.locator("#map path.marker-incidents")
    expect(markers).to_have_count(open_incidents)  # every open incident is on the map
    districts = page.locator("#map path:not(.marker)")
    assert districts.count() >= 15  # the city's districts are the base layer
    shot(page, "overview")
    store = open_store(f"sqlite:///{demo_server.data_dir / 'citywatch.db'}")
    try:  # one detection of every silo, whichever silos the demo has
        store.upsert_detections(SILO_DETECTIONS)
    finally:
        store.close()
    for path in PAGES[1:]:
        page.goto(f"{demo_server.url}{path}")
        expect(page.locator("h1")).to_be_visible()
        if path in DRAWN:
            expect(page.locator(f"#map {DRAWN[path]}")).not_to_have_count(0)
        shot(page, path.strip("/"))
    page.goto(f"{demo_server.url}/quake")
    expect(page.locator("#map")).to_have_attribute("data-features", re.compile(r"^[1-9]\d*$"))

    page.goto(f"{demo_server.url}/")
    page.locator("#incidents a").first.click()
    expect(page.get_by_role("heading", name="Evidence timeline")).to_be_visible()
    expect(page.locator(".timeline li")).not_to_have_count(0)
    expect(page.locator("#map")).to_have_attribute("data-features", re.compile(r"^\d+$"))
    shot(page, "incident")
    page.get_by_role("button", name="Draft public alert").click()
    expect(page).to_have_url(f"{demo_server.url}/alerts")
    row = page.locator("#alert-list tbody tr").first
    expect(row.locator(".state")).to_have_text("draft")
    expect(row.get_by_role("button", name="Approve")).to_be_disabled()  # not by the drafter
    shot(page, "alerts-drafted")
    assert page.errors == []  # type: ignore[attr-defined]
    page.close()

    page = log_in(browser, demo_server, "ben", PASSWORD)
    page.goto(f"{demo_server.url}/alerts")
    row = page.locator("#alert-list tbody tr").first
    row.get_by_role("button", name="Approve").click()
    expect(row.locator(".state")).to_have_text("approved")
    row = page.locator("#alert-list tbody tr").first
    row.get_by_role("button", name="Publish").click()
    expect(page.locator("#alert-list tbody tr").first.locator(".state")).to_have_text("published")
    shot(page, "alerts-published")
    assert page.errors == []  # type: ignore[attr-defined]
    page.close()

    citizen = browser.new_page(viewport={"width": 1280, "height": 800})
    citizen.goto(f"{demo_server.url}/public")
    entry = citizen.locator("#public-feed li[data-alert]")
    expect(entry).to_have_count(1)
    expect(entry.locator("h2")).not_to_be_empty()
    shot(citizen, "public")
    href = entry.get_by_role("link", name="CAP document").get_attribute("href")
    cap = citizen.request.get(f"{demo_server.url}{href}")
    assert cap.ok and b"<alert" in cap.body()
    citizen.goto(f"{demo_server.url}/login")
    shot(citizen, "login")
    citizen.close()


def test_pages_fit_a_wall_screen_and_are_keyboard_reachable(
    browser: Browser, demo_server: DemoServer
) -> None:
    page = browser.new_page(viewport={"width": 3840, "height": 2160})
    page.goto(f"{demo_server.url}/login")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill(demo_server.admin_password)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{demo_server.url}/")
    font = page.evaluate("getComputedStyle(document.documentElement).fontSize")
    assert font == "22px"
    shot(page, "overview-wall")
    page.close()


def test_the_overview_shows_live_updates_while_records_arrive(
    browser: Browser, demo_server: DemoServer
) -> None:
    page = log_in(browser, demo_server, "admin", demo_server.admin_password)
    expect(page.locator("#feed")).to_have_attribute("data-connected", "true")
    admin = demo_server.session("admin", demo_server.admin_password)
    try:
        bad = b'{"id": "r1", "method": "GET"}\n'
        answer = admin.post(
            "/api/v1/ingest/http-jsonl?source=e2e",
            content=bad,
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert answer.status_code == 202
        assert answer.json()["dead_letters"] == 1
    finally:
        admin.close()
    expect(page.locator("#feed li.feed-dead_letter")).to_have_count(1)
    expect(page.locator("#feed li.feed-dead_letter")).to_contain_text("api/e2e")
    shot(page, "overview-live")
    assert page.errors == []  # type: ignore[attr-defined]
    page.close()
