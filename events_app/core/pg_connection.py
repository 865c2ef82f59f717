"""PostgreSQL connections of the pool, given back without a round trip.

asyncpg resets every connection it takes back into the pool with one more statement (advisory locks,
cursors, LISTEN, RESET ALL): a round trip and work for the server after each use, a good part of a
registration's cost in a rush. This application leaves nothing behind in a session: settings are given
when the connection opens (`server_settings`) or for one transaction (`SET LOCAL`, `set_config(..., true)`),
it takes no advisory locks, listens to nothing and keeps no cursor past its transaction
(`tests/test_architecture.py` checks the first two). An open transaction is still rolled back by asyncpg.
"""

from __future__ import annotations

import asyncpg


class PooledConnection(asyncpg.Connection):
    def get_reset_query(self) -> str:
        return ""
