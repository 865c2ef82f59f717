"""German everywhere in the German back office (and English in the English one): every page of the back
office and every export header is crawled, and no English message id may show on a German page (no
German translation on an English page)."""

from __future__ import annotations

import csv
import html
import io
import re

from babel.messages.pofile import read_po
from starlette.routing import Route

from events_app import demo
from events_app.core.i18n import TRANSLATIONS_DIR
from events_app.core.models import ApiToken, Event, EventKind, Registration, User
from events_app.seats import registration
from events_app.seats.registration import Applicant
from events_app.web.routes import routes
from tests.fixtures_backoffice import sign_in

#: Routes that need a file or a job that the crawl does not make.
SKIPPED_PARAMS = {"name", "job_id", "upload_id", "fmt", "format", "serial", "token", "code", "invitation_id",
                  "newsletter_id", "message_id"}


def _catalog(language: str) -> dict[str, str]:
    with open(TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f)
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and isinstance(m.string, str)}


def _foreign_messages(language: str) -> tuple[set[str], set[str]]:
    """Texts that must not appear on a page in `language`: (phrases of two words or more, single words).

    In German: English message ids whose German differs. In English: German translations that differ.
    """
    german = _catalog("de")
    if language == "de":
        texts = {msgid for msgid, text in german.items() if text and text != msgid}
    else:
        texts = {text for msgid, text in german.items() if text and text != msgid}
    texts = {t for t in texts if "%(" not in t and "{" not in t}
    phrases = {t for t in texts if len(t.split()) >= 2 and len(t) >= 10}
    words = {t for t in texts if len(t.split()) == 1 and len(t) >= 3}
    return phrases, words


def _texts(page: str) -> set[str]:
    """Each piece of text a reader sees or hears on its own: text between tags, labels for screen readers."""
    page = re.sub(r"(?is)<(script|style|textarea)\b.*?</\1>", " ", page)
    page = re.sub(r'(?is)<input\b[^>]*type="hidden"[^>]*>', " ", page)
    attributes = re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*)"', page)
    nodes = re.split(r"(?s)<[^>]+>", page)
    return {" ".join(html.unescape(t).split()).rstrip(":*").strip() for t in [*nodes, *attributes]} - {""}


async def _crawl_data(client):
    await demo.load()
    me = await sign_in(client, "admin")
    staff = await Event.get(kind=EventKind.WORKSHOP)
    course = await Event.get(kind=EventKind.COURSE)
    await registration.register(event_id=staff.id, applicant=Applicant(
        name="Erika Muster", email="erika@giessen.de", answers={"department": "Amt 50"}))
    await registration.register(event_id=course.id, applicant=Applicant(
        name="Amal Haddad", phone="+49 641 1234", language="ar", answers={"childcare": True}),
        languages=("de", "ar"))
    return me


def _paths(ids: dict[str, list[int]]) -> list[str]:
    paths = []
    for route in routes:
        if not isinstance(route, Route) or not route.path.startswith("/admin") or "GET" not in (route.methods or ()):
            continue
        params = set(route.param_convertors)
        if params & SKIPPED_PARAMS or route.path.endswith((".pdf", ".zip", ".xlsx", ".csv")) or "{fmt" in route.path:
            continue
        choices = [{}]
        for param in params:
            choices = [{**chosen, param: value} for chosen in choices for value in ids.get(param, [])]
        for chosen in choices:
            paths.append(re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(chosen[m.group(1)]), route.path))
    return paths


async def _ids() -> dict[str, list[int]]:
    events = await Event.all().order_by("id").values_list("id", flat=True)
    registrations = await Registration.all().order_by("id").values_list("id", "event_id")
    return {"event_id": list(events), "user_id": list(await User.all().values_list("id", flat=True)),
            "token_id": list(await ApiToken.all().values_list("id", flat=True)),
            "registration_id": [r for r, _ in registrations]}


async def _check_pages(client, language: str) -> dict[str, list[str]]:
    phrases, _ = _foreign_messages(language)
    found: dict[str, list[str]] = {}
    checked: list[str] = []
    ids = await _ids()
    owner = dict(await Registration.all().values_list("id", "event_id"))
    for path in _paths(ids):
        pair = re.search(r"/events/(\d+)/registrations/(\d+)", path)
        if pair and owner.get(int(pair.group(2))) != int(pair.group(1)):  # a registration of another event
            continue
        response = await client.get(path, params={"lang": language})
        # 409: a page for another kind of event (a festival's partners of a course)
        assert response.status_code in (200, 303, 403, 404, 409), (path, response.status_code)
        if response.status_code != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue
        leaks = sorted(_texts(response.text) & phrases)
        if leaks:
            found[path] = leaks
        checked.append(path)
    assert len(checked) >= 20, checked  # the crawl reached the back office, not only its login page
    return found


async def _export_headers(client, language: str) -> dict[str, list[str]]:
    _, words = _foreign_messages(language)
    phrases, _ = _foreign_messages(language)
    foreign = words | phrases
    found = {}
    for event_id in (await _ids())["event_id"]:
        page = await client.get(f"/admin/events/{event_id}/export", params={"lang": language})
        columns = re.findall(r'name="columns" value="([^"]+)"', page.text)
        response = await client.get(f"/admin/events/{event_id}/export.csv",
                                    params={"columns": ",".join(columns), "language": language, "lang": language})
        assert response.status_code == 200
        header = next(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
        leaks = [cell for cell in header if cell in foreign]
        if leaks:
            found[f"export {event_id}"] = leaks
    return found


async def test_no_english_in_the_german_back_office(client, db):
    await _crawl_data(client)
    assert await _check_pages(client, "de") == {}
    assert await _export_headers(client, "de") == {}


async def test_no_german_in_the_english_back_office(client, db):
    await _crawl_data(client)
    assert await _check_pages(client, "en") == {}
    assert await _export_headers(client, "en") == {}


async def test_the_crawl_sees_a_leak():
    """The check itself: an English message id in a German page is found (negative control)."""
    phrases, words = _foreign_messages("de")
    assert "I need childcare during the course." in phrases
    assert "Seats" in words
    page = "<p>Bitte wählen Sie:</p><label>I need childcare during the course.</label>"
    assert _texts(page) & phrases == {"I need childcare during the course."}
