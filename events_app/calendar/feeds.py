"""Calendar feeds: which dates each feed shows, its validator (ETag, Last-Modified), private feed tokens.

Feeds, and what they show:

- per event (`/events/{id}.ics`): every date of one event that is not a draft;
- public (`/calendar.ics`, `/calendar/{kind}.ics`): events that are public and listed, not by invitation;
- personal (`/r/{token}/calendar.ics`): the event a registration covers; the confidential meeting point
  only once the registration is confirmed; dates turn CANCELLED when the registration is cancelled, and
  every change of the registration's status raises their SEQUENCE and LAST-MODIFIED;
- private (`/feeds/{token}.ics`): for a staff account (admin, organiser, door), every event that is not
  a draft, unlisted and invitation-only ones included. The URL's secret is the credential (calendar
  clients cannot sign in), stored as a hash, revocable. Confidential meeting points stay out of it too:
  such feeds end up synced to third-party calendar services.

Listing feeds (public, private) carry dates from 30 days ago on (`KEEP_PAST_DAYS`), so a date that
was cancelled stays long enough, with STATUS:CANCELLED, for every client to remove it.

A conditional GET must not build the calendar: `feed_state` answers from one aggregate query over
the feed's dates (count, sums of SEQUENCE, latest change); for listing feeds, over all events and
dates (see `_LISTING_STATE_SQL`). A plain GET gets the calendar built once per ETag
(`compressed_feed`).
"""

from __future__ import annotations

import gzip
import hashlib
from collections import OrderedDict
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.expressions import Q

from events_app.calendar import ical
from events_app.core import errors, i18n, stamps, urls
from events_app.core.errors import N_
from events_app.core.models import Audience, CalendarFeedToken, Event, EventKind, EventSession, Registration, User, Visibility
from events_app.core.timeutil import utcnow

#: Listing feeds keep dates this long after they ended (cancelled ones included, so clients drop them).
KEEP_PAST_DAYS = 30
#: Part of every ETag: raise it when the calendar's bytes change for the same data.
FORMAT_VERSION = "1"

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Feed:
    """One feed: which dates it shows and for whom. Made by the `*_feed` functions below."""

    key: str
    sessions: Q
    audience: ical.Audience = ical.PUBLIC
    #: Public/private listings drop old dates and can lose events to a change of visibility.
    listing: bool = False
    #: msgid and params for X-WR-CALNAME; None: the event's own title.
    name: tuple[str, dict] | None = None
    #: Extra validator parts and change time (a personal feed depends on its registration).
    extra_key: str = ""
    extra_changed: datetime | None = None
    #: Language when the request names none (a registration's language).
    language: str = i18n.DEFAULT_LANGUAGE
    #: A feed that is nothing without its rows answers 404 when empty (an unknown or draft event).
    missing: type[errors.NotFound] | None = None


@dataclass(frozen=True)
class FeedState:
    etag: str
    last_modified: datetime
    count: int = 0


def feed_window_start(now: datetime, tz_name: str) -> datetime:
    """Start of the local day KEEP_PAST_DAYS ago: the window moves once a day, so the ETag stays put within a day."""
    zone = ZoneInfo(tz_name)
    day = now.astimezone(zone).date() - timedelta(days=KEEP_PAST_DAYS)
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)


def _listed_publicly() -> Q:
    return Q(event__visibility=Visibility.PUBLIC) & ~Q(event__audience=Audience.INVITATION)


def public_feed(*, kind: str | None = None) -> Feed:
    """All public, listed events (not drafts, unlisted or by invitation), optionally of one kind."""
    query = _listed_publicly()
    if kind is None:
        return Feed(key="public", sessions=query, listing=True,
                    name=(N_("Integration office Gießen: events"), {}))
    try:
        chosen = EventKind(kind)
    except ValueError:
        raise errors.NotFound() from None
    return Feed(key=f"kind:{chosen.value}", sessions=query & Q(event__kind=chosen), listing=True,
                name=(N_("Integration office Gießen: %(kind)s"), {"kind": ical.KIND_LABELS[chosen.value]}))


def event_feed(*, event_id: int) -> Feed:
    """One event with all its dates; unknown and draft events are not found."""
    return Feed(key=f"event:{event_id}", sessions=Q(event_id=event_id) & ~Q(event__visibility=Visibility.DRAFT),
                missing=errors.EventNotFound)


async def registration_feed(*, token: str) -> Feed:
    """The event a registration covers, as its holder sees it."""
    registration = await Registration.get_or_none(manage_token=token).only(
        "id", "event_id", "status", "sequence", "status_changed_at", "language", "updated_at", "contact_verified_at")
    if registration is None:
        raise errors.RegistrationNotFound()
    audience = ical.registrant_audience(registration)
    return Feed(key=f"registration:{registration.id}", sessions=Q(event_id=registration.event_id),
                audience=audience, extra_key=(f"{registration.status.value}:{registration.sequence}:"
                                              f"{audience.show_confidential_location}"),
                extra_changed=registration.updated_at,
                language=registration.language if registration.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE)


