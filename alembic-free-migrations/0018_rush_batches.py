"""Sign-ups placed in batches: `events_place_registrations` takes the event's lock once for several.

In a rush every call of `events_place_registration` (one sign-up each) waited for the event's row lock,
and PostgreSQL handed that lock from one waiting backend to the next 2,000 times, each hand-over a wake-up
of another process on a machine busy with the app. Now each app process gathers the sign-ups that arrive
while its call is under way and places them together (seats/register_sql.py): one lock, one commit and
one update of the event for the lot, in arrival order, each with its own checks, row, mail and answer.
The single-row function is gone; `events_place_registrations` with one row does what it did.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

SINGLE_SIGNATURE = ("int, int, timestamptz, text, text, text, text, int, text, text, jsonb, boolean, text, text,"
                    " int, int")
BATCH_SIGNATURE = ("int, timestamptz[], int[], text[], text[], text[], text[], int[], text[], text[], text[],"
                   " boolean[], text[], text[], int, int")

PLACE_FUNCTION = """
CREATE OR REPLACE FUNCTION events_place_registrations(
    p_event_id int, p_now timestamptz[], p_seats int[], p_name text[], p_email text[], p_phone text[],
    p_language text[], p_companions int[], p_manage_token text[], p_checkin_token text[], p_answers text[],
    p_once_per_email boolean[], p_postcode text[], p_district text[], p_priority int, p_lock_timeout_ms int)
RETURNS TABLE (placed_index int, placed_id int, placed_status text, placed_position int,
               placed_queued_at timestamptz, placed_returning boolean)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ev record;
    n int := cardinality(p_name);
    was_here boolean[] := array_fill(false, ARRAY[n]);
    present boolean;
    v_taken int;
    v_waiting int;
    fits boolean;
    place int;
    new_id int;
    new_status text;
    queued timestamptz;
BEGIN
    PERFORM set_config('lock_timeout', p_lock_timeout_ms::text, true);
    -- before the lock, each person: taken part before, at another event where the same address or phone
    -- number once had a seat (seats.participation.has_taken_part_before asks the same); one plan per case
    FOR i IN 1..n LOOP
        IF p_email[i] <> '' AND p_phone[i] <> '' THEN
            was_here[i] := EXISTS (SELECT 1 FROM registration r WHERE r.confirmed_at IS NOT NULL
                                     AND r.anonymised_at IS NULL AND r.event_id <> p_event_id
                                     AND (UPPER(CAST(r.email AS VARCHAR)) = UPPER(CAST(p_email[i] AS VARCHAR))
                                          OR r.phone = p_phone[i]));
        ELSIF p_email[i] <> '' THEN
            was_here[i] := EXISTS (SELECT 1 FROM registration r WHERE r.confirmed_at IS NOT NULL
                                     AND r.anonymised_at IS NULL AND r.event_id <> p_event_id
                                     AND UPPER(CAST(r.email AS VARCHAR)) = UPPER(CAST(p_email[i] AS VARCHAR)));
        ELSIF p_phone[i] <> '' THEN
            was_here[i] := EXISTS (SELECT 1 FROM registration r WHERE r.confirmed_at IS NOT NULL
                                     AND r.anonymised_at IS NULL AND r.event_id <> p_event_id
                                     AND r.phone = p_phone[i]);
        END IF;
    END LOOP;
    SELECT e.seats_taken, e.capacity, e.waiting, e.waitlist, e.registration_opens_at, e.registration_closes_at
      INTO ev FROM event e WHERE e.id = p_event_id AND e.status <> 'cancelled' FOR UPDATE;
    present := FOUND;
    v_taken := ev.seats_taken;
    v_waiting := ev.waiting;
    FOR i IN 1..n LOOP
        place := NULL;
        -- not placed (status NULL): cancelled or gone, not open at the person's moment, the address already
        -- registered (also earlier in this batch: the function sees its own rows), full without a waiting list
        IF NOT present
           OR (ev.registration_opens_at IS NOT NULL AND ev.registration_opens_at > p_now[i])
           OR (ev.registration_closes_at IS NOT NULL AND ev.registration_closes_at <= p_now[i])
           -- the address's own rows through its index: `event_id + 0` keeps the planner off the event's
           -- index, which it picks while the table's statistics are young and which reads the whole rush
           OR (p_once_per_email[i] AND EXISTS (
                   SELECT 1 FROM registration r
                    WHERE UPPER(CAST(r.email AS VARCHAR)) = UPPER(CAST(p_email[i] AS VARCHAR))
                      AND r.event_id + 0 = p_event_id AND r.status NOT IN ('cancelled', 'expired'))) THEN
            RETURN QUERY SELECT i, NULL::int, NULL::text, NULL::int, NULL::timestamptz, was_here[i];
            CONTINUE;
        END IF;
        fits := v_taken + p_seats[i] <= ev.capacity;
        IF fits THEN
            v_taken := v_taken + p_seats[i];
            new_status := 'confirmed';
        ELSIF ev.waitlist THEN
            v_waiting := v_waiting + 1;
            place := v_waiting;
            new_status := 'waitlisted';
        ELSE
            RETURN QUERY SELECT i, NULL::int, NULL::text, NULL::int, NULL::timestamptz, was_here[i];
            CONTINUE;
        END IF;
        queued := clock_timestamp();  -- read under the lock: queue order is lock order
        INSERT INTO registration (event_id, name, email, phone, language, companions, seats, status, queued_at,
                                  manage_token, checkin_token, answers, sequence, created_at, updated_at,
                                  confirmed_at, postcode, district, "returning", waited)
        VALUES (p_event_id, p_name[i], p_email[i], p_phone[i], p_language[i], p_companions[i], p_seats[i],
                new_status, queued, p_manage_token[i], p_checkin_token[i], p_answers[i]::jsonb, 0, p_now[i],
                p_now[i], CASE WHEN fits THEN p_now[i] END, p_postcode[i], p_district[i], was_here[i], NOT fits)
        RETURNING id INTO new_id;
        IF p_email[i] <> '' THEN
            INSERT INTO outbox_message (template, recipient, language, context, registration_id, event_id, state,
                                        attempts, next_attempt_at, last_error, message_id, created_at, priority)
            VALUES (new_status, p_email[i], p_language[i],
                    jsonb_build_object('registration_id', new_id, 'event_id', p_event_id, 'position', place),
                    new_id, p_event_id, 'queued', 0, p_now[i], '', '', p_now[i], p_priority);
        END IF;
        RETURN QUERY SELECT i, new_id, new_status, place, queued, was_here[i];
    END LOOP;
    IF present AND (v_taken <> ev.seats_taken OR v_waiting <> ev.waiting) THEN
        UPDATE event SET seats_taken = v_taken, waiting = v_waiting WHERE id = p_event_id;
    END IF;
END
$$
"""


def _function_of(name: str) -> str:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PLACE_FUNCTION


async def batch_function(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(
            f"DROP FUNCTION IF EXISTS events_place_registration({SINGLE_SIGNATURE});" + PLACE_FUNCTION)


async def single_function(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(
            f"DROP FUNCTION IF EXISTS events_place_registrations({BATCH_SIGNATURE});"
            + _function_of("0017_rush_one_call.py"))


class Migration(migrations.Migration):
    dependencies = [("events", "0017_rush_one_call")]

    operations = [ops.RunPython(batch_function, single_function)]
