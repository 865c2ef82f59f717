"""Back-office fixtures: sign a client in with a role and hand back the session's CSRF token."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import pytest

from events_app.core.models import LoginSession, User
from tests.helpers import make_user

PASSWORD = "correct horse battery"


@dataclass
class SignedIn:
    user: User
    csrf: str
    api_token: str


async def login_form_token(client) -> str:
    page = await client.get("/admin/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "login form has no CSRF token"
    return match.group(1)


async def sign_in(client, role: str = "organiser", email: str | None = None) -> SignedIn:
    user, token = await make_user(role, email=email)
    csrf = await login_form_token(client)
    response = await client.post("/admin/login", data={"email": user.email, "password": PASSWORD,
                                                       "csrf_token": csrf})
    assert response.status_code == 303, response.text
    session = await LoginSession.filter(user_id=user.id).order_by("-id").first()
    return SignedIn(user=user, csrf=session.csrf_token, api_token=token)


async def wait_for_job(client, progress_url: str):
    """The progress page of a background job once it no longer refreshes itself (done or failed)."""
    for _ in range(600):
        page = await client.get(progress_url)
        assert page.status_code == 200
        if 'http-equiv="refresh"' not in page.text:
            return page
        await asyncio.sleep(0.1)
    raise AssertionError("the job did not finish")


@pytest.fixture
async def organiser(client, db) -> SignedIn:
    return await sign_in(client, "organiser")
