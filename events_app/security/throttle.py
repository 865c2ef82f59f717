"""Throttles: how often one client address, account or e-mail address may try something, counted with
the `limits` library in storage that every server process shares.

The count lives in the database (`ThrottleCounter`, one atomic upsert per attempt, so two processes can
never both see "one attempt left") or in Redis when EVENTS_RATE_LIMIT_STORAGE names one. Keys are
hashed: the table holds no address and no e-mail address. Limits come from settings (`limit_*`, in the
notation "10/10 minutes"); EVENTS_RATE_LIMITS=off switches every throttle off (load tests on loopback).

Attempts are counted before the check they guard (so a burst of parallel requests cannot all pass a
"count, then check, then count" gap) and, where only failures should count, given back on success.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from tortoise import connections

from events_app.core import errors
from events_app.core.settings import Settings

#: The throttles and the setting that holds each one's limit.
RULES = {
    "login_address": "limit_login_address",
    "login_account_address": "limit_login_account_address",
    "login_account": "limit_login_account",
    "rsvp_address": "limit_rsvp_address",
    "rsvp_global": "limit_rsvp_global",
    "registration_address": "limit_registration_address",
    "registration_email": "limit_registration_email",
    "certificate_address": "limit_certificate_address",
}


class DatabaseStorage(Storage):
    """`limits` storage in the project's database: one row per bucket with its count and window end."""

    STORAGE_SCHEME = ["events-db"]

    def __init__(self, uri: str = "events-db://", wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return Exception

    @staticmethod
    def _connection():
        return connections.get("default")

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the bucket, starting a new window of `expiry` seconds when the old one ended;
        one statement, so concurrent callers each get their own count."""
        now = time.time()
        conn = self._connection()
        if conn.capabilities.dialect == "postgres":
            sql = ("INSERT INTO throttle_counter (bucket, hits, expires_at) VALUES ($1, $2, $3) "
                   "ON CONFLICT (bucket) DO UPDATE SET "
                   "hits = CASE WHEN throttle_counter.expires_at <= $4 THEN $2 "
                   "ELSE GREATEST(throttle_counter.hits + $5, 0) END, "
                   "expires_at = CASE WHEN throttle_counter.expires_at <= $4 THEN $3 "
                   "ELSE throttle_counter.expires_at END RETURNING hits")
            values = [key, max(amount, 0), now + expiry, now, amount]
        else:
            sql = ("INSERT INTO throttle_counter (bucket, hits, expires_at) VALUES (?, ?, ?) "
                   "ON CONFLICT (bucket) DO UPDATE SET "
                   "hits = CASE WHEN throttle_counter.expires_at <= ? THEN ? ELSE MAX(throttle_counter.hits + ?, 0) END, "
                   "expires_at = CASE WHEN throttle_counter.expires_at <= ? THEN ? "
                   "ELSE throttle_counter.expires_at END RETURNING hits")
            values = [key, max(amount, 0), now + expiry, now, max(amount, 0), amount, now, now + expiry]
        rows = await conn.execute_query_dict(sql, values)  # (execute_query drops RETURNING rows on PostgreSQL)
        if random.random() < 0.01:  # now and then, forget windows long over
            await self._delete_expired(now - 3600)
        return int(rows[0]["hits"])

    async def _delete_expired(self, before: float) -> None:
        conn = self._connection()
        marker = "$1" if conn.capabilities.dialect == "postgres" else "?"
        await conn.execute_query(f"DELETE FROM throttle_counter WHERE expires_at < {marker}", [before])

    async def _row(self, key: str):
        conn = self._connection()
        marker = "$1" if conn.capabilities.dialect == "postgres" else "?"
        _, rows = await conn.execute_query(
            f"SELECT hits, expires_at FROM throttle_counter WHERE bucket = {marker}", [key])
        if rows and rows[0]["expires_at"] > time.time():
            return rows[0]
        return None

    async def get(self, key: str) -> int:
        row = await self._row(key)
        return int(row["hits"]) if row else 0

    async def get_expiry(self, key: str) -> float:
        row = await self._row(key)
        return float(row["expires_at"]) if row else time.time()

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        _, rows = await self._connection().execute_query("DELETE FROM throttle_counter")
        return None

    async def clear(self, key: str) -> None:
        conn = self._connection()
        marker = "$1" if conn.capabilities.dialect == "postgres" else "?"
        await conn.execute_query(f"DELETE FROM throttle_counter WHERE bucket = {marker}", [key])


def _storage(settings: Settings) -> Storage:
    uri = settings.rate_limit_storage.strip()
    if not uri:
        return DatabaseStorage()
    from limits.storage import storage_from_string

    return storage_from_string(uri if uri.startswith("async+") else f"async+{uri}")


def _hashed(identifier: str) -> str:
    return hashlib.sha256(identifier.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]


@dataclass
class Throttle:
    """The throttles of one application, built from its settings."""

    settings: Settings

    def __post_init__(self):
        self.enabled = self.settings.rate_limits
        self.items: dict[str, RateLimitItem] = {rule: parse(getattr(self.settings, name))
                                                for rule, name in RULES.items()}
        self._limiter: FixedWindowRateLimiter | None = None

    @property
    def limiter(self) -> FixedWindowRateLimiter:
        if self._limiter is None:
            self._limiter = FixedWindowRateLimiter(_storage(self.settings))
        return self._limiter

    def _key(self, identifiers: tuple[str, ...]) -> list[str]:
        return [_hashed(identifier) for identifier in identifiers]

    async def hit(self, rule: str, *identifiers: str) -> None:
        """Count one attempt; TooManyAttempts when it is one too many (the attempt stays counted)."""
        if not self.enabled:
            return
        if not await self.limiter.hit(self.items[rule], rule, *self._key(identifiers)):
            raise errors.TooManyAttempts()

    async def give_back(self, rule: str, *identifiers: str) -> None:
        """Uncount an attempt that turned out to be fine (a correct code or password)."""
        if self.enabled:
            await self.limiter.hit(self.items[rule], rule, *self._key(identifiers), cost=-1)

    async def count(self, rule: str, *identifiers: str) -> None:
        """Count an attempt without refusing it (for throttles that slow down instead)."""
        if self.enabled:
            await self.limiter.hit(self.items[rule], rule, *self._key(identifiers))

    async def over(self, rule: str, *identifiers: str) -> bool:
        """Whether the limit is used up, without counting."""
        if not self.enabled:
            return False
        return not await self.limiter.test(self.items[rule], rule, *self._key(identifiers))

    async def forget(self, rule: str, *identifiers: str) -> None:
        if self.enabled:
            await self.limiter.clear(self.items[rule], rule, *self._key(identifiers))
