"""The organisers' main path in a real browser: sign in, create an event, see a registration, download XLSX."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from tests.fixtures_browser import ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = pytest.mark.browser


async def test_sign_in_create_event_see_registration_download_xlsx(live_server, page):
    await page.goto(live_server.url + "/admin/events/new")
    await page.wait_for_url("**/admin/login**")
    await page.get_by_label(re.compile("E-Mail-Adresse|E-mail address")).fill(ADMIN_EMAIL)
    await page.get_by_label(re.compile("^(Passwort|Password)$")).fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name=re.compile("Anmelden|Sign in")).click()
    await page.wait_for_url("**/admin/events/new")

    await page.get_by_label(re.compile("^(Titel|Title)")).fill("Workshop Interkulturelle Kompetenz (Browser)")
    await page.get_by_label(re.compile("^(Kapazität|Capacity)")).fill("12")
    await page.get_by_label(re.compile("^(Sichtbarkeit|Visibility)")).select_option("public")
    await page.locator('input[name="s0_date"]').fill("2030-05-06")
    await page.locator('input[name="s0_start"]').fill("09:00")
    await page.locator('input[name="s0_end"]').fill("16:00")
    await page.get_by_role("button", name=re.compile("Veranstaltung anlegen|Create event")).click()
    await page.wait_for_url(re.compile(r".*/admin/events/\d+\?done=created"))
    event_id = int(re.search(r"/admin/events/(\d+)", page.url).group(1))

    with live_server.api() as api:
        created = api.post(f"/api/v1/events/{event_id}/registrations",
                           json={"name": "Leyla Demir", "email": "leyla.demir@example.org"})
        assert created.status_code == 201, created.text
    await page.reload()
    assert await page.get_by_role("link", name="Leyla Demir").count() == 1

    await page.get_by_role("link", name=re.compile("Listen herunterladen|Download lists")).click()
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name=re.compile("XLSX")).click()
    download = await download_info.value
    path = await download.path()
    workbook = load_workbook(io.BytesIO(open(path, "rb").read()))
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert rows[1][0] == "Leyla Demir" and "leyla.demir@example.org" in rows[1]