async def staff_feed(*, token: str) -> Feed:
    """Every event that is not a draft, for the holder of a private feed token."""
    record = await CalendarFeedToken.get_or_none(token_hash=_digest(token), revoked_at=None).select_related("user")
    if record is None or not record.user.active:
        raise errors.FeedNotFound()
    return Feed(key=f"staff:{record.id}", sessions=~Q(event__visibility=Visibility.DRAFT), listing=True,
                name=(N_("Integration office Gießen: all events (staff)"), {}))


def _session_query(feed: Feed, window_start: datetime):
    query = EventSession.filter(feed.sessions)
    if feed.listing:
        query = query.filter(ends_at__gte=window_start)
    return query


def _as_datetime(value) -> datetime:
    """Aggregates come back as strings on SQLite."""
    if value is None:
        return _EPOCH
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


async def feed_state(feed: Feed, *, language: str, base_url: str, tz_name: str, now: datetime | None = None) -> FeedState:
    """ETag and Last-Modified of a feed, from one aggregate query: cheap enough for every poll."""
    now = now or utcnow()
    window_start = feed_window_start(now, tz_name)
    conn = connections.get("default")
    [row] = await conn.execute_query_dict(_state_sql(feed, window_start, conn.capabilities.dialect))
    count = row.get("n") or 0
    if count == 0 and feed.missing is not None:
        raise feed.missing()
    moments = [_as_datetime(row.get("changed")), _as_datetime(row.get("event_changed"))]
    if feed.extra_changed is not None:
        moments.append(_as_datetime(feed.extra_changed))
    if feed.listing:
        moments.append(window_start)  # dates leave the window at midnight
    last_modified = max(moments)
    try:  # any change to events, dates or questions, even one that leaves updated_at alone (raw SQL)
        content = str((await stamps.read()).content)
    except stamps.StampsUnavailable:
        content = ""
    parts = [FORMAT_VERSION, content, feed.key, feed.extra_key, language, base_url, tz_name,
             window_start.isoformat(),
             str(count), str(row.get("events") or 0), str(row.get("seq") or 0), str(row.get("event_seq") or 0),
             *(moment.isoformat() for moment in moments)]
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return FeedState(etag=f'"{digest}"', last_modified=last_modified, count=count)


_STATE_SQL: dict[tuple, str] = {}


def _state_sql(feed: Feed, window_start: datetime, dialect: str) -> str:
    """The validator's aggregates in one statement: over the shown dates, over their events and, for
    listings, the latest change of any event (an event made unlisted leaves the feed without changing
    the remaining rows). The ORM writes the shown dates' query once per feed and day; its values are
    ids, enums and the window's start, never text a person typed."""
    if feed.listing:
        return _LISTING_STATE_SQL
    key = (feed.key, window_start, dialect)
    if key in _STATE_SQL:
        return _STATE_SQL[key]
    if len(_STATE_SQL) >= 256:
        _STATE_SQL.clear()
    shown = _session_query(feed, window_start).values("id", "event_id", "updated_at", "sequence").sql(
        params_inline=True)
    sql = _STATE_SQL[key] = (f"WITH shown AS ({shown}) SELECT COUNT(*) AS n, MAX(shown.updated_at) AS changed,"
            f" SUM(shown.sequence) AS seq,"
            f" (SELECT MAX(updated_at) FROM event WHERE id IN (SELECT event_id FROM shown)) AS event_changed,"
            f" (SELECT SUM(sequence) FROM event WHERE id IN (SELECT event_id FROM shown)) AS event_seq"
            f" FROM shown")
    return sql


#: A listing's validator looks at every event and date, not only the shown ones: two flat aggregates are
#: far cheaper than picking the shown dates on every poll, and a change to any event (an unlisted one
#: too) only costs one rebuild. Deleted rows lower a count; every other change raises an updated_at or
#: a SEQUENCE. The window's start is part of the ETag, so dates still leave the feed at midnight.
_LISTING_STATE_SQL = (
    "SELECT s.n, s.changed, s.seq, e.event_changed, e.event_seq, e.events"
    " FROM (SELECT COUNT(*) AS n, MAX(updated_at) AS changed, SUM(sequence) AS seq FROM event_session) s,"
    " (SELECT COUNT(*) AS events, MAX(updated_at) AS event_changed, SUM(sequence) AS event_seq FROM event) e")


