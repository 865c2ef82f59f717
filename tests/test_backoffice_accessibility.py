"""The back office in a real browser: no axe-core (WCAG 2.1 A/AA) violation on any of its pages in German
and Arabic, and the door on a phone (menu folded behind one button, the search field on the first screen,
registrations as cards with their status in view)."""

from __future__ import annotations

import json
import re

import pytest
from starlette.routing import Route

from events_app.web.routes import routes as table
from tests.fixtures_browser import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.fixtures_i18n import axe_violations

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


async def _signed_in_page(open_context, live_server, **options):
    context = await open_context(locale="de-DE", **options)
    page = await context.new_page()
    await page.goto(f"{live_server.url}/admin/login")
    await page.fill("input[name=email]", ADMIN_EMAIL)
    await page.fill("input[name=password]", ADMIN_PASSWORD)
    await page.press("input[name=password]", "Enter")
    await page.wait_for_url("**/admin")
    return page


async def _an_interpreter(page, live_server) -> int:
    """An entry in the interpreter pool, added through its form (the pool has no API)."""
    await page.goto(f"{live_server.url}/admin/interpreters")
    await page.fill("#f-name", "Samira Haddad")
    await page.fill("#f-phone", "0641 306-0")
    await page.check("#l-ar")
    await page.click("form[action='/admin/interpreters'] button[type=submit]")
    await page.wait_for_url("**done=interpreter_saved**")
    link = await page.get_attribute("a[href$='/edit'][href^='/admin/interpreters/']", "href")
    return int(link.split("/")[3])


def _back_office_paths(live_server, *, interpreter_id: int) -> list[str]:
    """Every back-office page that needs no file or job, for the first demo event of each kind."""
    with live_server.api() as api:
        events = [e for e in (api.get(f"/api/v1/events/{n}") for n in range(1, 8)) if e.status_code == 200]
        course = next(e.json() for e in events if e.json()["kind"] == "course")
        added = api.post(f"/api/v1/events/{course['id']}/registrations",
                         json={"name": "Mariam Haidari", "phone": "0176 1234567", "women_only": True})
        assert added.status_code == 201, added.text
    ids = {"event_id": [e.json()["id"] for e in events], "user_id": [1], "token_id": [1],
           "registration_id": [added.json()["id"]], "interpreter_id": [interpreter_id]}
    paths = []
    for route in table:
        if not isinstance(route, Route) or not route.path.startswith("/admin") or "GET" not in (route.methods or ()):
            continue
        params = set(route.param_convertors)
        if not params <= set(ids) or re.search(r"\.\w+$|\{fmt", route.path):
            continue
        values = {name: ids[name][0] for name in params}
        if "registration_id" in params:
            values["event_id"] = course["id"]
        paths.append(re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(values[m.group(1)]), route.path))
        if params == {"event_id"}:  # every kind of event's page, not only the first
            paths += [re.sub(r"\{event_id(:\w+)?\}", str(i), route.path) for i in ids["event_id"][1:]
                      if route.path.endswith("{event_id:id}")]
    return sorted(set(paths))


@pytest.mark.parametrize("language", ["de", "ar"])
async def test_axe_finds_no_violations_anywhere_in_the_back_office(live_server, open_context, axe_source, language):
    page = await _signed_in_page(open_context, live_server)
    found, checked = {}, 0
    interpreter_id = await _an_interpreter(page, live_server)
    paths = _back_office_paths(live_server, interpreter_id=interpreter_id)
    assert f"/admin/interpreters/{interpreter_id}/edit" in paths
    for path in paths:
        response = await page.goto(f"{live_server.url}{path}?lang={language}")
        if response.status != 200 or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        assert await page.get_attribute("html", "lang") == language
        checked += 1
        violations = await axe_violations(page, axe_source)
        if violations:
            found[path] = violations
    assert checked >= 15
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)


async def test_the_door_on_a_phone(live_server, open_context):
    with live_server.api() as api:
        course = next(e for e in (api.get(f"/api/v1/events/{n}").json() for n in range(1, 8))
                      if e.get("kind") == "course")
        added = api.post(f"/api/v1/events/{course['id']}/registrations",
                         json={"name": "Amal Haddad", "phone": "0176 7654321", "women_only": True})
        assert added.status_code == 201, added.text
    page = await _signed_in_page(open_context, live_server, viewport=PHONE, is_mobile=True, has_touch=True)
    await page.goto(f"{live_server.url}/admin/checkin/{course['id']}?lang=de")
    menu = page.get_by_role("button", name="Menü")
    assert await menu.get_attribute("aria-expanded") == "false"
    assert not await page.get_by_role("link", name="Konten").is_visible()  # folded away
    box = await page.get_by_label("Nach Namen suchen").bounding_box()
    assert box and box["y"] + box["height"] <= PHONE["height"], box  # on the first screen
    await menu.click()
    assert await page.get_by_role("link", name="Konten").is_visible()

    # the registrations list as cards: the status is on screen without scrolling sideways
    await page.goto(f"{live_server.url}/admin/events/{course['id']}?lang=de#registrations")
    cell = await page.locator("table.cards td[data-label]").first.bounding_box()
    assert cell and cell["x"] >= 0 and cell["x"] + cell["width"] <= PHONE["width"]
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
