"""Accessibility and languages in a real browser (Debian's Chromium through Playwright).

- Registering works with the keyboard alone, in German and in Arabic (right to left).
- axe-core finds no WCAG 2.1 A/AA violation on the public pages, the form with errors, the manage
  page, the statement pages, the RSVP code form, an invitee's answer page (also with errors), the
  back-office login and the back office's tick list.
- Pages reflow at 320 CSS pixels (what 400 % zoom of a 1280 px window gives): no sideways scrolling.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.fixtures_browser import _cli
from tests.fixtures_i18n import axe_violations
from tests.fixtures_receptions import sample_bytes
from events_app.core.timeutil import utcnow
from tests.helpers import in_days

pytestmark = pytest.mark.browser

COURSE_TITLE_AR = "دورة سباحة للنساء"


def _events(live_server) -> dict[str, dict]:
    """The demo events by title (invitation-only ones are not listed, so each id is asked for)."""
    found = {}
    with live_server.api() as api:
        for event_id in range(1, 13):
            response = api.get(f"/api/v1/events/{event_id}")
            if response.status_code == 200:
                found[response.json()["title"]] = response.json()
    return found


@pytest.fixture(scope="module")
def demo(live_server, tmp_path_factory) -> dict:
    """Ids of the demo events; the swimming course gets an Arabic title as an organiser would give it,
    and the reception its invitees (the authority's sample list)."""
    events = _events(live_server)
    festival = events["Global Village – Fest der Kulturen"]["id"]
    course = events["Schwimmkurs für Frauen"]["id"]
    reception = events["Einbürgerungsempfang der Stadt Gießen"]["id"]
    with live_server.api() as api:
        response = api.patch(f"/api/v1/events/{course}", json={"translations": {
            "ar": {"title": COURSE_TITLE_AR, "description": "ثمانية مواعيد، كل يوم اثنين. تسجيل واحد يشمل كل المواعيد."}}})
        assert response.status_code == 200, response.text
        registered = api.post(f"/api/v1/events/{festival}/registrations",
                              json={"name": "Oleksandr Kovalenko", "email": "o.kovalenko@example.org",
                                    "language": "uk", "answers": {"organisation": "Ukrainischer Verein Gießen"}})
        assert registered.status_code == 201, registered.text
    manage_path = "/r/" + registered.json()["manage_url"].rsplit("/r/", 1)[1]
    invitee_list = tmp_path_factory.mktemp("invitees") / "liste.csv"
    invitee_list.write_bytes(sample_bytes())
    _cli(live_server.env, "import-invitations", str(reception), str(invitee_list), "--yes")
    with live_server.api() as api:
        # a small hall with offers: one invitee comes, one waits, the first declines -> a seat is offered
        small = api.post("/api/v1/events", json={
            "kind": "reception", "audience": "invitation", "title": "Empfang im kleinen Saal", "capacity": 1,
            "offer_hours": 48, "starts_at": in_days(30).isoformat(),
            "ends_at": (in_days(30) + timedelta(hours=2)).isoformat()}).json()["id"]
        _cli(live_server.env, "import-invitations", str(small), str(invitee_list), "--yes")
        invitees = api.get(f"/api/v1/events/{reception}/invitations").json()
        first, second = api.get(f"/api/v1/events/{small}/invitations").json()[:2]
        for code, answer in ((first["code"], "accept"), (second["code"], "accept"), (first["code"], "decline")):
            answered = api.post(f"/api/v1/invitations/{code}/rsvp", json={"answer": answer})
            assert answered.status_code == 200, answered.text
        offered = {i["code"]: i for i in api.get(f"/api/v1/events/{small}/invitations").json()}[second["code"]]
        assert offered["registration_status"] == "offered" and offered["offer_expires_at"]

    def answer_path(invitee: dict) -> str:
        return "/rsvp/" + invitee["rsvp_url"].rsplit("/rsvp/", 1)[1]

    consultation = events["Sprechstunde für neu angekommene Frauen"]["id"]
    with live_server.api() as api:
        free = [s for s in api.get(f"/api/v1/events/{consultation}/slots").json() if s["free"]]
        booked = api.post(f"/api/v1/slots/{free[0]['id']}/bookings", json={
            "name": "Zahra Ahmadi", "phone": "0176 1234567", "interpreter_needed": True, "interpreter_language": "prs",
            "women_only": True})
        assert booked.status_code == 201, booked.text
        applied = api.post(f"/api/v1/events/{festival}/partners", json={
            "organisation": "Afghanischer Kulturverein", "contact_name": "Zahra Ahmadi",
            "email": "kulturverein@example.org", "needs": {"table": True}})
        assert applied.status_code == 201, applied.text
    return {"festival": festival, "course": course, "reception": reception, "manage": manage_path,
            "answer": answer_path(invitees[0]), "offered": answer_path(second), "consultation": consultation,
            "booking": "/b/" + booked.json()["manage_url"].rsplit("/b/", 1)[1],
            "partner": "/p/" + applied.json()["manage_url"].rsplit("/p/", 1)[1]}


async def _tab_until(page, condition: str, limit: int = 80) -> None:
    """Press Tab until the JS `condition` (about document.activeElement) holds."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate(condition):
            return
    focused = await page.evaluate("document.activeElement.outerHTML")
    raise AssertionError(f"never reached {condition!r} with Tab; focus is on {focused[:200]}")


def _focus_is(selector: str) -> str:
    return f"() => document.activeElement && document.activeElement.matches({json.dumps(selector)})"


def _focus_text(text: str) -> str:
    return f"() => document.activeElement && document.activeElement.textContent.includes({json.dumps(text)})"


async def _label_of(page, field_id: str) -> str:
    return await page.evaluate(f"document.getElementById({json.dumps(field_id)}).labels[0].innerText")


async def test_register_in_german_with_the_keyboard_only(live_server, demo, open_context):
    context = await open_context(locale="de-DE")
    page = await context.new_page()
    await page.goto(live_server.url + "/")
    assert await page.get_attribute("html", "lang") == "de"
    # The first Tab reaches the skip link, which becomes visible with a focus outline.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.classList.contains('skip-link')")
    box = await page.evaluate("(() => { const r = document.activeElement.getBoundingClientRect(); "
                              "return [r.top, r.bottom, getComputedStyle(document.activeElement).outlineStyle]; })()")
    assert box[0] >= 0 and box[1] > box[0] and box[2] != "none"

    await _tab_until(page, _focus_text("Global Village"))
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/events/{demo['festival']}")
    assert await _label_of(page, "f-name") == "Name (Pflichtfeld)"
    assert await _label_of(page, "f-email") == "E-Mail-Adresse (Pflichtfeld)"

    # Sending the empty form shows an error summary whose links lead to the fields.
    await _tab_until(page, _focus_is("button[type=submit]"))
    assert (await page.evaluate("document.activeElement.innerText")) == "Jetzt anmelden"
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#error-summary")
    assert (await page.title()).startswith("Fehler: ")
    # Without JavaScript, the summary takes the focus itself (autofocus), so it is read out first.
    assert await page.evaluate("document.activeElement.id") == "error-summary"
    summary = await page.inner_text("#error-summary")
    assert "Bitte prüfen Sie Ihre Angaben." in summary and "Bitte geben Sie Ihren Namen ein." in summary
    await _tab_until(page, _focus_text("Bitte geben Sie Ihren Namen ein."))
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "f-name"
    assert await page.get_attribute("#f-name", "aria-invalid") == "true"

    await page.keyboard.type("Maria Keller")
    await _tab_until(page, _focus_is("#f-email"))
    await page.keyboard.type("maria.keller@example.org")
    await _tab_until(page, _focus_is("#f-q_organisation"))
    await page.keyboard.type("Kulturverein Gießen")
    await _tab_until(page, _focus_is("#f-q_power"))
    await page.keyboard.press("Space")
    await _tab_until(page, _focus_is("button[type=submit]"))
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/r/**")
    assert await page.inner_text(".status-line") == "Bestätigt. Ihr Platz ist für Sie reserviert."
    facts = await page.inner_text(".facts")
    assert "Maria Keller" in facts and "Uhr" in facts


async def test_register_in_arabic_with_the_keyboard_only(live_server, demo, open_context):
    context = await open_context(locale="de-DE")
    page = await context.new_page()
    await page.goto(live_server.url + "/")
    # Switch language with the switcher: it names each language in itself and keeps the page.
    await _tab_until(page, _focus_text("العربية"))
    assert await page.evaluate("document.activeElement.getAttribute('lang')") == "ar"
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/?lang=ar")
    assert await page.get_attribute("html", "dir") == "rtl"
    assert await page.get_attribute("html", "lang") == "ar"
    assert await page.inner_text("h1") == "الفعاليات القادمة"

    await _tab_until(page, _focus_text(COURSE_TITLE_AR))
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/events/{demo['course']}")
    assert await page.get_attribute("html", "dir") == "rtl"
    assert await page.inner_text("h1") == COURSE_TITLE_AR
    assert await _label_of(page, "f-name") == "الاسم (مطلوب)"
    assert await _label_of(page, "f-phone") == "رقم الهاتف"
    # Mirrored layout: the form's labels start at the right edge.
    label_box = await page.locator("label[for=f-name]").bounding_box()
    main_box = await page.locator("main").bounding_box()
    assert label_box["x"] + label_box["width"] > main_box["x"] + main_box["width"] - 40

    await _tab_until(page, _focus_is("#f-name"))
    await page.keyboard.type("فاطمة أحمد")
    await _tab_until(page, _focus_is("#f-phone"))
    await page.keyboard.type("0176 12345678")
    await _tab_until(page, _focus_is("#f-q_childcare"))
    await page.keyboard.press("Space")
    await _tab_until(page, _focus_is("#f-women_only"))
    await page.keyboard.press("Space")
    await _tab_until(page, _focus_is("button[type=submit]"))
    assert (await page.evaluate("document.activeElement.innerText")) == "سجّل الآن"
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/r/**")
    assert await page.get_attribute("html", "dir") == "rtl"
    assert await page.inner_text("h1") == "تسجيلك"
    assert await page.inner_text(".status-line") == "تم التأكيد. مقعدك محجوز."
    assert await page.inner_text(".facts bdi >> nth=1") == "فاطمة أحمد"


@pytest.mark.parametrize("language", ["de", "ar"])
async def test_axe_finds_no_wcag_violations(live_server, demo, open_context, axe_source, language):
    context = await open_context(locale="de-DE")
    page = await context.new_page()
    paths = {
        "home": "/",
        "event with questions": f"/events/{demo['festival']}",
        "course for women": f"/events/{demo['course']}",
        "event by invitation": f"/events/{demo['reception']}",
        "manage page": demo["manage"],
        "delete my data": demo["manage"] + "/delete",
        "accessibility statement": "/accessibility",
        "privacy notice": "/privacy",
        "page not found": "/events/999999",
        "RSVP": "/rsvp",
        "invitee's answer page": demo["answer"],
        "answer page with a seat offered": demo["offered"],
        "back-office login": "/admin/login",
        "consultation slots": f"/events/{demo['consultation']}",
        "booked appointment": demo["booking"],
        "stand application form": f"/events/{demo['festival']}/partners",
        "partner's application page": demo["partner"],
    }
    found: dict[str, list] = {}
    for name, path in paths.items():
        separator = "&" if "?" in path else "?"
        await page.goto(f"{live_server.url}{path}{separator}lang={language}")
        assert await page.get_attribute("html", "lang") == language
        violations = await axe_violations(page, axe_source)
        if violations:
            found[name] = violations
    # The registration form with errors (sent empty).
    await page.goto(f"{live_server.url}/events/{demo['festival']}?lang={language}")
    await page.locator("form[action$='/register'] button[type=submit]").click()
    await page.wait_for_selector("#error-summary")
    violations = await axe_violations(page, axe_source)
    if violations:
        found["form with errors"] = violations
    # The invitee's answer with too many companions: errors next to the fields, nothing stored.
    await page.goto(f"{live_server.url}{demo['answer']}?lang={language}")
    await page.check("input[name=answer][value=accept]")
    await page.fill("#f-companions", "9")
    await page.locator("main form button[type=submit]").click()
    await page.wait_for_selector("#error-summary")
    assert await page.get_attribute("html", "lang") == language
    assert await page.get_attribute("#f-companions", "aria-invalid") == "true"
    violations = await axe_violations(page, axe_source)
    if violations:
        found["answer page with errors"] = violations
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)


@pytest.mark.parametrize("language", ["de", "ar"])
async def test_pages_reflow_at_320_pixels(live_server, demo, open_context, language):
    context = await open_context(locale="de-DE", viewport={"width": 320, "height": 640})
    page = await context.new_page()
    for path in ("/", f"/events/{demo['festival']}", f"/events/{demo['course']}", demo["manage"],
                 demo["answer"], demo["offered"], "/accessibility", "/privacy", f"/events/{demo['consultation']}",
                 f"/events/{demo['festival']}/partners", demo["booking"], demo["partner"]):
        await page.goto(f"{live_server.url}{path}?lang={language}")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{path} in {language} is {width}px wide at a 320px viewport"


async def test_axe_reports_a_field_without_label(live_server, open_context, axe_source):
    """Negative control: the check sees a violation when there is one."""
    context = await open_context(locale="de-DE")
    page = await context.new_page()
    await page.goto(live_server.url + "/")
    await page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text name=x>')")
    assert "label" in {violation["id"] for violation in await axe_violations(page, axe_source)}


@pytest.mark.parametrize("language", ["de", "ar"])
async def test_every_tab_stop_shows_where_the_focus_is(live_server, demo, open_context, language):
    """WCAG 2.4.7: each element reached with Tab draws a focus indicator (outline or ring)."""
    context = await open_context(locale="de-DE")
    page = await context.new_page()
    for path in ("/", f"/events/{demo['festival']}", demo["manage"]):
        await page.goto(f"{live_server.url}{path}?lang={language}")
        seen = 0
        for _ in range(60):
            await page.keyboard.press("Tab")
            state = await page.evaluate("""() => {
                const el = document.activeElement;
                if (!el || el === document.body) return null;
                const style = getComputedStyle(el);
                return {tag: el.outerHTML.slice(0, 80), outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
                        ring: style.boxShadow !== 'none'};
            }""")
            if state is None:
                break  # past the last tab stop
            assert state["outline"] or state["ring"], f"no visible focus on {state['tag']} ({path}, {language})"
            seen += 1
        assert seen >= 8, f"only {seen} tab stops on {path}"


@pytest.mark.parametrize("language", ["de", "ar"])
async def test_the_attendance_tick_list_works_with_the_keyboard_and_passes_axe(live_server, demo, open_context,
                                                                              axe_source, language):
    """The back office's tick list per date: a plain form (no JavaScript), ticked and saved with the keyboard."""
    from tests.fixtures_browser import ADMIN_EMAIL, ADMIN_PASSWORD

    name = {"de": "Farida Noori", "ar": "فريدة نوري"}[language]  # names no other test of the shared demo uses
    with live_server.api() as api:
        registered = api.post(f"/api/v1/events/{demo['course']}/registrations",
                              json={"name": name, "phone": "0176 1234567", "women_only": True})
        assert registered.status_code == 201 and registered.json()["status"] == "confirmed", registered.text
        # the course's first date has begun (attendance is recorded only from a date's start)
        course = api.get(f"/api/v1/events/{demo['course']}").json()
        first = course["sessions"][0]
        moved = api.patch(f"/api/v1/events/{demo['course']}", json={"sessions": [
            {"id": first["id"], "starts_at": (utcnow() - timedelta(hours=1)).isoformat(),
             "ends_at": (utcnow() + timedelta(minutes=30)).isoformat()},
            *({"id": s["id"], "starts_at": s["starts_at"], "ends_at": s["ends_at"]} for s in course["sessions"][1:])]})
        assert moved.status_code == 200, moved.text
    context = await open_context(locale="de-DE")
    page = await context.new_page()
    await page.goto(f"{live_server.url}/admin/events/{demo['course']}/attendance?lang={language}")
    await page.fill("input[name=email]", ADMIN_EMAIL)
    await page.fill("input[name=password]", ADMIN_PASSWORD)
    await page.press("input[name=password]", "Enter")
    await page.wait_for_url(f"**/admin/events/{demo['course']}/attendance?lang={language}")
    assert await page.get_attribute("html", "lang") == language
    assert await axe_violations(page, axe_source) == []
    box = page.get_by_label(name, exact=True)
    await box.focus()
    await page.keyboard.press("Space")
    await _tab_until(page, "document.activeElement.matches('form[action$=attendance] > button[type=submit]')")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**done=attendance_saved**")
    assert await page.get_by_label(name, exact=True).is_checked()
    assert await axe_violations(page, axe_source) == []  # with the saved notice and a mark in the grid
