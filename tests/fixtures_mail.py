"""A real SMTP server (aiosmtpd) on a free loopback port that keeps what it receives.

`smtp_server.replies` scripts the answers to the next DATA commands (e.g. "451 try later");
with the list empty every message is accepted with 250.
"""

from __future__ import annotations

import email
import email.policy
import socket
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


@dataclass
class SmtpSink:
    port: int
    received: list[Received] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    controller: Controller | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            reply = self.replies.pop(0) if self.replies else "250 Message accepted for delivery"
            if not reply.startswith("250"):
                return reply
            message = email.message_from_bytes(envelope.original_content or envelope.content,
                                               policy=email.policy.default)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return reply

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
