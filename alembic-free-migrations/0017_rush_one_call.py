"""The public sign-up in one autocommit call of `events_place_registration` (seats/register_sql.py).

Before, the call ran inside BEGIN ... COMMIT with a `SET LOCAL lock_timeout` first: three more round
trips, and the event's lock stayed held while the COMMIT travelled from the app to PostgreSQL, so every
registration of a rush waited for the one before it plus a round trip. Now the function sets the lock
timeout for its own transaction (`set_config(..., true)`) and commits as the statement ends.

It also finds out itself, before it takes the lock, whether the person has taken part before (the same
question as `seats.participation.has_taken_part_before`, for the figures), which was a round trip of
its own; it answers it as `placed_returning`.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

OLD_SIGNATURE = ("int, int, timestamptz, text, text, text, text, int, text, text, jsonb, boolean, text, text,"
                 " boolean, int")

PLACE_FUNCTION = """
CREATE OR REPLACE FUNCTION events_place_registration(
    p_event_id int, p_seats int, p_now timestamptz, p_name text, p_email text, p_phone text, p_language text,
    p_companions int, p_manage_token text, p_checkin_token text, p_answers jsonb, p_once_per_email boolean,
    p_postcode text, p_district text, p_priority int, p_lock_timeout_ms int)
RETURNS TABLE (placed_id int, placed_status text, placed_position int, placed_queued_at timestamptz,
               placed_returning boolean)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ev record;
    fits boolean;
    place int;
    new_id int;
    new_status text;
    queued timestamptz;
    was_here boolean := false;
BEGIN
    PERFORM set_config('lock_timeout', p_lock_timeout_ms::text, true);
    -- taken part before: another event where the same address or phone number once had a seat
    -- (seats.participation.has_taken_part_before asks the same); one plan per case, each on its index
    IF p_email <> '' AND p_phone <> '' THEN
        was_here := EXISTS (SELECT 1 FROM registration r WHERE r.confirmed_at IS NOT NULL
                              AND r.anonymised_at IS NULL AND r.event_id <> p_event_id
                              AND (UPPER(CAST(r.email AS VARCHAR)) = UPPER(CAST(p_email AS VARCHAR))
                                   OR r.phone = p_phone));
    ELSIF p_email <> '' THEN
        was_here := EXISTS (SELECT 1 FROM registration r WHERE r.confirmed_at IS NOT NULL
                              AND r.anonymised_at IS NULL AND r.event_id <> p_event_id
                              AND UPPER(CAST(r.email AS VARCHAR)) = UPPER(CAST(p_email AS VARCHAR)));
    ELSIF p_phone <> '' THEN
        was_here := EXISTS (SELECT 1 FROM registration r WHERE r.confirmed_at IS NOT NULL
                              AND r.anonymised_at IS NULL AND r.event_id <> p_event_id AND r.phone = p_phone);
    END IF;
    SELECT e.seats_taken, e.capacity, e.waiting, e.waitlist INTO ev FROM event e
     WHERE e.id = p_event_id AND e.status <> 'cancelled'
       AND (e.registration_opens_at IS NULL OR e.registration_opens_at <= p_now)
       AND (e.registration_closes_at IS NULL OR e.registration_closes_at > p_now)
     FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- the address's own rows through its index: `event_id + 0` keeps the planner off the event's index,
    -- which it picks while the table's statistics are young and which reads the whole rush's rows each time
    IF p_once_per_email AND EXISTS (
            SELECT 1 FROM registration r
             WHERE UPPER(CAST(r.email AS VARCHAR)) = UPPER(CAST(p_email AS VARCHAR)) AND r.event_id + 0 = p_event_id
               AND r.status NOT IN ('cancelled', 'expired')) THEN
        RETURN;
    END IF;
    fits := ev.seats_taken + p_seats <= ev.capacity;
    IF fits THEN
        UPDATE event SET seats_taken = ev.seats_taken + p_seats WHERE id = p_event_id;
        new_status := 'confirmed';
    ELSIF ev.waitlist THEN
        place := ev.waiting + 1;
        UPDATE event SET waiting = place WHERE id = p_event_id;
        new_status := 'waitlisted';
    ELSE
        RETURN;
    END IF;
    queued := clock_timestamp();  -- read under the lock: queue order is lock order
    INSERT INTO registration (event_id, name, email, phone, language, companions, seats, status, queued_at,
                              manage_token, checkin_token, answers, sequence, created_at, updated_at, confirmed_at,
                              postcode, district, "returning", waited)
    VALUES (p_event_id, p_name, p_email, p_phone, p_language, p_companions, p_seats, new_status, queued,
            p_manage_token, p_checkin_token, p_answers, 0, p_now, p_now, CASE WHEN fits THEN p_now END,
            p_postcode, p_district, was_here, NOT fits)
    RETURNING id INTO new_id;
    IF p_email <> '' THEN
        INSERT INTO outbox_message (template, recipient, language, context, registration_id, event_id, state,
                                    attempts, next_attempt_at, last_error, message_id, created_at, priority)
        VALUES (new_status, p_email, p_language,
                jsonb_build_object('registration_id', new_id, 'event_id', p_event_id, 'position', place),
                new_id, p_event_id, 'queued', 0, p_now, '', '', p_now, p_priority);
    END IF;
    RETURN QUERY SELECT new_id, new_status, place, queued, was_here;
END
$$
"""


def _previous_function() -> str:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("0015_rush_place_function.py")
    spec = importlib.util.spec_from_file_location("rush_place_function", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PLACE_FUNCTION


async def replace_function(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(
            f"DROP FUNCTION IF EXISTS events_place_registration({OLD_SIGNATURE});" + PLACE_FUNCTION)


async def restore_function(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(
            "DROP FUNCTION IF EXISTS events_place_registration(int, int, timestamptz, text, text, text, text, int,"
            " text, text, jsonb, boolean, text, text, int, int);" + _previous_function())


class Migration(migrations.Migration):
    dependencies = [("events", "0016_change_stamps")]

    operations = [ops.RunPython(replace_function, restore_function)]
