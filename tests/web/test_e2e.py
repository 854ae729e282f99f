"""End to end in real headless Chromium: log in, see the demo's incidents, publish an alert.

One officer drafts a public alert from a demo incident; a second officer
approves and publishes it; a citizen (no login) sees it in the public feed.
A responder approves the step of the portal incident's playbook that waits
for one (and rejects it for the botnet's incident); an analyst creates and
ends a suppression, and saves one proposed for an incident marked a false
positive. A viewer's open pages show what colleagues change through the API
as it happens: the live feed, and a notice with a reload link on the alerts
and incident pages. Every page is screenshotted into ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import msgspec
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.web.conftest import ARTIFACTS, CHROMIUM, PASSWORD, DemoServer
from tests.web.test_pages import SILO_DETECTIONS

from citywatch.store import open_store

pytestmark = pytest.mark.slow
PAGES = ("/", "/portal", "/iot", "/venue", "/quake", "/social", "/alerts", "/suppressions")
DRAWN = {
    "/iot": "path.marker-devices",
    "/venue": "path.zone-area",
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
    # every open incident is on the map: a marker each where it is, one for those with no place
    layer = json.loads(page.locator("#layer-data").text_content() or "{}")
    points = [f["properties"] for f in layer["features"]]
    assert sum(p.get("count", 1) for p in points) == open_incidents
    expect(the_map).to_have_attribute("data-features", str(len(points)))
    markers = page.locator("#map path.marker-incidents")
    expect(markers).to_have_count(len(points))
    districts = page.locator("#map path:not(.marker)")
    assert districts.count() >= 15  # the city's districts are the base layer
    # keyboard users: the districts are no tab stops (15 came before the first incident); a
    # marker says what it is and is a link
    expect(districts.first).to_have_attribute("tabindex", "-1")
    expect(markers.first).to_have_attribute("role", "link")
    expect(markers.first).to_have_attribute("aria-label", re.compile(r"\(severity \d+\)"))
    shot(page, "overview")
    # a device id is what the device (or its attacker) says: Leaflet made a tooltip's text
    # HTML, and a planted link showed inside the dashboard
    planted = '<a id="planted" href="https://evil.example/">SESSION EXPIRED</a>'
    device = SILO_DETECTIONS[1]
    iot = device.attributes["iot"] | {"device_id": planted}  # type: ignore[operator]
    hostile = msgspec.structs.replace(device, id="i-hostile", attributes={"iot": iot})
    store = open_store(f"sqlite:///{demo_server.data_dir / 'citywatch.db'}")
    try:  # one detection of every silo, whichever silos the demo has
        store.upsert_detections([*SILO_DETECTIONS, hostile])
    finally:
        store.close()
    for path in PAGES[1:]:
        page.goto(f"{demo_server.url}{path}")
        expect(page.locator("h1")).to_be_visible()
        if path in DRAWN:
            expect(page.locator(f"#map {DRAWN[path]}")).not_to_have_count(0)
        shot(page, path.strip("/"))
        if path == "/iot":
            for marker in page.locator(f"#map {DRAWN[path]}").all():
                marker.hover(force=True)
            expect(page.locator(".leaflet-tooltip", has_text=planted)).to_have_count(1)
            expect(page.locator("#planted")).to_have_count(0)
    page.goto(f"{demo_server.url}/portal")  # the demo learned the portal's day before
    expect(page.locator("#model-h + p")).to_contain_text("endpoints")
    expect(page.get_by_text("The portal's own token cookies: aldsid")).to_be_visible()
    page.goto(demo_server.url)
    page.locator("#incidents").get_by_role("link", name=re.compile(r"^Parameter tampering")).click()
    findings = page.locator("details.findings")
    findings.locator("summary").click()
    expect(findings.locator("li")).to_have_count(7)  # each edit the tamperer made, explained
    expect(findings).to_contain_text("where it always has 22")
    expect(page.locator("ol.timeline .detector")).to_have_text("portal-profile")  # a learned model
    shot(page, "incident-tampering")
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
    # a citizen learns until when and where it holds (the page said neither)
    expect(entry.locator(".meta")).to_contain_text(" · until ")
    expect(entry).to_contain_text("Where: ")
    shot(citizen, "public")
    href = entry.get_by_role("link", name="CAP document").get_attribute("href")
    cap = citizen.request.get(f"{demo_server.url}{href}")
    assert cap.ok and b"<alert" in cap.body()
    citizen.goto(f"{demo_server.url}/login")
    shot(citizen, "login")
    citizen.close()


def test_a_responder_approves_a_playbook_step_and_an_analyst_manages_suppressions(
    browser: Browser, demo_server: DemoServer
) -> None:
    demo_server.add_user("rita", ["responder"])
    demo_server.add_user("anna", ["analyst"])
    page = log_in(browser, demo_server, "rita", PASSWORD)
    page.locator("#incidents").get_by_role("link", name=re.compile(r"^Attack on portal")).click()
    expect(page.get_by_role("heading", name=re.compile(r"^Playbook runs"))).to_be_visible()
    run = page.locator('article[data-playbook="contain-web-attack"]')
    block = run.locator('tr[data-step="block-sources"]')
    expect(block.locator(".step")).to_have_text("awaiting approval")
    expect(run.locator('tr[data-step="tell-soc"] .step')).to_have_text("done")
    expect(run.locator('tr[data-step="tell-soc"] .files')).to_contain_text("notifications.jsonl")
    shot(page, "incident-playbook")
    approve = block.get_by_role("button", name="Approve")
    approve.focus()
    page.keyboard.press("Enter")  # by keyboard
    expect(block.locator(".step")).to_have_text("done")
    expect(block.locator(".approver")).to_have_text("rita")
    expect(block.locator(".summary")).to_contain_text("blocked")
    expect(block.locator(".files li")).to_have_count(2)  # the nftables set and the nginx deny list
    share = run.locator('tr[data-step="share-intel"]')
    expect(share.locator(".step")).to_have_text("awaiting approval")
    expect(share.get_by_role("button", name="Approve")).to_have_count(0)  # an analyst's decision
    shot(page, "incident-playbook-approved")

    page.goto(f"{demo_server.url}/")  # the botnet's attack has a playbook run too: reject
    page.locator("#incidents").get_by_role("link", name=re.compile(r"IoT botnet")).click()
    run = page.locator("article.run").first
    pending = run.locator("tr", has=page.locator(".step-awaiting_approval")).first
    step = run.locator(f'tr[data-step="{pending.get_attribute("data-step")}"]')
    step.get_by_label("Reason").fill("not before the device owners are told")
    step.get_by_role("button", name="Reject").click()
    expect(step.locator(".step")).to_have_text("rejected")
    expect(step.locator(".summary")).to_have_text(
        "rejected by rita: not before the device owners are told"
    )
    expect(run.locator(".step-waiting, .step-awaiting_approval")).to_have_count(0)  # nor later
    expect(run.locator(".run-state")).to_have_text("finished")
    shot(page, "incident-playbook-rejected")
    assert page.errors == []  # type: ignore[attr-defined]
    page.close()

    page = log_in(browser, demo_server, "anna", PASSWORD)
    page.get_by_role("navigation", name="Dashboard").get_by_role(
        "link", name="Suppressions"
    ).click()
    expect(page.get_by_role("heading", name="Suppressions", exact=True)).to_be_visible()
    rows = page.locator("#suppression-list tbody tr[data-suppression]")
    expect(rows).to_have_count(0)
    page.get_by_label("Reason").fill("the city's weekly vulnerability scan")
    page.get_by_label("Detectors").fill("web-attacks, sigma")
    page.get_by_label("Entity values").fill("source.ip=203.0.113.250")
    page.get_by_label("Expires after (days)").fill("7")
    page.get_by_role("button", name="Create suppression").click()
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".owner")).to_have_text("anna")
    expect(rows.first).to_contain_text("detector web-attacks, sigma; source.ip = 203.0.113.250")
    shot(page, "suppressions-created")
    rows.first.get_by_role("button", name="End").click()
    expect(rows).to_have_count(0)
    expect(page.locator("#suppression-list")).to_contain_text("No suppressions in force.")

    page.goto(f"{demo_server.url}/")
    device = re.compile(r"not in the inventory")
    page.locator("#incidents").get_by_role("link", name=device).click()
    page.get_by_label("Move to").select_option("false_positive")
    page.get_by_label("Note").fill("the lab's own test device")
    page.get_by_role("button", name="Move").click()
    expect(page.locator("#incident-status")).to_have_text("false_positive")
    expect(page.get_by_label("Reason")).to_have_value("the lab's own test device")
    page.get_by_role("button", name="Propose suppressions").click()
    proposals = page.locator("#proposals li[data-proposal]")
    expect(proposals).not_to_have_count(0)
    expect(page.get_by_role("heading", name="Proposed suppressions")).to_be_focused()
    proposals.first.get_by_role("button", name="Save").click()
    saved = proposals.first.get_by_role("link", name=re.compile(r"^sup-"))
    expect(saved).to_be_focused()
    shot(page, "incident-proposals")
    saved.click()
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".reason")).to_have_text("the lab's own test device")
    expect(rows.first.get_by_role("link", name=device)).to_be_visible()
    shot(page, "suppressions")
    assert page.errors == []  # type: ignore[attr-defined]
    page.close()


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
    # stamped in the city's time with its offset, as the page writes times (it took the
    # browser's clock, an hour off, unlabelled)
    expect(page.locator("#feed li.feed-dead_letter time")).to_have_text(
        re.compile(r"^\d\d:\d\d:\d\d UTC(\+0100)?$")
    )
    # an incident resolved meanwhile leaves the list of open incidents (it stayed, "resolved")
    row = page.locator("#incidents tbody tr").first
    incident = row.get_attribute("data-incident")
    admin = demo_server.session("admin", demo_server.admin_password)
    try:
        for step in ("acknowledged", "contained", "resolved"):
            moved = admin.post(f"/api/v1/incidents/{incident}/transition", json={"to": step})
            assert moved.status_code == 200, moved.text
    finally:
        admin.close()
    expect(page.locator(f'#incidents tbody tr[data-incident="{incident}"]')).to_have_count(0)
    shot(page, "overview-live")
    assert page.errors == []  # type: ignore[attr-defined]
    page.close()


def test_an_open_page_shows_what_colleagues_change_through_the_api(
    browser: Browser, demo_server: DemoServer
) -> None:
    users = {"ada": "alert-officer", "cem": "alert-officer", "ivo": "analyst", "vera": "viewer"}
    for name, role in users.items():
        demo_server.add_user(name, [role])
    ada, cem, ivo = (demo_server.session(n, PASSWORD) for n in ("ada", "cem", "ivo"))
    page = log_in(browser, demo_server, "vera", PASSWORD)
    try:
        expect(page.locator("#feed")).to_have_attribute("data-connected", "true")
        listed = ivo.get("/api/v1/incidents", params={"status": "new"}).json()
        incident = listed[0]
        made = ada.post("/api/v1/alerts", json={"incident_id": incident["id"]}).json()
        ident, headline = made["identifier"], made["headline"]
        assert cem.post(f"/api/v1/alerts/{ident}/approve").status_code == 200
        feed = page.locator("#feed li.feed-alert")
        expect(feed).to_have_count(2)
        expect(feed.first).to_contain_text(f"Alert '{headline}' approved by cem")
        expect(feed.last).to_contain_text(f"Alert '{headline}' drafted by ada")
        shot(page, "overview-live-alert")

        page.goto(f"{demo_server.url}/alerts")
        notice = page.get_by_role("status").filter(has=page.get_by_role("link"))
        expect(page.locator("#live-notice")).to_have_attribute("data-connected", "true")
        row = page.locator(f'tr[data-alert="{ident}"]')
        expect(row.locator(".state")).to_have_text("approved")
        assert ada.post(f"/api/v1/alerts/{ident}/publish").status_code == 200
        expect(notice).to_contain_text(f"Alert '{headline}' published by ada")
        expect(row.locator(".state")).to_have_text("approved")  # the row is as loaded
        shot(page, "alerts-live-notice")
        notice.get_by_role("link", name="Reload to see the changes").click()
        expect(row.locator(".state")).to_have_text("published")
        expect(page.locator("#live-notice")).to_be_empty()

        page.goto(f"{demo_server.url}/incidents/{incident['id']}")
        expect(page.locator("#live-notice")).to_have_attribute("data-connected", "true")
        moved = ivo.post(
            f"/api/v1/incidents/{incident['id']}/transition", json={"to": "acknowledged"}
        )
        assert moved.status_code == 200
        expect(page.locator("#incident-status")).to_have_text("acknowledged")
        expect(notice).to_contain_text(
            f"Incident '{incident['title']}' moved to acknowledged by ivo"
        )
        shot(page, "incident-live-notice")
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        page.close()
        for session in (ada, cem, ivo):
            session.close()


def test_a_failed_action_says_so_where_the_user_looks_and_offers_to_log_in_again(
    browser: Browser, demo_server: DemoServer
) -> None:
    # With the session ended, "Add comment" wrote its error at the top of the page, far above
    # the form: on screen nothing changed, and there was no way back but retyping the URL.
    demo_server.add_user("ida", ["analyst"])
    page = log_in(browser, demo_server, "ida", PASSWORD)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.locator("#incidents a").first.click()
    store = open_store(f"sqlite:///{demo_server.data_dir / 'citywatch.db'}")
    try:
        store.delete_sessions("ida")
    finally:
        store.close()
    page.fill("#comment", "on it")
    page.get_by_role("button", name="Add comment").click()
    notice = page.locator("#status")
    expect(notice).to_contain_text("credentials")
    expect(notice.get_by_role("link", name="Log in again")).to_have_attribute(
        "href", re.compile(r"^/login\?next=%2Fincidents%2F")
    )
    expect(notice).to_be_in_viewport()
    page.close()
