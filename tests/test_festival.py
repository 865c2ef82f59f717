"""Global Village partners: applications, moderation mails over real SMTP, stands under concurrency (with a
negative control), withdrawal handing the stand on, and the lists for the site plan."""

from __future__ import annotations

import asyncio
import contextlib
import io
import subprocess

import openpyxl
import pytest
from tortoise import connections

from events_app.core.models import Event, OutboxMessage, PartnerApplication, PartnerStatus as P
from events_app.festival import partners
from events_app.mail import delivery
from tests.fixtures_backoffice import sign_in
from tests.helpers import both_databases, make_event, make_user


async def _festival(stands: int = 2, **overrides):
    values = {"kind": "festival", "title": "Global Village 2026", "capacity": 500, "location": "Lindenplatz"}
    values.update(overrides)
    event = await make_event(**values)
    await partners.set_stands(event_id=event.id, stands=stands)
    return event


def _application(n: int = 0, **overrides) -> dict:
    body = {"organisation": f"Verein {n}", "contact_name": f"Kontakt {n}", "email": f"verein{n}@example.org",
            "phone": "0641 123456", "presents": "Tanz und Essen", "languages": ["Türkisch", "Deutsch"],
            "needs": {"table": True, "power": True, "tent": False, "food_permit": True, "other": "2 Bänke"},
            "language": "de"}
    body.update(overrides)
    return body


async def test_application_via_api_is_pending_with_a_received_mail_in_the_partners_language(
        client, smtp_settings, smtp_server):
    event = await _festival()
    answer = await client.post(f"/api/v1/events/{event.id}/partners", json=_application(1, language="tr"))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert set(body) == {"id", "status", "manage_url"} and body["status"] == "pending"
    stored = await PartnerApplication.get(id=body["id"])
    assert stored.needs == {"table": True, "power": True, "tent": False, "food_permit": True, "other": "2 Bänke"}
    await delivery.deliver_due(smtp_settings)
    [mail] = smtp_server.to("verein1@example.org")
    assert mail["Content-Language"] == "tr"
    assert "/p/" + body["manage_url"].split("/p/")[1] in mail.get_body(("plain",)).get_content()


async def test_bad_applications_are_refused_clearly(client, db):
    event = await _festival()
    missing = await client.post(f"/api/v1/events/{event.id}/partners", json={"organisation": "", "email": "x"},
                                headers={"accept-language": "de"})
    assert missing.status_code == 422
    assert set(missing.json()["errors"]) >= {"organisation", "contact_name", "email"}
    bad_needs = await client.post(f"/api/v1/events/{event.id}/partners", json=_application(needs=["Tisch"]))
    assert bad_needs.status_code == 422 and "needs" in bad_needs.json()["errors"]
    workshop = await make_event()
    assert (await client.post(f"/api/v1/events/{workshop.id}/partners", json=_application())).status_code == 409
    assert (await client.post("/api/v1/events/999999/partners", json=_application())).status_code == 404
    form = await client.post(f"/events/{event.id}/partners", data={"organisation": "Verein"})
    assert form.status_code == 422 and 'id="f-contact_name"' in form.text
    assert await PartnerApplication.all().count() == 0


