"""Newsletter and announcements: double opt-in, announcements once per person in their language,
RFC 8058 one-click unsubscribe, expiry of unconfirmed addresses, no leak of who is subscribed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from events_app.core.models import (Announcement, AuditEntry, EventSession, Newsletter, OutboxMessage, OutboxState,
                                    Registration, RegistrationStatus, Subscription, Visibility)
from events_app.core.timeutil import utcnow
from events_app.mail import delivery
from events_app.newsletter import sending, subscriptions
from events_app.seats import events, registration
from events_app.seats.registration import Applicant
from tests.fixtures_backoffice import sign_in
from tests.helpers import both_databases, in_days, make_event

STAFF = ("giessen.de", "stadt-giessen.de")


async def subscribe(client, email: str, kinds=("course",), newsletter=False, language="de"):
    return await client.post("/api/v1/subscriptions", json={"email": email, "kinds": list(kinds),
                                                            "newsletter": newsletter, "language": language})


def link_in(message, pattern: str) -> str:
    text = message.get_body(("plain",)).get_content()
    match = re.search(pattern, text)
    assert match, text
    return match.group(0)


async def confirmed(client, smtp_server, settings, email: str, **kwargs) -> Subscription:
    """Subscribe and follow the link as a person would: the page, then its button."""
    assert (await subscribe(client, email, **kwargs)).status_code == 202
    await delivery.deliver_due(settings)
    [mail] = smtp_server.to(email)
    url = link_in(mail, r"https://events\.giessen\.de/subscriptions/\S+/confirm")
    path = url.removeprefix("https://events.giessen.de")
    assert (await client.post(path)).status_code == 200
    smtp_server.received.clear()
    return await Subscription.get(email=email)


@both_databases
async def test_double_opt_in_end_to_end(client, db, smtp_settings, smtp_server):
    response = await subscribe(client, "amira@example.org", kinds=["course", "tour"], newsletter=True, language="ar")
    assert response.status_code == 202
    stored = await Subscription.get(email="amira@example.org")
    assert stored.confirmed_at is None and stored.kinds == [] and stored.pending["kinds"] == ["course", "tour"]

    # nothing but the confirmation mail before the link is followed, even when a course opens
    await make_event(kind="course", title="Schwimmkurs")
    assert await sending.announce_due(staff_domains=STAFF) == 0
    await delivery.deliver_due(smtp_settings)
    [mail] = smtp_server.to("amira@example.org")
    assert "List-Unsubscribe" not in mail
    url = link_in(mail, r"https://events\.giessen\.de/subscriptions/\S+/confirm")
    path = url.removeprefix("https://events.giessen.de")

    # a GET (a mail scanner opening the link) shows a button and confirms nothing
    page = await client.get(path)
    assert page.status_code == 200 and f'action="{path}"' in page.text
    assert (await Subscription.get(email="amira@example.org")).confirmed_at is None

    done = await client.post(path)
    assert done.status_code == 200
    subscription = await Subscription.get(email="amira@example.org")
    assert subscription.confirmed_at is not None
    assert (subscription.kinds, subscription.newsletter, subscription.language) == (["course", "tour"], True, "ar")
    assert subscription.consent["source"] == "api" and subscription.consent["confirmed_at"]
    assert "double opt-in" in subscription.consent["method"]
    # the confirmation link is used up: following it again changes nothing and says so
    again = await client.post(path)
    assert again.status_code == 404
    assert "Nothing was changed" in (await client.get(path + "?lang=en")).text


@both_databases
async def test_announcement_once_per_subscriber_in_their_language(client, db, smtp_settings, smtp_server):
    await confirmed(client, smtp_server, smtp_settings, "amira@example.org", kinds=["course"], language="ar")
    await confirmed(client, smtp_server, smtp_settings, "bernd@example.org", kinds=["course", "tour"], language="de")
    await confirmed(client, smtp_server, smtp_settings, "tour@example.org", kinds=["tour"], language="de")
    draft = await make_event(kind="course", title="Schwimmkurs für Frauen", visibility="draft",
                             translations={"ar": {"title": "دورة سباحة للنساء"}})
    later = await make_event(kind="course", title="Späterer Kurs", registration_opens_at=in_days(3))
    assert await sending.announce_due(staff_domains=STAFF) == 0  # a draft, and a course not open yet

    await events.update_event(event_id=draft.id, values={"visibility": Visibility.PUBLIC})
    assert await sending.announce_due(staff_domains=STAFF) == 2
    assert await sending.announce_due(staff_domains=STAFF) == 0  # never twice
    await delivery.deliver_due(smtp_settings)
    [arabic] = smtp_server.to("amira@example.org")
    [german] = smtp_server.to("bernd@example.org")
    assert smtp_server.to("tour@example.org") == []
    assert "دورة سباحة للنساء" in arabic["Subject"] and arabic["Content-Language"] == "ar"
    assert "Schwimmkurs für Frauen" in german["Subject"]
    body = german.get_body(("plain",)).get_content()
    assert f"https://events.giessen.de/events/{draft.id}" in body
    # RFC 8058 headers with the subscriber's own address
    bernd = await Subscription.get(email="bernd@example.org")
    assert german["List-Unsubscribe"] == f"<https://events.giessen.de/unsubscribe/{bernd.token}>"
    assert german["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # the later course is announced when its registration opens, once
    assert await sending.announce_due(staff_domains=STAFF, now=in_days(3) + timedelta(hours=1)) == 2
    assert await Announcement.filter(event_id=later.id).count() == 2
    assert await sending.announce_due(staff_domains=STAFF, now=in_days(4)) == 0


@both_databases
async def test_one_click_unsubscribe_deletes_the_address(client, db, smtp_settings, smtp_server):
    subscription = await confirmed(client, smtp_server, smtp_settings, "amira@example.org", kinds=["course"])
    await make_event(kind="course")
    await sending.announce_due(staff_domains=STAFF)
    assert await OutboxMessage.filter(recipient="amira@example.org", state=OutboxState.QUEUED).count() == 1
    # the page (GET) changes nothing
    page = await client.get(f"/unsubscribe/{subscription.token}")
    assert page.status_code == 200 and await Subscription.filter(email="amira@example.org").exists()

    response = await client.post(f"/unsubscribe/{subscription.token}", content=b"List-Unsubscribe=One-Click",
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert not await Subscription.filter(email="amira@example.org").exists()
    assert not await Announcement.all().exists()
    assert not await OutboxMessage.filter(recipient="amira@example.org", state=OutboxState.QUEUED).exists()
    # a reused or forged link gets a clear page and changes nothing
    again = await client.post(f"/unsubscribe/{subscription.token}", content=b"List-Unsubscribe=One-Click",
                              headers={"content-type": "application/x-www-form-urlencoded"})
    assert again.status_code == 404
    forged = await client.get("/unsubscribe/" + "x" * 43)
    assert forged.status_code == 404 and "nicht" in forged.text


@both_databases
async def test_unsubscribe_page_can_keep_some_kinds(client, db, smtp_settings, smtp_server):
    subscription = await confirmed(client, smtp_server, smtp_settings, "bernd@example.org",
                                   kinds=["course", "tour"], newsletter=True)
    response = await client.post(f"/unsubscribe/{subscription.token}", data={"keep": ["tour", "newsletter"]})
    assert response.status_code == 200
    kept = await Subscription.get(email="bernd@example.org")
    assert (kept.kinds, kept.newsletter) == (["tour"], True)
    response = await client.post(f"/unsubscribe/{subscription.token}", data={})
    assert response.status_code == 200 and "gelöscht" in response.text
    assert not await Subscription.filter(email="bernd@example.org").exists()


@both_databases
async def test_unconfirmed_subscriptions_expire_after_seven_days(client, db):
    for email in ("old@example.org", "new@example.org"):
        assert (await subscribe(client, email)).status_code == 202
    await Subscription.filter(email="old@example.org").update(created_at=utcnow() - timedelta(days=7, minutes=1))
    await Subscription.filter(email="new@example.org").update(created_at=utcnow() - timedelta(days=6))
    assert await subscriptions.delete_unconfirmed() == 1
    assert await Subscription.all().values_list("email", flat=True) == ["new@example.org"]


async def test_no_leak_of_who_is_subscribed(client, db, smtp_settings, smtp_server):
    await confirmed(client, smtp_server, smtp_settings, "known@example.org", kinds=["course"])
    await Subscription.all().update(confirmation_sent_at=utcnow() - timedelta(days=30))  # subscribed long ago
    known = await subscribe(client, "known@example.org", kinds=["tour"])
    unknown = await subscribe(client, "unknown@example.org", kinds=["tour"])
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json()) == (202, known.json())
    assert set(known.headers) - {"date"} == set(unknown.headers) - {"date"}
    # each address gets the one confirmation mail; the known one's subscription is unchanged until then
    await delivery.deliver_due(smtp_settings)
    assert len(smtp_server.to("known@example.org")) == len(smtp_server.to("unknown@example.org")) == 1
    assert (await Subscription.get(email="known@example.org")).kinds == ["course"]
    # within the hour, asking again sends nothing more to either
    for email in ("known@example.org", "unknown@example.org"):
        assert (await subscribe(client, email, kinds=["tour"])).status_code == 202
    await delivery.deliver_due(smtp_settings)
    assert len(smtp_server.to("known@example.org")) == len(smtp_server.to("unknown@example.org")) == 1
    # an hour later a new confirmation may go out
    await Subscription.all().update(confirmation_sent_at=utcnow() - timedelta(hours=1, minutes=1))
    assert (await subscribe(client, "unknown@example.org")).status_code == 202
    assert await OutboxMessage.filter(recipient="unknown@example.org", template="subscription_confirm").count() == 2


@pytest.mark.parametrize("body, field", [
    ({"email": "not an address", "kinds": ["course"]}, "email"),
    ({"email": "a@example.org", "kinds": ["reception"]}, "kinds"),
    ({"email": "a@example.org", "kinds": "course; DROP"}, "kinds"),
    ({"email": "a@example.org", "kinds": [], "newsletter": False}, "kinds"),
    ({"email": "a@example.org", "kinds": ["workshop"]}, "kinds"),
    ({"email": "a@example.org", "kinds": ["course"], "newsletter": "yes"}, "newsletter"),
    ({"email": "a@example.org", "kinds": ["course"], "language": "xx"}, "language"),
    ({"email": ["a@example.org"], "kinds": ["course"]}, "email"),
])
async def test_bad_subscription_requests_are_refused_with_the_field(client, db, body, field):
    response = await client.post("/api/v1/subscriptions", json=body, headers={"accept-language": "de"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["errors"]
    assert not await Subscription.exists()


async def test_staff_workshops_need_a_work_address(client, db):
    assert (await subscribe(client, "anna.schmidt@giessen.de", kinds=["workshop"])).status_code == 202
    assert (await Subscription.get(email="anna.schmidt@giessen.de")).pending["kinds"] == ["workshop"]


async def test_subscribe_form_on_home_and_event_pages(client, db):
    event = await make_event(kind="course", title="Schwimmkurs")
    home = await client.get("/")
    assert 'action="/subscribe"' in home.text and 'value="course"' in home.text
    page = await client.get(f"/events/{event.id}")
    assert 'id="s-kind-course" name="kinds" value="course" checked' in page.text
    reception = await make_event(kind="reception", audience="invitation", visibility="unlisted")
    assert 'action="/subscribe"' not in (await client.get(f"/events/{reception.id}")).text

    bad = await client.post("/subscribe", data={"email": "kaputt", "kinds": ["course"], "language": "de"})
    assert bad.status_code == 422 and "Diese E-Mail-Adresse ist ungültig." in bad.text
    assert not await Subscription.exists()
    good = await client.post("/subscribe?lang=ar", data={"email": "amira@example.org", "kinds": ["course"],
                                                         "language": "ar"})
    assert good.status_code == 200 and 'dir="rtl"' in good.text
    pending = (await Subscription.get(email="amira@example.org")).pending
    assert (pending["kinds"], pending["language"], pending["source"]) == (["course"], "ar", "form")


async def test_forged_confirmation_link_changes_nothing(client, db):
    await subscribe(client, "amira@example.org")
    for response in (await client.get("/subscriptions/forged/confirm"),
                     await client.post("/subscriptions/forged/confirm"),
                     await client.post("/subscriptions/" + "y" * 500 + "/confirm")):
        assert response.status_code == 404
    assert (await Subscription.get(email="amira@example.org")).confirmed_at is None


@both_databases
async def test_newsletter_written_previewed_tested_and_sent_once(client, db, smtp_settings, smtp_server):
    await confirmed(client, smtp_server, smtp_settings, "amira@example.org", kinds=["course"], newsletter=True,
                    language="ar")
    await confirmed(client, smtp_server, smtp_settings, "tuerkan@example.org", newsletter=True, language="tr")
    await confirmed(client, smtp_server, smtp_settings, "kurs@example.org", kinds=["course"], newsletter=False)
    me = await sign_in(client, "organiser")
    missing = await client.post("/admin/newsletter", data={"csrf_token": me.csrf, "subject_ar": "نشرة"})
    assert missing.status_code == 422 and not await Newsletter.exists()
    saved = await client.post("/admin/newsletter", data={
        "csrf_token": me.csrf, "subject_de": "Neuigkeiten im Dezember", "body_de": "Liebe Leserinnen und Leser,\n\nneu.",
        "subject_ar": "أخبار ديسمبر", "body_ar": "مرحبا"})
    assert saved.status_code == 303
    newsletter = await Newsletter.get()
    detail = await client.get(saved.headers["location"])
    assert "Neuigkeiten im Dezember" in detail.text and "أخبار ديسمبر" in detail.text
    assert "an 2 Abonnements senden" in detail.text  # the confirmation box says how many

    await client.post(f"/admin/newsletter/{newsletter.id}/test", data={"csrf_token": me.csrf})
    await delivery.deliver_due(smtp_settings)
    tests = smtp_server.to(me.user.email)
    assert sorted(m["Content-Language"] for m in tests) == ["ar", "de"]
    assert await Newsletter.filter(sent_at__isnull=True).exists()

    unconfirmed = await client.post(f"/admin/newsletter/{newsletter.id}/send", data={"csrf_token": me.csrf})
    assert unconfirmed.status_code == 422
    assert not await OutboxMessage.filter(template="newsletter", recipient__in=["amira@example.org",
                                                                               "tuerkan@example.org"]).exists()
    sent = await client.post(f"/admin/newsletter/{newsletter.id}/send", data={"csrf_token": me.csrf, "confirm": "yes"})
    assert sent.status_code == 303
    twice = await client.post(f"/admin/newsletter/{newsletter.id}/send", data={"csrf_token": me.csrf, "confirm": "yes"})
    assert twice.status_code == 409
    smtp_server.received.clear()
    await delivery.deliver_due(smtp_settings)
    [arabic] = smtp_server.to("amira@example.org")
    [turkish] = smtp_server.to("tuerkan@example.org")  # no Turkish text: German
    assert smtp_server.to("kurs@example.org") == []
    assert arabic["Subject"] == "أخبار ديسمبر" and turkish["Subject"] == "Neuigkeiten im Dezember"
    assert turkish["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (await Newsletter.get()).recipients == 2
    assert await AuditEntry.filter(action="newsletter.sent").count() == 1


async def test_subscriber_list_is_for_admins_only(client, db, smtp_settings, smtp_server):
    await confirmed(client, smtp_server, smtp_settings, "amira@example.org", kinds=["course"])
    me = await sign_in(client, "organiser")
    overview = await client.get("/admin/newsletter")
    assert overview.status_code == 200 and "amira@example.org" not in overview.text
    assert (await client.get("/admin/subscribers")).status_code == 403
    assert (await client.get("/admin/subscribers.csv")).status_code == 403
    await client.post("/admin/logout", data={"csrf_token": me.csrf})
    await sign_in(client, "admin")
    listing = await client.get("/admin/subscribers")
    assert listing.status_code == 200 and "amira@example.org" in listing.text
    export = await client.get("/admin/subscribers.csv")
    assert export.status_code == 200 and "amira@example.org;de;course" in export.content.decode("utf-8-sig")
    assert await AuditEntry.filter(action="subscribers.downloaded").exists()


@both_databases
async def test_people_who_waited_in_vain_may_ask_for_the_next_date(client, db):
    event = await make_event(kind="course", capacity=1, sessions=None)
    first = (await registration.register(event_id=event.id, applicant=Applicant(
        name="Erste", email="erste@example.org", language="de"))).registration
    waiting = (await registration.register(event_id=event.id, applicant=Applicant(
        name="Zweite", email="zweite@example.org", language="ar"), languages=("de", "ar"))).registration
    assert waiting.status == RegistrationStatus.WAITLISTED
    page = await client.get(f"/r/{waiting.manage_token}")
    assert "/follow-up" not in page.text  # still hoping: nothing offered yet
    assert (await client.post(f"/r/{waiting.manage_token}/follow-up")).status_code == 409

    # the course has begun and she still waits
    await EventSession.filter(event_id=event.id).update(starts_at=utcnow() - timedelta(hours=1))
    page = await client.get(f"/r/{waiting.manage_token}")
    assert f'action="/r/{waiting.manage_token}/follow-up"' in page.text
    response = await client.post(f"/r/{waiting.manage_token}/follow-up")
    assert response.status_code == 303
    subscription = await Subscription.get(email="zweite@example.org")
    assert (subscription.kinds, subscription.language) == (["course"], "ar")
    assert subscription.confirmed_at is not None and "personal page" in subscription.consent["method"]
    # someone who had a seat is not offered this
    assert (await client.post(f"/r/{first.manage_token}/follow-up")).status_code == 409
    assert await Registration.filter(id=first.id, status=RegistrationStatus.CONFIRMED).exists()


@both_databases
async def test_a_confirmation_goes_out_before_a_newsletter_of_two_thousand_finishes(client, db, smtp_settings,
                                                                                   smtp_server):
    """The newsletter is queued first, in full; a registration a moment later is still delivered in the
    worker's first batch, while most of the newsletter waits."""
    now = utcnow()
    await Subscription.bulk_create([Subscription(email=f"reader{n}@example.org", token=f"token-{n:05d}",
                                                 newsletter=True, confirmed_at=now, language="de")
                                    for n in range(2000)], batch_size=500)
    me = await sign_in(client, "organiser")
    newsletter = await sending.save_newsletter(texts={"de": {"subject": "Dezember", "body": "Neues."}},
                                               by=me.user)
    assert await sending.send_newsletter(newsletter_id=newsletter.id, by=me.user) == 2000
    event = await make_event(title="Schwimmkurs")
    await registration.register(event_id=event.id, applicant=Applicant(name="Amal", email="amal@example.org"))
    assert await OutboxMessage.filter(state=OutboxState.QUEUED).count() == 2001

    await delivery.deliver_due(smtp_settings, batch_size=50, max_batches=1)
    [confirmation] = smtp_server.to("amal@example.org")
    assert "Schwimmkurs" in confirmation["Subject"]
    newsletters_sent = sum(1 for r in smtp_server.received if r.recipients[0].startswith("reader"))
    assert newsletters_sent < 50
    assert await OutboxMessage.filter(template="newsletter", state=OutboxState.QUEUED).count() > 1900
