"""Languages and the legal pages over HTTP (in-process): choice of language, switcher links,
right-to-left markup, translated form errors, accessibility statement and privacy notice."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from events_app.seats.events import SessionSpec
from events_app.core.i18n import LANGUAGES
from events_app.core.models import Registration
from tests.helpers import make_event


def _html_attrs(text: str) -> dict:
    tag = re.search(r"<html([^>]*)>", text).group(1)
    return dict(re.findall(r'(\w+)="([^"]*)"', tag))


async def test_language_is_query_then_cookie_then_accept_language(client, db):
    assert _html_attrs((await client.get("/", headers={"accept-language": "tr-TR,tr;q=0.9,en;q=0.5"})).text)["lang"] == "tr"
    assert _html_attrs((await client.get("/", headers={"accept-language": "pl, fa;q=0.8"})).text)["lang"] == "fa"
    assert _html_attrs((await client.get("/", headers={"accept-language": "pl"})).text)["lang"] == "de"
    chosen = await client.get("/?lang=uk", headers={"accept-language": "ar"})
    assert _html_attrs(chosen.text)["lang"] == "uk"
    assert "lang=uk" in chosen.headers["set-cookie"]
    # The cookie now wins over Accept-Language; an explicit ?lang= wins over the cookie.
    remembered = await client.get("/", headers={"accept-language": "ar"})
    assert _html_attrs(remembered.text)["lang"] == "uk"
    assert _html_attrs((await client.get("/?lang=en")).text)["lang"] == "en"
    assert _html_attrs((await client.get("/?lang=xx", headers={"accept-language": "ar"})).text)["lang"] == "en"


@pytest.mark.parametrize("language,direction", [("ar", "rtl"), ("fa", "rtl"), ("de", "ltr"), ("uk", "ltr")])
async def test_right_to_left_languages_set_dir_on_html(client, db, language, direction):
    event = await make_event()
    page = await client.get(f"/events/{event.id}?lang={language}")
    assert _html_attrs(page.text) == {"lang": language, "dir": direction}


async def test_switcher_names_each_language_in_itself_and_keeps_the_page(client, db):
    event = await make_event()
    page = await client.get(f"/events/{event.id}?lang=de")
    nav = re.search(r'<nav aria-label="Sprache wählen".*?</nav>', page.text, re.S).group(0)
    for code, name in LANGUAGES.items():
        assert f'href="/events/{event.id}?lang={code}" lang="{code}" hreflang="{code}"' in nav
        assert f">{name}</a>" in nav
    assert 'lang="de" hreflang="de" dir="ltr" aria-current="true"' in nav
    manage = await client.get("/r/unknown-token?new=1&lang=ar")
    assert 'href="/r/unknown-token?new=1&amp;lang=fa"' in manage.text


async def test_form_errors_all_at_once_translated_and_switcher_points_to_the_event(client, db):
    from events_app.core.models import Question

    event = await make_event()
    await Question.create(event=event, position=0, key="organisation", label="Organisation", kind="text", required=True)
    response = await client.post(f"/events/{event.id}/register?lang=ar", data={"name": "", "email": "x"})
    assert response.status_code == 422
    assert _html_attrs(response.text)["dir"] == "rtl"
    summary = re.search(r'<div class="error-summary".*?</div>', response.text, re.S).group(0)
    assert re.findall(r'href="#(f-[\w]+)"', summary) == ["f-name", "f-email", "f-q_organisation"]
    assert "يرجى إدخال اسمك." in summary and "يرجى الإجابة عن هذا السؤال." in summary
    assert 'aria-describedby="e-name"' in response.text and 'id="e-name"' in response.text
    assert f'href="/events/{event.id}?lang=de"' in response.text  # not the POST address
    assert await Registration.all().count() == 0


async def test_organiser_translations_are_used_with_german_fallback(client, db):
    event = await make_event(title="Schwimmkurs für Frauen", description="Acht Termine.",
                             translations={"uk": {"title": "Курс плавання для жінок"}})
    page = await client.get(f"/events/{event.id}?lang=uk")
    assert '<h1 lang="uk"><bdi>Курс плавання для жінок</bdi></h1>' in page.text
    assert 'class="description" lang="de" dir="auto"' in page.text  # untranslated: marked German
    german = await client.get(f"/events/{event.id}?lang=ar")
    assert '<h1 lang="de"><bdi>Schwimmkurs für Frauen</bdi></h1>' in german.text


async def test_german_pages_write_dates_the_german_way(client, db):
    utc = timezone.utc
    event = await make_event(sessions=[SessionSpec(datetime(2030, 3, 1, 17, tzinfo=utc), datetime(2030, 3, 1, 19, tzinfo=utc)),
                                       SessionSpec(datetime(2030, 7, 1, 16, tzinfo=utc), datetime(2030, 7, 1, 18, tzinfo=utc))])
    page = await client.get(f"/events/{event.id}")
    assert "<dt>Termine</dt>" in page.text
    assert "01.03.2030, 18:00–20:00 Uhr" in page.text and "01.07.2030, 18:00–20:00 Uhr" in page.text
    english = await client.get(f"/events/{event.id}?lang=en")
    assert "Mar 1, 2030, 6:00\u202fPM–8:00\u202fPM" in english.text


@pytest.mark.parametrize("language", sorted(LANGUAGES))
async def test_footer_links_to_the_statement_and_notice_which_answer(client, db, language):
    home = await client.get(f"/?lang={language}")
    assert 'href="/accessibility"' in home.text and 'href="/privacy"' in home.text
    for path in ("/accessibility", "/privacy"):
        page = await client.get(f"{path}?lang={language}")
        assert page.status_code == 200
        assert _html_attrs(page.text)["lang"] == language


async def test_accessibility_statement_has_the_published_fields(client, db):
    page = (await client.get("/accessibility?lang=de")).text
    for heading in ("Erklärung zur Barrierefreiheit", "Stand der Vereinbarkeit mit den Anforderungen",
                    "Nicht barrierefreie Inhalte", "Barriere melden", "Durchsetzungsverfahren"):
        assert heading in page
    assert "teilweise vereinbar" in page and "HVBIT" in page and "WCAG 2.1" in page
    assert 'href="mailto:integration@giessen.de"' in page
    assert "lbit.hessen.de" in page
    assert "24.11.2026" in page


async def test_privacy_notice_has_the_published_fields(client, db):
    page = (await client.get("/privacy?lang=de")).text
    for text in ("Verantwortliche Stelle", "Datenschutzbeauftragte", "Wozu wir Ihre Daten verarbeiten",
                 "Art. 6 Abs. 1 Buchst. e DSGVO", "90 Tage nach dem letzten Termin", "Ihre Rechte", "Art. 15 DSGVO",
                 "Beschwerderecht", "Der Hessische Beauftragte für Datenschutz und Informationsfreiheit"):
        assert text in page, text


async def test_legal_facts_come_from_settings(client, db, monkeypatch):
    monkeypatch.setenv("EVENTS_LEGAL_OPERATOR", "Stadt Musterstadt, Integrationsbüro")
    monkeypatch.setenv("EVENTS_LEGAL_EMAIL", "barrierefrei@musterstadt.example")
    monkeypatch.setenv("EVENTS_LEGAL_COMPLIANCE", "full")
    monkeypatch.setenv("EVENTS_LEGAL_KNOWN_ISSUES", "")
    monkeypatch.setenv("EVENTS_LEGAL_REVIEWED_ON", "2027-01-15")
    statement = (await client.get("/accessibility?lang=de")).text
    assert "<bdi>Stadt Musterstadt, Integrationsbüro</bdi>" in statement
    assert "mailto:barrierefrei@musterstadt.example" in statement
    assert "vollständig vereinbar" in statement and "Uns sind keine nicht barrierefreien Inhalte bekannt." in statement
    assert "15.01.2027" in statement


async def test_the_privacy_notice_states_the_retention_setting(settings):
    """One number: the period the notice states is EVENTS_RETENTION_DAYS, which the retention job uses."""
    import httpx

    from events_app.app import create_app

    app = create_app(settings.with_(retention_days=1), manage_orm=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        notice = (await http.get("/privacy?lang=uk")).text
    assert "через 1 день після" in notice


async def test_bad_legal_settings_fall_back_to_defaults(client, db, monkeypatch):
    monkeypatch.setenv("EVENTS_LEGAL_COMPLIANCE", "mostly")
    monkeypatch.setenv("EVENTS_LEGAL_REVIEWED_ON", "soon")
    statement = await client.get("/accessibility?lang=en")
    assert statement.status_code == 200 and "partially compliant" in statement.text and "<bdi>soon</bdi>" in statement.text
    assert "90 days after" in (await client.get("/privacy?lang=en")).text


async def test_error_page_is_translated_and_right_to_left(client, db):
    page = await client.get("/events/424242?lang=fa")
    assert page.status_code == 404
    assert _html_attrs(page.text) == {"lang": "fa", "dir": "rtl"}
    assert "این رویداد وجود ندارد یا برای عموم باز نیست." in page.text


async def test_companion_hint_uses_the_plural_form_of_each_language(client, db):
    one = await make_event(max_companions=1)
    three = await make_event(max_companions=3)
    assert "Sie dürfen 1 Person mitbringen." in (await client.get(f"/events/{one.id}")).text
    assert "Sie dürfen bis zu 3 Personen mitbringen." in (await client.get(f"/events/{three.id}")).text
    assert "يمكنك إحضار ما يصل إلى 3 أشخاص." in (await client.get(f"/events/{three.id}?lang=ar")).text
