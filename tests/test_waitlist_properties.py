"""Property tests of the waiting list (hypothesis): any sequence of registrations (with companions),
cancellations, capacity changes, offers, their expiry and acceptance keeps the seats held within the
capacity, the seat counter equal to the seats the rows hold, the waiting positions people see dense and
in queue order, no free seat that an older waiting request fits, and nobody promoted twice.

Hypothesis draws the programs (seeded, bounded); they run against the real engine on SQLite, the
invariants checked after every step (tests/race.py's `check_invariants` plus the promotion history)."""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, Phase, given, seed, settings, strategies as st

from events_app.core import errors
from events_app.core.models import Registration, RegistrationStatus as S
from events_app.core.timeutil import utcnow
from events_app.seats import registration as engine
from events_app.seats.events import SessionSpec
from events_app.seats.registration import Applicant
from tests.helpers import in_days, make_event
from tests.race import check_invariants

PROGRAMS = int(os.environ.get("EVENTS_PROPERTY_PROGRAMS", "100"))

step = st.one_of(
    st.tuples(st.just("register"), st.integers(min_value=0, max_value=2)),          # companions
    st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=50)),           # whom (by index)
    st.tuples(st.just("capacity"), st.integers(min_value=0, max_value=6)),          # new capacity
    st.tuples(st.just("accept"), st.integers(min_value=0, max_value=50)),           # whose offer
    st.tuples(st.just("time"), st.integers(min_value=1, max_value=60)),             # hours pass, offers expire
)
program = st.tuples(st.integers(min_value=0, max_value=4),                           # starting capacity
                    st.sampled_from([0, 24]),                                         # offer hours (0: no offers)
                    st.lists(step, min_size=1, max_size=25))


def drawn_programs(count: int) -> list:
    found: list = []

    @seed(20261205)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(program)
    def collect(drawn):
        found.append(drawn)

    collect()
    return found


async def run_program(capacity: int, offer_hours: int, steps: list) -> None:
    start = in_days(60)
    event = await make_event(capacity=capacity, offer_hours=offer_hours, waitlist=True, max_companions=2,
                             sessions=[SessionSpec(start, start + timedelta(hours=2))])
    now = utcnow()
    tokens: list[str] = []
    statuses: dict[int, S] = {}
    promoted: set[int] = set()
    for number, (action, value) in enumerate(steps):
        try:
            if action == "register":
                outcome = await engine.register(event_id=event.id, now=now, applicant=Applicant(
                    name=f"Person {number}", email=f"p{number}@example.org", companions=value))
                tokens.append(outcome.registration.manage_token)
            elif action == "cancel" and tokens:
                await engine.cancel(token=tokens[value % len(tokens)], now=now)
            elif action == "capacity":
                await engine.set_capacity(event_id=event.id, capacity=value, now=now)
            elif action == "accept" and tokens:
                await engine.accept_offer(token=tokens[value % len(tokens)], now=now)
            elif action == "time":
                now += timedelta(hours=value)
                await engine.expire_due_offers(now=now)
        except (errors.CapacityBelowSeatsTaken, errors.OfferNotOpen, errors.AlreadyCancelled, errors.EventFull):
            pass  # refused as it should be; the invariants below still hold
        await check_invariants(event.id, expected_total=len(tokens))
        for row in await Registration.filter(event_id=event.id):
            before = statuses.get(row.id)
            if before == S.WAITLISTED and row.status in (S.OFFERED, S.CONFIRMED):
                assert row.id not in promoted, f"registration {row.id} promoted twice ({steps[:number + 1]})"
                promoted.add(row.id)
            statuses[row.id] = row.status


async def test_waiting_list_invariants_hold_for_any_sequence(db):
    programs = drawn_programs(PROGRAMS)
    assert len(programs) == PROGRAMS
    for capacity, offer_hours, steps in programs:
        await run_program(capacity, offer_hours, steps)


async def test_the_properties_see_a_broken_engine(db, monkeypatch):
    """Negative control: with seats never given back (the counter drifts on the first cancellation or
    expiry), the same programs break an invariant."""
    import pytest

    from events_app.seats import seating

    async def keep_seats(conn, event, seats):
        return None

    monkeypatch.setattr(seating, "give_back_seats", keep_seats)
    with pytest.raises(AssertionError):
        for capacity, offer_hours, steps in drawn_programs(PROGRAMS):
            await run_program(capacity, offer_hours, steps)
