"""The back office's tick list per date and the grid of people × dates: one POST saves a date, only the
event's own (not cancelled) dates and confirmed participants, door staff only at their assigned events."""

from __future__ import annotations

import re

from events_app.courses import checkin
from events_app.seats import events
from events_app.seats.events import SessionSpec
from events_app.core.models import Attendance, AuditEntry, DoorAssignment
from tests.fixtures_backoffice import sign_in
from tests.fixtures_courses import confirmed, make_course
from tests.helpers import both_databases, make_user


def _form(csrf: str, session_id: int, listed, ticked) -> dict:
    return {"csrf_token": csrf, "session": session_id, "registration": [p.id for p in listed],
            "present": [p.id for p in ticked]}


async def _stored(session_id: int) -> dict[int, bool]:
    return dict(await Attendance.filter(session_id=session_id).values_list("registration_id", "present"))


@both_databases
async def test_the_tick_list_saves_a_date_in_one_post(client, db):
    me = await sign_in(client, "organiser")
    course, dates = await make_course(dates=4, certificate_min_attendance=75)
    amina, olena, zahra = [await confirmed(course, name) for name in ("Amina", "Olena", "Zahra")]
    door, _ = await make_user("door", "door-tick@stadt-giessen.de")
    await checkin.check_in(event_id=course.id, registration_id=zahra.id, session_id=dates[1].id, companions=0, by=door)

    detail = await client.get(f"/admin/events/{course.id}")
    assert f'href="/admin/events/{course.id}/attendance"' in detail.text  # reached from the event's page
    page = await client.get(f"/admin/events/{course.id}/attendance", params={"session": dates[1].id})
    assert page.status_code == 200
    tick_list = page.text.split("<fieldset")[1].split("</fieldset>")[0]
    assert "<legend>" in tick_list
    for person in (amina, olena, zahra):  # every box has its label
        assert f'<label for="p-{person.id}"><bdi>{person.name}</bdi></label>' in tick_list
    assert re.search(rf'id="p-{zahra.id}"[^>]*checked', tick_list)  # arrived at the door: ticked already
    # a plain form, no JavaScript needed: the only script is the back office's optional enhancement
    assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/static/admin.js" defer>']

    saved = await client.post(f"/admin/events/{course.id}/attendance",
                              data=_form(me.csrf, dates[1].id, [amina, olena, zahra], [amina, zahra]))
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/admin/events/{course.id}/attendance?session={dates[1].id}&done=attendance_saved"
    assert await _stored(dates[1].id) == {amina.id: True, olena.id: False, zahra.id: True}
    door_row = await Attendance.get(registration_id=zahra.id, session_id=dates[1].id)
    assert door_row.recorded_by_id == door.id  # unchanged rows keep who recorded them
    entry = await AuditEntry.get(action="attendance.saved")
    assert (entry.user_id, entry.event_id) == (me.user.id, course.id)
    assert entry.detail == {"session_id": dates[1].id, "present": 2, "absent": 1, "changed": 2}

    for date in dates[:3]:  # Amina three of four dates: 75 % earns the certificate
        await client.post(f"/admin/events/{course.id}/attendance", data=_form(me.csrf, date.id, [amina], [amina]))
    grid = (await client.get(f"/admin/events/{course.id}/attendance")).text.split("<tbody>")[1]
    rows = {name: row for row in grid.split("<tr>")[1:] for name in ("Amina", "Olena", "Zahra") if name in row}
    assert "3 / 4" in rows["Amina"] and "berechtigt" in rows["Amina"] and "nicht berechtigt" not in rows["Amina"]
    assert "nicht berechtigt" in rows["Olena"] and "abwesend" in rows["Olena"]
    assert "1 / 4" in rows["Zahra"] and "nicht erfasst" in rows["Zahra"]


async def test_a_date_of_another_event_and_other_bad_input_are_refused(client, db):
    me = await sign_in(client, "organiser")
    course, dates = await make_course(dates=2)
    other, other_dates = await make_course(dates=1, title="Deutschkurs")
    amina = await confirmed(course, "Amina")
    stranger = await confirmed(other, "Olena")
    url = f"/admin/events/{course.id}/attendance"

    assert (await client.get(url, params={"session": other_dates[0].id})).status_code == 404
    assert (await client.get(url, params={"session": "soon"})).status_code == 422
    cases = {
        "date of another event": (_form(me.csrf, other_dates[0].id, [amina], [amina]), 404),
        "person of another event": (_form(me.csrf, dates[0].id, [amina, stranger], [amina, stranger]), 409),
        "ticked but not listed": (_form(me.csrf, dates[0].id, [amina], [amina, stranger]), 409),
        "no date": ({"csrf_token": me.csrf, "registration": amina.id}, 422),
        "not a number": (_form(me.csrf, dates[0].id, [amina], []) | {"present": "Amina"}, 422),
    }
    for name, (form, status) in cases.items():
        response = await client.post(url, data=form)
        assert response.status_code == status, name
    await events.update_event(event_id=course.id, values={},
                              sessions=[SessionSpec(dates[1].starts_at, dates[1].ends_at, id=dates[1].id)])
    cancelled = await client.post(url, data=_form(me.csrf, dates[0].id, [amina], [amina]))
    assert cancelled.status_code == 409
    assert not await Attendance.exists()  # all or nothing: no row from any refused form
    assert not await AuditEntry.filter(action="attendance.saved").exists()


async def test_door_staff_only_at_the_events_they_are_assigned_to(client, db):
    me = await sign_in(client, "door")
    course, dates = await make_course(dates=2)
    amina = await confirmed(course, "Amina")
    url = f"/admin/events/{course.id}/attendance"
    assert (await client.get(url)).status_code == 403
    refused = await client.post(url, data=_form(me.csrf, dates[0].id, [amina], [amina]))
    assert refused.status_code == 403
    assert not await Attendance.exists()

    await DoorAssignment.create(user_id=me.user.id, event_id=course.id)
    page = await client.get(url)
    assert page.status_code == 200
    assert f'href="/admin/checkin/{course.id}"' in page.text and f'href="/admin/events/{course.id}"' not in page.text
    saved = await client.post(url, data=_form(me.csrf, dates[0].id, [amina], [amina]))
    assert saved.status_code == 303
    assert await _stored(dates[0].id) == {amina.id: True}
