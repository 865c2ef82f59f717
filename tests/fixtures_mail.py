"""A real SMTP server (aiosmtpd) on a free loopback port that keeps what it receives.

`smtp_server.replies` scripts the answers to the next DATA commands (e.g. "451 try later");
with the list empty every message is accepted with 250. Faults: `drop_for` holds recipients whose
message makes the server drop the connection (after the data, before answering), `delay` makes
the server slow (seconds before each answer to DATA).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import time
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    #: The client's address and port: one per SMTP connection.
    peer: tuple = ()


@dataclass
class SmtpSink:
    port: int
    received: list[Received] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    controller: Controller | None = None
    drop_for: set[str] = field(default_factory=set)
    #: (recipient, client address) of each message on which the connection was dropped.
    dropped: list[tuple[str, tuple]] = field(default_factory=list)
    delay: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            dropping = self.drop_for.intersection(envelope.rcpt_tos)
            if dropping:
                self.dropped.append((sorted(dropping)[0], session.peer))
                server.transport.close()
                return "421 4.3.0 Connection dropped"
            reply = self.replies.pop(0) if self.replies else "250 Message accepted for delivery"
            if not reply.startswith("250"):
                return reply
            message = email.message_from_bytes(envelope.original_content or envelope.content,
                                               policy=email.policy.default)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, session.peer))
        return reply

    def message_ids(self) -> list[str]:
        with self._lock:
            return [r.message["Message-ID"] for r in self.received]

    async def until(self, condition, *, timeout: float = 30.0) -> None:
        """Wait (without blocking the test's event loop) until `condition(self)` holds."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s; {len(self.received)} messages received")
            await asyncio.sleep(0.02)

    def start(self) -> "SmtpSink":
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.received if address in r.recipients]


@pytest.fixture
def smtp_server():
    sink = SmtpSink(port=free_port()).start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_settings(settings, smtp_server):
    return settings.with_(smtp_host="127.0.0.1", smtp_port=smtp_server.port, base_url="https://events.giessen.de",
                          mail_from="Integrationsbüro Gießen <integration@giessen.de>")