async def test_moderation_mails_each_decision_and_the_waiting_partner_gets_the_freed_stand(
        client, smtp_settings, smtp_server):
    event = await _festival(stands=1)
    _, token = await make_user()
    auth = {"authorization": f"Bearer {token}"}
    first = (await client.post(f"/api/v1/events/{event.id}/partners", json=_application(1, language="ar"))).json()
    second = (await client.post(f"/api/v1/events/{event.id}/partners", json=_application(2, language="uk"))).json()

    async def decide(partner, decision, reason=""):
        return await client.post(f"/api/v1/partners/{partner['id']}/decision",
                                 json={"decision": decision, "reason": reason}, headers=auth)

    assert (await client.post(f"/api/v1/partners/{first['id']}/decision", json={"decision": "accept"})).status_code == 401
    accepted = await decide(first, "accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    waiting = await decide(second, "accept")
    assert waiting.json()["status"] == "waiting" and waiting.json()["waiting_position"] == 1
    assert (await decide(first, "accept")).status_code == 409  # accepted already
    assert (await decide(first, "maybe")).status_code == 422
    no_reason = await decide(first, "decline")
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["errors"]
    declined = await decide(first, "decline", "Der Platz reicht nicht für Essensstände.")
    assert declined.json()["status"] == "declined"
    assert (await PartnerApplication.get(id=second["id"])).status == P.ACCEPTED  # got the freed stand
    back_to_pending = await decide(first, "pending")
    assert back_to_pending.json()["status"] == "pending"

    listed = (await client.get(f"/api/v1/events/{event.id}/partners", headers=auth)).json()
    assert {p["id"]: p["status"] for p in listed} == {first["id"]: "pending", second["id"]: "accepted"}
    assert (await client.get(f"/api/v1/events/{event.id}/partners")).status_code == 401

    await delivery.deliver_due(smtp_settings)
    kinds = {address: [m.template for m in await OutboxMessage.filter(recipient=address).order_by("id")]
             for address in ("verein1@example.org", "verein2@example.org")}
    assert kinds == {"verein1@example.org": ["partner_received", "partner_accepted", "partner_declined",
                                             "partner_pending"],
                     "verein2@example.org": ["partner_received", "partner_waiting", "partner_accepted"]}
    first_mails = smtp_server.to("verein1@example.org")
    assert len(first_mails) == 4 and all(m["Content-Language"] == "ar" for m in first_mails)
    assert "Der Platz reicht nicht für Essensstände." in first_mails[2].get_body(("plain",)).get_content()
    assert all(m["Content-Language"] == "uk" for m in smtp_server.to("verein2@example.org"))


@both_databases
async def test_withdrawal_by_link_hands_the_stand_to_the_next_accepted_in_order(client, db):
    event = await _festival(stands=1)
    made = [await partners.apply(event_id=event.id, form=partners.PartnerForm(**{
        k: v for k, v in _application(n).items() if k in ("organisation", "contact_name", "email")}))
        for n in range(3)]
    for partner in made:
        await partners.decide(partner_id=partner.id, decision="accept")
    page = await client.get(f"/p/{made[2].manage_token}")
    assert page.status_code == 200 and "2" in page.text
    withdrawn = await client.post(f"/p/{made[0].manage_token}/withdraw")
    assert withdrawn.status_code == 200
    statuses = [(await PartnerApplication.get(id=p.id)).status for p in made]
    assert statuses == [P.WITHDRAWN, P.ACCEPTED, P.WAITING]
    assert (await Event.get(id=event.id)).stands_taken == 1
    assert (await client.post(f"/p/{made[0].manage_token}/withdraw")).status_code == 409
    assert (await client.get("/p/not-a-token")).status_code == 404


async def _accept_all(ids: list[int]) -> list[object]:
    return await asyncio.gather(*(partners.decide(partner_id=i, decision="accept") for i in ids),
                                return_exceptions=True)


async def _applications(event, count: int) -> list[int]:
    return [(await PartnerApplication.create(event_id=event.id, organisation=f"V{n}", contact_name="K",
                                             email=f"v{n}@example.org", manage_token=f"t{n}")).id
            for n in range(count)]


async def _check_stands(event_id: int, stands: int) -> None:
    event = await Event.get(id=event_id)
    accepted = await PartnerApplication.filter(event_id=event_id, status=P.ACCEPTED).count()
    assert accepted <= stands, f"{accepted} stands given for {stands}"
    assert event.stands_taken == accepted, f"counter {event.stands_taken} but {accepted} accepted"


@both_databases
async def test_stands_are_never_given_twice_when_everyone_is_accepted_at_once(db):
    event = await _festival(stands=5)
    ids = await _applications(event, 20)
    outcomes = await _accept_all(ids)
    assert not [o for o in outcomes if isinstance(o, BaseException)]
    await _check_stands(event.id, 5)
    assert await PartnerApplication.filter(event_id=event.id, status=P.ACCEPTED).count() == 5
    assert await PartnerApplication.filter(event_id=event.id, status=P.WAITING).count() == 15
    # withdrawals and a raise of the stands at once: still exact, and the oldest waiting get the stands
    accepted = await PartnerApplication.filter(event_id=event.id, status=P.ACCEPTED).limit(3)
    await asyncio.gather(*(partners.withdraw(token=p.manage_token) for p in accepted),
                         partners.set_stands(event_id=event.id, stands=8))
    await _check_stands(event.id, 8)
    waiting = await PartnerApplication.filter(event_id=event.id, status=P.WAITING).order_by("queued_at", "id")
    promoted = await PartnerApplication.filter(event_id=event.id, status=P.ACCEPTED)
    assert len(promoted) == 8 and all(p.queued_at is None or p.queued_at <= w.queued_at
                                      for p in promoted for w in waiting)


@both_databases
async def test_negative_control_without_the_lock_gives_too_many_stands(db, monkeypatch):
    event = await _festival(stands=5)
    ids = await _applications(event, 12)
    barrier = asyncio.Barrier(len(ids))

    @contextlib.asynccontextmanager
    async def read_then_decide(event_id: int):
        """The classic bug: everyone reads the free stands before anyone writes (a gate, not a sleep)."""
        current = await Event.get(id=event_id)
        await barrier.wait()
        yield connections.get("default"), current

    monkeypatch.setattr(partners, "event_lock", read_then_decide)
    await _accept_all(ids)
    with pytest.raises(AssertionError):
        await _check_stands(event.id, 5)


async def test_back_office_decides_assigns_stand_numbers_and_lists_them_for_the_site_plan(client, db):
    event = await _festival(stands=2)
    signed = await sign_in(client)
    made = [await partners.apply(event_id=event.id, form=partners.PartnerForm(
        organisation=name, contact_name="Kontakt", email=f"{n}@example.org",
        needs={"power": True, "other": "Wasseranschluss"}))
        for n, name in enumerate(["Afghanischer Kulturverein", "Eritreische Gemeinde", "Ukrainischer Chor"])]
    page = await client.get(f"/admin/events/{event.id}/partners")
    assert page.status_code == 200 and "Afghanischer Kulturverein" in page.text
    for partner in made:
        answer = await client.post(f"/admin/events/{event.id}/partners/{partner.id}/decision",
                                   data={"csrf_token": signed.csrf, "decision": "accept"})
        assert answer.status_code == 303
    no_reason = await client.post(f"/admin/events/{event.id}/partners/{made[0].id}/decision",
                                  data={"csrf_token": signed.csrf, "decision": "decline"})
    assert no_reason.status_code == 422
    too_few = await client.post(f"/admin/events/{event.id}/partners/stands", data={"csrf_token": signed.csrf,
                                                                                   "stands": "1"})
    assert too_few.status_code == 422
    numbered = await client.post(f"/admin/events/{event.id}/partners/numbers", data={
        "csrf_token": signed.csrf, f"stand_{made[0].id}": "A-7", f"stand_{made[1].id}": "B-2",
        f"stand_{made[2].id}": "C-9"})  # the third waits: no number
    assert numbered.status_code == 303
    assert [(await PartnerApplication.get(id=p.id)).stand_number for p in made] == ["A-7", "B-2", ""]

    sheet = await client.get(f"/api/v1/events/{event.id}/partners.xlsx",
                             headers={"authorization": f"Bearer {signed.api_token}"})
    assert sheet.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert [row[:2] for row in rows[1:]] == [("A-7", "Afghanischer Kulturverein"), ("B-2", "Eritreische Gemeinde"),
                                             (None, "Ukrainischer Chor")]
    assert "Wasseranschluss" in rows[1][6]
    pdf = await client.get(f"/admin/events/{event.id}/partners.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.content, capture_output=True,
                          check=True).stdout.decode()
    assert "A-7" in text and "Eritreische" in text and "Ukrainischer" in text and "Partnerliste" in text
    assert (await client.get(f"/admin/events/{event.id}/partners.doc")).status_code == 404


async def test_the_partner_form_asks_the_events_own_questions_but_not_its_own_fields_twice(client, db):
    from events_app.core.models import Question

    event = await _festival()
    await Question.create(event_id=event.id, key="organisation", label="Organisation / Verein", required=True)
    await Question.create(event_id=event.id, key="music", label="Bringen Sie Musik mit?", kind="choice",
                          choices=["ja", "nein"], required=True, position=1)
    form = await client.get(f"/events/{event.id}/partners")
    assert form.text.count('name="organisation"') == 1 and 'name="q_organisation"' not in form.text
    assert 'name="q_music"' in form.text
    missing = await client.post(f"/api/v1/events/{event.id}/partners", json=_application(1))
    assert missing.status_code == 422 and set(missing.json()["errors"]) == {"q_music"}
    wrong = await client.post(f"/api/v1/events/{event.id}/partners", json=_application(1, answers={"music": "laut"}))
    assert wrong.status_code == 422
    ok = await client.post(f"/events/{event.id}/partners", data={
        "organisation": "Chor", "contact_name": "K", "email": "chor@example.org", "q_music": "ja",
        "need_power": "on"})
    assert ok.status_code == 303
    stored = await PartnerApplication.get(organisation="Chor")
    assert stored.answers == {"music": "ja"} and stored.needs["power"] is True and stored.needs["table"] is False


async def test_cancelling_the_festival_tells_the_partners_still_in_the_running(client, smtp_settings, smtp_server):
    event = await _festival(stands=1)
    _, token = await make_user()
    made = [await partners.apply(event_id=event.id, form=partners.PartnerForm(
        organisation=f"V{n}", contact_name="K", email=f"v{n}@example.org")) for n in range(4)]
    await partners.decide(partner_id=made[0].id, decision="accept")
    await partners.decide(partner_id=made[1].id, decision="accept")  # waits
    await partners.decide(partner_id=made[2].id, decision="decline", reason="Kein Platz")
    answer = await client.post(f"/api/v1/events/{event.id}/cancel", json={"reason": "Unwetter"},
                               headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    await delivery.deliver_due(smtp_settings)
    told = sorted(r.recipients[0] for r in smtp_server.received
                  if "Unwetter" in r.message.get_body(("plain",)).get_content())
    assert told == ["v0@example.org", "v1@example.org", "v3@example.org"]