async def feed_calendar(feed: Feed, *, language: str, base_url: str, tz_name: str,
                        now: datetime | None = None) -> bytes:
    """The feed's iCalendar bytes: one query for the dates with their events, then `calendar`."""
    now = now or utcnow()
    rows = await _session_query(feed, feed_window_start(now, tz_name)).order_by("starts_at", "id").values_list(
        *_SESSION_COLUMNS, *_EVENT_COLUMNS)
    if not rows and feed.missing is not None:
        raise feed.missing()
    pairs = _pairs(rows)
    if feed.name is None:
        name = ical.localized_text(pairs[0][0], language)[0] if pairs else ""
    else:
        msgid, params = feed.name
        name = i18n.gettext(language, msgid, **{k: i18n.gettext(language, v) for k, v in params.items()})
    return ical.build_calendar(pairs, name=name, language=language, base_url=base_url, timezone=tz_name,
                                   audience=feed.audience)


#: Built feeds kept per process, by ETag (which names the feed, its language and every change it shows).
BUILT_FEEDS_KEPT = 32
_built: OrderedDict[str, bytes] = OrderedDict()


async def compressed_feed(feed: Feed, state: FeedState, *, language: str, base_url: str, tz_name: str,
                          now: datetime) -> bytes:
    """The feed's calendar, gzip-compressed, built only when its validator changed.

    Calendar clients poll every few minutes and most feeds change a few times a day, so the calendar
    is built once per change (per process) and kept compressed (a tenth of the size, and the
    compression is paid once too); clients that do not take gzip get it unpacked."""
    found = _built.get(state.etag)
    if found is not None:
        _built.move_to_end(state.etag)
        return found
    body = await feed_calendar(feed, language=language, base_url=base_url, tz_name=tz_name, now=now)
    packed = gzip.compress(body, compresslevel=6, mtime=0)
    _built[state.etag] = packed
    while len(_built) > BUILT_FEEDS_KEPT:
        _built.popitem(last=False)
    return packed


#: What a calendar needs of a date and of its event, fetched in one query (plain values, not models:
#: building 2,000 model instances cost more than the rest of the query).
_SESSION_COLUMNS = ("id", "starts_at", "ends_at", "status", "sequence", "updated_at")
_EVENT_COLUMNS = ("event_id", "event__title", "event__description", "event__translations", "event__location",
                  "event__location_confidential", "event__status", "event__sequence", "event__updated_at")


@dataclass(slots=True)
class EventFacts:
    id: int
    title: str
    description: str
    translations: dict
    location: str
    location_confidential: bool
    status: str
    sequence: int
    updated_at: datetime


@dataclass(slots=True)
class SessionFacts:
    id: int
    starts_at: datetime
    ends_at: datetime
    status: str
    sequence: int
    updated_at: datetime


def _pairs(rows: list[tuple]) -> list[tuple[EventFacts, SessionFacts]]:
    """(event, session) pairs from joined rows; the dates of one event share its EventFacts."""
    width = len(_SESSION_COLUMNS)
    known: dict[int, EventFacts] = {}
    pairs = []
    for row in rows:
        event = known.get(row[width])
        if event is None:
            event = known[row[width]] = EventFacts(*row[width:])
        pairs.append((event, SessionFacts(*row[:width])))
    return pairs


# --- private feed tokens ---------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewFeedToken:
    record: CalendarFeedToken
    #: The secret; shown once, only its hash is kept.
    token: str

    def path(self) -> str:
        return urls.staff_calendar("", self.token)


async def create_feed_token(*, user_id: int) -> NewFeedToken:
    """A new private feed address for a staff account. Older ones keep working until revoked."""
    user = await User.get_or_none(id=user_id)
    if user is None or not user.active:
        raise errors.NotFound(N_("There is no such user."))
    token = "cal_" + secrets.token_urlsafe(32)
    record = await CalendarFeedToken.create(user=user, token_hash=_digest(token))
    return NewFeedToken(record=record, token=token)


async def list_feed_tokens(*, user_id: int) -> list[CalendarFeedToken]:
    """A user's feed addresses, newest first (revoked ones included, to show when they were revoked)."""
    return await CalendarFeedToken.filter(user_id=user_id).order_by("-created_at", "-id")


async def revoke_feed_token(*, token_id: int, user_id: int | None = None, now: datetime | None = None) -> CalendarFeedToken:
    """Stop a feed address from working. With user_id, only that user's own token can be revoked."""
    query = CalendarFeedToken.filter(id=token_id)
    if user_id is not None:
        query = query.filter(user_id=user_id)
    record = await query.first()
    if record is None:
        raise errors.FeedNotFound()
    if record.revoked_at is None:
        record.revoked_at = now or utcnow()
        await record.save(update_fields=["revoked_at"])
    return record
