"""The public path in a real browser: open the home page, an event, register with the keyboard."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


async def test_register_for_a_public_event_with_the_keyboard(live_server, page):
    await page.goto(live_server.url + "/")
    await page.get_by_role("link", name="Global Village – Fest der Kulturen").click()
    await page.get_by_label("Name").fill("Maria Keller")
    await page.get_by_label("E-Mail-Adresse").fill("m.keller@example.org")  # another test registers maria.keller for this festival
    await page.get_by_label("Organisation / Verein").fill("Kulturverein Gießen")
    await page.get_by_label("Organisation / Verein").press("Enter")
    await page.wait_for_url("**/r/**")
    status = await page.locator(".status-line").inner_text()
    assert status == "Bestätigt. Ihr Platz ist für Sie reserviert."
