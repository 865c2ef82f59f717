"""Change stamps: two counters that the database raises itself whenever what public pages show changes, so
a process can tell with one tiny read whether a page it keeps (web/page_cache.py) is still right.

- `content`: any change to an event (but its seat counters), a date or a question, from any process,
  the ORM, raw SQL or a restore alike. On PostgreSQL it is a row of `change_stamp`, raised inside the
  writer's transaction, so a reader never sees the new stamp before the new data.
- `seats`: a change of `seats_taken` or `waiting`. Every registration raises it, so on PostgreSQL it is a
  sequence: a row would make registrations for different events wait for each other's commit. A reader
  may see the new number a moment before the commit; the page it then keeps is stale for at most the
  cache's lifetime (EVENTS_PAGE_CACHE_SECONDS). SQLite has one writer at a time, so both live in the row.

The triggers name the event's columns that count as content: a column added later is still covered when
it is written with the others (the ORM writes every column); raw SQL writing only a new column is not.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

SEAT_COLUMNS = ("seats_taken", "waiting")
CONTENT_COLUMNS = (
    "announced_at", "anonymised_at", "audience", "capacity", "certificate_min_attendance", "created_at",
    "description", "first_starts_at", "id", "kind", "last_ends_at", "location", "location_confidential",
    "max_companions", "offer_hours", "phone_allowed", "registration_closes_at", "registration_opens_at",
    "retention_days", "sequence", "stands", "stands_taken", "status", "title", "translations", "updated_at",
    "visibility", "waitlist")
#: Tables whose every change is content.
CONTENT_TABLES = ("event_session", "question")

BUMP_CONTENT = "UPDATE change_stamp SET content = content + 1 WHERE id = 1"


def _sqlite_script() -> str:
    statements = ["CREATE TABLE IF NOT EXISTS change_stamp (id INTEGER PRIMARY KEY, content BIGINT NOT NULL,"
                  " seats BIGINT NOT NULL)",
                  "INSERT OR IGNORE INTO change_stamp (id, content, seats) VALUES (1, 1, 1)"]

    def trigger(name: str, when: str, table: str, bump: str) -> str:
        return f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {when} ON {table} BEGIN {bump}; END"

    for table in ("event", *CONTENT_TABLES):
        statements.append(trigger(f"stamp_{table}_insert", "INSERT", table, BUMP_CONTENT))
        statements.append(trigger(f"stamp_{table}_delete", "DELETE", table, BUMP_CONTENT))
    for table in CONTENT_TABLES:
        statements.append(trigger(f"stamp_{table}_update", "UPDATE", table, BUMP_CONTENT))
    statements.append(trigger("stamp_event_update", f"UPDATE OF {', '.join(CONTENT_COLUMNS)}", "event",
                              BUMP_CONTENT))
    statements.append(trigger("stamp_event_seats", f"UPDATE OF {', '.join(SEAT_COLUMNS)}", "event",
                              "UPDATE change_stamp SET seats = seats + 1 WHERE id = 1"))
    return ";\n".join(statements) + ";"


def _postgres_script() -> str:
    statements = [
        "CREATE TABLE IF NOT EXISTS change_stamp (id INT PRIMARY KEY, content BIGINT NOT NULL)",
        "INSERT INTO change_stamp (id, content) VALUES (1, 1) ON CONFLICT (id) DO NOTHING",
        "CREATE SEQUENCE IF NOT EXISTS change_stamp_seats",
        f"CREATE OR REPLACE FUNCTION change_stamp_content() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN {BUMP_CONTENT}; RETURN NULL; END $$",
        "CREATE OR REPLACE FUNCTION change_stamp_seats() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN PERFORM nextval('change_stamp_seats'); RETURN NULL; END $$",
    ]

    def trigger(name: str, when: str, table: str, function: str) -> str:
        return (f"CREATE OR REPLACE TRIGGER {name} AFTER {when} ON {table} FOR EACH STATEMENT"
                f" EXECUTE FUNCTION {function}()")

    for table in ("event", *CONTENT_TABLES):
        statements.append(trigger(f"stamp_{table}_changes", "INSERT OR DELETE OR TRUNCATE", table,
                                  "change_stamp_content"))
    for table in CONTENT_TABLES:
        statements.append(trigger(f"stamp_{table}_update", "UPDATE", table, "change_stamp_content"))
    statements.append(trigger("stamp_event_update", f"UPDATE OF {', '.join(CONTENT_COLUMNS)}", "event",
                              "change_stamp_content"))
    statements.append(trigger("stamp_event_seats", f"UPDATE OF {', '.join(SEAT_COLUMNS)}", "event",
                              "change_stamp_seats"))
    return ";\n".join(statements) + ";"


def _drop_script(dialect: str) -> str:
    names = [f"stamp_{table}_{what}" for table in ("event", *CONTENT_TABLES) for what in ("insert", "delete")]
    names += [f"stamp_{table}_update" for table in CONTENT_TABLES] + ["stamp_event_update", "stamp_event_seats"]
    if dialect == "postgres":
        tables = {f"stamp_{table}_changes": table for table in ("event", *CONTENT_TABLES)}
        tables.update({f"stamp_{table}_update": table for table in CONTENT_TABLES})
        tables.update({"stamp_event_update": "event", "stamp_event_seats": "event"})
        drops = [f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in tables.items()]
        drops += ["DROP FUNCTION IF EXISTS change_stamp_content", "DROP FUNCTION IF EXISTS change_stamp_seats",
                  "DROP SEQUENCE IF EXISTS change_stamp_seats", "DROP TABLE IF EXISTS change_stamp"]
    else:
        drops = [f"DROP TRIGGER IF EXISTS {name}" for name in names] + ["DROP TABLE IF EXISTS change_stamp"]
    return ";\n".join(drops) + ";"


def create_script(dialect: str) -> str:
    """The table and triggers; safe to run again (the tests' negative control puts a dropped trigger back)."""
    return _postgres_script() if dialect == "postgres" else _sqlite_script()


async def create_stamps(apps, schema_editor) -> None:
    client = schema_editor.client
    await client.execute_script(create_script(client.capabilities.dialect))


async def drop_stamps(apps, schema_editor) -> None:
    client = schema_editor.client
    await client.execute_script(_drop_script(client.capabilities.dialect))


class Migration(migrations.Migration):
    dependencies = [("events", "0015_rush_place_function")]

    operations = [ops.RunPython(create_stamps, drop_stamps)]
