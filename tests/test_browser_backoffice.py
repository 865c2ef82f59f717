"""The organisers' main path in a real browser: sign in, create an event, see a registration, download XLSX."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from tests.fixtures_browser import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.fixtures_i18n import axe_violations

pytestmark = pytest.mark.browser


async def test_sign_in_create_event_see_registration_download_xlsx(live_server, page):
    await page.goto(live_server.url + "/admin/events/new")
    await page.wait_for_url("**/admin/login**")
    await page.get_by_label(re.compile("E-Mail-Adresse|E-mail address")).fill(ADMIN_EMAIL)
    await page.get_by_label(re.compile("^(Passwort|Password)$")).fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name=re.compile("Anmelden|Sign in")).click()
    await page.wait_for_url("**/admin/events/new")

    await page.get_by_label(re.compile(r"^(Titel|Title) \((Pflichtfeld|required)\)")).fill("Workshop Interkulturelle Kompetenz (Browser)")
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


async def test_check_in_on_a_phone(live_server, browser):
    with live_server.api() as api:
        festival = next(e for e in api.get("/api/v1/events").json() if e["kind"] == "festival")
        created = api.post(f"/api/v1/events/{festival['id']}/registrations",
                           json={"name": "Ayşe Yılmaz", "email": "ayse.yilmaz@example.org",
                                 "answers": {"organisation": "Elternverein"}})
        assert created.status_code == 201, created.text
    context = await browser.new_context(locale="de-DE", viewport={"width": 390, "height": 844}, is_mobile=True,
                                        has_touch=True)
    phone = await context.new_page()
    try:
        await phone.goto(f"{live_server.url}/admin/checkin/{festival['id']}")
        await phone.get_by_label(re.compile("E-Mail-Adresse|E-mail address")).fill(ADMIN_EMAIL)
        await phone.get_by_label(re.compile("^(Passwort|Password)$")).fill(ADMIN_PASSWORD)
        await phone.get_by_role("button", name=re.compile("Anmelden|Sign in")).click()
        await phone.wait_for_url(f"**/admin/checkin/{festival['id']}")
        await phone.get_by_label(re.compile("Nach Namen suchen|Search by name")).fill("ayse")
        await phone.get_by_label(re.compile("Nach Namen suchen|Search by name")).press("Enter")
        await phone.get_by_role("button", name=re.compile("^(Da|Arrived)$")).click()
        await phone.wait_for_url(re.compile(r".*done=arrived"))
        person = phone.locator(".person.arrived")
        assert "Ayşe Yılmaz" in await person.inner_text()
        counts = await phone.locator(".counts").inner_text()
        assert re.match(r"1 (von|of) \d+", counts)
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing forces sideways scrolling on a phone
    finally:
        await context.close()


async def test_certificate_text_form_with_errors_and_training_record_pass_axe(live_server, open_context, axe_source,
                                                                               tmp_path):
    """The new back-office pages: the certificate form showing an upload error, and the training record."""
    context = await open_context(locale="de-DE")
    page = await context.new_page()
    with live_server.api() as api:
        workshop = next(e for e in api.get("/api/v1/events").json() if e["audience"] == "staff")
    await page.goto(f"{live_server.url}/admin/events/{workshop['id']}/certificates")
    await page.wait_for_url("**/admin/login**")
    await page.get_by_label(re.compile("E-Mail-Adresse|E-mail address")).fill(ADMIN_EMAIL)
    await page.get_by_label(re.compile("^(Passwort|Password)$")).fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name=re.compile("Anmelden|Sign in")).click()
    await page.wait_for_url(f"**/admin/events/{workshop['id']}/certificates")
    not_an_image = tmp_path / "logo.png"
    not_an_image.write_text("kein Bild")
    await page.locator("#f-logo").set_input_files(str(not_an_image))
    await page.get_by_role("button", name=re.compile("Text der Bescheinigung speichern|Save certificate text")).click()
    await page.wait_for_selector("#e-logo")
    found = {"certificates with errors": await axe_violations(page, axe_source)}
    await page.get_by_role("link", name=re.compile("^(Fortbildungsnachweis|Training record)$")).click()
    await page.wait_for_url("**/admin/training")
    found["training record"] = await axe_violations(page, axe_source)
    assert not any(found.values()), found


@pytest.mark.parametrize("language", ["de", "ar"])
async def test_statistics_and_personal_data_pages_pass_axe(live_server, open_context, axe_source, language):
    """The statistics page (charts drawn as SVG with their tables) and the admins' personal-data search."""
    context = await open_context(locale="de-DE")
    page = await context.new_page()
    await page.goto(f"{live_server.url}/admin/statistics?lang={language}")
    await page.wait_for_url("**/admin/login**")
    await page.get_by_label(re.compile("E-Mail-Adresse|E-mail address|البريد")).fill(ADMIN_EMAIL)
    await page.locator("input[type=password]").fill(ADMIN_PASSWORD)
    await page.locator("main form button[type=submit]").click()
    await page.wait_for_url("**/admin/statistics**")
    found = {"statistics": await axe_violations(page, axe_source)}
    await page.goto(f"{live_server.url}/admin/privacy?email=nobody%40example.org&lang={language}")
    found["personal data"] = await axe_violations(page, axe_source)
    assert not any(found.values()), found
