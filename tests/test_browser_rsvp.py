"""An invitee answers in a real browser with the code from the letter, using the keyboard only."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.fixtures_browser import _cli
from tests.fixtures_receptions import sample_bytes
from tests.helpers import in_days

pytestmark = pytest.mark.browser


async def test_invitee_answers_with_the_code_from_the_letter(live_server, page, tmp_path):
    with live_server.api() as api:
        created = api.post("/api/v1/events", json={
            "kind": "reception", "audience": "invitation", "title": "Einbürgerungsempfang Browser",
            "capacity": 50, "max_companions": 2, "location": "Rathaus",
            "starts_at": in_days(30).isoformat(), "ends_at": (in_days(30) + timedelta(hours=2)).isoformat(),
            "registration_closes_at": in_days(20).isoformat()})
        assert created.status_code == 201, created.text
        event_id = created.json()["id"]
        sample = tmp_path / "liste.csv"
        sample.write_bytes(sample_bytes())
        _cli(live_server.env, "import-invitations", str(event_id), str(sample), "--yes")
        invitees = {i["file_number"]: i for i in api.get(f"/api/v1/events/{event_id}/invitations").json()}
    code = invitees["EB-2026-0105"]["code"]  # Zahra Ahmadi, who has no e-mail address and gets a letter
    csp_errors: list[str] = []
    page.on("console", lambda message: csp_errors.append(message.text) if "Content Security" in message.text else None)

    await page.goto(live_server.url + "/rsvp")
    field = page.get_by_label(re.compile("Ihr Code|Your code"))
    await field.fill(f"{code[:4].lower()} {code[4:8]}-{code[8:]}")
    await field.press("Enter")
    await page.wait_for_url("**/rsvp/**")
    assert "Zahra Ahmadi" in await page.locator("main").inner_text()
    await page.get_by_label(re.compile("Ja, ich komme|Yes, I will come")).check()
    await page.get_by_label(re.compile("Begleitpersonen|Number of companions")).fill("2")
    await page.get_by_role("button", name=re.compile("Antwort senden|Send my answer")).click()
    await page.wait_for_url("**done=accepted")
    status = await page.locator(".status-line").inner_text()
    assert "2" in status
    with live_server.api() as api:
        answered = {i["file_number"]: i for i in api.get(f"/api/v1/events/{event_id}/invitations").json()}
    assert answered["EB-2026-0105"]["state"] == "accepted" and answered["EB-2026-0105"]["companions"] == 2
    assert answered["EB-2026-0105"]["registration_status"] == "confirmed"
    assert not csp_errors
