"""Consultation hours and festival partners in a real browser: a woman books a slot in Arabic (right to left) and
an association applies for a stand in Ukrainian, each ending on their own page."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def _event_id(live_server, title: str) -> int:
    with live_server.api() as api:
        listed = api.get("/api/v1/events")
        assert listed.status_code == 200, listed.text
        return next(e["id"] for e in listed.json() if e["title"] == title)


async def test_book_a_consultation_slot_in_arabic(live_server, open_context):
    event_id = _event_id(live_server, "Sprechstunde für neu angekommene Frauen")
    context = await open_context(locale="ar")
    page = await context.new_page()
    await page.goto(f"{live_server.url}/events/{event_id}?lang=ar")
    assert await page.get_attribute("html", "dir") == "rtl"
    first_free = page.locator("input[name=slot]").first
    chosen = await first_free.get_attribute("value")
    await first_free.check()
    await page.fill("#f-name", "فاطمة أحمد")
    await page.fill("#f-phone", "0176 2223334")
    await page.select_option("#f-interpreter", "prs")
    await page.check("#f-women_only")
    await page.locator("main form button[type=submit]").click()
    await page.wait_for_url("**/b/**")
    assert await page.get_attribute("html", "dir") == "rtl"
    assert "تم حجز موعدك." in await page.inner_text("main")
    assert "الدارية" in await page.inner_text(".facts")  # the interpreter's language, in Arabic
    with live_server.api() as api:
        slots = {s["id"]: s["free"] for s in api.get(f"/api/v1/events/{event_id}/slots").json()}
    assert slots[int(chosen)] is False
    # cancelling by the personal page frees the slot at once
    await page.locator("main form button[type=submit]").click()
    await page.wait_for_load_state()
    with live_server.api() as api:
        slots = {s["id"]: s["free"] for s in api.get(f"/api/v1/events/{event_id}/slots").json()}
    assert slots[int(chosen)] is True


async def test_apply_for_a_stand_in_ukrainian(live_server, open_context):
    event_id = _event_id(live_server, "Global Village – Fest der Kulturen")
    context = await open_context(locale="uk")
    page = await context.new_page()
    await page.goto(f"{live_server.url}/events/{event_id}?lang=uk")
    await page.get_by_role("link", name="Ви об'єднання? Подайте заявку на стенд.").click()
    await page.wait_for_url(f"**/events/{event_id}/partners*")
    await page.get_by_label("Організація").first.fill("Український хор Гіссен")
    await page.get_by_label("Контактна особа").fill("Олена Коваль")
    await page.locator("#f-email").fill("chor@example.org")
    await page.check("#f-need_power")
    await page.locator("main form button[type=submit]").click()
    await page.wait_for_url("**/p/**")
    facts = await page.inner_text(".facts")
    assert "Український хор Гіссен" in facts and "на розгляді" in facts
