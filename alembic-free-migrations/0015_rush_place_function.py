from tortoise import migrations
from tortoise.migrations import operations as ops

#: The public sign-up's decision and writes under the event's lock, run inside PostgreSQL in one call
#: (seats/register_sql.py). Each statement of a PL/pgSQL function takes a fresh snapshot, so the address
#: check after the lock sees a twin that committed while this call waited for it.
PLACE_FUNCTION = """
CREATE OR REPLACE FUNCTION events_place_registration(
    p_event_id int, p_seats int, p_now timestamptz, p_name text, p_email text, p_phone text, p_language text,
    p_companions int, p_manage_token text, p_checkin_token text, p_answers jsonb, p_once_per_email boolean,
    p_postcode text, p_district text, p_returning boolean, p_priority int)
RETURNS TABLE (placed_id int, placed_status text, placed_position int, placed_queued_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ev record;
    fits boolean;
    place int;
    new_id int;
    new_status text;
    queued timestamptz;
BEGIN
    SELECT e.seats_taken, e.capacity, e.waiting, e.waitlist INTO ev FROM event e
     WHERE e.id = p_event_id AND e.status <> 'cancelled'
       AND (e.registration_opens_at IS NULL OR e.registration_opens_at <= p_now)
       AND (e.registration_closes_at IS NULL OR e.registration_closes_at > p_now)
     FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF p_once_per_email AND EXISTS (
            SELECT 1 FROM registration r
             WHERE UPPER(CAST(r.email AS VARCHAR)) = UPPER(CAST(p_email AS VARCHAR)) AND r.event_id = p_event_id
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
            p_postcode, p_district, p_returning, NOT fits)
    RETURNING id INTO new_id;
    IF p_email <> '' THEN
        INSERT INTO outbox_message (template, recipient, language, context, registration_id, event_id, state,
                                    attempts, next_attempt_at, last_error, message_id, created_at, priority)
        VALUES (new_status, p_email, p_language,
                jsonb_build_object('registration_id', new_id, 'event_id', p_event_id, 'position', place),
                new_id, p_event_id, 'queued', 0, p_now, '', '', p_now, p_priority);
    END IF;
    RETURN QUERY SELECT new_id, new_status, place, queued;
END
$$
"""


async def create_function(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(PLACE_FUNCTION)


async def drop_function(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script("DROP FUNCTION IF EXISTS events_place_registration")


class Migration(migrations.Migration):
    dependencies = [("events", "0014_rush_email_index")]

    operations = [ops.RunPython(create_function, drop_function)]
